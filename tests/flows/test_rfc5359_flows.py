"""RFC 5359's service examples in which a phone acts, run between our handsets.

Each example (``firmware.demo.rfc5359``) presses what Alice, Bob and Carol
press; the test checks that the SIP messages our phones then exchanged play
the RFC figure's sequence under the strict rule of ``firmware.demo.match``
(``SPECS``: ``STEPS`` with what ``AFTER`` and ``FLOATS`` name; ``DIFFERS`` says
where our ladder departs from the RFC's drawing),
and that every earpiece heard what it should (each phone's microphone plays
its own tone). With $PIPHONE_LADDERS set the ladders are written there, as
``make demo`` does.
"""

from __future__ import annotations

import asyncio

import pytest
from flowkit import save_ladder

from firmware.demo.match import compare
from firmware.demo.rfc5359 import EXAMPLES, SPECS, TITLES, run_example

pytestmark = pytest.mark.slow


@pytest.mark.parametrize("example", [e for e in EXAMPLES if e.startswith("5359")])
def test_rfc5359_example(example: str) -> None:
    net, run, error = asyncio.run(run_example(example))
    assert error is None, error
    assert run is not None
    save_ladder(example, net.log, ["A", "B", "C", "D"], TITLES[example])
    diff = compare(net.log.messages, SPECS[example])
    assert diff is None, (diff, net.log.sequence())
    assert run.media, "every example checks the audio"
    for (what, who, hz), want in zip(run.media, run.expected, strict=True):
        if want is None:
            assert hz is None, (what, who, hz)
        else:
            assert hz is not None and abs(hz - want) <= 0.05 * want, (what, who, hz, want)


def test_hd_call_carries_6khz_and_shows_hd() -> None:
    net, run, error = asyncio.run(run_example("HD"))
    assert error is None, error
    assert run is not None and compare(net.log.messages, SPECS["HD"]) is None
    assert [hz for _w, _who, hz in run.media] == [pytest.approx(6000.0, rel=0.02),
                                                  pytest.approx(600.0, rel=0.05)]
    assert {"B-connected", "B-info"} <= set(run.screens)
