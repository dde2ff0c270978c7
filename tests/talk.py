"""Two of our handsets in a call: placed, answered, each earpiece checked for the other's
tone, ended.

Why one module: the flow, security and network tests all prove a call the same way
(each microphone plays its own tone, ``firmware.demo.figures.TONE`` by handset name,
and each earpiece must hear the other's), whatever sits between the phones.
"""

from __future__ import annotations

import pytest

from firmware.demo.figures import TONE
from firmware.demo.network import Handset, call_and_answer, heard, until


def play_own_tones(*handsets: Handset) -> None:
    for h in handsets:
        h.api.set_mock_tone(TONE[h.name])


async def assert_hear_each_other(x: Handset, y: Handset, timeout: float = 3.0,
                                 when: str = "heard") -> None:
    for me, other in ((x, y), (y, x)):
        hz = await heard(me, TONE[other.name], timeout=timeout)
        assert hz == pytest.approx(TONE[other.name], rel=0.04), f"{me.name} {when} {hz}"


async def talk_and_hang_up(caller: Handset, callee: Handset, *, target: str | None = None,
                           timeout: float = 10.0) -> None:
    """``caller`` dials ``target`` (default: ``callee``'s number, so through the proxy);
    ``callee`` answers; tones both ways; ``caller`` hangs up."""
    await call_and_answer(caller, callee, timeout=timeout, target=target or callee.number)
    play_own_tones(caller, callee)
    await assert_hear_each_other(caller, callee)
    caller.api.press_softkey("endcall")
    await until(lambda: all(s == "ended" for s in callee.states()), f"{callee.name} idle")
