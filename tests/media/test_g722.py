"""G.722 through the maintained G722 package (libg722), 8 kHz linear mode."""

from __future__ import annotations

import pytest
from peers_proc import require_module

from firmware.media.analysis import dominant_frequency, level_dbfs
from firmware.media.codecs import G722, PCMA, PCMU, offer_order, supported_codecs
from firmware.media.framecodec import make_codec
from firmware.media.sdp import Answer, LocalMedia, build_answer, build_offer, parse_sdp
from firmware.media.tones import sine
from hal.clock import VirtualClock

from .harness import call

require_module("G722")

pytestmark = pytest.mark.arm64  # part of the subset run in the emulated arm64 userland


def test_round_trip_keeps_a_tone() -> None:
    enc, dec = make_codec("G722"), make_codec("g722")
    pcm = sine(1000, 1.0, level_dbfs=-10)
    out = b""
    for i in range(0, len(pcm), 320):
        payload = enc.encode(pcm[i:i + 320])
        assert len(payload) == 160  # 64 kbit/s, 20 ms, RTP clock 8000 (RFC 3551 4.5.2)
        out += dec.decode(payload)
    assert len(out) == len(pcm)
    assert dominant_frequency(out[1600:]) == pytest.approx(1000, abs=5)
    assert level_dbfs(out[1600:]) == pytest.approx(-10, abs=1.5)


def test_supported_and_offered_first_when_preferred() -> None:
    assert supported_codecs() == (PCMU, PCMA, G722)
    local = LocalMedia(address="127.0.0.1", rtp_port=4000,
                       codecs=offer_order("g722", supported_codecs()))
    text = str(build_offer(local, session_id=1, version=1))
    assert "m=audio 4000 RTP/AVP 9 0 8 101\r\n" in text and "a=rtpmap:9 G722/8000\r\n" in text
    narrow = LocalMedia(address="127.0.0.2", rtp_port=5000)  # a G.711-only peer
    ans = build_answer(parse_sdp(text), narrow, session_id=2, version=2)
    assert isinstance(ans, Answer) and ans.negotiated.send_codec == PCMU


def test_call_in_g722_both_ways(clock: VirtualClock) -> None:
    a, b = call(clock, codecs=(G722, PCMU))
    assert a.stream.stats().codec == "G722"
    a.audio.set_tone(1000)
    b.audio.set_tone(500)
    clock.advance(2.0)
    assert a.audio.dominant_hz() == pytest.approx(500, abs=20)
    assert b.audio.dominant_hz() == pytest.approx(1000, abs=20)


def test_wideband_call_carries_5khz_both_ways(clock: VirtualClock) -> None:
    # 16 kHz handsets, G.722 native: a 5 kHz tone cannot cross any 8 kHz path
    a, b = call(clock, codecs=(G722, PCMU), rate_a=16000, rate_b=16000)
    assert a.stream.stats().codec == "G722"
    a.audio.set_tone(5000)
    b.audio.set_tone(6000)
    clock.advance(2.0)
    assert a.audio.dominant_hz() == pytest.approx(6000, abs=40)
    assert b.audio.dominant_hz() == pytest.approx(5000, abs=40)
    assert b.audio.level_dbfs() > -12


def test_wideband_handset_with_narrowband_codec_and_peer(clock: VirtualClock) -> None:
    # A: 16 kHz device, G.711 resampled; B: 8 kHz device
    a, b = call(clock, codecs=(PCMU,), rate_a=16000, rate_b=8000)
    a.audio.set_tone(1000)
    b.audio.set_tone(700)
    clock.advance(2.0)
    assert a.audio.dominant_hz() == pytest.approx(700, abs=20)
    assert b.audio.dominant_hz() == pytest.approx(1000, abs=20)
    assert a.audio.level_dbfs() > -12 and b.audio.level_dbfs() > -12


def test_g722_between_wideband_and_narrowband_modes(clock: VirtualClock) -> None:
    a, b = call(clock, codecs=(G722,), rate_a=16000, rate_b=8000)
    a.audio.set_tone(1000)
    b.audio.set_tone(700)
    clock.advance(2.0)
    assert a.audio.dominant_hz() == pytest.approx(700, abs=20)
    assert b.audio.dominant_hz() == pytest.approx(1000, abs=20)
