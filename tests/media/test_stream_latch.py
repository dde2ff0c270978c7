"""Opt-in symmetric RTP latching (RFC 4961) across NAT: a peer whose SDP names a
private address is heard from another address; with ``latch`` the stream follows
the first valid source there, and only that one."""

from __future__ import annotations

import pytest

from firmware.media.rtp import RtpPacket
from firmware.media.sdp import Answer, LocalMedia, Negotiated, SdpSession, parse_sdp
from firmware.media.stream import MediaStream

pytestmark = pytest.mark.arm64

SDP_PEER = ("10.0.0.5", 20000)  # what the peer's SDP says (behind NAT)
NAT = ("127.0.0.9", 40000)  # where its packets really come from
THIRD = ("127.0.0.66", 41000)


def negotiate(address: str, port: int, session_id: int = 7) -> Negotiated:
    us = SdpSession(LocalMedia(address="127.0.0.1", rtp_port=16384), session_id=1)
    them = SdpSession(LocalMedia(address=address, rtp_port=port), session_id=session_id)
    answer = them.receive_offer(parse_sdp(us.offer().to_bytes()))
    assert isinstance(answer, Answer)
    neg = us.receive_answer(parse_sdp(answer.sdp.to_bytes()))
    assert isinstance(neg, Negotiated)
    return neg


def rtp(seq: int, ssrc: int = 0x2222, pt: int = 0) -> bytes:
    return RtpPacket(payload_type=pt, sequence=seq, timestamp=160 * seq, ssrc=ssrc,
                     payload=b"\xff" * 160).to_bytes()


def started(latch: bool) -> MediaStream:
    s = MediaStream(ssrc=0x1111, cname="a@127.0.0.1", latch=latch)
    s.update(negotiate(*SDP_PEER), 0.0)
    return s


def rtp_dests(s: MediaStream, now: float) -> set[tuple[str, int]]:
    s.datagrams_to_send()
    s.push_capture(b"\x00" * 640)
    s.handle_timer(now)
    return {d.addr for d in s.datagrams_to_send() if not d.rtcp}


def test_latch_off_drops_other_address() -> None:
    s = started(latch=False)
    for n in range(1, 6):
        s.receive_rtp(rtp(n), NAT, 0.02 * n)
    st = s.stats()
    assert st.wrong_source == 5 and st.packets_received == 0
    assert rtp_dests(s, 0.2) == {SDP_PEER}


def test_latch_on_follows_first_valid_source() -> None:
    s = started(latch=True)
    s.receive_rtp(rtp(1, pt=96), NAT, 0.02)  # not a negotiated payload type: no latch
    assert s.stats().wrong_source == 1
    for n in range(2, 7):
        s.receive_rtp(rtp(n), NAT, 0.02 * n)
    st = s.stats()
    assert st.wrong_source == 1 and st.packets_received == 5
    assert rtp_dests(s, 0.2) == {NAT}  # and we answer there


def test_after_latching_a_third_party_stays_dropped() -> None:
    s = started(latch=True)
    s.receive_rtp(rtp(1), NAT, 0.02)
    for n in range(2, 6):
        s.receive_rtp(rtp(n), THIRD, 0.02 * n)  # same SSRC even: the wrong address
    s.receive_rtp(rtp(2, ssrc=0x6666), SDP_PEER[:1] + (1,), 0.1)
    st = s.stats()
    assert st.wrong_source == 5 and st.packets_received == 1
    assert rtp_dests(s, 0.2) == {NAT}


def test_latch_needs_the_ssrc_already_heard() -> None:
    s = started(latch=True)
    s._remote_ssrc = 0x2222  # heard before (e.g. from the SDP address, then NAT rebinding)
    s._from_expected = False
    s.receive_rtp(rtp(1, ssrc=0x9999), THIRD, 0.02)
    assert s.stats().wrong_source == 1 and s._latched is None


def test_reinvite_with_new_address_resets_the_latch() -> None:
    s = started(latch=True)
    s.receive_rtp(rtp(1), NAT, 0.02)
    assert rtp_dests(s, 0.04) == {NAT}
    s.update(negotiate("10.0.0.7", 22000, session_id=8), 0.05)  # re-INVITE: new SDP address
    assert rtp_dests(s, 0.08) == {("10.0.0.7", 22000)}
    s.receive_rtp(rtp(2), NAT, 0.09)  # the old latch is gone, a new one may form
    s.receive_rtp(rtp(3), THIRD, 0.10)
    st = s.stats()
    assert st.wrong_source == 1
    assert rtp_dests(s, 0.12) == {NAT}


def test_rtcp_accepted_from_latched_address_only() -> None:
    from firmware.media import rtcp

    s = started(latch=True)
    rr = rtcp.build([rtcp.ReceiverReport(ssrc=0x2222, reports=())])
    s.receive_rtcp(rr, (NAT[0], NAT[1] + 1), 0.01)  # not latched yet
    assert s.stats().wrong_source == 1
    s.receive_rtp(rtp(1), NAT, 0.02)
    s.receive_rtcp(rr, (NAT[0], NAT[1] + 1), 0.03)
    s.receive_rtcp(rr, (THIRD[0], THIRD[1] + 1), 0.03)
    assert s.stats().wrong_source == 2
