"""SRTP with SDES keys (firmware.media.srtp): crypto lines, offer/answer keying, and the
packet transform: what goes on the wire is not G.711 a listener could play back."""

from __future__ import annotations

import math
import struct

import numpy as np
import pytest

from firmware.media.codecs import PCMU
from firmware.media.g711 import ulaw_decode, ulaw_encode
from firmware.media.rtp import build_rtp, parse_rtp
from firmware.media.srtp import (
    KEY_SALT_LEN,
    CryptoAttribute,
    SrtpContext,
    answer_crypto,
    offer_crypto,
    parse_crypto,
    select_answer,
)


def tone(seq: int, hz: float = 1000.0) -> bytes:
    t = (np.arange(160) + 160 * seq) / 8000.0
    pcm = (8000 * np.sin(2 * math.pi * hz * t)).astype("<i2")
    return ulaw_encode(pcm.tobytes())


def pair(suite_index: int = 0) -> tuple[SrtpContext, SrtpContext]:
    offer = offer_crypto()
    theirs, ours = answer_crypto([offer[suite_index].value()])  # type: ignore[misc]
    mine, back = select_answer(offer, [ours.value()])  # type: ignore[misc]
    return SrtpContext(mine, back), SrtpContext(ours, theirs)


def test_offer_lists_both_suites_with_fresh_keys_and_the_answer_picks_one() -> None:
    offer = offer_crypto()
    assert [c.suite for c in offer] == ["AES_CM_128_HMAC_SHA1_80", "AES_CM_128_HMAC_SHA1_32"]
    assert len({c.key for c in offer}) == 2 and all(len(c.key) == KEY_SALT_LEN for c in offer)
    again = offer_crypto()
    assert {c.key for c in again}.isdisjoint({c.key for c in offer})
    picked = answer_crypto(["9 F8_128_HMAC_SHA1_80 inline:" + "A" * 40, offer[1].value()])
    assert picked is not None
    theirs, ours = picked
    assert (theirs.tag, ours.tag, ours.suite) == (2, 2, "AES_CM_128_HMAC_SHA1_32")
    assert ours.key != theirs.key  # our own key, never an echo of theirs
    assert select_answer(offer, [ours.value()]) == (offer[1], ours)
    assert select_answer(offer, ["7 AES_CM_128_HMAC_SHA1_32 " + ours.value().split()[2]]) is None


@pytest.mark.parametrize("value", [
    "1 AES_CM_128_HMAC_SHA1_80 inline:short",
    "1 AES_CM_128_HMAC_SHA1_80 uri:http://x",
    "x AES_CM_128_HMAC_SHA1_80 inline:" + "A" * 40,
    "1 AES_CM_128_HMAC_SHA1_80 inline:" + "A" * 40 + " UNENCRYPTED_SRTP",
    "",
])
def test_malformed_or_unsupported_crypto_lines_are_refused(value: str) -> None:
    assert parse_crypto(value) is None


def test_a_lifetime_is_accepted_and_an_mki_is_not() -> None:
    """An MKI would have to travel in every packet (RFC 4568 §6.1), which libsrtp's
    binding does not do: such a line is unusable, not silently wrong."""
    key = CryptoAttribute(1, "AES_CM_128_HMAC_SHA1_80", bytes(range(30))).value()
    parsed = parse_crypto(key + "|2^20")
    assert parsed is not None and parsed.key == bytes(range(30))
    for mki in ("|2^20|1:4", "|1:4", "|2^20|2:1|x"):
        assert parse_crypto(key + mki) is None
    with_mki = key + "|2^31|1:1"
    picked = answer_crypto([with_mki, key.replace("1 ", "2 ", 1)])
    assert picked is not None and picked[0].tag == 2


def _tone_share(frames: list[bytes]) -> float:
    """The share of the 1 kHz bin in the spectrum of ``frames`` played back as G.711."""
    total = np.zeros(81)
    for frame in frames:
        pcm = np.frombuffer(ulaw_decode(frame), "<i2").astype(float)
        total += np.abs(np.fft.rfft(pcm)) ** 2
    return float(total[20] / total.sum())  # bin 20 = 1000 Hz for 160 samples at 8 kHz


@pytest.mark.parametrize(("suite_index", "tag_len"), [(0, 10), (1, 4)])
def test_rtp_on_the_wire_is_not_g711_and_comes_back_exact(suite_index: int, tag_len: int) -> None:
    a, b = pair(suite_index)
    plain_frames, wire_frames = [], []
    for seq in range(50):
        plain = build_rtp(0, seq, seq * 160, 0x1234, tone(seq))
        wire = a.protect(plain)
        assert len(wire) == len(plain) + tag_len  # the authentication tag
        assert wire[:12] == plain[:12]  # the header stays readable (RFC 3711 §3.1)
        plain_frames.append(plain[12:])
        wire_frames.append(wire[12:12 + 160])
        back = b.unprotect(wire)
        assert back == plain
        assert parse_rtp(back).payload == tone(seq)  # type: ignore[union-attr]
    # played back as G.711 the plain payload is the tone; the wire payload is noise
    assert _tone_share(plain_frames) > 0.9
    assert _tone_share(wire_frames) < 0.05


def test_tampered_or_replayed_packets_are_dropped() -> None:
    a, b = pair()
    wire = a.protect(build_rtp(0, 1, 160, 7, tone(1)))
    bad = bytearray(wire)
    bad[20] ^= 1
    assert b.unprotect(bytes(bad)) is None
    assert b.unprotect(wire) is not None
    assert b.unprotect(wire) is None  # replay
    assert b.auth_failures == 2
    # the other side's key cannot read it either
    c, _ = pair()
    assert c.unprotect(wire) is None


def test_srtcp_round_trip() -> None:
    a, b = pair()
    rr = struct.pack("!BBHI", 0x80, 201, 1, 0x1234)  # an empty receiver report
    wire = a.protect_rtcp(rr)
    assert wire != rr and len(wire) > len(rr)
    assert b.unprotect_rtcp(wire) == rr


def test_a_call_with_srtp_is_heard_both_ways_and_the_wire_is_not_g711(clock) -> None:
    """Two complete media stacks (stream + engine + mock audio, tests/media/harness.py)
    with SDES-keyed SrtpContexts: each hears the other's tone, every RTP datagram on
    the link carries ciphertext (its payload is noise as G.711), RTCP goes as SRTCP."""
    from .harness import call

    a, b = call(clock, codecs=(PCMU,))
    ctx_a, ctx_b = pair()
    a.stream.srtp, b.stream.srtp = ctx_a, ctx_b
    a.audio.set_tone(1000.0)
    b.audio.set_tone(600.0)
    clock.advance(6.0)  # past the first RTCP interval too
    assert a.audio.dominant_hz() == pytest.approx(600.0, rel=0.04)
    assert b.audio.dominant_hz() == pytest.approx(1000.0, rel=0.04)
    rtp = [d.data for _t, d in a.sent if not d.rtcp and len(d.data) == 12 + 160 + 10]
    assert len(rtp) > 100
    assert _tone_share([d[12:172] for d in rtp[50:]]) < 0.05  # the 1 kHz tone is not there
    assert any(d.rtcp for _t, d in a.sent) and ctx_b.auth_failures == ctx_b.rtcp_auth_failures == 0
    assert b.stream.stats().packets_received > 100
