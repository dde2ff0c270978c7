"""Phone decisions for transfers: BYE/Also, REFER, Replaces (seed B-7, RFC 3515, RFC 3891).

One SIP event at a time, on a recording endpoint (see fakes.py).
"""

from __future__ import annotations

from firmware.sip import events as ev

from .fakes import FakeRequest, Harness, answered_call, offer_sdp


def test_blind_transfer_with_also_is_the_seeds_b7() -> None:
    h = Harness(transfer_method="also")
    sid = answered_call(h)
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
    sid = answered_call(h)
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
    sid = answered_call(h)
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
    sid = answered_call(h)
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
    sid = answered_call(h)
    h.feed(ev.InDialogRequest(session=sid, request_id="q1", method="REFER", body=b"",
                              content_type=None, request=FakeRequest(
                                  {"Refer-To": "<sip:5550003@10.0.0.3>",
                                   "Referred-By": "<sip:5550001@10.0.0.1>"})))
    sent = h.sip.take()
    assert [s[0] for s in sent] == ["respond", "notify", "invite"]
    assert sent[0][2]["status"] == 202 and sent[1][2]["body"] == b"SIP/2.0 100 Trying\r\n"
    assert sent[2][2]["headers"]["Referred-By"] == "<sip:5550001@10.0.0.1>"
    h.feed(ev.CallAnswered(session=sent[2][1], status=200, sdp=offer_sdp(address="10.0.0.3")))
    # the referrer has not answered the 100 NOTIFY yet: the final one waits (RFC 6665 §4.2.2)
    assert [x for x in h.sip.take() if x[0] == "notify"] == []
    h.feed(ev.RequestAnswered(request_id=sent[1][2]["rid"], session=sid, method="NOTIFY",
                              status=200, reason="OK"))
    (notify,) = h.sip.take()
    assert notify[0] == "notify" and notify[2]["body"] == b"SIP/2.0 200 OK\r\n"
    assert notify[2]["headers"]["Subscription-State"].startswith("terminated")


def test_bye_with_also_invites_the_also_target_with_requested_by() -> None:
    h = Harness()
    sid = answered_call(h)
    h.feed(ev.CallEnded(session=sid, by="remote", reason="bye"))
    assert h.sip.take() == []                               # a plain BYE: just ends
    h2 = Harness()
    sid = answered_call(h2)
    ended = ev.CallEnded(session=sid, by="remote", reason="bye")
    object.__setattr__(ended, "request", FakeRequest({"Also": "<sip:5550003@10.0.0.3>",
                                                      "Requested-By": "<sip:b@10.0.0.2>"}))
    h2.feed(ended)
    (inv,) = h2.sip.take()
    assert inv[2]["target"] == "sip:5550003@10.0.0.3"
    assert inv[2]["headers"] == {"Requested-By": "<sip:b@10.0.0.2>"}


def test_failed_refer_transfer_keeps_the_call_and_says_so() -> None:
    h = Harness()
    sid = answered_call(h)
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
    sid = answered_call(h)
    h.feed(ev.InDialogRequest(session=sid, request_id="q1", method="REFER", body=b"",
                              content_type=None, request=FakeRequest({})))
    assert h.sip.take()[-1][2]["status"] == 400
