"""INVITE sessions end to end through EndpointPair (two endpoints, in-memory network)."""

from __future__ import annotations

from firmware.sip.events import (
    CallAnswered,
    CallConfirmed,
    CallEnded,
    CallProgress,
    IncomingCall,
)

from .helpers import EndpointPair

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
