"""What every interop-matrix row does on our side of a call (baresip, linphonec).

Why shared: each peer is driven its own way (ctrl_tcp, stdin), but the row's
proxy and what it checks on our handset are the same: Kamailio for the
transport, the peer's tone, silence while held, the tone again after resume,
DTMF out, a blind transfer, the peer's call answered.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path

from peers import Kamailio, Netns
from peers_tls import KamailioTls, TestPki, make_pki

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


async def call_the_peer(phone: Handset, target: str, peer: str,
                        peer_tone: float) -> dict[str, float | None]:
    """``phone`` calls ``peer`` (which answers by itself), hears it, holds and resumes
    (``hear_hold_resume``: what it heard at each step), then sends DTMF 1, 9, # as
    RFC 4733 telephone-events."""
    phone.api.dial(target)
    await until(in_states(phone, "connected"), f"{peer} to answer", timeout=WAIT)
    seen = await hear_hold_resume(phone, peer_tone)
    phone.api.press_keys("19#")
    return seen


def row_proxy(tmp_path: Path, netns: Netns, transport: str,
              users: dict[str, str]) -> tuple[Kamailio, TestPki | None]:
    """The row's Kamailio inside ``netns`` (not started): for ``tls`` with a TLS port
    whose certificate comes from a new test CA, ``pki``, that every phone of the row
    must trust; else UDP and TCP only (``pki`` None)."""
    if transport != "tls":
        return Kamailio(tmp_path, users=users, host=netns.addr, netns=netns), None
    pki = make_pki(tmp_path / "pki", names=(netns.addr,))
    return KamailioTls(tmp_path, pki=pki, users=users, host=netns.addr, netns=netns), pki


def proxy_port(kam: Kamailio, transport: str) -> int:
    """Kamailio's port for ``transport`` (``row_proxy``'s TLS port over TLS)."""
    return kam.tls_port if transport == "tls" else kam.port  # type: ignore[attr-defined]


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
