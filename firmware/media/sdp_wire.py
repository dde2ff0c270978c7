"""SDP session descriptions: parse and serialize (RFC 4566 §5, §6).

Why hand-written: the phone needs only the audio subset (v o s c t m a b),
but must read whatever a PBX, gateway or softphone sends without raising:
unknown lines and attributes are kept and ignored, sizes are capped, and a
description that cannot be understood raises ``SdpParseError`` (a
``ValueError``) which the SIP layer answers with 400 / 488.

Offer/answer lives in ``firmware.media.sdp``, which re-exports these names:
callers import from there.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field, replace
from typing import Literal

from firmware.media.codecs import STATIC_PAYLOAD_TYPES, Codec

log = logging.getLogger(__name__)

Direction = Literal["sendrecv", "sendonly", "recvonly", "inactive"]
DIRECTIONS: frozenset[str] = frozenset({"sendrecv", "sendonly", "recvonly", "inactive"})

MAX_SDP_BYTES = 16 * 1024
MAX_LINES = 512
MAX_MEDIA = 16
MAX_FORMATS = 64
HOLD_ADDRESS = "0.0.0.0"


class SdpParseError(ValueError):
    """The body is not an SDP description we can use; ``reason`` says why."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True, slots=True, kw_only=True)
class Origin:
    """``o=<username> <sess-id> <sess-version> IN IP4 <address>`` (RFC 4566 §5.2)."""

    username: str = "-"
    session_id: int = 0
    version: int = 0
    nettype: str = "IN"
    addrtype: str = "IP4"
    address: str = "127.0.0.1"

    def __str__(self) -> str:
        return (
            f"{self.username} {self.session_id} {self.version} "
            f"{self.nettype} {self.addrtype} {self.address}"
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class MediaDescription:
    """One ``m=`` section with its ``c=`` / ``a=`` lines.

    ``codecs`` resolves every format in ``formats`` through ``a=rtpmap`` or the
    static table; formats that are neither (a dynamic number without rtpmap)
    are left out of ``codecs`` but stay in ``formats``.
    """

    media: str = "audio"
    port: int = 0
    proto: str = "RTP/AVP"
    formats: tuple[str, ...] = ()
    connection: str | None = None
    codecs: tuple[Codec, ...] = ()
    direction: Direction | None = None
    ptime: int | None = None
    maxptime: int | None = None
    rtcp_port: int | None = None
    bandwidth: tuple[str, ...] = ()
    attributes: tuple[tuple[str, str | None], ...] = ()

    @property
    def rejected(self) -> bool:
        return self.port == 0


@dataclass(frozen=True, slots=True, kw_only=True)
class SessionDescription:
    """A whole SDP body. ``str(sd)`` is the wire form with CRLF line ends."""

    origin: Origin = field(default_factory=Origin)
    session_name: str = "-"
    connection: str | None = None
    bandwidth: tuple[str, ...] = ()
    timing: str = "0 0"
    direction: Direction | None = None
    attributes: tuple[tuple[str, str | None], ...] = ()
    media: tuple[MediaDescription, ...] = ()

    def __str__(self) -> str:
        return "".join(f"{line}\r\n" for line in _lines(self))

    def to_bytes(self) -> bytes:
        return str(self).encode("utf-8")

    def audio(self) -> MediaDescription | None:
        """The first audio stream that is not rejected (port 0), if any."""
        for m in self.media:
            if m.media == "audio" and not m.rejected:
                return m
        return None

    def connection_for(self, m: MediaDescription) -> str | None:
        """The address media goes to: the media-level ``c=``, else the session's."""
        return m.connection if m.connection is not None else self.connection

    def direction_for(self, m: MediaDescription) -> Direction:
        """The stream's direction attribute (media, then session level, default sendrecv)."""
        return m.direction or self.direction or "sendrecv"

    def is_hold(self) -> bool:
        """True when this description puts the audio on hold, in either style.

        RFC 3264 §8.4 style: ``a=sendonly`` or ``a=inactive``; RFC 2543 style
        (what the 7960 sends, seed Appendix B): ``c=IN IP4 0.0.0.0``.
        """
        m = self.audio()
        if m is None:
            return False
        return self.connection_for(m) == HOLD_ADDRESS or self.direction_for(m) in (
            "sendonly",
            "inactive",
        )

    def with_version(self, version: int) -> SessionDescription:
        return replace(self, origin=replace(self.origin, version=version))


def _lines(sd: SessionDescription) -> list[str]:
    out = ["v=0", f"o={sd.origin}", f"s={sd.session_name or '-'}"]
    if sd.connection is not None:
        out.append(f"c=IN IP4 {sd.connection}")
    out += [f"b={b}" for b in sd.bandwidth]
    out.append(f"t={sd.timing}")
    if sd.direction:
        out.append(f"a={sd.direction}")
    out += [_attr(k, v) for k, v in sd.attributes]
    for m in sd.media:
        out.append(f"m={m.media} {m.port} {m.proto} {' '.join(m.formats)}".rstrip())
        if m.connection is not None:
            out.append(f"c=IN IP4 {m.connection}")
        out += [f"b={b}" for b in m.bandwidth]
        for c in m.codecs:
            out.append(f"a=rtpmap:{c.rtpmap()}")
            if c.fmtp:
                out.append(f"a=fmtp:{c.payload_type} {c.fmtp}")
        if m.rtcp_port is not None:
            out.append(f"a=rtcp:{m.rtcp_port}")
        if m.ptime is not None:
            out.append(f"a=ptime:{m.ptime}")
        if m.maxptime is not None:
            out.append(f"a=maxptime:{m.maxptime}")
        out += [_attr(k, v) for k, v in m.attributes]
        if m.direction:
            out.append(f"a={m.direction}")
    return out


def _attr(name: str, value: str | None) -> str:
    return f"a={name}" if value is None else f"a={name}:{value}"


# --------------------------------------------------------------------- parsing


def parse_sdp(body: bytes | str) -> SessionDescription:
    """Parse an SDP body; raises ``SdpParseError`` when it cannot be used."""
    if isinstance(body, bytes):
        if len(body) > MAX_SDP_BYTES:
            raise SdpParseError("SDP body too large")
        text = body.decode("utf-8", errors="replace")
    else:
        text = body
        if len(text) > MAX_SDP_BYTES:
            raise SdpParseError("SDP body too large")
    raw_lines = [ln.rstrip("\r") for ln in text.split("\n")]
    lines = [ln for ln in raw_lines if ln.strip()]
    if len(lines) > MAX_LINES:
        raise SdpParseError("too many SDP lines")
    if not lines or lines[0].strip() != "v=0":
        raise SdpParseError("SDP must start with v=0")

    session: dict[str, object] = {"attributes": [], "bandwidth": []}
    medias: list[dict[str, object]] = []
    cur: dict[str, object] = session
    for line in lines[1:]:
        if len(line) < 2 or line[1] != "=":
            raise SdpParseError(f"malformed SDP line {line[:40]!r}")
        kind, value = line[0], line[2:].strip()
        if kind == "m":
            if len(medias) >= MAX_MEDIA:
                raise SdpParseError("too many m= lines")
            cur = _parse_m(value)
            medias.append(cur)
        elif kind == "o" and cur is session:
            session["origin"] = _parse_origin(value)
        elif kind == "s" and cur is session:
            session["session_name"] = value
        elif kind == "t" and cur is session:
            session["timing"] = value
        elif kind == "c":
            cur["connection"] = _parse_connection(value)
        elif kind == "b":
            cur["bandwidth"].append(value)  # type: ignore[attr-defined]
        elif kind == "a":
            name, _, val = value.partition(":")
            cur["attributes"].append((name.strip(), val.strip() if _ else None))  # type: ignore[attr-defined]
        # i u e p z k r and unknown letters: kept out, ignored (RFC 4566 §5)
    if "origin" not in session:
        raise SdpParseError("SDP has no o= line")
    return SessionDescription(
        origin=session["origin"],  # type: ignore[arg-type]
        session_name=str(session.get("session_name", "-")),
        connection=session.get("connection"),  # type: ignore[arg-type]
        bandwidth=tuple(session["bandwidth"]),  # type: ignore[arg-type]
        timing=str(session.get("timing", "0 0")),
        **_split_attributes(session["attributes"]),  # type: ignore[arg-type]
        media=tuple(_build_media(m) for m in medias),
    )


def _parse_origin(value: str) -> Origin:
    parts = value.split()
    if len(parts) != 6:
        raise SdpParseError("o= needs six fields")
    try:
        sid, ver = int(parts[1]), int(parts[2])
    except ValueError:
        raise SdpParseError("o= session id and version must be numbers") from None
    return Origin(
        username=parts[0], session_id=sid, version=ver,
        nettype=parts[3], addrtype=parts[4], address=parts[5],
    )


def _parse_connection(value: str) -> str:
    parts = value.split()
    if len(parts) != 3 or parts[0] != "IN":
        raise SdpParseError("c= must be 'IN <addrtype> <address>'")
    if parts[1] not in ("IP4", "IP6"):
        raise SdpParseError("c= address type must be IP4 or IP6")
    return parts[2].split("/")[0]  # drop multicast TTL / count


def _parse_m(value: str) -> dict[str, object]:
    parts = value.split()
    if len(parts) < 3:
        raise SdpParseError("m= needs media, port and proto")
    port_s = parts[1].split("/")[0]
    if not port_s.isdecimal() or int(port_s) > 65535:
        raise SdpParseError("m= port must be 0-65535")
    formats = parts[3:]
    if len(formats) > MAX_FORMATS:
        raise SdpParseError("too many formats on m= line")
    return {
        "media": parts[0], "port": int(port_s), "proto": parts[2], "formats": formats,
        "attributes": [], "bandwidth": [],
    }


def _split_attributes(attrs: list[tuple[str, str | None]]) -> dict[str, object]:
    """Pull the direction attribute out of a session-level attribute list."""
    direction = None
    rest = []
    for name, val in attrs:
        if name in DIRECTIONS and val is None:
            direction = name
        else:
            rest.append((name, val))
    return {"direction": direction, "attributes": tuple(rest)}


def _int_or_none(val: str | None) -> int | None:
    if val is None:
        return None
    head = val.split()[0] if val.split() else ""
    return int(head) if head.isdecimal() and len(head) < 7 else None


def _build_media(m: dict[str, object]) -> MediaDescription:
    rtpmap: dict[str, Codec] = {}
    fmtp: dict[str, str] = {}
    direction: str | None = None
    ptime = maxptime = rtcp_port = None
    rest: list[tuple[str, str | None]] = []
    for name, val in m["attributes"]:  # type: ignore[attr-defined]
        if name in DIRECTIONS and val is None:
            direction = name
        elif name == "rtpmap" and val:
            codec = _parse_rtpmap(val)
            if codec is not None:
                rtpmap[str(codec.payload_type)] = codec
        elif name == "fmtp" and val:
            pt, _, params = val.partition(" ")
            fmtp[pt] = params.strip()
        elif name == "ptime":
            ptime = _int_or_none(val)
        elif name == "maxptime":
            maxptime = _int_or_none(val)
        elif name == "rtcp":
            rtcp_port = _int_or_none(val)
            if rtcp_port is not None and rtcp_port > 65535:
                rtcp_port = None
        else:
            rest.append((name, val))
    codecs = []
    for f in m["formats"]:  # type: ignore[attr-defined]
        codec = rtpmap.get(f)
        if codec is None and f.isdecimal() and int(f) in STATIC_PAYLOAD_TYPES:
            codec = STATIC_PAYLOAD_TYPES[int(f)]
        if codec is None:
            continue
        if f in fmtp:
            codec = replace(codec, fmtp=fmtp[f])
        codecs.append(codec)
    return MediaDescription(
        media=str(m["media"]), port=int(m["port"]), proto=str(m["proto"]),  # type: ignore[call-overload]
        formats=tuple(m["formats"]),  # type: ignore[arg-type]
        connection=m.get("connection"),  # type: ignore[arg-type]
        codecs=tuple(codecs), direction=direction, ptime=ptime, maxptime=maxptime,  # type: ignore[arg-type]
        rtcp_port=rtcp_port, bandwidth=tuple(m["bandwidth"]),  # type: ignore[arg-type]
        attributes=tuple(rest),
    )


def _parse_rtpmap(val: str) -> Codec | None:
    """``<pt> <name>/<rate>[/<channels>]``; None (ignored) when malformed."""
    pt_s, _, enc = val.partition(" ")
    bits = enc.strip().split("/")
    if not pt_s.isdecimal() or int(pt_s) > 127 or len(bits) < 2 or not bits[1].isdecimal():
        log.debug("ignoring malformed rtpmap %r", val[:60])
        return None
    channels = int(bits[2]) if len(bits) > 2 and bits[2].isdecimal() else 1
    rate = int(bits[1])
    if not bits[0] or rate == 0 or rate > 1_000_000 or not 1 <= channels <= 8:
        return None
    return Codec(payload_type=int(pt_s), name=bits[0], clock_rate=rate, channels=channels)
