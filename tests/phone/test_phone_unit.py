"""Phone decisions one SIP event at a time, on a recording endpoint (see fakes.py)."""

from __future__ import annotations

from typing import Any

import pytest

from firmware.media.codecs import Codec
from firmware.phone.actions import (
    PlayTone,
    StartMedia,
    StartRinging,
    StopMedia,
    StopRinging,
    UpdateMedia,
)
from firmware.phone.phone import PhoneError
from firmware.sip import events as ev
from hal.base import HookEvent, KeyEvent

from .fakes import FakeRequest, Harness, offer_sdp


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


def _dial(h: Harness, number: str = "5550001") -> str:
    h.phone.press_keys(number + "#", h.now)
    h.drain()
    (inv,) = h.sent("invite")
    h.sip.take()
    return inv[1]


def test_caller_ringback_then_ring_timeout_cancels() -> None:
    h = Harness(ring_timeout=30.0)
    h.phone.receive_input(HookEvent(off_hook=True, at=0.0), 0.0)
    h.drain()
    assert h.phone.tone == "dial"
    sid = _dial(h)
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


def _connected(h: Harness) -> str:
    h.incoming()
    h.phone.press_softkey("answer", h.now)
    h.feed(ev.CallConfirmed(session="in1"))
    h.sip.take()
    return "in1"


@pytest.mark.parametrize(("method", "marker"), [("c0", b"c=IN IP4 0.0.0.0"),
                                                ("sendonly", b"a=sendonly")])
def test_hold_and_resume_by_reinvite(method: str, marker: bytes) -> None:
    h = Harness(hold_method=method)
    sid = _connected(h)
    h.phone.press_softkey("hold", 1.0)
    (re,) = h.sip.take()
    assert re[0] == "reinvite" and marker in re[2]["sdp"]
    answer = offer_sdp(address="10.0.0.1", direction="recvonly")
    h.feed(ev.ReInviteAnswered(session=sid, sdp=answer))
    assert h.phone.calls()[0].state == "holding"
    assert not h.of(UpdateMedia)[-1].negotiated.send        # no RTP while held (B-2 step 13)
    assert "hold" in h.phone.screen(1.0).icons
    h.phone.press_softkey("resume", 2.0)
    (re2,) = h.sip.take()
    assert b"a=sendrecv" in re2[2]["sdp"] and b"0.0.0.0" not in re2[2]["sdp"]
    h.feed(ev.ReInviteAnswered(session=sid, sdp=offer_sdp()))
    assert h.phone.calls()[0].state == "connected" and h.of(UpdateMedia)[-1].negotiated.send


@pytest.mark.parametrize("kw", [{"direction": "sendonly"},
                                {"direction": "sendonly", "hold_style": "connection"}])
def test_peer_hold_in_both_forms_is_held(kw: dict[str, str]) -> None:
    h = Harness()
    sid = _connected(h)
    h.feed(ev.ReInviteReceived(session=sid, sdp=offer_sdp(**kw)))
    (ans,) = h.sip.take()
    assert ans[0] == "answer"
    assert h.phone.calls()[0].state == "held"
    h.feed(ev.ReInviteReceived(session=sid, sdp=offer_sdp()))
    assert h.phone.calls()[0].state == "connected"


def test_b6_call_waiting_answer_holds_the_first_then_swap() -> None:
    h = Harness()
    first = _connected(h)
    h.incoming("in2", display="Carol")
    assert h.sip.take() == [("ringing", "in2", {})]
    assert h.phone.tone == "waiting" and not h.phone.ringing
    screen = h.phone.screen(h.now)
    assert "waiting" in screen.icons and "Waiting: Carol" in screen.lines
    h.phone.press_softkey("answer", 1.0)
    (hold,) = h.sip.take()
    assert hold[:2] == ("reinvite", first)                  # B-6 step 7 before step 10
    h.feed(ev.ReInviteAnswered(session=first, sdp=offer_sdp(direction="recvonly")))
    (ans,) = h.sip.take()
    assert ans[:2] == ("answer", "in2")
    h.feed(ev.CallConfirmed(session="in2"))
    assert {c.id: c.state for c in h.phone.calls()} == {"c1": "holding", "c2": "connected"}
    h.phone.press_softkey("swap", 2.0)
    (hold2,) = h.sip.take()
    assert hold2[:2] == ("reinvite", "in2")                 # B-6 step 12
    h.feed(ev.ReInviteAnswered(session="in2", sdp=offer_sdp(direction="recvonly")))
    (resume,) = h.sip.take()
    assert resume[:2] == ("reinvite", first)                # B-6 step 15
    h.feed(ev.ReInviteAnswered(session=first, sdp=offer_sdp()))
    assert {c.id: c.state for c in h.phone.calls()} == {"c1": "connected", "c2": "holding"}


def test_hanging_up_one_call_offers_the_remaining_one() -> None:
    h = Harness()
    first = _connected(h)
    h.incoming("in2")
    h.phone.press_softkey("answer", 1.0)
    h.feed(ev.ReInviteAnswered(session=first, sdp=offer_sdp(direction="recvonly")))
    h.feed(ev.CallConfirmed(session="in2"))
    h.sip.take()
    h.phone.press_softkey("endcall", 3.0)                  # ends the talking call only
    h.drain()
    assert h.sip.take() == [("bye", "in2", {"headers": {}})]
    assert h.phone.ringing                                  # the seed's "notification"
    h.phone.receive_input(HookEvent(off_hook=True, at=4.0), 4.0)
    h.drain()
    (resume,) = h.sip.take()
    assert resume[:2] == ("reinvite", first) and b"a=sendrecv" in resume[2]["sdp"]


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
    _connected(h)
    h.incoming("in2")
    assert h.sip.take()[0][2]["headers"] == {"Contact": "<sip:c@10.0.0.3>"}


def test_blind_transfer_with_also_is_the_seeds_b7() -> None:
    h = Harness(transfer_method="also")
    sid = _connected(h)
    h.phone.press_softkey("transfer", 1.0)
    assert h.sip.take() == []                              # nothing on the wire yet
    h.phone.press_keys("5550003", 1.5)
    h.phone.press_softkey("transfer", 2.0)
    (bye,) = h.sip.take()
    assert bye[:2] == ("bye", sid)
    assert bye[2]["headers"]["Also"] == "<sip:5550003@10.0.0.2>"
    assert "Requested-By" in bye[2]["headers"]
    assert h.phone.calls()[0].reason == "transferred"


def test_blind_refer_follows_notify_and_falls_back_on_501() -> None:
    h = Harness()
    sid = _connected(h)
    h.phone.press_softkey("transfer", 1.0)
    h.phone.press_keys("5550003", 1.5)
    h.phone.press_softkey("transfer", 2.0)
    (refer,) = h.sip.take()
    assert refer[0] == "refer" and refer[2]["headers"]["Refer-To"] == "<sip:5550003@10.0.0.2>"
    h.feed(ev.RequestAnswered(request_id=refer[2]["rid"], session=sid, method="REFER",
                              status=202, reason="Accepted"))
    h.feed(ev.InDialogRequest(session=sid, request_id="n1", method="NOTIFY",
                              body=b"SIP/2.0 200 OK\r\n", content_type="message/sipfrag",
                              request=FakeRequest({"Event": "refer"})))
    assert [s[0] for s in h.sip.take()] == ["respond", "bye"]
    assert h.phone.calls()[0].reason == "transferred"

    h = Harness()
    sid = _connected(h)
    h.phone.press_softkey("transfer", 1.0)
    h.phone.press_keys("5550003", 1.5)
    h.phone.press_softkey("transfer", 2.0)
    (refer,) = h.sip.take()
    h.feed(ev.RequestAnswered(request_id=refer[2]["rid"], session=sid, method="REFER",
                              status=501, reason="Not Implemented"))
    (bye,) = h.sip.take()
    assert bye[0] == "bye" and bye[2]["headers"]["Also"] == "<sip:5550003@10.0.0.2>"


def test_attended_refer_carries_replaces() -> None:
    h = Harness()
    sid = _connected(h)
    h.phone.press_softkey("transfer", 1.0)
    h.phone.press_keys("5550003#", 1.5)
    (hold,) = h.sip.take()
    assert hold[:2] == ("reinvite", sid)                   # B-8 step 5 before step 8
    h.feed(ev.ReInviteAnswered(session=sid, sdp=offer_sdp(direction="recvonly")))
    (inv,) = h.sip.take()
    assert inv[0] == "invite"
    h.sip.dialogs[inv[1]] = ("cid-c", "ltag-b", "rtag-c")
    h.feed(ev.CallAnswered(session=inv[1], status=200, sdp=offer_sdp(address="10.0.0.3")))
    h.phone.press_softkey("transfer", 3.0)
    (refer,) = h.sip.take()
    assert refer[:2] == ("refer", sid)
    assert refer[2]["headers"]["Refer-To"] == \
        "<sip:5550003@10.0.0.2?Replaces=cid-c%3Bto-tag%3Drtag-c%3Bfrom-tag%3Dltag-b>"


def test_receiving_refer_invites_the_target_and_notifies() -> None:
    h = Harness()
    sid = _connected(h)
    h.feed(ev.InDialogRequest(session=sid, request_id="q1", method="REFER", body=b"",
                              content_type=None, request=FakeRequest(
                                  {"Refer-To": "<sip:5550003@10.0.0.3>",
                                   "Referred-By": "<sip:5550001@10.0.0.1>"})))
    sent = h.sip.take()
    assert [s[0] for s in sent] == ["respond", "notify", "invite"]
    assert sent[0][2]["status"] == 202 and sent[1][2]["body"] == b"SIP/2.0 100 Trying\r\n"
    assert sent[2][2]["headers"]["Referred-By"] == "<sip:5550001@10.0.0.1>"
    h.feed(ev.CallAnswered(session=sent[2][1], status=200, sdp=offer_sdp(address="10.0.0.3")))
    (notify,) = h.sip.take()
    assert notify[0] == "notify" and notify[2]["body"] == b"SIP/2.0 200 OK\r\n"
    assert notify[2]["headers"]["Subscription-State"].startswith("terminated")


def test_bye_with_also_invites_the_also_target_with_requested_by() -> None:
    h = Harness()
    sid = _connected(h)
    h.feed(ev.CallEnded(session=sid, by="remote", reason="bye"))
    assert h.sip.take() == []                               # a plain BYE: just ends
    h2 = Harness()
    sid = _connected(h2)
    ended = ev.CallEnded(session=sid, by="remote", reason="bye")
    object.__setattr__(ended, "request", FakeRequest({"Also": "<sip:5550003@10.0.0.3>",
                                                      "Requested-By": "<sip:b@10.0.0.2>"}))
    h2.feed(ended)
    (inv,) = h2.sip.take()
    assert inv[2]["target"] == "sip:5550003@10.0.0.3"
    assert inv[2]["headers"] == {"Requested-By": "<sip:b@10.0.0.2>"}


def test_invite_with_replaces_takes_over_the_matching_call() -> None:
    h = Harness()
    sid = _connected(h)
    h.incoming("in9", headers={"Replaces": "cid-in1;to-tag=ltag-in1;from-tag=rtag-in1"})
    sent = h.sip.take()
    assert [s[:2] for s in sent] == [("answer", "in9"), ("bye", sid)]
    h.incoming("in10", headers={"Replaces": "nope;to-tag=a;from-tag=b"})
    assert h.sip.take()[0][2]["status"] == 481


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
    _connected(h)
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


def test_registration_state_reaches_the_screen() -> None:
    h = Harness()
    assert h.phone.screen(0.0).lines[0] == "Registering..."
    h.feed(ev.Registered(registration="r1", aor="sip:5550002@10.0.0.2", expires=3600))
    screen = h.phone.screen(0.0)
    assert screen.lines[0] == "Ready" and "registered" in screen.icons
    h.feed(ev.RegistrationFailed(registration="r1", aor="sip:5550002@10.0.0.2", status=403,
                                 reason="Forbidden", retry_in=30.0))
    assert not h.phone.lines[0].registered
    assert h.phone.lines[0].registration_reason == "403 Forbidden"


def test_history_survives_a_restart(tmp_path: Any) -> None:
    from firmware.phone.history import JsonHistoryFile
    from firmware.phone.phone import Phone

    store = JsonHistoryFile(tmp_path)
    h = Harness()
    h.phone.wall_offset = 1_700_000_000.0
    h.phone.dial("5550009", 1.0)
    h.incoming("in5")
    h.feed(ev.CallEnded(session="in5", by="remote", reason="cancelled"))
    from firmware.phone.actions import HistoryChanged

    assert h.of(HistoryChanged)
    store.save(h.phone.history)
    again = Phone(h.settings, h.sip, history=store.load())
    kinds = {e.kind: e for e in again.history.entries()}
    assert set(kinds) == {"placed", "missed"}
    assert kinds["placed"].remote == "sip:5550009@10.0.0.2" and kinds["placed"].at > 1.7e9
    assert kinds["missed"].display == "Alice"


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
    _connected(h)
    h.incoming("in2")
    h.incoming("in3")
    assert h.sip.take()[-1] == ("reject", "in3", {"status": 486, "reason": "Busy Here",
                                                  "headers": {}})


def test_in_dialog_requests_are_answered() -> None:
    h = Harness()
    sid = _connected(h)
    for method, status in (("OPTIONS", 200), ("INFO", 200), ("SUBSCRIBE", 501)):
        h.feed(ev.InDialogRequest(session=sid, request_id=f"q-{method}", method=method, body=b"",
                                  content_type=None, request=FakeRequest({})))
        assert h.sip.take()[-1][2]["status"] == status
    h.feed(ev.InDialogRequest(session="nope", request_id="q9", method="OPTIONS", body=b"",
                              content_type=None, request=FakeRequest({})))
    assert h.sip.take()[-1][2]["status"] == 481


def test_failed_refer_transfer_keeps_the_call_and_says_so() -> None:
    h = Harness()
    sid = _connected(h)
    h.phone.transfer_to("5550003", 1.0)
    (refer,) = h.sip.take()
    h.feed(ev.RequestAnswered(request_id=refer[2]["rid"], session=sid, method="REFER",
                              status=202, reason="Accepted"))
    h.feed(ev.InDialogRequest(session=sid, request_id="n1", method="NOTIFY",
                              body=b"SIP/2.0 486 Busy Here\r\n", content_type="message/sipfrag",
                              request=FakeRequest({"Event": "refer"})))
    assert [s[0] for s in h.sip.take()] == ["respond"]      # no BYE: the call goes on
    assert h.phone.calls()[0].state == "connected"
    assert "Transfer failed (486)" in h.phone.screen(2.0).lines


def test_bad_refer_to_is_answered_400() -> None:
    h = Harness()
    sid = _connected(h)
    h.feed(ev.InDialogRequest(session=sid, request_id="q1", method="REFER", body=b"",
                              content_type=None, request=FakeRequest({})))
    assert h.sip.take()[-1][2]["status"] == 400


def test_both_sides_on_hold() -> None:
    h = Harness()
    sid = _connected(h)
    h.feed(ev.ReInviteReceived(session=sid, sdp=offer_sdp(direction="sendonly")))
    assert h.phone.calls()[0].state == "held"
    h.sip.take()
    h.phone.press_softkey("hold", 1.0)
    h.feed(ev.ReInviteAnswered(session=sid, sdp=offer_sdp(direction="inactive")))
    assert h.phone.calls()[0].state == "holding"
    h.phone.press_softkey("resume", 2.0)
    h.feed(ev.ReInviteAnswered(session=sid, sdp=offer_sdp(direction="recvonly")))
    assert h.phone.calls()[0].state == "held"              # they still hold us
    h.feed(ev.ReInviteReceived(session=sid, sdp=offer_sdp()))
    assert h.phone.calls()[0].state == "connected"
    assert h.of(UpdateMedia)[-1].negotiated.send


def test_no_free_rtp_port_is_busy_not_a_crash() -> None:
    h = Harness(start_media_port=20000, end_media_port=20002)   # one port pair
    _connected(h)
    h.incoming("in2")
    assert h.sip.take()[-1][2]["status"] == 486
    assert h.phone.errors == 0
    call = h.phone.dial("5550009", 1.0)
    assert call.reason == "rejected 503 no free RTP port in the configured media range"
    assert h.phone.errors == 0


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
    sid = _dial(h)
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
    sid = _dial(h)
    h.feed(ev.CallProgress(session=sid, status=183, reason="Session Progress",
                           sdp=offer_sdp(address="10.0.0.7", port=5000)))
    (start,) = h.of(StartMedia)
    assert start.negotiated.remote_address == "10.0.0.7" and h.phone.tone is None
    h.feed(ev.CallAnswered(session=sid, status=200, sdp=offer_sdp(address="10.0.0.7", port=5000)))
    assert h.phone.calls()[0].state == "connected" and len(h.of(StartMedia)) == 1
    assert h.of(UpdateMedia)[-1].negotiated.send


def test_line_buttons_pick_the_line() -> None:
    from firmware.phone.settings import LineSettings

    h = Harness(lines=(LineSettings(number="5550002", domain="10.0.0.2"),
                       LineSettings(number="5550012", display_name="Sales", domain="10.0.0.2")))
    h.phone.receive_input(KeyEvent(key="line2", down=True, at=0.0), 0.0)
    h.drain()
    assert h.phone.screen(0.0).status == "Sales (unreg)" and h.phone.tone == "dial"
    h.phone.press_keys("5550003#", 0.5)
    (inv,) = h.sip.take()
    assert inv[2]["target"] == "sip:5550003@10.0.0.2"
    assert h.phone.calls()[0].line == 2
    h.phone.receive_input(KeyEvent(key="line7", down=True, at=1.0), 1.0)
    assert h.phone.errors == 0


def test_a_call_on_another_line_does_not_steal_the_screen() -> None:
    from firmware.phone.settings import LineSettings

    h = Harness(lines=(LineSettings(number="5550002", domain="10.0.0.2"),
                       LineSettings(number="5550012", domain="10.0.0.2")))
    _connected(h)
    h.phone.receive_sip_event(ev.IncomingCall(
        session="in7", call_id="c7", from_uri="sip:a@h", from_display="Line Two Caller",
        to_uri="sip:5550012@10.0.0.2", request_uri="sip:5550012@10.0.0.2", sdp=offer_sdp(),
        request=FakeRequest({})), 1.0)
    assert h.phone.current_line == 1 and h.phone.tone == "waiting"
    h.phone.receive_input(KeyEvent(key="line2", down=True, at=2.0), 2.0)
    assert h.sip.take()[-1][:2] == ("reinvite", "in1")     # line 1's call is held first


def test_taking_another_line_holds_the_call_in_conversation() -> None:
    from firmware.phone.settings import LineSettings

    h = Harness(lines=(LineSettings(number="5550002", domain="10.0.0.2"),
                       LineSettings(number="5550012", domain="10.0.0.2")))
    _connected(h)
    h.phone.receive_input(KeyEvent(key="line2", down=True, at=1.0), 1.0)
    assert [s[:2] for s in h.sip.take()] == [("reinvite", "in1")]
    assert h.phone.current_line == 2 and h.phone.calls()[-1].state == "dialing"
