"""Hold pressed after answering but before the caller's ACK (RFC 3261 §14.1).

A UAS may not re-INVITE until the ACK of its 2xx arrives; on loopback a user (or the
control API) can press Hold in that window. The phone must send the hold re-INVITE
once the ACK is in, not lose it and leave the call stuck.
"""

from __future__ import annotations

from firmware.sip import events as ev

from .fakes import Harness, offer_sdp


def test_hold_before_ack_is_sent_after_the_ack() -> None:
    h = Harness()
    h.incoming()
    h.phone.press_softkey("answer", h.now)
    h.sip.take()
    h.phone.press_softkey("hold", h.now)
    assert h.sip.take() == []  # nothing yet: the session is not confirmed
    h.feed(ev.CallConfirmed(session="in1"))
    (re,) = h.sip.take()
    assert re[0] == "reinvite" and b"c=IN IP4 0.0.0.0" in re[2]["sdp"]
    h.feed(ev.ReInviteAnswered(session="in1", sdp=offer_sdp(direction="recvonly")))
    assert h.phone.calls()[0].state == "holding"
    h.phone.press_softkey("resume", 2.0)
    (re2,) = h.sip.take()
    assert re2[0] == "reinvite" and b"a=sendrecv" in re2[2]["sdp"]


def test_hold_after_ack_goes_at_once() -> None:
    h = Harness()
    h.incoming()
    h.phone.press_softkey("answer", h.now)
    h.feed(ev.CallConfirmed(session="in1"))
    h.sip.take()
    h.phone.press_softkey("hold", h.now)
    assert [s[0] for s in h.sip.take()] == ["reinvite"]
