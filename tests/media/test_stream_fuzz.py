"""Whatever arrives on the media ports, the stream never raises (hypothesis)."""

from __future__ import annotations

import struct

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from firmware.media.codecs import G722, PCMU
from hal.clock import VirtualClock

from .harness import call

SRC = ("127.0.0.2", 20000)

headers = st.builds(
    lambda b0, pt, seq, ts, ssrc: struct.pack("!BBHII", b0, pt, seq, ts, ssrc),
    st.integers(0, 255), st.sampled_from([0, 8, 9, 13, 18, 101, 128 + 0, 128 + 101, 200, 201]),
    st.integers(0, 0xFFFF), st.integers(0, 0xFFFFFFFF),
    st.sampled_from([0x2222, 0x3333, 0]),
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(headers, st.binary(max_size=400), st.booleans(),
                          st.sampled_from([SRC, ("127.0.0.2", 20001), ("10.0.0.1", 20000)])),
                max_size=30))
def test_hostile_datagrams_never_raise(packets) -> None:
    clock = VirtualClock()
    a, _ = call(clock, codecs=(G722, PCMU))
    for head, body, as_rtcp, src in packets:
        data = head + body
        if as_rtcp:
            a.stream.receive_rtcp(data, src, clock.time())
        else:
            a.stream.receive_rtp(data, src, clock.time())
        clock.advance(0.007)
    clock.advance(0.5)
    st_ = a.stream.stats()
    assert st_.packets_sent > 0  # still sending: the stream survived
