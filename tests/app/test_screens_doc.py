"""docs/screens are what the firmware draws, taken by running it (firmware/demo/screens.py).

The scenario drives three handsets' call control over real SIP endpoints
through every state; the pictures in the repository must be exactly those
(a stale or hand-drawn one fails), and there is none besides them (no
picture of a screen the firmware does not have).
"""

from __future__ import annotations

from pathlib import Path

from firmware.demo.screens import index, take_all

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs" / "screens"

#: every state of the LCD the firmware has (issue 14 added the panel keys' screens)
STATES = {
    "idle_registered", "idle_unregistered", "dialing", "ringback", "incoming",
    "connected_speaker", "connected_muted", "volume", "call_info", "on_hold", "held_by_far_end",
    "call_waiting", "two_calls", "transfer_prompt", "conference", "call_ended", "forwarded",
    "dnd", "mwi", "directories", "placed_calls", "received_calls", "missed_calls",
    "local_directory", "settings", "services", "intercom", "hd_call",
    "busy_callback", "callback_waiting", "callback_free", "secure_call",
}


def test_docs_screens_are_the_firmware_s_own_and_current() -> None:
    shots = take_all()
    names = [s.name for s in shots]
    assert set(names) == STATES and len(names) == len(STATES)
    on_disk = {p.stem for p in DOCS.glob("*.png")}
    assert on_disk == STATES, "run python -m firmware.demo.screens"
    for s in shots:
        assert (DOCS / f"{s.name}.png").read_bytes() == s.png, \
            f"{s.name}.png is stale: run python -m firmware.demo.screens"
    assert (DOCS / "README.md").read_text() == index(shots)
    assert "docs/screens/README.md" in (ROOT / "README.md").read_text()
    rows = {s.name: s.rows for s in shots}
    # the states are what their names say, as the text rows of the same screens show
    assert rows["directories"][0].startswith("Directories")
    assert "2 new voice msgs" in rows["mwi"]
    assert rows["services"][1:3] == ("No services", "configured")
    assert rows["conference"][1].startswith("Conference")
    assert any("Not available" in r for r in rows["call_ended"])  # 480, in words
    assert rows["incoming"][1] == "Bob Smith"
    assert rows["local_directory"][1].startswith("Alice Arden")
    assert "CallBack" in rows["busy_callback"][-1]
    assert "CallBack: 5550006" in rows["callback_waiting"]
    assert "5550006 is free" in rows["callback_free"] and "Dial" in rows["callback_free"][-1]
    assert rows["secure_call"][3] == "Secure call (SRTP)"  # SDES keys agreed: SRTP audio
    assert all("Secure" not in r for r in rows["hd_call"])  # a plain call says nothing
