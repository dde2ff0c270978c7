"""Phone decisions on incoming calls: answer, refuse, forward, replace (seed B-1, B-12).

One SIP event at a time, on a recording endpoint (see fakes.py).
"""

from __future__ import annotations

import pytest

from firmware.media.codecs import Codec
from firmware.phone.actions import (
    StartMedia,
    StartRinging,
    StopMedia,
    StopRinging,
)
from firmware.sip import events as ev
from hal.base import HookEvent

from .fakes import FakeRequest, Harness, answered_call, offer_sdp


def test_b1_answer_on_off_hook_media_on_ack_bye_on_hang_up() -> None:
    h = Harness()
    h.incoming()
    assert [s[0] for s in h.sip.take()] == ["ringing"]
    assert h.of(StartRinging) and h.phone.calls()[0].state == "incoming"
    assert h.phone.screen(h.now).lines[:2] == ("Alice", "Incoming call")
    h.phone.receive_input(HookEvent(off_hook=True, at=1.0), 1.0)
    h.drain()
    (answer,) = h.sip.take()
    assert answer[0] == "answer" and b"m=audio" in answer[2]["sdp"]
    assert h.of(StopRinging) and not h.of(StartMedia)        # media waits for the ACK
    h.feed(ev.CallConfirmed(session="in1"))
    (start,) = h.of(StartMedia)
    assert start.negotiated.remote_address == "10.0.0.1" and start.negotiated.send
    h.phone.receive_input(HookEvent(off_hook=False, at=9.0), 9.0)
    h.drain()
    assert [s[0] for s in h.sip.take()] == ["bye"]
    assert h.of(StopMedia) and h.phone.calls() == []        # on-hook: back to the idle screen
    (entry,) = h.phone.history.entries()
    assert (entry.kind, entry.duration, entry.display) == ("received", 8.0, "Alice")


def test_b12_busy_when_call_waiting_is_off() -> None:
    h = Harness(call_waiting=False)
    h.incoming("in1")
    h.phone.press_softkey("answer", 0.0)
    h.feed(ev.CallConfirmed(session="in1"))
    h.sip.take()
    h.incoming("in2")
    assert h.sip.take() == [("reject", "in2", {"status": 486, "reason": "Busy Here", "headers": {}})]


@pytest.mark.parametrize(("response", "phrase"), [(480, "Temporarily Unavailable"),
                                                  (486, "Busy Here")])
def test_dnd_answers_480_or_486(response: int, phrase: str) -> None:
    h = Harness(dnd_response=response)
    h.phone.press_softkey("dnd", 0.0)
    h.incoming()
    assert h.sip.take() == [("reject", "in1", {"status": response, "reason": phrase,
                                               "headers": {}})]
    assert "dnd" in h.phone.screen(0.0).icons
    assert h.phone.history.entries()[0].kind == "missed"


@pytest.mark.parametrize(("as_400", "status"), [(False, 488), (True, 400)])
def test_no_common_codec_answers_with_warning_304(as_400: bool, status: int) -> None:
    h = Harness(reject_no_codec_as_400=as_400)
    g729 = Codec(payload_type=18, name="G729", clock_rate=8000)
    h.incoming(sdp=offer_sdp(codecs=(g729,)))
    (rej,) = h.sip.take()
    assert rej[0] == "reject" and rej[2]["status"] == status
    assert rej[2]["headers"]["Warning"].startswith("304 ")
    assert not h.of(StartRinging) and h.phone.calls() == []


def test_decline_answers_603() -> None:
    h = Harness()
    h.incoming()
    h.sip.take()
    h.phone.press_softkey("Decline", 0.5)
    assert h.sip.take()[0][2]["status"] == 603


def test_cancel_stops_ringing_and_logs_missed() -> None:
    h = Harness()
    h.incoming()
    h.feed(ev.CallEnded(session="in1", by="remote", reason="cancelled"))
    assert h.of(StopRinging)
    assert h.phone.calls()[0].reason == "cancelled"
    assert h.phone.history.entries()[0].kind == "missed"
    h.advance(5.0)                                          # the ended call lingers, then goes
    assert h.phone.calls() == [] and "1 missed call" in h.phone.screen(h.now).lines


def test_forward_all_answers_302_with_contact() -> None:
    h = Harness(cfwd_url="sip:5550003@10.0.0.3")
    h.phone.press_softkey("CFwdAll", 0.0)
    h.incoming()
    assert h.sip.take() == [("reject", "in1", {"status": 302, "reason": "Moved Temporarily",
                                               "headers": {"Contact": "<sip:5550003@10.0.0.3>"}})]


def test_forward_on_no_answer_after_the_configured_time() -> None:
    h = Harness(cfwd_noanswer_url="sip:vm@10.0.0.9", cfwd_noanswer_timeout=12.0)
    h.incoming()
    h.sip.take()
    h.advance(11.9)
    assert h.sip.take() == []
    h.advance(0.2)
    (rej,) = h.sip.take()
    assert rej[2]["status"] == 302 and rej[2]["headers"]["Contact"] == "<sip:vm@10.0.0.9>"
    assert not h.phone.ringing


def test_forward_on_busy() -> None:
    h = Harness(call_waiting=False, cfwd_busy_url="sip:c@10.0.0.3")
    answered_call(h)
    h.incoming("in2")
    assert h.sip.take()[0][2]["headers"] == {"Contact": "<sip:c@10.0.0.3>"}


def test_invite_with_replaces_takes_over_the_matching_call() -> None:
    h = Harness()
    sid = answered_call(h)
    h.incoming("in9", headers={"Replaces": "cid-in1;to-tag=ltag-in1;from-tag=rtag-in1"})
    sent = h.sip.take()
    assert [s[:2] for s in sent] == [("answer", "in9"), ("bye", sid)]
    h.incoming("in10", headers={"Replaces": "nope;to-tag=a;from-tag=b"})
    assert h.sip.take()[0][2]["status"] == 481


def test_incoming_calls_land_on_the_line_they_are_for() -> None:
    from firmware.phone.settings import LineSettings

    h = Harness(lines=(LineSettings(number="5550002", domain="10.0.0.2"),
                       LineSettings(number="5550012", domain="10.0.0.2")))
    h.phone.receive_sip_event(ev.IncomingCall(
        session="in1", call_id="c", from_uri="sip:a@h", from_display=None,
        to_uri="sip:5550012@10.0.0.2", request_uri="sip:5550012@10.0.0.2", sdp=offer_sdp(),
        request=FakeRequest({})), 0.0)
    assert h.phone.calls()[0].line == 2


def test_a_third_call_is_busy_even_with_call_waiting() -> None:
    h = Harness()
    answered_call(h)
    h.incoming("in2")
    h.incoming("in3")
    assert h.sip.take()[-1] == ("reject", "in3", {"status": 486, "reason": "Busy Here",
                                                  "headers": {}})


def test_no_free_rtp_port_is_busy_not_a_crash() -> None:
    h = Harness(start_media_port=20000, end_media_port=20002)   # one port pair
    answered_call(h)
    h.incoming("in2")
    assert h.sip.take()[-1][2]["status"] == 486
    assert h.phone.errors == 0
    call = h.phone.dial("5550009", 1.0)
    assert call.reason == "rejected 503 no free RTP port in the configured media range"
    assert h.phone.errors == 0
