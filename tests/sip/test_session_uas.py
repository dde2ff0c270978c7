"""UAS corner cases: late offer, BYE before ACK (§15), ring timeout, shutdown."""

from __future__ import annotations

import pytest

from firmware.sip.events import CallAnswered, CallConfirmed, CallEnded, CallFailed, IncomingCall

from .helpers import EndpointPair

pytestmark = [pytest.mark.timeout(30), pytest.mark.arm64]  # arm64: the emulated subset

SDP = b"v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0\r\n"


def incoming(pair: EndpointPair, sdp: bytes | None = SDP) -> tuple[str, str]:
    sa = pair.a.invite(pair.b_uri, sdp, now=pair.now)
    pair.run(pair.net.delay + 0.05)
    [inc] = pair.take("b")
    assert isinstance(inc, IncomingCall)
    return sa, inc.session


def methods(pair: EndpointPair) -> list[str]:
    return [ln.split(" ")[0] if not ln.startswith("SIP") else ln[8:11] for ln in pair.net.lines()]


def test_callee_bye_before_ack_waits_for_the_ack() -> None:
    pair = EndpointPair(delay=0.3)
    sa, sb = incoming(pair)
    pair.run(0.5)
    pair.b.answer(sb, SDP, now=pair.now)
    pair.b.bye(sb, now=pair.now)  # the ACK has not arrived yet
    pair.net.pump()
    assert pair.take("b") == [CallEnded(session=sb, by="local", reason="bye")]
    pair.run(2)
    m = methods(pair)
    assert m.index("ACK") < m.index("BYE")
    assert pair.take("b") == []  # no CallConfirmed for an ended call
    assert [type(e) for e in pair.take("a")] == [CallAnswered, CallEnded]


def test_unanswered_call_gets_480_after_its_expires() -> None:
    pair = EndpointPair()
    sa = pair.a.invite(pair.b_uri, SDP, now=pair.now, headers=(("Expires", "20"),))
    pair.run(0.1)
    [inc] = pair.take("b")
    pair.b.ringing(inc.session, now=pair.now)
    pair.run(25)
    assert pair.take("b") == [CallEnded(session=inc.session, by="local", reason="no answer")]
    assert pair.take("a")[-1] == CallFailed(session=sa, status=480, reason="No Answer")


def test_cancel_after_answer_gets_200_only() -> None:
    pair = EndpointPair(delay=0.2)
    sa, sb = incoming(pair)
    pair.run(0.3)
    pair.take("a")
    pair.b.answer(sb, SDP, now=pair.now)
    pair.a.cancel(sa, now=pair.now)  # crosses the 200 on the wire
    pair.run(3)
    m = methods(pair)
    assert "487" not in m
    assert pair.take("b") == [CallConfirmed(session=sb, sdp=None),
                              CallEnded(session=sb, by="remote", reason="bye")]


def test_shutdown_hangs_up_calls() -> None:
    pair = EndpointPair()
    sa, sb = incoming(pair)
    pair.b.answer(sb, SDP, now=pair.now)
    pair.run(0.5)
    pair.take("a"), pair.take("b")
    sa2 = pair.a.invite(pair.b_uri, SDP, now=pair.now)
    pair.run(0.1)
    [inc2] = pair.take("b")
    pair.b.shutdown(now=pair.now)
    pair.run(1)
    assert pair.take("b") == [CallEnded(session=sb, by="local", reason="bye"),
                              CallEnded(session=inc2.session, by="local", reason="rejected")]
    assert pair.take("a") == [CallEnded(session=sa, by="remote", reason="bye"),
                              CallFailed(session=sa2, status=603, reason="Decline")]


def test_dialog_creating_responses_copy_record_route() -> None:
    from firmware.sip.message import parse_message

    from .test_endpoint import PEER, ep, invite

    e = ep()
    data = invite().replace(b"Contact:", b"Record-Route: <sip:p1.example;lr>, <sip:p2.example;lr>\r\nContact:")
    e.receive_datagram(data, PEER, "udp", 0.0)
    sid = e.next_event().session
    e.ringing(sid, now=0.0)
    e.answer(sid, SDP, now=0.1)
    ringing, ok = (parse_message(o.data) for o in e.datagrams_to_send())
    for resp in (ringing, ok):
        assert resp.headers.get_all("Record-Route") == ["<sip:p1.example;lr>", "<sip:p2.example;lr>"]
    assert e.dialog_info(sid) == ("c1@x", ok.to.tag, "ft")


def test_bye_with_headers_and_remote_bye_request_in_event() -> None:
    pair = EndpointPair()
    sa, sb = incoming(pair)
    pair.b.answer(sb, SDP, now=pair.now)
    pair.run(0.5)
    pair.take("a"), pair.take("b")
    call_id, local_tag, remote_tag = pair.a.dialog_info(sa)
    assert pair.b.dialog_info(sb) == (call_id, remote_tag, local_tag)
    pair.a.bye(sa, now=pair.now, headers=(("Also", "<sip:carol@127.0.0.1>"),))
    pair.run(0.5)
    [ended] = pair.take("b")
    assert ended == CallEnded(session=sb, by="remote", reason="bye")
    assert ended.request.headers.get("Also") == "<sip:carol@127.0.0.1>"


def test_domain_with_port_in_from() -> None:
    from firmware.sip.endpoint import Endpoint, EndpointConfig
    from firmware.sip.message import parse_message

    e = Endpoint(EndpointConfig(local_address=("127.0.0.1", 5061), user="100",
                                domain="127.0.0.1:5070"))
    e.invite("sip:200@127.0.0.1:5070", None, now=0.0)
    [out] = e.datagrams_to_send()
    frm = parse_message(out.data).from_.uri
    assert (frm.user, frm.host, frm.port) == ("100", "127.0.0.1", 5070)


def test_uac_late_offer_acks_with_our_answer() -> None:
    from firmware.sip.message import parse_message

    pair = EndpointPair()
    answer = SDP.replace(b"4000", b"4444")
    sa, sb = incoming(pair, None)
    pair.b.answer(sb, SDP, now=pair.now)  # the 200 carries the offer
    pair.run(0.7)
    assert pair.take("a") == [CallAnswered(session=sa, status=200, sdp=SDP)]
    assert "ACK" not in methods(pair) and methods(pair).count("200") == 2  # retransmitted
    pair.a.answer(sa, answer, now=pair.now)
    pair.run(0.5)
    ack = parse_message([d.data for d in pair.net.log if d.data.startswith(b"ACK")][0])
    assert ack.body == answer and ack.content_type == "application/sdp"
    assert pair.take("b") == [CallConfirmed(session=sb, sdp=answer)]


def test_reinvite_without_sdp_offer_in_2xx_answer_in_ack() -> None:
    from firmware.sip.events import ReInviteAnswered, ReInviteReceived

    pair = EndpointPair()
    sa, sb = incoming(pair)
    pair.b.answer(sb, SDP, now=pair.now)
    pair.run(0.5)
    pair.take("a"), pair.take("b")
    pair.a.reinvite(sa, None, now=pair.now)
    pair.run(0.1)
    assert pair.take("b") == [ReInviteReceived(session=sb, sdp=None)]
    offer = SDP.replace(b"4000", b"4002")
    pair.b.answer(sb, offer, now=pair.now)
    pair.run(0.1)
    assert pair.take("a") == [ReInviteAnswered(session=sa, sdp=offer)]
    pair.a.answer(sa, SDP, now=pair.now)
    pair.run(0.5)
    assert pair.take("b") == [CallConfirmed(session=sb, sdp=SDP)]
