"""Several simulated handsets on loopback in one event loop, with a shared wire log.

Why: the demo (``make demo``) and the flow tests (tests/flows) both need
"phone A, B and C on 127.0.0.1, each a complete firmware (SIP transport,
endpoint, call control, RTP, mock HAL)", driven through the same control
interface a person or the HTTP API uses, while every SIP message that crosses
loopback is logged once (as sent) for the ladder diagrams.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import random
import socket
from collections.abc import Callable
from typing import Any

from firmware.app.control_adapter import AppControl
from firmware.app.host import PhoneHost
from firmware.demo.health import ErrorWatch, InternalErrors, host_errors, verdict
from firmware.demo.ladder import MessageLog
from firmware.provisioning.schema import LineConfig, PhoneConfig, Proxy
from firmware.surface import CallInfo, PhoneStatus
from hal.clock import LoopClock

log = logging.getLogger(__name__)

Address = tuple[str, int]
HOST = "127.0.0.1"


MEDIA_SPAN = 40
# Start where another process running the same code is unlikely to be (parallel test runs).
_media_blocks = itertools.count(random.randrange(1 << 16))


def free_media_base(span: int = MEDIA_SPAN) -> int:
    """An even port with ``span`` free UDP ports above it on loopback, found by binding them.

    Why: other programs on the machine (test peers, other phones) take RTP ports too;
    a fixed range collides sooner or later. Blocks are handed out round the range so
    two handsets of one run never share one. The probe binds the wildcard address:
    Linux refuses that while any address (127.0.0.1, 127.0.0.43, ...) holds the port,
    so a block is free for a handset on whichever loopback address it listens.
    """
    for _ in range(200):
        base = 20000 + (next(_media_blocks) * span * 7919) % 12000
        base -= base % 2
        socks = []
        try:
            for port in range(base, base + span):
                s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
                socks.append(s)
                s.bind(("0.0.0.0", port))  # noqa: S104 - a probe: bound, closed, never read
            return base
        except OSError:
            continue
        finally:
            for s in socks:
                s.close()
    raise OSError("no free block of RTP ports on loopback")


def handset_config(number: str, *, media_base: int | None = None, proxy: Address | None = None,
                   password: str = "", transport: str = "udp", **keys: Any) -> PhoneConfig:
    """A phone's whole config as provisioning builds it (``PhoneConfig``): one line
    ``number``, media ports ``media_base``..+40 (default: a free block), ``keys`` on top.

    Two defaults differ from a provisioned phone's, for the figures: DND answers 486
    Busy Here as the seed's B-15 shows, and no-answer forwarding is off unless asked."""
    if media_base is None:
        media_base = free_media_base()
    line = LineConfig(
        index=1, name=number, displayname=f"User {number[-1]}", password=password,
        proxy=Proxy(address=proxy[0], port=proxy[1], transport=transport) if proxy else None,
    )
    keys = {"dnd_response": 486, "cfwd_noanswer_timeout": 0, **keys}
    return PhoneConfig(lines=(line,), start_media_port=media_base,
                       end_media_port=media_base + MEDIA_SPAN,
                       proxy_register=proxy is not None, **keys)


class Handset:
    """One running phone plus the control interface the demo and tests press."""

    def __init__(self, name: str, host: PhoneHost) -> None:
        self.name = name
        self.host = host
        assert host.control_api is not None
        self.api: AppControl = host.control_api

    @property
    def address(self) -> Address:
        return self.host.sip_address

    @property
    def number(self) -> str:
        return self.api.line_names.get(1, "")

    def uri(self) -> str:
        return f"sip:{self.number}@{self.address[0]}:{self.address[1]}"

    def status(self) -> PhoneStatus:
        return self.api.status()

    def calls(self) -> list[CallInfo]:
        return list(self.status().calls)

    def states(self) -> list[str]:
        return [c.state for c in self.calls()]

    @property
    def audio(self) -> Any:
        assert self.host.app is not None
        return self.host.app.hal.audio

    def screen_png(self, scale: int = 1) -> bytes:
        return self.api.screen_png(scale=scale)


class Network:
    """Handsets on loopback; ``log`` holds every SIP message one of them sent (or a peer sent them).

    ``close()`` raises ``InternalErrors`` when a handset counted or logged an
    internal error while the network lived (``firmware.demo.health``): every
    test and figure built on it fails on a phone's bug without asking.
    """

    def __init__(self) -> None:
        self.log = MessageLog()
        self.handsets: dict[str, Handset] = {}
        self.watch = ErrorWatch().start()

    def tap(self, name: str) -> Callable[..., None]:
        def on_wire(direction: str, data: bytes, peer: Address, transport: str, at: float) -> None:
            me = self.handsets.get(name)
            if me is None:
                return
            if direction == "out":
                self.log.record(at, me.address, peer, data)
            elif (peer[0], int(peer[1])) not in self._ours():
                # From a process outside the network (SIPp, Kamailio): log it as received.
                self.log.record(at, peer, me.address, data)

        return on_wire

    def _ours(self) -> set[Address]:
        return {h.address for h in self.handsets.values()}

    async def add(self, name: str, config: Any, *, hal: Any = None, port: int = 0,
                  host: str = HOST, control: Any = None, state_dir: Any = None,
                  resolver: Any = None, netns: Any = None) -> Handset:
        """Start handset ``name``; ``host`` is its SIP and RTP address (another 127.0.0.x
        in a test network namespace, where a peer like baresip puts that address in its SDP);
        ``control``: a ``ControlConfig`` to serve its control API and web page; ``resolver``:
        a ``firmware.net.resolve.TargetResolver`` asking a test's own DNS server.

        ``netns`` (anything with an ``entered()`` context manager that switches
        the calling thread into a network namespace, e.g. tests/peers_hosts.py's
        ``Host``) puts the handset on another "host": its SIP sockets and, at
        every call, its RTP sockets are made inside that namespace (a socket
        keeps the namespace it was made in), so handsets of one event loop
        talk across a veth pair. UDP only: a TCP connect made later would be
        made outside."""
        loop = asyncio.get_running_loop()
        if hal is None:
            from hal.mock import MockHal

            hal = MockHal(LoopClock(loop))  # type: ignore[arg-type]
        inside = netns.entered() if netns is not None else contextlib.nullcontext()
        with inside:  # nothing else in this loop makes sockets while it is started
            host = await PhoneHost.start(config, hal, sip_host=host, sip_port=port,
                                         on_wire=self.tap(name), name=name, autostart=False,
                                         control=control, state_dir=state_dir,
                                         resolver=resolver)
        if netns is not None and host.media is not None:
            host.media.bind_context = netns.entered  # a call's RTP/RTCP sockets there too
        handset = Handset(name, host)
        self.handsets[name] = handset
        self.log.name(handset.address, name)
        host.start_app()  # after naming, so the first REGISTER is in the log
        return handset

    async def __aenter__(self) -> Network:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def close(self) -> None:
        """Stop every handset, then raise ``InternalErrors`` if one of them hit a bug of ours."""
        counted: dict[str, dict[str, int]] = {}
        for h in list(self.handsets.values()):
            try:
                await h.host.stop(grace=0.5)
            except Exception:
                log.exception("stopping %s", h.name)
            counted[h.name] = host_errors(h.host)
        self.handsets.clear()
        self.watch.stop()
        report = verdict(counted, self.watch)
        self.watch.records.clear()
        if report is not None:
            raise InternalErrors(report)


async def until(predicate: Callable[[], bool], what: str, timeout: float = 8.0) -> None:
    """Wait (polling the loop) until ``predicate()`` holds; raises TimeoutError naming ``what``."""
    loop = asyncio.get_running_loop()
    end = loop.time() + timeout
    while not predicate():
        if loop.time() > end:
            raise TimeoutError(f"timed out waiting for {what}")
        await asyncio.sleep(0.01)


async def call_and_answer(a: Handset, b: Handset, timeout: float = 8.0,
                          target: str | None = None) -> None:
    """``a`` dials ``target`` (``b``'s URI by default; a number goes through the proxy);
    ``b`` rings and lifts the handset; both are talking. The opening of almost every
    two-phone test and bench, in one place."""
    a.api.dial(target or b.uri())
    await until(lambda: b.states() == ["incoming"], f"{b.name} to ring", timeout=timeout)
    b.api.set_hook(True)
    await until(lambda: "connected" in a.states() and "connected" in b.states(),
                f"{a.name}-{b.name} connected", timeout=timeout)


async def settle(seconds: float = 0.3) -> None:
    """Let media flow (tone detection needs a few hundred ms of audio)."""
    await asyncio.sleep(seconds)


async def heard(handset: Handset, expect: float | None, timeout: float = 3.0) -> float | None:
    """The dominant frequency at ``handset``'s earpiece (None = silence), once it matches
    ``expect`` (within 3 %: tighter than the tests' 4 %, since a window that
    straddles the tone's start reads a few % off) or ``timeout`` passed: a slow machine delays, never fails, a
    check; the caller asserts on the value returned."""

    def now_hz() -> float | None:
        return handset.audio.dominant_hz() if handset.audio is not None else None

    def ok() -> bool:
        hz = now_hz()
        if expect is None:
            return hz is None
        return hz is not None and abs(hz - expect) <= 0.03 * expect

    try:
        await until(ok, f"{handset.name} to hear {expect}", timeout=timeout)
    except TimeoutError:
        pass
    return now_hz()
