"""Phone-to-phone figures of Appendix B (B-4..B-8, B-15, B-16) on three real handsets.

Each handset is the complete firmware (UDP/TCP SIP transport, endpoint, call
control, RTP, mock HAL) on its own loopback port; the test only acts as the
users do (lift, dial, softkeys) and compares what went on the wire with the
seed's step table. Media: every microphone plays its own tone and the
earpieces are checked while connected and while held.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from flowkit import save_ladder
from peers_hosts import TwoHosts

from firmware.demo.figures import SEED_STEPS, TITLES
from firmware.demo.ladder import render_text
from firmware.demo.runner import run_figure

pytestmark = pytest.mark.slow


def _run(figure: str, host: str | None = None,
         places: dict[str, tuple[str, Any]] | None = None):
    outcome = asyncio.run(run_figure(figure, timeout=40.0, host=host, places=places))
    title = f"Figure {figure} {TITLES[figure]}"
    save_ladder(figure, outcome.log, ["A", "B", "C"], title)
    ladder = render_text(outcome.log.messages, ["A", "B", "C"], title)
    assert outcome.error is None, f"{outcome.error}\n{ladder}"
    assert outcome.mismatch is None, f"{outcome.mismatch}\n{ladder}"
    return outcome


#: What an earpiece must hear at each check of a figure (dominant Hz; None = silence).
HEARD = {
    "B-5": {("connected", "B"): 1000.0, ("consulting", "B"): 1500.0, ("consulting", "C"): 600.0,
            ("held", "A"): None, ("resumed", "B"): 1000.0},
    "B-6": {("connected", "B"): 1000.0, ("connected", "A"): 600.0, ("with C", "B"): 1500.0,
            ("held", "A"): None, ("swapped to A", "B"): 1000.0},
    "B-7": {("transferred", "A"): 1500.0},
    "B-8": {("transferred", "C"): 1000.0},
}


@pytest.mark.parametrize("figure", [
    "B-5",
    "B-6",
    "B-7",
    "B-8",
    "B-15",
    "B-16",
])
def test_figure_message_sequence(figure: str) -> None:
    _check_figure(figure)


@pytest.mark.parametrize(("figure", "host"), [("B-5", "127.0.0.43"), ("B-7", "127.0.0.43"),
                                              ("B-8", "")])
def test_figure_on_another_address(figure: str, host: str) -> None:
    """The same figures with every handset on 127.0.0.43, or listening on every
    interface (announcing the address that routes to the others)."""
    _check_figure(figure, host)


@pytest.mark.parametrize("figure", ["B-4", "B-5", "B-6", "B-7", "B-8", "B-15", "B-16"])
def test_figure_across_a_veth_pair(figure: str) -> None:
    """Two hosts joined by a veth pair (tests/peers_hosts.py): A and C on ``pbx``
    (198.18.43.1), B on ``desk`` (198.18.43.2), so every message to or from B, and
    its RTP, crosses the pair."""
    with TwoHosts() as hosts:
        places = {"A": (hosts.pbx.ip, hosts.pbx), "B": (hosts.desk.ip, hosts.desk),
                  "C": (hosts.pbx.ip, hosts.pbx)}
        _check_figure(figure, places=places)


def _check_figure(figure: str, host: str | None = None,
                  places: dict[str, tuple[str, Any]] | None = None) -> None:
    outcome = _run(figure, host, places)
    assert len(outcome.log.messages) >= len(SEED_STEPS[figure])
    assert outcome.run is not None
    if figure == "B-8":
        _b8_bye_also_after_c_answered(outcome.log.messages)
    heard = {(what, who): hz for what, who, hz in outcome.run.media}
    for key, hz in HEARD.get(figure, {}).items():
        if hz is None:
            assert heard[key] is None, (key, heard)  # silence while held
        else:
            assert heard[key] == pytest.approx(hz, rel=0.04), (key, heard)


def _b8_bye_also_after_c_answered(messages: list) -> None:
    """B-8 steps 12-16 (``transfer_method: also``), besides the strict match of the whole
    table: B's BYE to C, C's 200 OK, only then B's BYE with Also to A, then A's INVITE to C."""
    seq = [(m.src, m.dst, m.label.split(" (SDP")[0]) for m in messages]
    bye_c = seq.index(("B", "C", "BYE"))
    ok_c = seq.index(("C", "B", "200 OK"), bye_c)
    bye_also = seq.index(("B", "A", "BYE (Also)"))
    invite_c = seq.index(("A", "C", "INVITE"))
    assert bye_c < ok_c < bye_also < invite_c, seq
    assert ("B", "A", "BYE") not in seq  # the only BYE to A is the one with Also


def test_b4_hold_stops_media_and_resume_restores_it() -> None:
    outcome = _run("B-4")
    assert outcome.run is not None
    heard = {what: hz for what, who, hz in outcome.run.media if who == "B"}
    # A's microphone plays 1000 Hz: B hears it connected, nothing while holding, again after resume.
    assert heard["connected"] == pytest.approx(1000, abs=40)
    assert heard["held"] is None
    assert heard["resumed"] == pytest.approx(1000, abs=40)
    # The re-INVITEs of steps 5 and 8 carry hold and resume SDP.
    labels = [m.label for m in outcome.log.messages if m.src == "B" and m.label.startswith("INVITE")]
    assert labels[:2] == ["INVITE (SDP hold)", "INVITE (SDP)"]
