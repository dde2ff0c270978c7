"""Phone decisions on outgoing calls: dialing, ringback, redirects, failures, tones (seed B-14).

One SIP event at a time, on a recording endpoint (see fakes.py).
"""

from __future__ import annotations

import pytest

from firmware.phone.actions import (
    PlayTone,
    StartMedia,
    UpdateMedia,
)
from firmware.phone.phone import PhoneError
from firmware.sip import events as ev
from hal.base import HookEvent, KeyEvent

from .fakes import Harness, answered_call, dial_out, offer_sdp


def test_caller_ringback_then_ring_timeout_cancels() -> None:
    h = Harness(ring_timeout=30.0)
    h.phone.receive_input(HookEvent(off_hook=True, at=0.0), 0.0)
    h.drain()
    assert h.phone.tone == "dial"
    sid = dial_out(h)
    assert h.phone.calls()[0].remote == "sip:5550001@10.0.0.2"
    h.feed(ev.CallProgress(session=sid, status=180, reason="Ringing"))
    assert h.phone.tone == "ringback" and h.phone.calls()[0].state == "ringback"
    h.advance(30.0)
    assert h.sip.take() == [("cancel", sid, {})]           # B-16
    h.feed(ev.CallFailed(session=sid, status=487, reason="Request Terminated"))
    assert h.phone.calls()[0].reason == "no-answer"
    assert h.phone.tone == "reorder"


def test_302_is_followed_and_busy_shows_busy() -> None:
    h = Harness()
    sid = h.phone.dial("5550002", 0.0).session
    h.sip.take()
    h.feed(ev.CallFailed(session=sid, status=302, reason="Moved Temporarily",
                         contacts=("sip:5550003@10.0.0.3",)))
    (inv,) = h.sip.take()
    assert inv[0] == "invite" and inv[2]["target"] == "sip:5550003@10.0.0.3"
    h.feed(ev.CallFailed(session=inv[1], status=486, reason="Busy Here"))
    assert h.phone.calls()[0].reason == "busy" and h.phone.tone == "busy"


def test_300_tries_contacts_in_order_after_486_and_ring_timeout() -> None:
    h = Harness(ring_timeout=10.0)
    sid = h.phone.dial("5550002", 0.0).session
    h.feed(ev.CallFailed(session=sid, status=300, reason="Multiple Choices",
                         contacts=("sip:b@10.0.0.2", "sip:c@10.0.0.3", "sip:d@10.0.0.4")))
    h.feed(ev.CallFailed(session=h.sent("invite")[-1][1], status=486, reason="Busy Here"))
    second = h.sent("invite")[-1]
    assert second[2]["target"] == "sip:c@10.0.0.3"
    h.feed(ev.CallProgress(session=second[1], status=180, reason="Ringing"))
    h.advance(10.0)
    assert h.sent("cancel")[-1][1] == second[1]
    h.feed(ev.CallFailed(session=second[1], status=487, reason="Request Terminated"))
    assert h.sent("invite")[-1][2]["target"] == "sip:d@10.0.0.4"
    assert h.phone.calls()[0].state == "calling"


@pytest.mark.parametrize(("status", "more", "reason"), [
    (503, True, None), (404, False, "rejected 404 Not Found"), (603, False, "rejected 603 Decline")])
def test_b14_failure_classes(status: int, more: bool, reason: str | None) -> None:
    h = Harness()
    sid = h.phone.dial("5550002", 0.0).session
    h.feed(ev.CallFailed(session=sid, status=300, reason="Multiple Choices",
                         contacts=("sip:x@10.0.0.5", "sip:y@10.0.0.6")))
    first = h.sent("invite")[-1][1]
    h.feed(ev.CallFailed(session=first, status=status, reason=""))
    assert (h.sent("invite")[-1][1] != first) is more
    if reason:
        assert h.phone.calls()[0].reason == reason


def test_redial_and_softkey_refusals() -> None:
    h = Harness()
    with pytest.raises(PhoneError) as exc:
        h.phone.press_softkey("hold", 0.0)
    assert exc.value.status == 409
    with pytest.raises(PhoneError):
        h.phone.press_softkey("warp", 0.0)
    with pytest.raises(PhoneError):
        h.phone.press_keys("12a", 0.0)
    call = h.phone.dial("5550009", 0.0)
    h.phone.press_softkey("endcall", 1.0)
    h.sip.take()
    h.advance(10.0)
    assert h.phone.calls() == [] and call.reason == "cancelled"
    h.phone.press_softkey("redial", 20.0)
    assert h.sip.take()[0][2]["target"] == "sip:5550009@10.0.0.2"


def test_keypad_digits_in_a_call_are_dtmf() -> None:
    from firmware.phone.actions import SendDtmf

    h = Harness()
    answered_call(h)
    h.phone.receive_input(KeyEvent(key="5", down=True, at=1.0), 1.0)
    h.drain()
    assert h.of(SendDtmf)[-1].digit == "5"


def test_inter_digit_timeout_sends() -> None:
    h = Harness()
    h.phone.press_keys("5550001", 0.0)
    assert h.sip.take() == []
    h.advance(10.0)
    assert h.sip.take()[0][2]["target"] == "sip:5550001@10.0.0.2"


def test_dial_tone_and_tones_follow_state() -> None:
    h = Harness()
    h.phone.hook(True, 0.0)
    h.drain()
    assert h.of(PlayTone)[-1].tone == "dial"
    h.phone.press_keys("1", 0.1)
    assert h.phone.tone is None


def test_redial_from_dial_tone() -> None:
    h = Harness()
    h.phone.dial("5550007", 0.0)
    h.phone.press_softkey("endcall", 0.5)
    h.advance(5.0)
    h.sip.take()
    h.phone.hook(True, 10.0)
    assert h.phone.softkeys(10.0) == ("Redial", "EndCall")
    h.phone.press_softkey("redial", 10.5)
    (inv,) = h.sip.take()
    assert inv[2]["target"] == "sip:5550007@10.0.0.2" and len(h.phone.calls()) == 1


def test_busy_tone_stays_until_the_handset_goes_down() -> None:
    h = Harness()
    h.phone.hook(True, 0.0)
    sid = dial_out(h)
    h.feed(ev.CallFailed(session=sid, status=486, reason="Busy Here"))
    h.advance(60.0)
    assert h.phone.tone == "busy" and h.phone.calls()[0].reason == "busy"
    assert h.phone.get_timer() is None or h.phone.get_timer() > h.now
    h.phone.hook(False, 61.0)
    h.drain()
    assert h.phone.calls() == [] and h.phone.tone is None


def test_early_media_replaces_local_ringback() -> None:
    h = Harness()
    h.phone.hook(True, 0.0)
    sid = dial_out(h)
    h.feed(ev.CallProgress(session=sid, status=183, reason="Session Progress",
                           sdp=offer_sdp(address="10.0.0.7", port=5000)))
    (start,) = h.of(StartMedia)
    assert start.negotiated.remote_address == "10.0.0.7" and h.phone.tone is None
    h.feed(ev.CallAnswered(session=sid, status=200, sdp=offer_sdp(address="10.0.0.7", port=5000)))
    assert h.phone.calls()[0].state == "connected" and len(h.of(StartMedia)) == 1
    assert h.of(UpdateMedia)[-1].negotiated.send
