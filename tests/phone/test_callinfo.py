"""The call-info screen and received DTMF on call control alone (sans-IO, hand-set ``now``)."""

from __future__ import annotations

import pytest

from firmware.phone.actions import ShowScreen, WantCallStats
from firmware.phone.call import CallState, CallView
from firmware.phone.callinfo import CallStats, info_rows
from firmware.phone.callops import PhoneError
from firmware.phone.screens import render
from firmware.phone.view import PhoneView
from firmware.sip import events as ev
from hal.render import main_line_capacity

from .fakes import Harness, answered_call

_STATS = CallStats(codec="PCMA", packets_sent=300, packets_received=298, loss_pct=0.67,
                   jitter_ms=1.5, rtt_ms=22.4)


def _view(**kw: object) -> PhoneView:
    call = CallView(id="c1", line=1, direction="in", state=CallState.CONNECTED,
                    remote="sip:5550001@h", remote_display="Alice", call_id="x",
                    reason=None, connected_at=90.0)
    return PhoneView(now=100.0, line_name="5550002", registered=True, off_hook=True,
                     focused=call, **kw)  # type: ignore[arg-type]


def test_info_rows_replace_the_call_rows_and_keep_the_softkeys() -> None:
    plain = render(_view())
    info = render(_view(info=info_rows(_STATS)))
    assert info.lines == ("Alice", "Info PCMA", "Tx 300 Rx 298", "Loss 0.7% Jit 1.5ms",
                          "RTT 22 ms")
    assert len(info.lines) <= main_line_capacity(64)  # all of it on the 128x64 panel
    assert info.softkeys == plain.softkeys  # no required key is displaced


def test_dtmf_row_follows_the_call_rows() -> None:
    assert render(_view(dtmf="42")).lines[-1] == "DTMF: 42"
    assert not any(r.startswith("DTMF") for r in render(_view()).lines)


def test_info_key_asks_the_app_for_figures_each_second() -> None:
    h = Harness()
    answered_call(h)
    call = h.phone.calls()[0].id
    h.actions.clear()
    h.phone.press_key("info", h.now)
    assert h.drain()[0] == WantCallStats(call=call)
    assert "No media yet" in h.of(ShowScreen)[-1].screen.lines
    h.phone.set_call_stats(call, _STATS, h.now)
    h.drain()
    assert "RTT 22 ms" in h.of(ShowScreen)[-1].screen.lines
    assert not any(k == "info" for k in h.of(ShowScreen)[-1].screen.softkeys)
    h.actions.clear()
    h.advance(3.0)
    assert len(h.of(WantCallStats)) == 3  # once per call-timer second while shown
    h.phone.press_key("info", h.now)
    h.actions.clear()
    h.advance(3.0)
    assert h.of(WantCallStats) == []  # closed: no more requests


def test_info_without_a_call_is_refused() -> None:
    h = Harness()
    with pytest.raises(PhoneError) as exc:
        h.phone.press_key("info", h.now)
    assert exc.value.status == 409


def test_dtmf_of_an_unknown_call_is_ignored_and_stats_stay_bounded() -> None:
    h = Harness()
    answered_call(h)
    call = h.phone.calls()[0].id
    h.phone.dtmf_received("nope", "5", h.now)
    h.phone.set_call_stats("nope", _STATS, h.now)
    h.drain()
    assert not any("DTMF" in r for r in h.of(ShowScreen)[-1].screen.lines)
    assert set(h.phone._stats) == set()
    h.phone.dtmf_received(call, "#", h.now)
    h.drain()
    assert h.of(ShowScreen)[-1].screen.lines[-1] == "DTMF: #"
    h.advance(3.5)
    assert not any("DTMF" in r for r in h.of(ShowScreen)[-1].screen.lines)


def test_an_ended_call_shows_its_reason_not_the_figures() -> None:
    h = Harness()
    session = answered_call(h)
    call = h.phone.calls()[0].id
    h.phone.press_key("info", h.now)
    h.phone.set_call_stats(call, _STATS, h.now)
    h.drain()
    h.feed(ev.CallEnded(session=session, by="remote", reason="bye"))
    lines = h.of(ShowScreen)[-1].screen.lines
    assert "Call ended" in lines and not any(r.startswith("Info") for r in lines)
    h.actions.clear()
    h.advance(2.0)
    assert h.of(WantCallStats) == []
