"""SDES in offer/answer (firmware.media.sdes through firmware.media.sdp): which offers
carry keys under ``srtp_mode``, which offers a phone accepts, the keys both sides agree
on, and that a hold/resume or a peer's re-key keeps the encrypted audio flowing."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from firmware.media.g711 import ulaw_decode
from firmware.media.sdes import LocalKeys, SrtpPolicy
from firmware.media.sdp import (
    Answer,
    LocalMedia,
    Negotiated,
    NoCommonCodec,
    SdpSession,
    SessionDescription,
    parse_sdp,
)
from firmware.media.srtp import SUITES, CryptoAttribute
from hal.clock import VirtualClock

from .harness import call

OPTIONAL = SrtpPolicy("optional", keys_allowed=True)
MANDATORY = SrtpPolicy("mandatory", keys_allowed=True)
OFF = SrtpPolicy("off", keys_allowed=True)
KEY = "inline:" + "QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVphYmNk"  # 30 bytes, base64


def session(policy: SrtpPolicy, port: int = 16384) -> SdpSession:
    return SdpSession(LocalMedia(address="127.0.0.1", rtp_port=port), session_id=7,
                      srtp=policy)


def wire(sd: SessionDescription) -> SessionDescription:
    """What the peer reads: the description through bytes, as on the wire."""
    return parse_sdp(sd.to_bytes())


def offer_text(proto: str, *crypto: str) -> SessionDescription:
    lines = ["v=0", "o=- 1 1 IN IP4 127.0.0.9", "s=-", "c=IN IP4 127.0.0.9", "t=0 0",
             f"m=audio 40000 {proto} 0 101", "a=rtpmap:101 telephone-event/8000",
             *(f"a=crypto:{c}" for c in crypto)]
    return parse_sdp("\r\n".join(lines) + "\r\n")


def crypto_lines(sd: SessionDescription) -> list[str]:
    return [v for k, v in sd.media[0].attributes if k == "crypto"]  # type: ignore[misc]


@pytest.mark.parametrize(("policy", "proto", "keys"), [
    (OFF, "RTP/AVP", 0),
    (OPTIONAL, "RTP/AVP", 2),  # best-effort: readable by a phone without SRTP
    (MANDATORY, "RTP/SAVP", 2),
    (SrtpPolicy("optional", keys_allowed=False), "RTP/AVP", 0),  # no keys over plain SIP
])
def test_what_an_offer_carries_per_mode(policy: SrtpPolicy, proto: str, keys: int) -> None:
    sd = session(policy).offer()
    text = str(sd)
    assert f"m=audio 16384 {proto} " in text
    lines = crypto_lines(sd)
    assert len(lines) == keys
    if keys:
        assert [ln.split()[:2] for ln in lines] == [
            ["1", "AES_CM_128_HMAC_SHA1_80"], ["2", "AES_CM_128_HMAC_SHA1_32"]]
        other = session(policy).offer()
        assert set(crypto_lines(other)).isdisjoint(lines)  # fresh keys per call


def test_the_retry_after_a_488_offers_savp() -> None:
    """``optional``'s second offer to a peer that refused the best-effort one."""
    retry = SrtpPolicy("optional", keys_allowed=True, savp=True)
    sd = session(retry).offer()
    assert sd.media[0].proto == "RTP/SAVP" and len(crypto_lines(sd)) == 2
    assert SrtpPolicy("off", keys_allowed=True, savp=True).offer_proto == "RTP/AVP"
    assert SrtpPolicy("optional", keys_allowed=False, savp=True).offer_proto == "RTP/AVP"


def test_mandatory_over_plain_signalling_cannot_call() -> None:
    assert SrtpPolicy("mandatory", keys_allowed=False).refusal == "SRTP needs TLS signalling"
    assert OPTIONAL.refusal is None and OFF.refusal is None
    with pytest.raises(ValueError, match="srtp_mode"):
        SrtpPolicy("sometimes")


def test_the_answer_takes_the_first_supported_suite_with_the_offers_tag() -> None:
    offer = offer_text("RTP/SAVP", f"1 F8_128_HMAC_SHA1_80 {KEY}",
                       f"5 AES_CM_128_HMAC_SHA1_32 {KEY}", f"6 AES_CM_128_HMAC_SHA1_80 {KEY}")
    answer = session(OPTIONAL).receive_offer(offer)
    assert isinstance(answer, Answer)
    assert answer.sdp.media[0].proto == "RTP/SAVP"
    (line,) = crypto_lines(answer.sdp)
    assert line.split()[:2] == ["5", "AES_CM_128_HMAC_SHA1_32"]
    mine, theirs = answer.negotiated.crypto  # type: ignore[misc]
    assert theirs.key == b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcd" and mine.key != theirs.key
    assert answer.negotiated.encrypted


@pytest.mark.parametrize(("policy", "offer", "encrypted"), [
    (OPTIONAL, offer_text("RTP/AVP"), False),  # plain offer, plain call
    (OPTIONAL, offer_text("RTP/AVP", f"1 AES_CM_128_HMAC_SHA1_80 {KEY}"), True),  # best effort
    (OFF, offer_text("RTP/AVP", f"1 AES_CM_128_HMAC_SHA1_80 {KEY}"), False),  # answered plain
    (MANDATORY, offer_text("RTP/AVP", f"1 AES_CM_128_HMAC_SHA1_80 {KEY}"), True),
    (MANDATORY, offer_text("RTP/SAVP", f"1 AES_CM_128_HMAC_SHA1_80 {KEY}"), True),
])
def test_offers_a_phone_accepts(policy: SrtpPolicy, offer: SessionDescription,
                                encrypted: bool) -> None:
    answer = session(policy).receive_offer(offer)
    assert isinstance(answer, Answer)
    assert answer.negotiated.encrypted is encrypted
    assert len(crypto_lines(answer.sdp)) == (1 if encrypted else 0)
    assert answer.sdp.media[0].proto == offer.media[0].proto


@pytest.mark.parametrize(("policy", "offer", "why"), [
    (MANDATORY, offer_text("RTP/AVP"), "plain RTP offered, srtp_mode is mandatory"),
    (OFF, offer_text("RTP/SAVP", f"1 AES_CM_128_HMAC_SHA1_80 {KEY}"), "srtp_mode is off"),
    (SrtpPolicy("optional", keys_allowed=False),
     offer_text("RTP/SAVP", f"1 AES_CM_128_HMAC_SHA1_80 {KEY}"), "over plain signalling"),
    (SrtpPolicy("mandatory", keys_allowed=False),
     offer_text("RTP/AVP", f"1 AES_CM_128_HMAC_SHA1_80 {KEY}"), "SRTP needs TLS"),
    (OPTIONAL, offer_text("RTP/SAVP", f"1 F8_128_HMAC_SHA1_80 {KEY}"), "no supported SRTP"),
])
def test_offers_refused_with_488(policy: SrtpPolicy, offer: SessionDescription, why: str) -> None:
    result = session(policy).receive_offer(offer)
    assert isinstance(result, NoCommonCodec)
    assert result.status == 488 and result.warning_code == 302
    assert why in result.reason


def test_a_second_plain_stream_is_taken_when_the_first_is_savp_and_srtp_is_off() -> None:
    """Some phones offer the same audio twice, RTP/SAVP then RTP/AVP (RFC 5939 style)."""
    text = str(offer_text("RTP/SAVP", f"1 AES_CM_128_HMAC_SHA1_80 {KEY}"))
    text += "m=audio 40002 RTP/AVP 0\r\n"
    answer = session(OFF).receive_offer(parse_sdp(text))
    assert isinstance(answer, Answer)
    assert [m.port for m in answer.sdp.media] == [0, 16384]
    assert not answer.negotiated.encrypted and answer.negotiated.remote_rtp_port == 40002


def agree(a: SdpSession, b: SdpSession) -> tuple[Answer, Negotiated]:
    """``a`` offers, ``b`` answers, ``a`` takes the answer: what each side agreed."""
    answer = b.receive_offer(wire(a.offer()))
    assert isinstance(answer, Answer)
    neg = a.receive_answer(wire(answer.sdp))
    assert isinstance(neg, Negotiated)
    return answer, neg


def test_both_ends_agree_on_mirrored_keys() -> None:
    answer, neg_a = agree(session(OPTIONAL), session(MANDATORY, 20000))
    assert neg_a.crypto is not None and answer.negotiated.crypto is not None
    assert neg_a.crypto[0] == answer.negotiated.crypto[1]  # what A sends with, B receives with
    assert neg_a.crypto[1] == answer.negotiated.crypto[0]
    assert neg_a.crypto[0].suite == "AES_CM_128_HMAC_SHA1_80"


def test_an_answer_without_keys() -> None:
    """A best-effort offer answered in the clear is a plain call; an RTP/SAVP offer
    answered without keys, or a key for a line we never offered, cannot carry audio."""
    answer, neg = agree(session(OPTIONAL), session(OFF, 20000))
    assert not neg.encrypted
    m = session(MANDATORY)
    offer = wire(m.offer())
    bare = str(answer.sdp).replace("RTP/AVP", "RTP/SAVP")
    bad = m.receive_answer(parse_sdp(bare))
    assert isinstance(bad, NoCommonCodec) and "no agreed SRTP keys" in bad.reason
    m.offer()
    foreign = bare.replace("a=ptime", f"a=crypto:9 AES_CM_128_HMAC_SHA1_80 {KEY}\r\na=ptime")
    assert isinstance(m.receive_answer(parse_sdp(foreign)), NoCommonCodec)
    assert offer.media[0].proto == "RTP/SAVP"


def test_reoffers_keep_our_keys_and_a_peers_new_key_is_followed() -> None:
    a, b = session(OPTIONAL), session(OPTIONAL, 20000)
    first, neg1 = agree(a, b)
    hold = a.offer(direction="sendonly")  # hold: the same keys
    assert crypto_lines(hold) == crypto_lines(a.offer())
    held = b.receive_offer(wire(hold))
    assert isinstance(held, Answer)
    assert held.negotiated.crypto == first.negotiated.crypto
    # B re-keys in its own re-offer (as some PBXs do on every re-INVITE)
    b.keys = LocalKeys()
    reoffer = b.offer()
    back = a.receive_offer(wire(reoffer))
    assert isinstance(back, Answer) and back.negotiated.crypto is not None
    assert back.negotiated.crypto[0].key == neg1.crypto[0].key  # type: ignore[index]
    assert back.negotiated.crypto[1].key != neg1.crypto[1].key  # type: ignore[index]


def renegotiate(offerer: Any, answerer: Any, direction: str) -> Negotiated:
    """A re-INVITE from ``offerer``; both streams take the result."""
    answer = answerer.sdp.receive_offer(wire(offerer.sdp.offer(direction=direction)))
    assert isinstance(answer, Answer)
    neg = offerer.sdp.receive_answer(wire(answer.sdp))
    assert isinstance(neg, Negotiated)
    answerer.apply(answer.negotiated)
    offerer.apply(neg)
    return neg


def _tone_share(payloads: list[bytes], hz: float) -> float:
    pcm = np.frombuffer(b"".join(ulaw_decode(p) for p in payloads), dtype="<i2").astype(float)
    spec = np.abs(np.fft.rfft(pcm))
    k = int(round(hz * len(pcm) / 8000))
    return float(spec[k - 2:k + 3].sum() ** 2 / max((spec ** 2).sum(), 1e-9))


def test_negotiated_srtp_call_hears_both_ways_through_hold_and_a_rekey(clock: VirtualClock
                                                                        ) -> None:
    """Two media stacks keyed by the offer/answer alone (no hand-made contexts): audio
    both ways, ciphertext on the wire; a hold/resume repeating the keys and a peer's
    re-offer with a new key both keep the audio and authenticate every packet."""
    a, b = call(clock, srtp=OPTIONAL)
    assert a.stream.srtp is not None and b.stream.srtp is not None
    a.audio.set_tone(1000.0)
    b.audio.set_tone(600.0)
    clock.advance(3.0)
    assert a.audio.dominant_hz() == pytest.approx(600.0, rel=0.04)
    assert b.audio.dominant_hz() == pytest.approx(1000.0, rel=0.04)
    rtp = [d.data for _t, d in a.sent if not d.rtcp]
    assert len(rtp) > 100 and all(len(d) == 12 + 160 + 10 for d in rtp)  # 80-bit tags
    assert _tone_share([d[12:172] for d in rtp[20:]], 1000.0) < 0.05
    tx_before = a.stream.srtp._tx  # noqa: SLF001
    ctx_b = b.stream.srtp
    renegotiate(a, b, "sendonly")  # A holds, then resumes: same keys, same contexts
    clock.advance(1.0)
    renegotiate(a, b, "sendrecv")
    assert a.stream.srtp._tx is tx_before and b.stream.srtp is ctx_b  # noqa: SLF001
    # B re-keys: a new offer with a fresh key; A answers keeping its own
    b.sdp.keys = LocalKeys()
    neg_b = renegotiate(b, a, "sendrecv")
    assert a.stream.srtp._tx is tx_before  # noqa: SLF001 - our key did not change
    clock.advance(2.0)
    assert a.audio.dominant_hz() == pytest.approx(600.0, rel=0.04)
    assert b.audio.dominant_hz() == pytest.approx(1000.0, rel=0.04)
    assert a.stream.srtp.auth_failures == a.stream.srtp.rtcp_auth_failures == 0
    assert b.stream.srtp.auth_failures == b.stream.srtp.rtcp_auth_failures == 0
    # RTCP went as SRTCP both ways, and was read back (an unreadable one is not counted)
    assert all(x.stream.stats().rtcp_received > 0 for x in (a, b))
    srtcp = [d.data for _t, d in a.sent if d.rtcp]
    assert srtcp and all(len(d) >= 8 + 4 + 10 and d[-14] & 0x80 for d in srtcp)  # E flag
    # a plain re-negotiation takes SRTP off the stream again
    plain = Negotiated(**{**{f: getattr(neg_b, f) for f in neg_b.__dataclass_fields__},
                          "crypto": None})
    b.apply(plain)
    assert b.stream.srtp is None


def test_suites_in_our_preference_order() -> None:
    assert list(SUITES) == ["AES_CM_128_HMAC_SHA1_80", "AES_CM_128_HMAC_SHA1_32"]
    assert CryptoAttribute(1, "AES_CM_128_HMAC_SHA1_80", bytes(30)).value().startswith("1 AES")
