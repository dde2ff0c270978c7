"""What every interop-matrix row does on our side of a call (baresip, linphonec).

Why shared: each peer is driven its own way (ctrl_tcp, stdin), but what the row
checks on our handset is the same: the peer's tone, silence while held, the tone
again after resume.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from firmware.demo.network import Handset, Network, handset_config, heard, until

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


OUR_PASSWORDS = {"5550001": "pw5550001", "5550002": "pw5550002"}


async def our_handset(net: Network, name: str, number: str, proxy: tuple[str, int],
                      transport: str, **keys: object) -> Handset:
    """One of our handsets on the proxy's host, registered over ``transport``."""
    phone = await net.add(name, handset_config(
        number, proxy=proxy, password=OUR_PASSWORDS[number], transport=transport, **keys),
        host=proxy[0])
    await until(lambda: phone.status().registered, f"{name} registered", timeout=WAIT)
    return phone


async def transfer_to_second_handset(net: Network, phone: Handset, proxy: tuple[str, int],
                                     transport: str, peer_tone: float,
                                     **keys: object) -> float | None:
    """Blind transfer (REFER) of the peer ``phone`` talks to, to our second handset
    5550002, which answers; what the second handset hears (the peer's tone), then it
    hangs up."""
    other = await our_handset(net, "other", "5550002", proxy, transport, **keys)
    phone.api.transfer("5550002")
    await until(in_states(other, "incoming"), "the transfer target to ring", timeout=WAIT)
    other.api.set_hook(True)
    await until(in_states(other, "connected"), "the peer and the target connected",
                timeout=WAIT)
    await until(idle(phone), "the transferor idle", timeout=WAIT)
    got = await heard(other, peer_tone, timeout=WAIT)
    other.api.press_softkey("endcall")
    await until(idle(other), "idle after the transferred call", timeout=WAIT)
    return got


async def answer_the_peer(phone: Handset, peer_tone: float) -> float | None:
    """The peer is calling ``phone``: it rings, goes off hook, talks; what it hears."""
    await until(in_states(phone, "incoming"), "our phone to ring", timeout=WAIT)
    phone.api.set_hook(True)
    await until(in_states(phone, "connected"), "connected", timeout=WAIT)
    return await heard(phone, peer_tone, timeout=WAIT)
