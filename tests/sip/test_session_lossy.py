"""Property: on a lossy network a call still sets up and tears down consistently.

Any three datagrams among the first ten may be lost (INVITE, 100, 200, ACK,
BYE, their retransmissions ...): Timer A/E retransmissions, the UAS core's
2xx retransmission and the UAC core's re-ACK must recover, on virtual time.
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from firmware.sip.events import CallAnswered, CallConfirmed, CallEnded, IncomingCall

from .helpers import EndpointPair

pytestmark = [pytest.mark.timeout(60), pytest.mark.arm64]  # arm64: the emulated subset

SDP = b"v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0\r\n"


@settings(max_examples=60, deadline=None)
@given(lost=st.sets(st.integers(0, 9), max_size=3))
def test_call_survives_three_losses(lost: set[int]) -> None:
    pair = EndpointPair(drop=lambda i, src, out: i in lost)
    sa = pair.a.invite(pair.b_uri, SDP, now=pair.now)
    sb = None
    seen_b = []
    for _ in range(100):  # 10 s in 0.1 s steps, answering as soon as the call shows up
        pair.run(0.1)
        for ev in pair.take("b"):
            seen_b.append(ev)
            if isinstance(ev, IncomingCall):
                sb = ev.session
                pair.b.answer(sb, SDP, now=pair.now)
    assert sb is not None
    assert [type(e) for e in pair.take("a")] == [CallAnswered]
    pair.a.bye(sa, now=pair.now)
    pair.run(40)
    assert seen_b[1:] + pair.take("b") == [CallConfirmed(session=sb, sdp=None),
                                           CallEnded(session=sb, by="remote", reason="bye")]
    assert pair.take("a") == [CallEnded(session=sa, by="local", reason="bye")]
    assert len(pair.a.layer) == 0 and len(pair.b.layer) == 0
