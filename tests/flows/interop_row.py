"""What every interop-matrix row does on our side of a call (baresip, linphonec).

Why shared: each peer is driven its own way (ctrl_tcp, stdin), but what the row
checks on our handset is the same: the peer's tone, silence while held, the tone
again after resume.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from firmware.demo.network import Handset, heard, until

WAIT = 15.0


def in_states(h: Handset, *states: str) -> Callable[[], bool]:
    """``h``'s live calls are exactly ``states`` (ended ones left out)."""
    return lambda: [s for s in h.states() if s != "ended"] == list(states)


def idle(h: Handset) -> Callable[[], bool]:
    return lambda: all(s == "ended" for s in h.states())


async def hear_hold_resume(phone: Handset, peer_tone: float) -> dict[str, float | None]:
    """The peer's tone, Hold (silence: the peer must stop sending or we stop playing),
    Resume (the tone again); what ``phone``'s earpiece heard at each step."""
    seen: dict[str, float | None] = {}
    seen["heard"] = await heard(phone, peer_tone, timeout=WAIT)
    phone.api.press_softkey("hold")
    await until(in_states(phone, "holding"), "hold accepted", timeout=WAIT)
    await asyncio.sleep(0.6)  # longer than the earpiece analysis looks back
    seen["held"] = await heard(phone, None, timeout=WAIT)
    phone.api.press_softkey("resume")
    await until(in_states(phone, "connected"), "resumed", timeout=WAIT)
    seen["resumed"] = await heard(phone, peer_tone, timeout=WAIT)
    return seen
