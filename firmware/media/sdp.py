"""SDP offer/answer for one audio stream (RFC 3264 §5-§8), over RFC 4566 bodies.

Why here, not in the SIP core: SIP only carries the body; what is on the
wire (codecs, ports, hold) is media's business. The SIP layer calls
``build_offer`` / ``build_answer`` / ``negotiate`` (or the stateful
``SdpSession``), and turns a ``NoCommonCodec`` into ``488 Not Acceptable Here``
with ``Warning: 304 <host> "Incompatible media format"`` (RFC 3261 §20.43;
the 7960 answers 400 + 304, seed Appendix B; 488 is the RFC 3261 answer).

Hold is built and recognised in both forms: RFC 3264 §8.4 direction
attributes (``a=sendonly`` / ``a=inactive``) and RFC 2543's ``c=IN IP4 0.0.0.0``,
which the 7960 itself sends.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Literal

from firmware.media.codecs import (
    DEFAULT_DTMF_PAYLOAD,
    PCMA,
    PCMU,
    Codec,
    telephone_event,
)
from firmware.media.sdes import (
    PLAIN,
    SAVP_PROTOS,
    CryptoPair,
    LocalKeys,
    SrtpPolicy,
    agreed_crypto,
    answer_line,
    offer_lines,
)
from firmware.media.sdp_wire import (
    DIRECTIONS,
    HOLD_ADDRESS,
    MAX_SDP_BYTES,
    Direction,
    MediaDescription,
    Origin,
    SdpParseError,
    SessionDescription,
    parse_sdp,
)
from firmware.media.srtp import CryptoAttribute

HoldStyle = Literal["attribute", "connection"]
_RTP_PROTOS = frozenset({"RTP/AVP", "RTP/AVPF"}) | SAVP_PROTOS

WARNING_INCOMPATIBLE_MEDIA = 304
WARNING_INCOMPATIBLE_TRANSPORT = 302


@dataclass(frozen=True, slots=True, kw_only=True)
class LocalMedia:
    """What this phone can do for a call: where it listens and what it speaks.

    ``codecs`` is in preference order (``codecs.offer_order(preferred_codec)``);
    ``dtmf_payload`` is ``dtmf_avt_payload`` (None: no RFC 4733 events).
    """

    address: str
    rtp_port: int
    codecs: tuple[Codec, ...] = (PCMU, PCMA)
    ptime: int = 20
    dtmf_payload: int | None = DEFAULT_DTMF_PAYLOAD
    username: str = "-"
    session_name: str = "SIP Call"


@dataclass(frozen=True, slots=True, kw_only=True)
class NoCommonCodec:
    """The offer (or answer) shares no usable audio codec with us."""

    reason: str
    status: int = 488
    warning_code: int = WARNING_INCOMPATIBLE_MEDIA
    warning_text: str = "Incompatible media format"

    def warning(self, host: str) -> str:
        """The Warning header value (RFC 3261 20.43) that goes with the refusal."""
        return f'{self.warning_code} {host} "{self.warning_text}"'


@dataclass(frozen=True, slots=True, kw_only=True)
class Negotiated:
    """The agreed audio stream, from this phone's point of view.

    ``send``/``recv`` say whether RTP flows out/in (hold stops ``send``: the
    seed's "no RTP packets are being sent"). ``send_codec`` carries the payload
    type the peer expects; ``recv_codecs`` maps every payload type we accept.
    """

    remote_address: str | None
    remote_rtp_port: int
    remote_rtcp_port: int
    send_codec: Codec
    recv_codecs: dict[int, Codec] = field(default_factory=dict)
    dtmf_send_pt: int | None = None
    dtmf_recv_pts: frozenset[int] = frozenset()
    ptime: int = 20
    direction: Direction = "sendrecv"
    send: bool = True
    recv: bool = True
    remote_hold: bool = False
    local_hold: bool = False
    #: SRTP keys (ours, the peer's) when the audio is encrypted (``firmware.media.sdes``)
    crypto: CryptoPair | None = None

    @property
    def encrypted(self) -> bool:
        return self.crypto is not None


@dataclass(frozen=True, slots=True, kw_only=True)
class Answer:
    sdp: SessionDescription
    negotiated: Negotiated


# --------------------------------------------------------------------- helpers

_SEND = {"sendrecv": True, "sendonly": True, "recvonly": False, "inactive": False}
_RECV = {"sendrecv": True, "sendonly": False, "recvonly": True, "inactive": False}


def _direction(send: bool, recv: bool) -> Direction:
    if send and recv:
        return "sendrecv"
    if send:
        return "sendonly"
    return "recvonly" if recv else "inactive"


def _effective(sd: SessionDescription, m: MediaDescription) -> tuple[bool, bool]:
    """(sends, receives) for the side that wrote ``sd``; c=0.0.0.0 means 'do not send to me'."""
    d = sd.direction_for(m)
    return _SEND[d], _RECV[d] and sd.connection_for(m) != HOLD_ADDRESS


def _is_media_codec(c: Codec) -> bool:
    return not (c.is_telephone_event or c.is_comfort_noise)


def _media_line(
    local: LocalMedia,
    codecs: list[Codec],
    direction: Direction,
    hold_connection: bool,
    crypto: tuple[CryptoAttribute, ...] = (),
    proto: str = "RTP/AVP",
) -> tuple[MediaDescription, str]:
    """An audio m= section plus the session c= address for ``direction``."""
    connection = local.address
    attr_dir: Direction | None = direction
    if hold_connection:
        connection, attr_dir = HOLD_ADDRESS, None  # RFC 2543 hold: no attribute, 0.0.0.0
    m = MediaDescription(
        media="audio",
        port=local.rtp_port,
        proto=proto,
        formats=tuple(str(c.payload_type) for c in codecs),
        codecs=tuple(codecs),
        ptime=local.ptime,
        direction=attr_dir,
        attributes=tuple(("crypto", c.value()) for c in crypto),
    )
    return m, connection


def _session(local: LocalMedia, session_id: int, version: int, connection: str,
             media: tuple[MediaDescription, ...]) -> SessionDescription:
    return SessionDescription(
        origin=Origin(username=local.username, session_id=session_id, version=version,
                      address=local.address),
        session_name=local.session_name,
        connection=connection,
        media=media,
    )


# ------------------------------------------------------------------ public API


def build_offer(
    local: LocalMedia,
    *,
    session_id: int,
    version: int,
    direction: Direction = "sendrecv",
    hold_style: HoldStyle = "attribute",
    srtp: SrtpPolicy = PLAIN,
    keys: LocalKeys | None = None,
) -> SessionDescription:
    """An offer listing ``local.codecs`` in order, plus telephone-event.

    ``direction="sendonly"`` (or ``"inactive"``) builds a hold offer; with
    ``hold_style="connection"`` it is the RFC 2543 form (``c=IN IP4 0.0.0.0``).
    ``srtp`` says whether it carries SDES keys (``keys``) and on which profile.
    """
    codecs = [c for c in local.codecs if _is_media_codec(c)]
    if local.dtmf_payload is not None:
        codecs.append(telephone_event(local.dtmf_payload))
    hold_connection = direction != "sendrecv" and hold_style == "connection"
    crypto = offer_lines(srtp, keys if keys is not None else LocalKeys())
    m, conn = _media_line(local, codecs, direction, hold_connection, crypto, srtp.offer_proto)
    return _session(local, session_id, version, conn, (m,))


def build_answer(
    offer: SessionDescription,
    local: LocalMedia,
    *,
    session_id: int,
    version: int,
    direction: Direction = "sendrecv",
    hold_style: HoldStyle = "attribute",
    srtp: SrtpPolicy = PLAIN,
    keys: LocalKeys | None = None,
) -> Answer | NoCommonCodec:
    """Answer ``offer``: the first usable audio stream gets the codec intersection.

    The answer keeps the offer's payload numbers (RFC 3264 §6.1) and lists the
    common codecs in our preference order; every other m= line is refused with
    port 0. ``direction`` is what we want (``sendonly`` when we hold); the
    answer's attribute is that intersected with the reverse of the offer's.
    A stream ``srtp`` cannot take (RTP/SAVP when off, plain when mandatory)
    is skipped; if that leaves none, 488 with Warning 302.
    """
    keys = keys if keys is not None else LocalKeys()
    chosen: int | None = None
    common: list[Codec] = []
    crypto = None
    refused = None
    for i, m in enumerate(offer.media):
        if m.media != "audio" or m.rejected or m.proto not in _RTP_PROTOS:
            continue
        common = _intersect(m.codecs, local.codecs)
        if not common:
            continue
        crypto = answer_line(m, srtp, keys)
        if isinstance(crypto, str):
            refused = refused or crypto
            continue
        chosen = i
        break
    if chosen is None:
        if refused is not None:
            return NoCommonCodec(reason=refused, warning_code=WARNING_INCOMPATIBLE_TRANSPORT,
                                 warning_text="Incompatible transport protocol")
        return NoCommonCodec(reason="no common audio codec in offer")
    om = offer.media[chosen]
    if local.dtmf_payload is not None:
        te = next((c for c in om.codecs if c.is_telephone_event and c.clock_rate == 8000), None)
        if te is not None:
            common.append(replace(te, fmtp=te.fmtp or "0-15"))
    they_send, they_recv = _effective(offer, om)
    want_send, want_recv = _SEND[direction], _RECV[direction]
    our_dir = _direction(want_send and they_recv, want_recv and they_send)
    hold_connection = direction != "sendrecv" and hold_style == "connection"
    m, conn = _media_line(local, common, our_dir, hold_connection,
                          (crypto,) if crypto is not None else ())
    m = replace(m, proto=om.proto)  # the answer keeps the offer's transport (RFC 3264 §6)
    media = tuple(
        m if i == chosen else replace(
            o, port=0, connection=None, codecs=(), direction=None, ptime=None,
            maxptime=None, rtcp_port=None, attributes=(), bandwidth=(),
        )
        for i, o in enumerate(offer.media)
    )
    answer = _session(local, session_id, version, conn, media)
    result = negotiate(answer, offer, local_is_offer=False)
    if isinstance(result, NoCommonCodec):  # cannot happen: built from the intersection
        return result
    return Answer(sdp=answer, negotiated=result)


def _intersect(offered: tuple[Codec, ...], ours: tuple[Codec, ...]) -> list[Codec]:
    """Our codecs (our order) that the offer lists, with the offer's payload numbers."""
    by_key = {}
    for c in offered:
        if _is_media_codec(c):
            by_key.setdefault(c.key, c)
    return [
        replace(by_key[c.key], fmtp=by_key[c.key].fmtp or c.fmtp)
        for c in ours if _is_media_codec(c) and c.key in by_key
    ]


def negotiate(
    local: SessionDescription,
    remote: SessionDescription,
    *,
    local_is_offer: bool,
) -> Negotiated | NoCommonCodec:
    """The stream both descriptions agree on; either side calls it.

    The codec both ends send with is the first media codec of the answer, so
    the two directions use one codec. An answer that refuses the stream
    (port 0) or lists no codec of ours gives ``NoCommonCodec``.
    """
    answer_sd = remote if local_is_offer else local
    index = next(
        (i for i, m in enumerate(answer_sd.media)
         if m.media == "audio" and not m.rejected and m.proto in _RTP_PROTOS),
        None,
    )
    if index is None or index >= len(local.media) or index >= len(remote.media):
        return NoCommonCodec(reason="audio stream refused")
    lm, rm = local.media[index], remote.media[index]
    if lm.rejected or rm.rejected:
        return NoCommonCodec(reason="audio stream refused")
    answer_m = answer_sd.media[index]
    local_keys = {c.key for c in lm.codecs if _is_media_codec(c)}
    remote_by_key = {}
    for c in rm.codecs:
        if _is_media_codec(c):
            remote_by_key.setdefault(c.key, c)
    first = next(
        (c for c in answer_m.codecs
         if _is_media_codec(c) and c.key in local_keys and c.key in remote_by_key),
        None,
    )
    if first is None:
        return NoCommonCodec(reason="no common audio codec")
    crypto = agreed_crypto(lm, rm, local_is_offer=local_is_offer)
    if isinstance(crypto, str):
        return NoCommonCodec(reason=crypto, warning_code=WARNING_INCOMPATIBLE_TRANSPORT,
                             warning_text="Incompatible transport protocol")
    send_codec = remote_by_key[first.key]
    recv = {c.payload_type: c for c in rm.codecs if _is_media_codec(c) and c.key in local_keys}
    recv.update({c.payload_type: c for c in lm.codecs if _is_media_codec(c)})
    l_te = [c for c in lm.codecs if c.is_telephone_event]
    r_te = [c for c in rm.codecs if c.is_telephone_event]
    our_send, our_recv = _effective(local, lm)
    their_send, their_recv = _effective(remote, rm)
    address = remote.connection_for(rm)
    remote_addr = None if address in (None, HOLD_ADDRESS) else address
    # A hold we place is silent both ways, as on the 7960 (seed: "no RTP
    # packets are being sent"), whichever form the hold took.
    if local_is_offer:
        placed_hold = local.is_hold()
    else:  # our answer restricts what the offer allowed, or uses 0.0.0.0
        placed_hold = (local.connection_for(lm) == HOLD_ADDRESS
                       or (their_recv and not our_send) or (their_send and not our_recv))
    send = our_send and their_recv and remote_addr is not None and not placed_hold
    recv_ok = our_recv and their_send
    return Negotiated(
        remote_address=remote_addr,
        remote_rtp_port=rm.port,
        remote_rtcp_port=rm.rtcp_port if rm.rtcp_port is not None else rm.port + 1,
        send_codec=send_codec,
        recv_codecs=recv,
        dtmf_send_pt=r_te[0].payload_type if (r_te and l_te) else None,
        # ours, plus the peer's number in case it sends with its own (lenient)
        dtmf_recv_pts=frozenset(c.payload_type for c in l_te + r_te) if (r_te and l_te)
        else frozenset(),
        ptime=rm.ptime if rm.ptime and 10 <= rm.ptime <= 120 else (lm.ptime or 20),
        direction=_direction(send, recv_ok),
        send=send,
        recv=recv_ok,
        remote_hold=not (their_send and their_recv),
        local_hold=placed_hold,
        crypto=crypto,
    )


class SdpSession:
    """The offer/answer state of one call's audio (RFC 3264 §8): o= version, hold.

    Why: each new description in a dialog must carry the same session id and
    a version one higher only when it changed (RFC 3264 §8, RFC 4566 §5.2),
    and the offerer must remember its offer to read the answer.
    """

    def __init__(self, local: LocalMedia, *, session_id: int,
                 srtp: SrtpPolicy = PLAIN, keys: LocalKeys | None = None) -> None:
        self.local = local
        #: SDES policy of this call (mode, and whether its signalling path may carry keys);
        #: ``keys`` are our master keys for the whole call
        self.srtp = srtp
        self.keys = keys if keys is not None else LocalKeys()
        self.session_id = session_id
        self.version = session_id
        self._last: SessionDescription | None = None
        self._pending_offer: SessionDescription | None = None
        self.negotiated: Negotiated | None = None
        self.remote: SessionDescription | None = None

    def _stamp(self, sd: SessionDescription) -> SessionDescription:
        if self._last is not None and sd.with_version(0) != self._last.with_version(0):
            self.version += 1
        sd = sd.with_version(self.version)
        self._last = sd
        return sd

    def offer(self, *, direction: Direction = "sendrecv",
              hold_style: HoldStyle = "attribute") -> SessionDescription:
        """Our next offer (initial INVITE, hold, resume); remember it for the answer."""
        sd = build_offer(self.local, session_id=self.session_id, version=0,
                         direction=direction, hold_style=hold_style, srtp=self.srtp,
                         keys=self.keys)
        sd = self._stamp(sd)
        self._pending_offer = sd
        return sd

    def receive_answer(self, answer: SessionDescription) -> Negotiated | NoCommonCodec:
        """The peer's answer to our last offer."""
        if self._pending_offer is None:
            return NoCommonCodec(reason="answer without an offer")
        result = negotiate(self._pending_offer, answer, local_is_offer=True)
        self._pending_offer = None
        if isinstance(result, Negotiated):
            self.negotiated, self.remote = result, answer
        return result

    def receive_offer(self, offer: SessionDescription, *, direction: Direction = "sendrecv",
                      hold_style: HoldStyle = "attribute") -> Answer | NoCommonCodec:
        """Answer the peer's offer (initial or re-INVITE); on failure the old state stays."""
        result = build_answer(offer, self.local, session_id=self.session_id, version=0,
                              direction=direction, hold_style=hold_style, srtp=self.srtp,
                              keys=self.keys)
        if isinstance(result, Answer):
            sd = self._stamp(result.sdp)
            result = Answer(sdp=sd, negotiated=result.negotiated)
            self.negotiated, self.remote = result.negotiated, offer
        return result


__all__ = [
    "Answer", "Codec", "CryptoPair", "DIRECTIONS", "LocalKeys", "SrtpPolicy", "Direction", "HOLD_ADDRESS", "HoldStyle", "LocalMedia",
    "MAX_SDP_BYTES", "MediaDescription", "Negotiated", "NoCommonCodec", "Origin",
    "SdpParseError", "SdpSession", "SessionDescription", "WARNING_INCOMPATIBLE_MEDIA",
    "WARNING_INCOMPATIBLE_TRANSPORT",
    "build_answer", "build_offer", "negotiate", "parse_sdp",
]
