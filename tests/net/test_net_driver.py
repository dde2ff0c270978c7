"""SipDriver: the aioquic-style loop around a sans-IO core.

The core here is a small scripted object with the Endpoint's shell verbs, so
each rule of the driver can be checked on its own: one timer armed at the
core's deadline and moved only when the deadline moves, ``now`` taken from
the loop, output flushed after every input, events delivered in order, and
nothing the core or an event handler raises escaping into the loop.  The
real Endpoint is driven by tests/interop against SIPp and Kamailio.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

import pytest

from firmware.demo.driver import SipDriver, WireRecord
from firmware.net.transport import open_sip_transport


@dataclass(frozen=True)
class Out:
    data: bytes
    dest: tuple[str, int]
    transport: str = "udp"


class ScriptedCore:
    def __init__(self) -> None:
        self.deadline: float | None = None
        self.outbox: list[Out] = []
        self.events: list[object] = []
        self.log: list[tuple] = []
        self.raise_on_receive = False

    def receive_datagram(self, data, source, transport, now) -> None:
        self.log.append(("receive", data, source, transport, now))
        if self.raise_on_receive:
            raise ValueError("core bug")
        self.events.append(("got", data))

    def datagrams_to_send(self) -> list[Out]:
        out, self.outbox = self.outbox, []
        return out

    def next_event(self):
        return self.events.pop(0) if self.events else None

    def get_timer(self) -> float | None:
        self.log.append(("get_timer",))
        return self.deadline

    def handle_timer(self, now: float) -> None:
        self.log.append(("timer", now))
        self.deadline = None
        self.events.append(("fired", now))

    def ping(self, dest, *, now: float) -> str:
        self.log.append(("ping", now))
        self.outbox.append(Out(b"PING", dest))
        return "ok"


async def test_timer_is_armed_once_at_the_core_deadline_and_fired_with_loop_time() -> None:
    core = ScriptedCore()
    transport = await open_sip_transport("127.0.0.1", 0)
    driver = SipDriver(core, transport)
    loop = asyncio.get_running_loop()
    try:
        deadline = loop.time() + 0.05
        core.deadline = deadline
        driver.flush()
        arms = driver.pump.arms
        assert driver.timer_deadline == deadline
        driver.flush()  # same deadline: the same timer stays armed
        assert driver.pump.arms == arms
        core.deadline = deadline + 0.01  # moved: re-armed
        driver.flush()
        assert driver.pump.arms == arms + 1 and driver.timer_deadline == deadline + 0.01
        event = await driver.wait_event(timeout=5)
        assert event[0] == "fired" and event[1] >= deadline + 0.01
        assert driver.timer_fires == 1 and driver.timer_deadline is None
        core.deadline = None
        driver.flush()
        assert driver.timer_deadline is None
    finally:
        await driver.close()


async def test_datagram_in_flush_out_and_wire_log() -> None:
    core = ScriptedCore()
    wire: list[WireRecord] = []
    transport = await open_sip_transport("127.0.0.1", 0)
    driver = SipDriver(core, transport, on_wire=wire.append)
    peer = await open_sip_transport("127.0.0.1", 0)
    got: asyncio.Queue = asyncio.Queue()
    peer.on_receive = lambda data, src, tr: got.put_nowait((data, src, tr))
    try:
        peer.send(b"HELLO", transport.local_address, "udp")
        event = await driver.wait_event(timeout=5)
        assert event == ("got", b"HELLO")
        receive = next(e for e in core.log if e[0] == "receive")
        assert receive[2] == peer.local_address and receive[3] == "udp"
        assert isinstance(receive[4], float)

        assert driver.command(core.ping, peer.local_address) == "ok"
        async with asyncio.timeout(5):
            data, src, tr = await got.get()
        assert (data, src, tr) == (b"PING", transport.local_address, "udp")
        assert [(w.direction, w.data) for w in wire] == [("in", b"HELLO"), ("out", b"PING")]
    finally:
        await driver.close()
        await peer.close()


@pytest.mark.internal_errors_expected  # core and handler raise on purpose
async def test_core_and_handler_exceptions_are_counted_not_raised() -> None:
    core = ScriptedCore()
    seen: list[object] = []

    def handler(event: object) -> None:
        seen.append(event)
        raise RuntimeError("call control bug")

    transport = await open_sip_transport("127.0.0.1", 0)
    driver = SipDriver(core, transport, on_event=handler)
    peer = await open_sip_transport("127.0.0.1", 0)
    try:
        core.raise_on_receive = True
        peer.send(b"ONE", transport.local_address, "udp")
        core.events.append("queued")
        async with asyncio.timeout(5):
            while driver.errors < 2:
                await asyncio.sleep(0.01)
        assert seen == ["queued"]
        assert driver.errors == 2  # the core's raise, then the handler's
    finally:
        await driver.close()
        await peer.close()


async def test_commands_from_event_handlers_are_flushed_by_the_outer_flush() -> None:
    core = ScriptedCore()
    peer = await open_sip_transport("127.0.0.1", 0)
    got: asyncio.Queue = asyncio.Queue()
    peer.on_receive = lambda data, src, tr: got.put_nowait(data)
    transport = await open_sip_transport("127.0.0.1", 0)
    driver: SipDriver

    def handler(event: object) -> None:
        driver.command(core.ping, peer.local_address)  # e.g. answer an incoming call

    driver = SipDriver(core, transport, on_event=handler)
    try:
        core.events.append("incoming")
        driver.flush()
        async with asyncio.timeout(5):
            assert await got.get() == b"PING"
    finally:
        await driver.close()
        await peer.close()
