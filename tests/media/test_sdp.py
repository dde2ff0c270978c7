"""SDP parse/serialize (RFC 4566) and offer/answer (RFC 3264), incl. both hold styles."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from firmware.media.codecs import PCMA, PCMU, Codec, offer_order
from firmware.media.sdp import (
    Answer,
    LocalMedia,
    Negotiated,
    NoCommonCodec,
    SdpParseError,
    SdpSession,
    build_answer,
    build_offer,
    negotiate,
    parse_sdp,
)

pytestmark = pytest.mark.arm64  # part of the subset run in the emulated arm64 userland

# What a 7960 puts in an INVITE (Cisco SIP IP Phone 7960 style).
CISCO_OFFER = (
    "v=0\r\n"
    "o=CiscoSystemsSIP-IPPhone-UserAgent 17045 11158 IN IP4 172.16.0.10\r\n"
    "s=SIP Call\r\n"
    "c=IN IP4 172.16.0.10\r\n"
    "t=0 0\r\n"
    "m=audio 29118 RTP/AVP 0 101\r\n"
    "a=rtpmap:0 PCMU/8000\r\n"
    "a=rtpmap:101 telephone-event/8000\r\n"
    "a=fmtp:101 0-11\r\n"
)

# What baresip 1.0 answers with (shape, not bytes).
BARESIP_SDP = (
    "v=0\r\n"
    "o=- 1745201170 3263446574 IN IP4 127.0.0.2\r\n"
    "s=-\r\n"
    "c=IN IP4 127.0.0.2\r\n"
    "t=0 0\r\n"
    "m=audio 10002 RTP/AVP 8 0 96\r\n"
    "b=AS:80\r\n"
    "a=rtpmap:96 telephone-event/8000\r\n"
    "a=fmtp:96 0-15\r\n"
    "a=rtcp:10003\r\n"
    "a=sendrecv\r\n"
    "a=label:1\r\n"
    "a=ssrc:1234 cname:x@y\r\n"
    "a=ptime:20\r\n"
)

LOCAL = LocalMedia(address="127.0.0.1", rtp_port=16384)


def test_parse_cisco_offer_resolves_static_and_dynamic_payloads() -> None:
    sd = parse_sdp(CISCO_OFFER.encode())
    assert sd.origin.session_id == 17045 and sd.origin.version == 11158
    assert sd.connection == "172.16.0.10"
    m = sd.audio()
    assert m is not None and m.port == 29118 and m.formats == ("0", "101")
    assert [c.name for c in m.codecs] == ["PCMU", "telephone-event"]
    assert m.codecs[1].fmtp == "0-11"
    assert sd.direction_for(m) == "sendrecv" and not sd.is_hold()


def test_parse_baresip_keeps_unknown_attributes_and_reads_rtcp_ptime() -> None:
    sd = parse_sdp(BARESIP_SDP)
    m = sd.audio()
    assert m is not None
    assert [c.payload_type for c in m.codecs] == [8, 0, 96]
    assert m.codecs[0] == PCMA and m.codecs[1] == PCMU
    assert m.rtcp_port == 10003 and m.ptime == 20 and m.direction == "sendrecv"
    assert ("label", "1") in m.attributes and m.bandwidth == ("AS:80",)


def test_serialize_round_trip() -> None:
    sd = parse_sdp(BARESIP_SDP)
    again = parse_sdp(str(sd))
    assert again == sd
    assert str(sd).endswith("\r\n") and "\n\n" not in str(sd)


def test_lf_only_line_ends_are_accepted() -> None:
    sd = parse_sdp(CISCO_OFFER.replace("\r\n", "\n"))
    assert sd.audio() is not None


def test_offer_order_follows_preferred_codec() -> None:
    assert offer_order("g711alaw") == (PCMA, PCMU)
    assert offer_order("g711ulaw") == (PCMU, PCMA)
    assert offer_order("g729") == (PCMU, PCMA)  # unknown: default order
    offer = build_offer(
        LocalMedia(address="10.0.0.1", rtp_port=20000, codecs=offer_order("g711alaw")),
        session_id=5, version=5,
    )
    text = str(offer)
    assert "m=audio 20000 RTP/AVP 8 0 101\r\n" in text
    assert "a=rtpmap:101 telephone-event/8000\r\na=fmtp:101 0-15\r\n" in text
    assert "a=ptime:20\r\n" in text and "a=sendrecv\r\n" in text
    assert "c=IN IP4 10.0.0.1\r\n" in text and "o=- 5 5 IN IP4 10.0.0.1\r\n" in text


def test_answer_is_intersection_with_offer_payload_numbers() -> None:
    offer = parse_sdp(BARESIP_SDP)
    result = build_answer(offer, LOCAL, session_id=1, version=1)
    assert isinstance(result, Answer)
    m = result.sdp.audio()
    assert m is not None
    # our preference (PCMU first), offer's telephone-event number 96 kept
    assert m.formats == ("0", "8", "96")
    n = result.negotiated
    assert n.send_codec == PCMU and n.dtmf_send_pt == 96 and n.dtmf_recv_pts == {96}
    assert n.remote_address == "127.0.0.2" and n.remote_rtp_port == 10002
    assert n.remote_rtcp_port == 10003
    assert n.send and n.recv and n.direction == "sendrecv"


def test_answer_without_dtmf_when_disabled_and_rtcp_defaults_to_port_plus_one() -> None:
    offer = parse_sdp(CISCO_OFFER)
    local = LocalMedia(address="127.0.0.1", rtp_port=16384, dtmf_payload=None)
    result = build_answer(offer, local, session_id=1, version=1)
    assert isinstance(result, Answer)
    assert result.sdp.audio().formats == ("0",)  # type: ignore[union-attr]
    assert result.negotiated.dtmf_send_pt is None
    assert result.negotiated.remote_rtcp_port == 29119


def test_no_common_codec_gives_488_with_warning_304() -> None:
    offer = parse_sdp(CISCO_OFFER.replace("RTP/AVP 0 101", "RTP/AVP 18 101")
                      .replace("a=rtpmap:0 PCMU/8000", "a=rtpmap:18 G729/8000"))
    result = build_answer(offer, LOCAL, session_id=1, version=1)
    assert isinstance(result, NoCommonCodec)
    assert result.status == 488 and result.warning_code == 304
    assert result.warning_text == "Incompatible media format"


def test_dynamic_pcmu_without_rtpmap_is_not_guessed() -> None:
    offer = parse_sdp(CISCO_OFFER.replace("RTP/AVP 0 101", "RTP/AVP 97")
                      .replace("a=rtpmap:0 PCMU/8000\r\n", ""))
    assert isinstance(build_answer(offer, LOCAL, session_id=1, version=1), NoCommonCodec)


def test_codec_match_is_by_name_rate_channels_case_insensitive() -> None:
    offer = parse_sdp(CISCO_OFFER.replace("RTP/AVP 0 101", "RTP/AVP 100")
                      .replace("a=rtpmap:0 PCMU/8000", "a=rtpmap:100 pcmu/8000"))
    result = build_answer(offer, LOCAL, session_id=1, version=1)
    assert isinstance(result, Answer)
    assert result.negotiated.send_codec.payload_type == 100
    wrong_rate = parse_sdp(CISCO_OFFER.replace("RTP/AVP 0 101", "RTP/AVP 100")
                           .replace("a=rtpmap:0 PCMU/8000", "a=rtpmap:100 PCMU/16000"))
    assert isinstance(build_answer(wrong_rate, LOCAL, session_id=1, version=1), NoCommonCodec)


def test_video_and_secure_streams_are_refused_with_port_zero() -> None:
    text = BARESIP_SDP + "m=video 10004 RTP/AVP 96\r\na=rtpmap:96 H264/90000\r\n"
    text = text.replace("m=audio 10002 RTP/AVP", "m=audio 10006 RTP/SAVP 0\r\nm=audio 10002 RTP/AVP")
    offer = parse_sdp(text)
    assert len(offer.media) == 3
    result = build_answer(offer, LOCAL, session_id=1, version=1)
    assert isinstance(result, Answer)
    ports = [m.port for m in result.sdp.media]
    assert ports == [0, 16384, 0]
    assert [m.media for m in result.sdp.media] == ["audio", "audio", "video"]


@pytest.mark.parametrize(
    ("offer_dir", "answer_dir", "send", "recv"),
    [
        ("sendonly", "recvonly", False, True),
        ("inactive", "inactive", False, False),
        ("recvonly", "sendonly", True, False),
        ("sendrecv", "sendrecv", True, True),
    ],
)
def test_answer_reverses_direction(offer_dir: str, answer_dir: str, send: bool, recv: bool) -> None:
    offer = parse_sdp(BARESIP_SDP.replace("a=sendrecv", f"a={offer_dir}"))
    result = build_answer(offer, LOCAL, session_id=1, version=1)
    assert isinstance(result, Answer)
    assert result.sdp.audio().direction == answer_dir  # type: ignore[union-attr]
    n = result.negotiated
    assert (n.send, n.recv) == (send, recv)
    assert n.remote_hold == (offer_dir != "sendrecv")


def test_rfc2543_hold_offer_is_detected_and_stops_our_sending() -> None:
    hold = parse_sdp(CISCO_OFFER.replace("c=IN IP4 172.16.0.10", "c=IN IP4 0.0.0.0"))
    assert hold.is_hold()
    result = build_answer(hold, LOCAL, session_id=1, version=1)
    assert isinstance(result, Answer)
    n = result.negotiated
    assert n.remote_address is None and not n.send and n.recv and n.remote_hold


@pytest.mark.parametrize("style", ["attribute", "connection"])
def test_we_build_both_hold_forms(style: str) -> None:
    held = build_offer(LOCAL, session_id=1, version=2, direction="sendonly", hold_style=style)  # type: ignore[arg-type]
    again = parse_sdp(held.to_bytes())
    assert again.is_hold()
    text = str(held)
    if style == "connection":
        assert "c=IN IP4 0.0.0.0\r\n" in text and "a=sendonly" not in text
    else:
        assert "c=IN IP4 127.0.0.1\r\n" in text and "a=sendonly\r\n" in text
    # the peer (baresip-like) answers; what do we do?
    peer = LocalMedia(address="127.0.0.2", rtp_port=10002)
    answer = build_answer(again, peer, session_id=9, version=9)
    assert isinstance(answer, Answer)
    ours = negotiate(held, answer.sdp, local_is_offer=True)
    assert isinstance(ours, Negotiated)
    assert not ours.send  # a hold we place is silent both ways (7960)
    assert not ours.recv and ours.local_hold
    assert not answer.negotiated.send  # the held party sends nothing


def test_offerer_side_negotiation_uses_first_codec_of_answer() -> None:
    offer = build_offer(LOCAL, session_id=1, version=1)
    peer = LocalMedia(address="127.0.0.2", rtp_port=10002, codecs=(PCMA, PCMU))
    answer = build_answer(parse_sdp(str(offer)), peer, session_id=7, version=7)
    assert isinstance(answer, Answer)
    ours = negotiate(offer, answer.sdp, local_is_offer=True)
    assert isinstance(ours, Negotiated)
    assert ours.send_codec == PCMA == answer.negotiated.send_codec
    assert ours.recv_codecs == {0: PCMU, 8: PCMA}
    assert ours.dtmf_send_pt == 101


def test_answer_refusing_audio_is_no_common_codec() -> None:
    offer = build_offer(LOCAL, session_id=1, version=1)
    refused = parse_sdp(BARESIP_SDP.replace("m=audio 10002", "m=audio 0"))
    assert isinstance(negotiate(offer, refused, local_is_offer=True), NoCommonCodec)


def test_sdp_session_versions_and_hold_resume() -> None:
    s = SdpSession(LOCAL, session_id=4000)
    first = s.offer()
    assert first.origin.version == 4000
    peer = LocalMedia(address="127.0.0.2", rtp_port=10002)
    ans = build_answer(parse_sdp(str(first)), peer, session_id=9, version=9)
    assert isinstance(ans, Answer)
    n = s.receive_answer(ans.sdp)
    assert isinstance(n, Negotiated) and n.send and n.recv
    assert s.offer().origin.version == 4000  # unchanged description: same version
    hold = s.offer(direction="sendonly")
    assert hold.origin.version == 4001 and hold.origin.session_id == 4000
    resume = s.offer()
    assert resume.origin.version == 4002
    # a re-INVITE from the peer with a changed codec set is answered in the same session
    re_offer = parse_sdp(BARESIP_SDP)
    answer = s.receive_offer(re_offer)
    assert isinstance(answer, Answer) and answer.sdp.origin.version == 4003
    assert s.negotiated is answer.negotiated
    bad = parse_sdp(BARESIP_SDP.replace("RTP/AVP 8 0 96", "RTP/AVP 18"))
    assert isinstance(s.receive_offer(bad), NoCommonCodec)
    assert s.negotiated is answer.negotiated  # failed re-offer keeps the old stream


def test_answer_without_offer() -> None:
    s = SdpSession(LOCAL, session_id=1)
    assert isinstance(s.receive_answer(parse_sdp(BARESIP_SDP)), NoCommonCodec)


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"v=1\r\n",
        b"v=0\r\ns=x\r\n",  # no o=
        b"v=0\r\no=- x 1 IN IP4 1.2.3.4\r\n",
        b"v=0\r\no=- 1 1 IN IP4 1.2.3.4\r\nc=IN IP4\r\n",
        b"v=0\r\no=- 1 1 IN IP4 1.2.3.4\r\nm=audio 99999 RTP/AVP 0\r\n",
        b"v=0\r\no=- 1 1 IN IP4 1.2.3.4\r\nm=audio\r\n",
        b"v=0\r\no=- 1 1 IN IP4 1.2.3.4\r\ngarbage\r\n",
        b"v=0\r\n" + b"a=x\r\n" * 5000,
        b"v=0\r\no=- 1 1 IN IP4 1.2.3.4\r\n" + b"m=audio 1 RTP/AVP 0\r\n" * 20,
    ],
)
def test_malformed_sdp_raises_parse_error(body: bytes) -> None:
    with pytest.raises(SdpParseError):
        parse_sdp(body)


def test_malformed_attributes_are_ignored_not_fatal() -> None:
    text = CISCO_OFFER + "a=rtpmap:xx\r\na=rtpmap:0 PCMU\r\na=ptime:abc\r\na=rtcp:999999\r\n"
    m = parse_sdp(text).audio()
    assert m is not None and m.codecs[0] == PCMU and m.ptime is None and m.rtcp_port is None


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=600))
def test_fuzz_parse_raises_only_parse_error(data: bytes) -> None:
    try:
        parse_sdp(b"v=0\r\no=- 1 1 IN IP4 1.2.3.4\r\n" + data)
    except SdpParseError:
        pass


@settings(max_examples=200, deadline=None)
@given(st.lists(st.sampled_from([
    "m=audio 4000 RTP/AVP 0 8 101", "a=rtpmap:101 telephone-event/8000", "a=sendonly",
    "c=IN IP4 0.0.0.0", "a=ptime:30", "a=rtpmap:96 opus/48000/2", "m=video 0 RTP/AVP 31",
    "a=inactive", "a=fmtp:101 0-15", "c=IN IP4 10.0.0.2", "a=rtcp:4001", "b=AS:64",
]), max_size=12))
def test_fuzz_answer_never_raises(lines: list[str]) -> None:
    text = "v=0\r\no=- 1 1 IN IP4 1.2.3.4\r\ns=-\r\nt=0 0\r\n" + "".join(f"{x}\r\n" for x in lines)
    offer = parse_sdp(text)
    result = build_answer(offer, LOCAL, session_id=1, version=1)
    assert isinstance(result, Answer | NoCommonCodec)
    if isinstance(result, Answer):
        assert parse_sdp(str(result.sdp)).audio() == result.sdp.audio()
        assert len(result.sdp.media) == len(offer.media)


def test_codec_rtpmap_text() -> None:
    assert Codec(payload_type=10, name="L16", clock_rate=44100, channels=2).rtpmap() == "10 L16/44100/2"


def test_answering_a_reoffer_while_we_hold_keeps_us_silent() -> None:
    offer = parse_sdp(BARESIP_SDP)
    result = build_answer(offer, LOCAL, session_id=1, version=2, direction="sendonly")
    assert isinstance(result, Answer)
    n = result.negotiated
    assert result.sdp.audio().direction == "sendonly"  # type: ignore[union-attr]
    assert n.local_hold and not n.send and not n.recv and not n.remote_hold


def test_answer_keeps_avpf_transport() -> None:
    offer = parse_sdp(BARESIP_SDP.replace("RTP/AVP 8 0 96", "RTP/AVPF 8 0 96"))
    result = build_answer(offer, LOCAL, session_id=1, version=1)
    assert isinstance(result, Answer)
    assert "m=audio 16384 RTP/AVPF 0 8 96\r\n" in str(result.sdp)
