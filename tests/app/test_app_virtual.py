"""Whole phones on a VirtualClock: the App wiring without sockets or asyncio.

Two complete handsets (endpoint, call control, mock HAL) exchange datagrams
through an in-memory network that delivers on the virtual clock, so RFC 3261
timers (Timer B: 64*T1 = 32 s) pass in microseconds and every instant is exact.
"""

from __future__ import annotations

from typing import Any

import pytest

from firmware.app.config_map import endpoint_config, phone_settings, registrations
from firmware.app.control_adapter import AppControl
from firmware.app.core import App
from firmware.control import ControlError
from firmware.demo.ladder import MessageLog
from firmware.demo.network import handset_config
from firmware.phone.phone import Phone
from firmware.sip.endpoint import Endpoint
from hal.clock import VirtualClock
from hal.mock import MockHal

Address = tuple[str, int]


class Wire:
    """Loopback in memory: a datagram sent at t arrives at t + latency (dropped if nobody listens)."""

    def __init__(self, clock: VirtualClock, latency: float = 0.001) -> None:
        self.clock = clock
        self.latency = latency
        self.apps: dict[Address, App] = {}
        self.log = MessageLog()
        self.dropped = 0

    def sender(self, src: Address) -> Any:
        def send(data: bytes, dest: Address, transport: str) -> None:
            self.log.record(self.clock.time(), src, dest, data)
            app = self.apps.get((dest[0], int(dest[1])))
            if app is None:
                self.dropped += 1
                return
            self.clock.call_later(self.latency, lambda: app.receive_sip(data, src, transport))

        return send

    def phone(self, name: str, number: str, port: int, **keys: Any) -> AppControl:
        addr = ("127.0.0.1", port)
        cfg = handset_config(number, media_base=30000 + port, **keys)
        endpoint = Endpoint(endpoint_config(cfg, local_address=addr))
        phone = Phone(phone_settings(cfg, media_address=addr[0]), endpoint)
        app = App(clock=self.clock, hal=MockHal(self.clock, audio=None), endpoint=endpoint,
                  phone=phone, send_sip=self.sender(addr), registrations=registrations(cfg),
                  name=name)
        self.apps[addr] = app
        self.log.name(addr, name)
        app.start()
        return AppControl(app, {1: number})


@pytest.fixture
def wire(clock: VirtualClock) -> Wire:
    return Wire(clock)


def test_call_answer_hangup_on_virtual_time(clock: VirtualClock, wire: Wire) -> None:
    a = wire.phone("A", "5550001", 5061)
    b = wire.phone("B", "5550002", 5062)
    assert a.status().display  # the idle screen was drawn at start
    a.dial("sip:5550002@127.0.0.1:5062")
    clock.advance(0.1)
    assert [c.state for c in b.status().calls] == ["incoming"]
    assert b.status().ringer
    b.set_hook(True)
    clock.advance(0.1)
    assert [c.state for c in a.status().calls] == ["connected"]
    assert not b.status().ringer
    a.press_softkey("endcall")
    clock.advance(0.1)
    assert wire.log.sequence()[-2:] == [("A", "B", "BYE"), ("B", "A", "200 OK")]
    assert [c.state for c in b.status().calls] in ([], ["ended"])
    placed = a.history()
    assert placed and placed[0].kind == "placed"


def test_timer_b_fires_after_64_t1_of_virtual_time(clock: VirtualClock, wire: Wire) -> None:
    a = wire.phone("A", "5550001", 5061)
    a.dial("sip:5550009@127.0.0.1:5099")  # nobody there: every INVITE is lost
    start = clock.time()
    clock.advance(31.9)
    assert [c.state for c in a.status().calls] == ["calling"]
    invites = [m for m in wire.log.messages if m.label.startswith("INVITE")]
    # Timer A doubles from T1 = 0.5 s: sends at 0, 0.5, 1.5, 3.5, 7.5, 15.5, 31.5.
    assert [round(m.at - start, 3) for m in invites] == [0.0, 0.5, 1.5, 3.5, 7.5, 15.5, 31.5]
    clock.advance(0.2)
    call = a.status().calls[0]
    assert call.state == "ended" and call.reason == "no-answer"  # Timer B: 408 from the core


def test_control_refusals_are_4xx(clock: VirtualClock, wire: Wire) -> None:
    a = wire.phone("A", "5550001", 5061)
    with pytest.raises(ControlError) as exc:
        a.press_softkey("hold")  # idle: no Hold on the row
    assert exc.value.status == 409
    with pytest.raises(ControlError) as exc:
        a.press_softkey("frobnicate")
    assert exc.value.status == 400


def test_bad_datagrams_never_raise_out_of_the_app(clock: VirtualClock, wire: Wire) -> None:
    a = wire.phone("A", "5550001", 5061)
    app = wire.apps[("127.0.0.1", 5061)]
    for junk in (b"", b"\x00" * 50, b"INVITE sip:x SIP/2.0\r\n\r\n", b"SIP/2.0 200 OK\r\n\r\n" * 3):
        app.receive_sip(junk, ("127.0.0.1", 9), "udp")
    clock.advance(1)
    assert app.sip.errors == 0 and app.phone_pump.errors == 0
    assert a.status().calls == ()


def test_rtp_latch_setting_reaches_only_that_phones_streams(clock: VirtualClock, wire: Wire) -> None:
    a = wire.phone("A", "5550001", 5061)
    b = wire.phone("B", "5550002", 5062)
    wire.apps[("127.0.0.1", 5061)].rtp_latch = True  # nat_enable / rtp_latch in A's config
    a.dial("sip:5550002@127.0.0.1:5062")
    clock.advance(0.1)
    b.set_hook(True)
    clock.advance(0.1)
    streams_a = wire.apps[("127.0.0.1", 5061)].media_streams
    streams_b = wire.apps[("127.0.0.1", 5062)].media_streams
    assert streams_a and all(s.latch for s in streams_a.values())
    assert streams_b and not any(s.latch for s in streams_b.values())


def test_rtp_ssrc_sequence_and_timestamp_start_random(clock: VirtualClock, wire: Wire) -> None:
    """RFC 3550 §5.1: the app draws SSRC, seq0 and ts0 from the endpoint's id source."""
    a = wire.phone("A", "5550001", 5061)
    b = wire.phone("B", "5550002", 5062)
    a.dial("sip:5550002@127.0.0.1:5062")
    clock.advance(0.1)
    b.set_hook(True)
    clock.advance(0.1)
    streams = [m.stream for ctl in (a, b) for m in ctl.app._media.values()]
    assert len(streams) == 2
    assert streams[0].ssrc != streams[1].ssrc
    assert all(s._ts0 != 0 for s in streams)  # the old code started every stream at 0
