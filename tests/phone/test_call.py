"""The call state machine table (firmware/phone/call.py)."""

from __future__ import annotations

import pytest

from firmware.phone.call import (
    TRANSITIONS,
    Call,
    CallInput,
    CallState,
    CallStateError,
    failure_reason,
)
from firmware.phone.line import MAX_CALLS_PER_LINE, Line
from firmware.phone.settings import LineSettings, PhoneSettings

S, In = CallState, CallInput


def _call(state: CallState = S.DIALING, direction: str = "out") -> Call:
    c = Call(id="c1", line=1, direction=direction, created_at=0.0)  # type: ignore[arg-type]
    c.state = state
    return c


def test_state_names_are_the_control_api_states() -> None:
    assert [s.value for s in CallState] == [
        "dialing", "calling", "proceeding", "ringback", "incoming",
        "connected", "holding", "held", "ended"]


def test_outgoing_call_lifecycle() -> None:
    c = _call()
    assert c.apply(In.SEND, 1.0) is S.CALLING
    assert c.apply(In.TRYING, 1.1) is S.PROCEEDING
    assert c.apply(In.RINGING, 1.2) is S.RINGBACK
    assert c.apply(In.ANSWERED, 5.0) is S.CONNECTED
    assert c.connected_at == 5.0
    assert c.apply(In.END, 9.0, "hangup") is S.ENDED
    assert (c.ended_at, c.reason) == (9.0, "hangup")


def test_hold_flags_derive_holding_and_held() -> None:
    c = _call(S.CONNECTED)
    assert c.set_hold(1.0, remote=True) is S.HELD
    assert c.set_hold(2.0, local=True) is S.HOLDING  # ours wins on the display
    assert c.set_hold(3.0, local=False) is S.HELD
    assert c.set_hold(4.0, remote=False) is S.CONNECTED


def test_hold_outside_a_call_is_a_bug() -> None:
    with pytest.raises(CallStateError):
        _call(S.RINGBACK).set_hold(1.0, local=True)


def test_missing_transition_raises() -> None:
    with pytest.raises(CallStateError):
        _call(S.INCOMING).apply(In.SEND, 0.0)
    with pytest.raises(CallStateError):
        _call(S.CONNECTED).apply(In.RINGING, 0.0)


def test_ended_is_absorbing() -> None:
    c = _call(S.CALLING)
    c.apply(In.FAILED, 1.0, "busy")
    for event in CallInput:
        assert c.apply(event, 2.0) is S.ENDED
    assert (c.reason, c.ended_at) == ("busy", 1.0)


def test_every_state_can_end() -> None:
    for state in CallState:
        assert TRANSITIONS[(state, In.END)] is S.ENDED


def test_redirect_goes_back_to_calling() -> None:
    c = _call(S.RINGBACK)
    assert c.apply(In.RETRY, 1.0) is S.CALLING


@pytest.mark.parametrize(("status", "phrase", "reason"), [
    (486, "Busy Here", "busy"),
    (600, "Busy Everywhere", "busy"),
    (487, "Request Terminated", "cancelled"),
    (404, "Not Found", "rejected 404 Not Found"),
    (503, "", "rejected 503 Service Unavailable"),
    (603, "Decline", "rejected 603 Decline"),
    (407, "Proxy Authentication Required (credentials for 'x' rejected)",
     "rejected 407 authentication failed"),
])
def test_failure_reason(status: int, phrase: str, reason: str) -> None:
    assert failure_reason(status, phrase) == reason


def test_line_carries_two_calls_and_keeps_focus() -> None:
    line = Line(index=1, settings=LineSettings(number="5550002"))
    a, b = _call(S.CONNECTED), _call(S.INCOMING, "in")
    b.id = "c2"
    line.add(a)
    line.add(b)
    assert MAX_CALLS_PER_LINE == 2 and line.full and line.busy
    assert line.focused is a and line.other(a) is b
    extra = _call(S.INCOMING, "in")
    extra.id = "c3"
    with pytest.raises(ValueError):
        line.add(extra)
    a.apply(In.END, 1.0)
    line.remove(a)
    assert line.focused is b and not line.busy


def test_settings_validate() -> None:
    with pytest.raises(ValueError):
        PhoneSettings(hold_method="inactive")  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        PhoneSettings(dnd_response=403)  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        PhoneSettings(lines=())
    assert "secret" not in repr(LineSettings(number="1", password="secret"))
