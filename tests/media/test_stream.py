"""MediaStream end to end on a virtual clock: audio both ways, pacing, hold/resume,
DTMF both ways, RTCP figures, BYE, and hostile input."""

from __future__ import annotations

import pytest

from firmware.media.dtmf import DtmfDigit
from firmware.media.rtcp import ReceiverReport, SenderReport
from firmware.media.rtcp import parse as parse_rtcp
from firmware.media.rtp import RtpPacket, parse_rtp
from firmware.media.sdp import Answer, Negotiated, parse_sdp
from firmware.media.stream import RemoteBye
from hal.clock import VirtualClock

from .harness import call

pytestmark = pytest.mark.arm64  # part of the subset run in the emulated arm64 userland


def rtp_sent(phone, after: float = 0.0):
    return [(t, parse_rtp(d.data)) for t, d in phone.sent if not d.rtcp and t >= after]


def test_audio_both_ways_by_tone_frequency(clock: VirtualClock) -> None:
    a, b = call(clock)
    a.audio.set_tone(1000)
    b.audio.set_tone(440)
    clock.advance(2.0)
    assert a.audio.dominant_hz() == pytest.approx(440, abs=20)
    assert b.audio.dominant_hz() == pytest.approx(1000, abs=20)
    assert a.audio.level_dbfs() > -12 and b.audio.level_dbfs() > -12
    sa, sb = a.stream.stats(), b.stream.stats()
    assert sa.codec == "PCMU" and sa.packets_sent >= 99 and sb.packets_received >= 98
    assert sb.packets_lost == 0 and sb.jitter_buffer.concealed == 0


def test_packets_leave_on_the_absolute_20ms_grid(clock: VirtualClock) -> None:
    a, _ = call(clock)
    clock.advance(1.0)
    sent = rtp_sent(a)
    t0 = sent[0][0]
    assert len(sent) == 50  # first packet on the audio grid at 20 ms, then every 20 ms
    for n, (t, pkt) in enumerate(sent):
        assert t == pytest.approx(t0 + n * 0.02, abs=1e-9)
        assert pkt.timestamp == (sent[0][1].timestamp + 160 * n) & 0xFFFFFFFF
        assert pkt.sequence == (sent[0][1].sequence + n) & 0xFFFF
        assert pkt.marker == (n == 0)
        assert len(pkt.payload) == 160


def test_late_loop_wakeup_keeps_grid_and_long_stall_skips(clock: VirtualClock) -> None:
    a, _ = call(clock)
    clock.advance(0.5)
    s = a.stream
    t0 = rtp_sent(a)[0][0]
    s.datagrams_to_send()
    # the loop wakes 7 ms after a deadline: exactly the due packets go out, no burst
    now = s.get_timer() + 0.007  # type: ignore[operator]
    s.handle_timer(now)
    assert len(s.datagrams_to_send()) == 1
    nxt = s.get_timer()
    assert nxt is not None and ((nxt - t0) / 0.02) == pytest.approx(round((nxt - t0) / 0.02))
    assert nxt > now
    # a one-second stall: the missed ticks are skipped, not sent back to back
    s.handle_timer(now + 1.0)
    assert len([d for d in s.datagrams_to_send() if not d.rtcp]) == 1
    assert s.stats().ticks_skipped >= 45


def test_hold_stops_sending_and_resume_continues_timestamps(clock: VirtualClock) -> None:
    a, b = call(clock)
    a.audio.set_tone(700)
    clock.advance(1.0)
    hold = a.sdp.offer(direction="sendonly")
    ans = b.sdp.receive_offer(parse_sdp(hold.to_bytes()))
    assert isinstance(ans, Answer)
    b.apply(ans.negotiated)
    neg = a.sdp.receive_answer(parse_sdp(ans.sdp.to_bytes()))
    assert isinstance(neg, Negotiated)
    a.apply(neg)
    t_hold = clock.time()
    last_before = rtp_sent(a)[-1][1]
    clock.advance(2.0)
    assert rtp_sent(a, after=t_hold + 1e-6) == []  # "no RTP packets are being sent"
    assert rtp_sent(b, after=t_hold + 0.01) == []  # the held side is silent too
    assert not a.stream.stats().sending
    resume = a.sdp.offer()
    ans = b.sdp.receive_offer(parse_sdp(resume.to_bytes()))
    assert isinstance(ans, Answer)
    b.apply(ans.negotiated)
    neg = a.sdp.receive_answer(parse_sdp(ans.sdp.to_bytes()))
    assert isinstance(neg, Negotiated)
    a.apply(neg)
    t_resume = clock.time()
    clock.advance(1.0)
    after = rtp_sent(a, after=t_resume - 1e-6)
    first = after[0][1]
    assert first.marker and first.sequence == (last_before.sequence + 1) & 0xFFFF
    elapsed = round((after[0][0] - t_hold) / 0.02)
    assert first.timestamp - last_before.timestamp == pytest.approx(160 * elapsed, abs=160)
    assert first.timestamp - last_before.timestamp > 160 * 90  # the timeline kept running
    assert b.audio.dominant_hz() == pytest.approx(700, abs=20)


def test_rfc2543_hold_is_silent_both_ways(clock: VirtualClock) -> None:
    a, b = call(clock)
    clock.advance(0.5)
    hold = a.sdp.offer(direction="sendonly", hold_style="connection")
    assert "c=IN IP4 0.0.0.0" in str(hold)
    ans = b.sdp.receive_offer(parse_sdp(hold.to_bytes()))
    assert isinstance(ans, Answer)
    b.apply(ans.negotiated)
    neg = a.sdp.receive_answer(parse_sdp(ans.sdp.to_bytes()))
    assert isinstance(neg, Negotiated)
    a.apply(neg)
    t = clock.time()
    clock.advance(1.0)
    assert rtp_sent(a, after=t + 1e-6) == [] and rtp_sent(b, after=t + 0.01) == []
    # the held party may still send (music on hold) from where it was: still accepted
    pkt = RtpPacket(payload_type=0, sequence=7, timestamp=99, ssrc=0x1111, payload=b"\xff" * 160)
    b.stream.receive_rtp(pkt.to_bytes(), ("127.0.0.1", 16384), clock.time())
    assert b.stream.stats().wrong_source == 0


def test_dtmf_both_ways(clock: VirtualClock) -> None:
    a, b = call(clock)
    clock.advance(0.2)
    for d in "159#":
        assert a.stream.send_dtmf(d, clock.time())
    assert b.stream.send_dtmf("*", clock.time())
    assert not a.stream.send_dtmf("x", clock.time())
    clock.advance(2.0)
    got_b = [e.digit for e in b.events if isinstance(e, DtmfDigit)]
    got_a = [e.digit for e in a.events if isinstance(e, DtmfDigit)]
    assert got_b == ["1", "5", "9", "#"] and got_a == ["*"]
    events = [p for _, p in rtp_sent(a) if p.payload_type == 101]
    assert sum(p.marker for p in events) == 4
    assert a.stream.stats().dtmf_sent == 4 and b.stream.stats().dtmf_received == 4


def test_dtmf_survives_loss_of_the_first_packets(clock: VirtualClock) -> None:
    a, b = call(clock)
    dropped = []

    def drop(d):
        p = parse_rtp(d.data)
        if p and p.payload_type == 101 and p.marker:
            dropped.append(p)
            return True
        return False

    a.drop = drop
    clock.advance(0.1)
    a.stream.send_dtmf("7", clock.time())
    clock.advance(1.0)
    assert dropped and [e.digit for e in b.events if isinstance(e, DtmfDigit)] == ["7"]


def test_rtcp_reports_loss_jitter_and_rtt(clock: VirtualClock) -> None:
    a, b = call(clock)
    count = [0]

    def every_tenth(d):
        if d.rtcp:
            return False
        count[0] += 1
        return count[0] % 10 == 0

    a.drop = every_tenth
    clock.advance(16.0)
    sb, sa = b.stream.stats(), a.stream.stats()
    assert sb.packets_lost == pytest.approx(sa.packets_sent / 10, abs=2)
    assert sa.remote_fraction_lost == pytest.approx(0.1, abs=0.03)
    assert sa.rtt_ms == pytest.approx(2.0, abs=0.5)  # 1 ms each way on the link
    assert sb.rtt_ms == pytest.approx(2.0, abs=0.5)
    assert sa.rtcp_sent >= 2 and sb.rtcp_received >= 2
    rtcp_pkts = [parse_rtcp(d.data) for _, d in a.sent if d.rtcp]
    assert all(isinstance(p[0], SenderReport | ReceiverReport) for p in rtcp_pkts)
    assert any(getattr(x, "cname", "") == "alice@127.0.0.1" for p in rtcp_pkts for x in p)


def test_stop_sends_bye(clock: VirtualClock) -> None:
    a, b = call(clock)
    clock.advance(0.5)
    a.stream.stop(clock.time())
    a.kick()
    clock.advance(0.1)
    assert any(isinstance(e, RemoteBye) for e in b.events)
    assert a.stream.get_timer() is None


def test_hostile_input_is_dropped_and_counted(clock: VirtualClock) -> None:
    a, b = call(clock)
    b.audio.set_tone(440)
    clock.advance(0.5)
    s = a.stream
    now = clock.time()
    src = ("127.0.0.2", 20000)
    s.receive_rtp(b"\x00" * 5, src, now)  # malformed
    s.receive_rtp(b"\x80" * 40, src, now)  # PCMU from an unknown SSRC 0x80808080
    good = RtpPacket(payload_type=0, sequence=1, timestamp=1, ssrc=0x2222, payload=b"\xff" * 160)
    s.receive_rtp(good.to_bytes(), ("10.9.9.9", 20000), now)  # wrong source
    s.receive_rtp(RtpPacket(payload_type=18, sequence=1, timestamp=1, ssrc=0x2222,
                            payload=b"x").to_bytes(), src, now)  # un-negotiated PT
    s.receive_rtp(RtpPacket(payload_type=0, sequence=999, timestamp=1, ssrc=0x9999,
                            payload=b"\xff" * 160).to_bytes(), src, now)  # SSRC jump, single
    s.receive_rtcp(b"\x80\xc9\x00", src, now)
    s.receive_rtcp(b"\x81\xc9\x00\x07" + b"\x00" * 28, ("10.9.9.9", 20001), now)
    st = s.stats()
    assert st.malformed == 1 and st.wrong_source == 2 and st.unknown_pt == 1
    assert st.wrong_ssrc == 2 and st.rtcp_malformed == 1
    clock.advance(1.0)
    assert a.audio.dominant_hz() == pytest.approx(440, abs=20)  # audio carried on


def test_ssrc_change_confirmed_by_two_packets_resyncs(clock: VirtualClock) -> None:
    a, b = call(clock)
    clock.advance(0.5)
    b.stream.ssrc = 0x3333  # the far end restarts its stream (e.g. a B2BUA re-anchoring)
    b.stream._seq = 40000
    b.audio.set_tone(600)
    clock.advance(1.0)
    st = a.stream.stats()
    assert st.ssrc_changes == 1 and st.wrong_ssrc == 1
    assert a.audio.dominant_hz() == pytest.approx(600, abs=20)


def test_symmetric_rtp_latches_on_nat_port(clock: VirtualClock) -> None:
    a, b = call(clock)
    # B's packets come from another port of its address (NAT): A answers there
    a.stream._from_expected = False
    s = a.stream
    now = clock.time()
    pkt = RtpPacket(payload_type=0, sequence=1, timestamp=160, ssrc=0x2222, payload=b"\xff" * 160)
    s.receive_rtp(pkt.to_bytes(), ("127.0.0.2", 31000), now)
    assert s.stats().wrong_source == 0
    clock.advance(0.1)
    assert {d.addr for _, d in a.sent[-3:] if not d.rtcp} == {("127.0.0.2", 31000)}


@pytest.mark.parametrize("card_period", [0.0198, 0.0202])  # sound card 1 % fast / slow
def test_card_clock_drift_on_capture_does_not_grow_delay(clock: VirtualClock,
                                                         card_period: float) -> None:
    a, b = call(clock)
    a.engine._t0 = None  # the card paces A's engine now, not the loop clock

    def card() -> None:
        a.engine.on_period(clock.time())
        a.kick()
        clock.call_later(card_period, card)

    clock.call_later(card_period, card)
    a.audio.set_tone(800)
    clock.advance(60.0)
    st = a.stream.stats()
    assert len(a.stream._capture) <= 2 * 320  # never more than two packets queued
    if card_period < 0.02:
        assert st.capture_dropped == pytest.approx(0.01 * 8000 * 60, rel=0.3)
    else:
        assert st.capture_starved == pytest.approx(0.01 * 8000 * 60, rel=0.3)
    assert b.audio.dominant_hz() == pytest.approx(800, abs=20)


def test_reinvite_switches_codec_mid_call(clock: VirtualClock) -> None:
    from dataclasses import replace

    from firmware.media.codecs import PCMA

    a, b = call(clock)
    a.audio.set_tone(900)
    clock.advance(1.0)
    a.sdp.local = replace(a.sdp.local, codecs=(PCMA,))
    ans = b.sdp.receive_offer(parse_sdp(a.sdp.offer().to_bytes()))
    assert isinstance(ans, Answer)
    b.apply(ans.negotiated)
    neg = a.sdp.receive_answer(parse_sdp(ans.sdp.to_bytes()))
    assert isinstance(neg, Negotiated)
    a.apply(neg)
    t = clock.time()
    clock.advance(1.0)
    assert {p.payload_type for _, p in rtp_sent(a, after=t + 1e-6)} == {8}
    assert a.stream.stats().codec == "PCMA" and b.stream.stats().unknown_pt == 0
    assert b.audio.dominant_hz() == pytest.approx(900, abs=20)


def test_peer_asking_for_30ms_packets(clock: VirtualClock) -> None:
    from dataclasses import replace

    from . import harness

    original = harness.make_phone

    def make(*args, **kw):
        phone = original(*args, **kw)
        if phone.name == "bob":  # bob's SDP says a=ptime:30
            phone.sdp.local = replace(phone.sdp.local, ptime=30)
        return phone

    harness.make_phone = make
    try:
        a, b = harness.call(clock)
    finally:
        harness.make_phone = original
    a.audio.set_tone(1000)
    b.audio.set_tone(440)
    clock.advance(3.0)
    assert {len(p.payload) for _, p in rtp_sent(a)} == {240}  # 30 ms at 8 kHz to bob
    assert {len(p.payload) for _, p in rtp_sent(b)} == {160}  # 20 ms to alice
    assert a.audio.dominant_hz() == pytest.approx(440, abs=20)
    assert b.audio.dominant_hz() == pytest.approx(1000, abs=20)  # 30 ms frames re-cut to 20
    assert b.stream.stats().jitter_buffer.concealed <= 2


def test_early_call_before_the_first_deadline_sends_nothing(clock: VirtualClock) -> None:
    a, _ = call(clock)
    s = a.stream
    s.datagrams_to_send()
    nxt = s.get_timer()
    assert nxt is not None
    s.handle_timer(nxt - 0.015)  # a wake-up 15 ms before the slot is not the slot
    assert [d for d in s.datagrams_to_send() if not d.rtcp] == []


def test_ptime_change_mid_call_keeps_grid_and_timeline(clock: VirtualClock) -> None:
    from dataclasses import replace

    a, b = call(clock)
    clock.advance(1.0)
    last = rtp_sent(a)[-1]
    neg = a.stream.neg
    assert neg is not None
    a.apply(replace(neg, ptime=30))
    clock.advance(0.5)
    after = [x for x in rtp_sent(a) if x[0] > last[0]]
    gaps = [(t2 - t1) * 1000 for (t1, _), (t2, _) in zip(after, after[1:], strict=False)]
    assert after[0][0] - last[0] == pytest.approx(0.02, abs=1e-5)
    assert len(gaps) >= 10 and all(g == pytest.approx(30.0, abs=0.01) for g in gaps)
    assert after[0][1].timestamp == (last[1].timestamp + 160) & 0xFFFFFFFF
    assert after[1][1].timestamp == (after[0][1].timestamp + 240) & 0xFFFFFFFF
