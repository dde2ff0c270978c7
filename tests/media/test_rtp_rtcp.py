"""RTP header and RTCP compound packets: round trips and hostile input (RFC 3550)."""

from __future__ import annotations

import struct

from hypothesis import given, settings
from hypothesis import strategies as st

from firmware.media import rtcp
from firmware.media.rtp import RtpPacket, parse_rtp, seq_delta, ts_delta
from firmware.media.rtpstats import SequenceTracker


def test_rtp_round_trip_with_csrc_and_marker() -> None:
    p = RtpPacket(payload_type=0, sequence=65535, timestamp=0xFFFFFFF0, ssrc=0xDEADBEEF,
                  payload=b"\xff" * 160, marker=True, csrcs=(1, 2))
    data = p.to_bytes()
    assert data[0] == 0x82 and data[1] == 0x80
    assert parse_rtp(data) == p


def test_rtp_padding_and_extension_are_skipped() -> None:
    head = struct.pack("!BBHII", 0x80 | 0x20 | 0x10, 8, 1, 2, 3)
    ext = struct.pack("!HH", 0xBEDE, 1) + b"\x00" * 4
    data = head + ext + b"abcd" + b"\x00\x00\x03"
    p = parse_rtp(data)
    assert p is not None and p.payload == b"abcd" and p.payload_type == 8


def test_bad_rtp_is_none() -> None:
    good = RtpPacket(payload_type=0, sequence=1, timestamp=1, ssrc=1, payload=b"x").to_bytes()
    assert parse_rtp(good[:11]) is None
    assert parse_rtp(b"\x40" + good[1:]) is None  # version 1
    assert parse_rtp(bytes([0x8F]) + good[1:]) is None  # 15 CSRCs, none present
    assert parse_rtp(bytes([0xA0]) + good[1:-1] + b"\xff") is None  # padding longer than packet
    assert parse_rtp(bytes([0x90]) + good[1:]) is None  # extension header missing
    assert parse_rtp(b"\x80\xc8" + good[2:]) is None  # an RTCP SR on the RTP port
    assert parse_rtp(good + b"x" * 2000) is None


def test_sequence_and_timestamp_arithmetic() -> None:
    assert seq_delta(2, 65534) == 4 and seq_delta(65534, 2) == -4
    assert ts_delta(5, 0xFFFFFFFB) == 10


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=200))
def test_fuzz_rtp_and_rtcp_never_raise(data: bytes) -> None:
    parse_rtp(data)
    rtcp.parse(data)
    rtcp.parse(b"\x81\xc9\x00\x07" + data)


def test_rtcp_compound_round_trip() -> None:
    block = rtcp.ReportBlock(ssrc=7, fraction_lost=64, cumulative_lost=-3, highest_seq=70000,
                             jitter=12, lsr=0x12345678, dlsr=65536)
    pkts = [
        rtcp.SenderReport(ssrc=1, ntp=rtcp.ntp_from_seconds(100.25), rtp_timestamp=800,
                          packet_count=10, octet_count=1600, reports=(block,)),
        rtcp.SourceDescription(ssrc=1, cname="phone@127.0.0.1"),
        rtcp.Bye(ssrcs=(1,), reason="call ended"),
    ]
    data = rtcp.build(pkts)
    assert len(data) % 4 == 0
    assert rtcp.parse(data) == pkts


def test_rtcp_receiver_report_and_validity() -> None:
    data = rtcp.build([rtcp.ReceiverReport(ssrc=9), rtcp.SourceDescription(ssrc=9, cname="abc")])
    assert rtcp.parse(data) == [rtcp.ReceiverReport(ssrc=9),
                                rtcp.SourceDescription(ssrc=9, cname="abc")]
    assert rtcp.parse(rtcp.build([rtcp.Bye(ssrcs=(1,))])) == [rtcp.Bye(ssrcs=(1,))]
    app = bytes.fromhex("80cc0003527e4ee950494e47504f4e47")  # baresip's APP keepalive
    assert rtcp.parse(app) == []
    assert rtcp.parse(b"\x80\x00\x00\x01" + bytes(4)) is None  # PT 0 is not RTCP
    assert rtcp.parse(data[:-4]) is None  # length field past the end
    bad_count = bytearray(data)
    bad_count[0] |= 0x05  # claims 5 report blocks
    assert rtcp.parse(bytes(bad_count)) is None


def test_ntp_middle_bits() -> None:
    ntp = rtcp.ntp_from_seconds(1.5)
    assert ntp == (1 << 32) | (1 << 31)
    assert rtcp.ntp_middle(ntp) == 0x00018000


def test_sequence_tracker_loss_wrap_and_restart() -> None:
    t = SequenceTracker(65530)
    for s in [65530, 65531, 65532, 65534, 65535, 0, 1, 3]:  # 65533 and 2 lost, wraps
        assert t.accept(s)
    assert t.received == 8 and t.expected == 10 and t.lost == 2
    rb = t.report_block(ssrc=1, jitter=0, lsr=0, dlsr=0)
    assert rb.fraction_lost == (2 << 8) // 10 and rb.highest_seq == 65536 + 3
    assert not t.accept(30000)  # a jump: dropped until confirmed
    assert t.accept(30001) and t.resyncs == 1  # confirmed: restart
    assert t.expected == 1 and t.received == 1
