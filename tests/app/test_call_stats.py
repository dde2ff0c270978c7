"""Call-info figures (RTCP, RFC 3550 §6.4) and received DTMF (RFC 4733) reach status and the LCD.

Two whole apps on ``VirtualClock`` with SIP and RTP carried in memory, so a
call runs many seconds of media (and RTCP reports) in milliseconds.
"""

from __future__ import annotations

import logging
from typing import Any

import pytest
from memnet import MemoryNet

from firmware.app.config_map import endpoint_config, phone_settings, registrations
from firmware.app.control_adapter import AppControl
from firmware.app.core import App
from firmware.demo.network import handset_config
from firmware.phone.callinfo import CallStats, InfoState, info_rows
from firmware.phone.phone import Phone
from firmware.sip.endpoint import Endpoint
from hal.base import KeyEvent
from hal.clock import VirtualClock
from hal.mock import MockHal

Address = tuple[str, int]


class Net(MemoryNet):
    """SIP and RTP/RTCP in memory: a datagram sent at t arrives at t + 1 ms."""

    def phone(self, name: str, number: str, host: str, port: int) -> AppControl:
        addr = (host, port)
        cfg = handset_config(number, media_base=30000 + port)
        endpoint = Endpoint(endpoint_config(cfg, local_address=addr))
        phone = Phone(phone_settings(cfg, media_address=host), endpoint)
        app = App(clock=self.clock, hal=MockHal(self.clock, audio=None), endpoint=endpoint,
                  phone=phone, send_sip=self.send_sip(addr), media_io=self.media_io(host),
                  registrations=registrations(cfg), name=name)
        self.sip[addr] = app
        app.start()
        return AppControl(app, {1: number})


@pytest.fixture
def pair(clock: VirtualClock) -> tuple[AppControl, AppControl]:
    net = Net(clock)
    a = net.phone("A", "5550001", "127.0.0.1", 5061)
    b = net.phone("B", "5550002", "127.0.0.2", 5062)
    a.dial("sip:5550002@127.0.0.2:5062")
    clock.advance(0.1)
    b.set_hook(True)
    clock.advance(0.1)
    assert [c.state for c in a.status().calls] == ["connected"]
    return a, b


def test_status_carries_each_calls_media_figures(clock: VirtualClock, pair: Any) -> None:
    a, b = pair
    clock.advance(12.0)  # 600 packets each way and a few RTCP reports (every ~5 s)
    call = a.status().to_json()["calls"][0]
    media = call["media"]
    assert set(media) == {"codec", "packets_sent", "packets_received", "loss_pct",
                          "jitter_ms", "rtt_ms"}
    assert media["codec"] in ("PCMU", "PCMA", "G722")
    assert 550 <= media["packets_sent"] <= 620
    assert 550 <= media["packets_received"] <= 620
    assert media["loss_pct"] == 0.0
    assert 0.0 <= media["jitter_ms"] < 5.0
    # 1 ms each way on the in-memory wire: the round trip from LSR/DLSR is about 2 ms
    assert media["rtt_ms"] is not None and 1.0 <= media["rtt_ms"] <= 5.0
    # every field the spec names is still there, unchanged
    assert {"id", "line", "direction", "state", "remote", "call_id", "reason"} <= set(call)


def test_media_is_null_without_a_stream(clock: VirtualClock) -> None:
    net = Net(clock)
    a = net.phone("A", "5550001", "127.0.0.1", 5061)
    a.dial("sip:5550009@127.0.0.9:5099")  # nobody answers: no media yet
    clock.advance(0.1)
    assert a.status().to_json()["calls"][0]["media"] is None


def test_info_key_shows_the_figures_then_returns_to_the_call(clock: VirtualClock, pair: Any) -> None:
    a, _b = pair
    clock.advance(6.0)
    app = a.app
    app.on_input(KeyEvent(key="info", down=True, at=clock.time()))
    rows = a.status().display
    assert any(r.startswith("Info PCM") for r in rows), rows
    assert any(r.startswith("Tx ") for r in rows), rows
    first = next(r for r in rows if r.startswith("Tx "))
    clock.advance(2.0)  # the figures follow the call each second while shown
    assert next(r for r in a.status().display if r.startswith("Tx ")) != first
    app.on_input(KeyEvent(key="info", down=True, at=clock.time()))  # pressed again: back to the call
    assert not any(r.startswith("Info ") for r in a.status().display)
    assert any(r.startswith("Connected") for r in a.status().display)
    app.on_input(KeyEvent(key="info", down=True, at=clock.time()))
    clock.advance(11.0)  # or it times out by itself
    assert not any(r.startswith("Info ") for r in a.status().display)


def test_dtmf_pressed_on_a_reaches_bs_screen_and_log(
        clock: VirtualClock, pair: Any, caplog: pytest.LogCaptureFixture) -> None:
    a, b = pair
    caplog.set_level(logging.INFO, logger="firmware.phone.phone")
    a.press_keys("5")
    clock.advance(0.5)
    assert "DTMF: 5" in b.status().display
    a.press_keys("19")
    clock.advance(0.5)
    assert "DTMF: 519" in b.status().display
    b_call = b.status().calls[0].id
    logged = [r.getMessage() for r in caplog.records if "DTMF" in r.getMessage()]
    assert logged == [f"[{b_call}] DTMF {d} received" for d in "519"]
    assert not any(r.startswith("DTMF") for r in a.status().display)  # the sender shows nothing
    clock.advance(4.0)  # a few seconds later the row is gone
    assert not any(r.startswith("DTMF") for r in b.status().display)
    assert b.app.phone.errors == 0 and a.app.phone.errors == 0


def test_info_rows_and_state_as_values() -> None:
    assert info_rows(None) == ("Info", "No media yet")
    rows = info_rows(CallStats(codec="PCMU", packets_sent=12345, packets_received=12000,
                               loss_pct=2.345, jitter_ms=3.21, rtt_ms=None))
    assert rows == ("Info PCMU", "Tx 12345 Rx 12000", "Loss 2.3% Jit 3.2ms", "RTT --")
    assert all(len(r) <= 21 for r in rows)
    st = InfoState()
    assert st.toggle("1", 0.0) and st.deadlines() == [10.0]
    assert not st.toggle("1", 1.0) and st.call is None
    for d in "0123456789*#0123":
        st.digit("1", d, 2.0)
    assert st.dtmf == "456789*#0123"  # bounded to what fits
    st.digit("2", "7", 2.5)  # another call's digit starts afresh
    assert st.dtmf == "7" and st.dtmf_call == "2"
    st.expire(5.5)
    assert st.dtmf == "" and st.deadlines() == []
