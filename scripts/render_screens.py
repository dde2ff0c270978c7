#!/usr/bin/env python3
"""Render the sample screens of the handset to docs/screens/*.png (and an index page).

Why: reviewers and users see what the 128x64 panel shows in every call state
without a Pi. The samples are representative ``Screen`` values (call control
decides the real texts); the drawing is ``hal.render``, the code the Pi and the
mock display use. tests/hal/test_hal_render.py checks that the PNGs in the
repository are what this script renders today.

Usage: python scripts/render_screens.py [OUTDIR]   (default: docs/screens)
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from hal.base import Screen  # noqa: E402
from hal.render import render_png  # noqa: E402

SCALE = 3
REG = frozenset({"registered"})
IN_CALL = ("Hold", "EndCall", "Trnsfer", "NewCall")

SAMPLES: dict[str, tuple[str, Screen]] = {
    "idle_registered": ("Idle, line registered", Screen(
        status="1 5550001", clock="10:42a", icons=REG,
        lines=("", "Your current options"), softkeys=("Redial", "NewCall", "CFwdAll"))),
    "idle_unregistered": ("Idle, registration failed (no signal-bars icon)", Screen(
        status="1 5550001", clock="10:42a",
        lines=("", "Not registered", "Retry in 30 s"), softkeys=("Redial", "NewCall", "CFwdAll"))),
    "dialing": ("Off hook, collecting digits", Screen(
        status="1 5550001", clock="10:42a", icons=REG,
        lines=("Enter number:", "555000_"), softkeys=("Dial", "<<", "EndCall"))),
    "ringback": ("Outgoing call, 180 Ringing received", Screen(
        status="1 5550001", clock="10:43a", icons=REG,
        lines=("To: 5550002", "Ring out"), softkeys=("EndCall",))),
    "incoming": ("Incoming call with caller ID (the selected call is inverted)", Screen(
        status="1 5550001", clock="10:43a", icons=REG, inverted_line=0,
        lines=("From Bob Smith", "5550002", "", "Ringing"), softkeys=("Answer", "Decline"))),
    "connected": ("Connected, call timer running", Screen(
        status="1 5550001", clock="10:44a", icons=REG,
        lines=("Bob Smith", "5550002", "Connected\t01:23"), softkeys=IN_CALL)),
    "connected_muted": ("Connected with the microphone muted", Screen(
        status="1 5550001", clock="10:44a", icons=REG | {"muted"},
        lines=("Bob Smith", "5550002", "Connected\t02:45"), softkeys=IN_CALL)),
    "on_hold": ("We put the call on hold", Screen(
        status="1 5550001", clock="10:45a", icons=REG | {"hold"},
        lines=("Bob Smith", "5550002", "On hold\t03:10"), softkeys=("Resume", "EndCall", "NewCall"))),
    "held_by_far_end": ("The far end put us on hold", Screen(
        status="1 5550001", clock="10:45a", icons=REG,
        lines=("Bob Smith", "5550002", "Held by remote\t03:30"), softkeys=IN_CALL)),
    "call_waiting": ("A second call arrives during a call", Screen(
        status="1 5550001", clock="10:46a", icons=REG | {"waiting"}, inverted_line=2,
        lines=("Bob Smith\t04:02", "Call waiting:", "Carol 5550003"),
        softkeys=("Answer", "Decline", "EndCall"))),
    "two_calls": ("Two calls, one held: Swap toggles them", Screen(
        status="1 5550001", clock="10:47a", icons=REG | {"hold"}, inverted_line=1,
        lines=("1 Bob Smith\tHold", "2 Carol\t00:12"),
        softkeys=("Swap", "EndCall", "Trnsfer", "NewCall"))),
    "transfer_prompt": ("Transfer: enter the target", Screen(
        status="1 5550001", clock="10:48a", icons=REG | {"hold"},
        lines=("Transfer Bob to:", "5550003_"), softkeys=("Trnsfer", "<<", "Cancel"))),
    "forwarded": ("All calls forwarded (CFwdAll)", Screen(
        status="1 5550001", clock="10:50a", icons=REG | {"cfwd"},
        lines=("", "Forwarded to 5550009"), softkeys=("Redial", "NewCall", "CFwdAll"))),
    "dnd": ("Do not disturb", Screen(
        status="1 5550001", clock="10:51a", icons=REG | {"dnd"},
        lines=("", "Do Not Disturb"), softkeys=("Redial", "NewCall", "DND"))),
    "call_ended": ("Call ended, with the reason", Screen(
        status="1 5550001", clock="10:52a", icons=REG,
        lines=("Call ended", "5550002 is busy", "486 Busy Here"), softkeys=("Redial", "NewCall"))),
    "history": ("Call history: placed, received, missed", Screen(
        status="Call History", clock="10:53a", icons=REG, inverted_line=1,
        lines=("Missed  Carol\t10:46", "In      Bob Smith\t10:43", "Out     5550004\t09:12",
               "Out     5550002\t08:30", "In      Dave\tYest"),
        softkeys=("Dial", "EditDial", "Delete", "Exit"))),
}


def main(argv: list[str]) -> int:
    out = Path(argv[1]) if len(argv) > 1 else Path(__file__).resolve().parents[1] / "docs" / "screens"
    out.mkdir(parents=True, exist_ok=True)
    index = [
        "# Screens",
        "",
        "What the 128x64 panel shows, drawn by `hal/render.py` (3x enlarged).",
        "Regenerate with `python scripts/render_screens.py`; the tests check these files are current.",
        "",
    ]
    for name, (caption, screen) in SAMPLES.items():
        (out / f"{name}.png").write_bytes(render_png(screen, scale=SCALE))
        index += [f"## {caption}", "", f"![{caption}]({name}.png)", ""]
    (out / "README.md").write_text("\n".join(index))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv))
