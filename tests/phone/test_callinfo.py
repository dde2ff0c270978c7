"""The call-info screen and received DTMF on call control alone (sans-IO, hand-set ``now``)."""

from __future__ import annotations

import pytest

from firmware.phone.actions import ShowScreen, WantCallStats
from firmware.phone.call import CallState, CallView
from firmware.phone.callinfo import CallStats
from firmware.phone.callops import PhoneError
from firmware.phone.screens import render
from firmware.phone.view import PhoneView

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
    info = render(_view(info=("Call info", "Codec: PCMA")))
    assert info.lines == ("Alice", "Call info", "Codec: PCMA")
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
