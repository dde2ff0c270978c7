"""INVITE sessions end to end through EndpointPair (two endpoints, in-memory network)."""

from __future__ import annotations

import pytest

from firmware.sip.events import (
    CallAnswered,
    CallConfirmed,
    CallEnded,
    CallProgress,
    IncomingCall,
)

from .helpers import EndpointPair

pytestmark = [pytest.mark.timeout(20), pytest.mark.arm64]  # arm64: the emulated subset

SDP_A = b"v=0\r\no=a 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0\r\n"
SDP_B = SDP_A.replace(b"4000", b"5000")


def establish(pair: EndpointPair) -> tuple[str, str]:
    sa = pair.a.invite(pair.b_uri, SDP_A, now=pair.now)
    pair.run(0.1)
    [inc] = pair.take("b")
    assert isinstance(inc, IncomingCall) and inc.sdp == SDP_A
    pair.b.ringing(inc.session, now=pair.now)
    pair.run(0.1)
    pair.b.answer(inc.session, SDP_B, now=pair.now)
    pair.run(0.1)
    return sa, inc.session


def test_basic_call_and_bye() -> None:
    pair = EndpointPair()
    sa, sb = establish(pair)
    evs = pair.take("a")
    assert [type(e) for e in evs] == [CallProgress, CallAnswered]
    assert evs[0].status == 180 and evs[1].sdp == SDP_B
    assert pair.take("b") == [CallConfirmed(session=sb, sdp=None)]
    pair.a.bye(sa, now=pair.now)
    pair.run(1)
    assert pair.take("a") == [CallEnded(session=sa, by="local", reason="bye")]
    assert pair.take("b") == [CallEnded(session=sb, by="remote", reason="bye")]
    lines = pair.net.lines()
    assert lines[0].startswith("INVITE ")
    assert [ln.split(" ")[0] if not ln.startswith("SIP") else ln for ln in lines] == [
        "INVITE", "SIP/2.0 180 Ringing", "SIP/2.0 200 OK", "ACK", "BYE", "SIP/2.0 200 OK",
    ]


def _methods(lines: list[str]) -> list[str]:
    return [ln.split(" ")[0] if not ln.startswith("SIP") else ln[8:11] for ln in lines]


def test_lossy_invite_and_200_are_retransmitted() -> None:
    # Drop the first INVITE and the first 200: Timer A re-sends the INVITE at 0.5 s,
    # the UAS core re-sends the 200 at T1 after the first one (§13.3.1.4).
    from .helpers import drop_first

    drops = [drop_first(lambda ln: ln.startswith("INVITE")),
             drop_first(lambda ln: ln.startswith("SIP/2.0 200"))]
    pair = EndpointPair(drop=lambda i, s, o: any([d(i, s, o) for d in drops]))
    sa = pair.a.invite(pair.b_uri, SDP_A, now=pair.now)
    pair.run(0.6)
    [inc] = pair.take("b")
    assert isinstance(inc, IncomingCall)
    pair.b.answer(inc.session, SDP_B, now=pair.now)
    t_answer = pair.now
    pair.run(2.0)
    assert [type(e) for e in pair.take("a")] == [CallAnswered]
    assert pair.take("b") == [CallConfirmed(session=inc.session, sdp=None)]
    log = pair.net.log
    invites = [d.time for d in log if d.first_line.startswith("INVITE")]
    assert invites == [0.0, 0.5]
    oks = [(d.time, d.dropped) for d in log if d.first_line.startswith("SIP/2.0 200")]
    assert oks == [(t_answer, True), (t_answer + 0.5, False)]
    assert _methods(pair.net.lines(delivered_only=True))[-1] == "ACK"
    assert pair.a.session_state(sa).value == "confirmed"


def test_2xx_retransmitted_until_ack_timeout_then_bye() -> None:
    pair = EndpointPair(drop=lambda i, s, o: o.data.startswith(b"ACK"))
    pair.a.invite(pair.b_uri, SDP_A, now=pair.now)
    pair.run(0.1)
    [inc] = pair.take("b")
    pair.b.answer(inc.session, SDP_B, now=pair.now)
    t0 = pair.now
    pair.run(40)
    oks = [round(d.time - t0, 6) for d in pair.net.log
           if d.first_line.startswith("SIP/2.0 200") and d.src == ("127.0.0.1", 5062)
           and b"INVITE" in d.data.split(b"CSeq:")[1][:20]]
    assert oks[:7] == [0.0, 0.5, 1.5, 3.5, 7.5, 11.5, 15.5]
    assert oks[-1] == 31.5
    # every retransmitted 2xx was ACKed again by the caller (and lost)
    acks = [d for d in pair.net.log if d.first_line.startswith("ACK")]
    assert len(acks) == len(oks)
    evs = pair.take("b")
    assert evs == [CallEnded(session=inc.session, by="local", reason="ack timeout")]
    byes = [d.time - t0 for d in pair.net.log if d.first_line.startswith("BYE")]
    assert byes == [32.0]


def test_reject_486_is_acked_by_transaction() -> None:
    from firmware.sip.events import CallFailed

    pair = EndpointPair()
    sa = pair.a.invite(pair.b_uri, SDP_A, now=pair.now)
    pair.run(0.1)
    [inc] = pair.take("b")
    pair.b.reject(inc.session, 486, now=pair.now)
    pair.run(1)
    assert pair.take("a") == [CallFailed(session=sa, status=486, reason="Busy Here")]
    assert pair.take("b") == [CallEnded(session=inc.session, by="local", reason="rejected")]
    assert _methods(pair.net.lines()) == ["INVITE", "486", "ACK"]
    pair.run(40)  # Timer D / I expire, everything is reaped
    assert len(pair.a.layer) == 0 and len(pair.b.layer) == 0
    assert not pair.a.sessions and not pair.b.sessions


def test_cancel_after_ringing() -> None:
    from firmware.sip.events import CallFailed

    pair = EndpointPair()
    sa = pair.a.invite(pair.b_uri, SDP_A, now=pair.now)
    pair.run(0.1)
    [inc] = pair.take("b")
    pair.b.ringing(inc.session, now=pair.now)
    pair.run(0.1)
    pair.a.cancel(sa, now=pair.now)
    pair.run(1)
    evs = pair.take("a")
    assert evs[-1] == CallFailed(session=sa, status=487, reason="Request Terminated")
    assert pair.take("b") == [CallEnded(session=inc.session, by="remote", reason="cancelled")]
    assert _methods(pair.net.lines()) == ["INVITE", "180", "CANCEL", "200", "487", "ACK"]


def test_cancel_is_deferred_until_a_provisional() -> None:
    from firmware.sip.events import CallFailed

    pair = EndpointPair()
    sa = pair.a.invite(pair.b_uri, SDP_A, now=pair.now)
    pair.a.cancel(sa, now=pair.now)
    pair.run(1)
    lines = _methods(pair.net.lines())
    # 100 Trying comes 200 ms after the INVITE; only then may the CANCEL go (§9.1).
    assert lines[:3] == ["INVITE", "100", "CANCEL"]
    assert [e for e in pair.take("a") if isinstance(e, CallFailed)][0].status == 487
    cancel_t = [d.time for d in pair.net.log if d.first_line.startswith("CANCEL")][0]
    assert cancel_t == pytest.approx(0.22)  # INVITE lands at 0.01, 100 at 0.21, back at 0.22


def test_cancel_race_with_200() -> None:
    """The 200 crosses the CANCEL: the caller ACKs and BYEs; CANCEL gets 200 and no 487."""
    from firmware.sip.events import CallFailed

    pair = EndpointPair()
    sa = pair.a.invite(pair.b_uri, SDP_A, now=pair.now)
    pair.run(0.1)
    [inc] = pair.take("b")
    pair.b.ringing(inc.session, now=pair.now)
    pair.run(0.1)
    pair.a.cancel(sa, now=pair.now)  # CANCEL in flight...
    pair.b.answer(inc.session, SDP_B, now=pair.now)  # ...while the 200 goes out
    pair.run(2)
    assert pair.take("a") == [
        CallProgress(session=sa, status=180, reason="Ringing", sdp=None),
        CallFailed(session=sa, status=487, reason="Request Terminated"),
    ]
    assert pair.take("b") == [
        CallConfirmed(session=inc.session, sdp=None),
        CallEnded(session=inc.session, by="remote", reason="bye"),
    ]
    m = _methods(pair.net.lines())
    assert "487" not in m and m.count("200") == 3  # INVITE 200, CANCEL 200, BYE 200
    assert m.index("ACK") < m.index("BYE")


def test_timer_b_with_custom_t1_reports_408() -> None:
    from firmware.sip.events import CallFailed
    from firmware.sip.timers import TimerConfig

    pair = EndpointPair(timers=TimerConfig(t1=0.25))
    sa = pair.a.invite("sip:nobody@127.0.0.1:5999", SDP_A, now=pair.now)
    pair.run(20)
    assert pair.take("a") == [CallFailed(session=sa, status=408, reason="Request Timeout")]
    invites = [d.time for d in pair.net.log if d.first_line.startswith("INVITE")]
    assert invites == [0.0, 0.25, 0.75, 1.75, 3.75, 7.75, 15.75]


def test_reinvite_both_directions() -> None:
    from firmware.sip.events import ReInviteAnswered, ReInviteReceived

    pair = EndpointPair()
    sa, sb = establish(pair)
    pair.take("a"), pair.take("b")
    hold = SDP_A.replace(b"t=0 0\r\n", b"t=0 0\r\na=sendonly\r\n")
    pair.a.reinvite(sa, hold, now=pair.now)
    pair.run(0.1)
    assert pair.take("b") == [ReInviteReceived(session=sb, sdp=hold)]
    pair.b.answer(sb, SDP_B, now=pair.now)
    pair.run(0.1)
    assert pair.take("a") == [ReInviteAnswered(session=sa, sdp=SDP_B)]
    pair.b.reinvite(sb, SDP_B, now=pair.now)
    pair.run(0.1)
    assert pair.take("a") == [ReInviteReceived(session=sa, sdp=SDP_B)]
    pair.a.answer(sa, SDP_A, now=pair.now)
    pair.run(1)
    assert pair.take("b") == [ReInviteAnswered(session=sb, sdp=SDP_A)]
    # CSeq grows in each direction; the ACKs carry the re-INVITE's CSeq
    assert _methods(pair.net.lines())[-6:] == ["INVITE", "200", "ACK"] * 2


def test_reinvite_glare_491_then_both_succeed() -> None:
    import random

    from firmware.sip.events import ReInviteAnswered, ReInviteReceived

    pair = EndpointPair()
    pair.a.ids.rng = random.Random(1)
    pair.b.ids.rng = random.Random(2)
    sa, sb = establish(pair)
    pair.take("a"), pair.take("b")
    t0 = pair.now
    pair.a.reinvite(sa, SDP_A, now=pair.now)
    pair.b.reinvite(sb, SDP_B, now=pair.now)
    pair.run(0.1)
    m = _methods(pair.net.lines())
    assert m.count("491") == 2
    for _ in range(20):
        pair.run(0.5)
        for who, sid in (("a", sa), ("b", sb)):
            for ev in pair.take(who):
                if isinstance(ev, ReInviteReceived):
                    (pair.a if who == "a" else pair.b).answer(sid, ev.sdp, now=pair.now)
                elif isinstance(ev, ReInviteAnswered):
                    setattr(pair, f"done_{who}", pair.now - t0)
    # b (the callee, not the Call-ID owner) retries within 0-2 s, a within 2.1-4 s
    assert 0 < pair.done_b < 2.2  # type: ignore[attr-defined]
    assert 2.1 < pair.done_a < 4.3  # type: ignore[attr-defined]


def test_in_dialog_info_and_refer_are_passed_up_and_answered() -> None:
    from firmware.sip.events import InDialogRequest, RequestAnswered

    pair = EndpointPair()
    sa, sb = establish(pair)
    pair.take("a"), pair.take("b")
    rid = pair.a.send_in_dialog(sa, "INFO", now=pair.now, body=b"Signal=5\r\n",
                                content_type="application/dtmf-relay")
    pair.run(0.1)
    [ev] = pair.take("b")
    assert isinstance(ev, InDialogRequest) and ev.method == "INFO" and ev.body == b"Signal=5\r\n"
    assert ev.content_type == "application/dtmf-relay"
    pair.b.respond(ev.request_id, 200, now=pair.now)
    pair.run(0.1)
    [ans] = pair.take("a")
    assert isinstance(ans, RequestAnswered)
    assert (ans.request_id, ans.session, ans.method, ans.status) == (rid, sa, "INFO", 200)
    pair.b.send_in_dialog(sb, "REFER", now=pair.now, headers=(("Refer-To", "<sip:carol@x>"),))
    pair.run(0.1)
    [ev] = pair.take("a")
    assert ev.method == "REFER" and ev.request.headers.get("Refer-To") == "<sip:carol@x>"
    pair.run(20)  # left unanswered: the core answers 500 after the answer timeout
    [ans] = pair.take("b")
    assert ans.status == 500


def test_session_commands_in_wrong_state_raise_endpoint_error() -> None:
    import pytest

    from firmware.sip.endpoint import EndpointError

    pair = EndpointPair()
    sa = pair.a.invite(pair.b_uri, SDP_A, now=pair.now)
    with pytest.raises(EndpointError):
        pair.a.answer(sa, SDP_A, now=pair.now)
    with pytest.raises(EndpointError):
        pair.a.bye("nope", now=pair.now)
    with pytest.raises(EndpointError):
        pair.a.invite("mailto:x@y", None, now=pair.now)


def test_call_over_tcp_has_no_retransmissions_and_drains_at_once() -> None:
    from firmware.sip.message import parse_message

    pair = EndpointPair(transport="tcp")
    sa, sb = establish(pair)
    first = parse_message(pair.net.log[0].data)
    assert first.top_via.transport == "TCP"
    assert first.contacts[0].uri.param("transport") == "tcp"
    pair.a.bye(sa, now=pair.now)
    pair.run(0.5)
    assert _methods(pair.net.lines()) == ["INVITE", "180", "200", "ACK", "BYE", "200"]
    # Timers D/J/K are zero on a reliable transport; only the INVITE Accepted
    # timers (L/M, 64*T1) are left.
    assert all(tx.invite for tx in [*pair.a.layer.clients.values(), *pair.b.layer.servers.values()])


def test_in_dialog_request_after_bye_gets_481() -> None:
    from firmware.sip.message import parse_message

    pair = EndpointPair()
    sa, sb = establish(pair)
    info = None

    def grab(i: int, src: object, out: object) -> bool:
        nonlocal info
        if out.data.startswith(b"INFO"):  # type: ignore[attr-defined]
            info = out.data  # type: ignore[attr-defined]
        return False

    pair.net.drop = grab
    pair.a.send_in_dialog(sa, "INFO", now=pair.now)
    pair.run(0.1)
    pair.take("b")
    pair.b.bye(sb, now=pair.now)
    pair.run(0.1)
    assert info is not None
    req = parse_message(info)
    seq = req.cseq.seq
    late = info.replace(f"CSeq: {seq} INFO".encode(), f"CSeq: {seq + 5} INFO".encode())
    late = late.replace(req.top_via.branch.encode(), b"z9hG4bKlate")
    pair.net.inject(("127.0.0.1", 5061), ("127.0.0.1", 5062), late)
    pair.run(0.1)
    assert pair.net.lines()[-1] == "SIP/2.0 481 Call/Transaction Does Not Exist"
    assert pair.take("b") == [CallEnded(session=sb, by="local", reason="bye")]


def test_a_call_may_ring_longer_than_timer_b() -> None:
    pair = EndpointPair()
    sa = pair.a.invite(pair.b_uri, SDP_A, now=pair.now)
    pair.run(0.1)
    [inc] = pair.take("b")
    pair.b.ringing(inc.session, now=pair.now)
    pair.run(60)  # 64*T1 = 32 s would have been Timer B
    pair.b.answer(inc.session, SDP_B, now=pair.now)
    pair.run(1)
    assert [type(e) for e in pair.take("a")] == [CallProgress, CallAnswered]
    assert pair.a.session_state(sa).value == "confirmed"
