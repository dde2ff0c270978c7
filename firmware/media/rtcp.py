"""RTCP SR, RR, SDES (CNAME) and BYE: build and parse compound packets
(RFC 3550 §6.4, §6.5, §6.6), plus the NTP short-format helpers used for
round-trip time (RFC 3550 §6.4.1: RTT = A - LSR - DLSR).

Why here: the call-info screen shows loss, jitter and RTT, which come from
the peer's report blocks about us. Parsing never raises: a malformed
compound packet yields ``None`` and the stream counts it.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

SR, RR, SDES, BYE = 200, 201, 202, 203
SDES_CNAME = 1
MAX_RTCP_PACKET = 1500
_RB = struct.Struct("!IB3sIIII")


@dataclass(frozen=True, slots=True, kw_only=True)
class ReportBlock:
    """What one receiver says about one source (RFC 3550 §6.4.1)."""

    ssrc: int
    fraction_lost: int  # 0..255, lost fraction * 256 since the last report
    cumulative_lost: int  # signed 24-bit
    highest_seq: int  # extended highest sequence number received
    jitter: int  # interarrival jitter in timestamp units
    lsr: int = 0  # middle 32 bits of the last SR's NTP time
    dlsr: int = 0  # delay since that SR, 1/65536 s

    def to_bytes(self) -> bytes:
        lost = self.cumulative_lost & 0xFFFFFF
        return _RB.pack(self.ssrc, self.fraction_lost & 0xFF, lost.to_bytes(3, "big"),
                        self.highest_seq & 0xFFFFFFFF, self.jitter & 0xFFFFFFFF,
                        self.lsr & 0xFFFFFFFF, self.dlsr & 0xFFFFFFFF)


@dataclass(frozen=True, slots=True, kw_only=True)
class SenderReport:
    ssrc: int
    ntp: int  # 64-bit NTP timestamp
    rtp_timestamp: int
    packet_count: int
    octet_count: int
    reports: tuple[ReportBlock, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class ReceiverReport:
    ssrc: int
    reports: tuple[ReportBlock, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class SourceDescription:
    ssrc: int
    cname: str


@dataclass(frozen=True, slots=True, kw_only=True)
class Bye:
    ssrcs: tuple[int, ...]
    reason: str = ""


RtcpPacket = SenderReport | ReceiverReport | SourceDescription | Bye


def ntp_from_seconds(seconds: float) -> int:
    """64-bit NTP fixed point from seconds (any consistent epoch)."""
    whole = int(seconds)
    frac = int((seconds - whole) * (1 << 32)) & 0xFFFFFFFF
    return ((whole & 0xFFFFFFFF) << 32) | frac


def ntp_middle(ntp: int) -> int:
    """The middle 32 bits (RFC 3550 LSR format)."""
    return (ntp >> 16) & 0xFFFFFFFF


def _header(count: int, pt: int, body_len: int) -> bytes:
    return struct.pack("!BBH", 0x80 | (count & 0x1F), pt, (body_len + 4) // 4 - 1)


def build(packets: list[RtcpPacket]) -> bytes:
    """A compound RTCP packet (put SR/RR first, SDES next, as §6.1 requires)."""
    out = b""
    for p in packets:
        if isinstance(p, SenderReport):
            body = struct.pack("!IQIII", p.ssrc, p.ntp, p.rtp_timestamp & 0xFFFFFFFF,
                               p.packet_count & 0xFFFFFFFF, p.octet_count & 0xFFFFFFFF)
            body += b"".join(r.to_bytes() for r in p.reports[:31])
            out += _header(len(p.reports[:31]), SR, len(body)) + body
        elif isinstance(p, ReceiverReport):
            body = struct.pack("!I", p.ssrc) + b"".join(r.to_bytes() for r in p.reports[:31])
            out += _header(len(p.reports[:31]), RR, len(body)) + body
        elif isinstance(p, SourceDescription):
            cname = p.cname.encode("utf-8")[:255]
            chunk = struct.pack("!IBB", p.ssrc, SDES_CNAME, len(cname)) + cname + b"\x00"
            chunk += b"\x00" * (-len(chunk) % 4)
            out += _header(1, SDES, len(chunk)) + chunk
        elif isinstance(p, Bye):
            body = b"".join(struct.pack("!I", s) for s in p.ssrcs[:31])
            if p.reason:
                r = p.reason.encode("utf-8")[:255]
                body += bytes([len(r)]) + r
                body += b"\x00" * (-len(body) % 4)
            out += _header(len(p.ssrcs[:31]), BYE, len(body)) + body
    return out


def _blocks(data: bytes, offset: int, count: int, end: int) -> tuple[ReportBlock, ...] | None:
    if offset + count * _RB.size > end:
        return None
    blocks = []
    for i in range(count):
        ssrc, frac, lost3, hi, jit, lsr, dlsr = _RB.unpack_from(data, offset + i * _RB.size)
        lost = int.from_bytes(lost3, "big")
        if lost & 0x800000:
            lost -= 0x1000000
        blocks.append(ReportBlock(ssrc=ssrc, fraction_lost=frac, cumulative_lost=lost,
                                  highest_seq=hi, jitter=jit, lsr=lsr, dlsr=dlsr))
    return tuple(blocks)


def parse(data: bytes) -> list[RtcpPacket] | None:
    """Parse a compound RTCP packet; None when malformed. Unknown types are skipped."""
    if len(data) < 8 or len(data) > MAX_RTCP_PACKET or len(data) % 4:
        return None
    out: list[RtcpPacket] = []
    offset = 0
    first = True
    while offset < len(data):
        if len(data) - offset < 4:
            return None
        b0, pt, length = struct.unpack_from("!BBH", data, offset)
        end = offset + 4 * (length + 1)
        if b0 >> 6 != 2 or end > len(data):
            return None
        if first and not 192 <= pt <= 223:  # RTCP packet types (RFC 5761 §4); APP-only
            return None  # keepalives (baresip's PING/PONG) are accepted and skipped
        first = False
        count = b0 & 0x1F
        body = offset + 4
        if pt == SR:
            if end - body < 24:
                return None
            ssrc, ntp, rtp_ts, pc, oc = struct.unpack_from("!IQIII", data, body)
            blocks = _blocks(data, body + 24, count, end)
            if blocks is None:
                return None
            out.append(SenderReport(ssrc=ssrc, ntp=ntp, rtp_timestamp=rtp_ts,
                                    packet_count=pc, octet_count=oc, reports=blocks))
        elif pt == RR:
            if end - body < 4:
                return None
            (ssrc,) = struct.unpack_from("!I", data, body)
            blocks = _blocks(data, body + 4, count, end)
            if blocks is None:
                return None
            out.append(ReceiverReport(ssrc=ssrc, reports=blocks))
        elif pt == SDES:
            sdes = _parse_sdes(data, body, count, end)
            if sdes is None:
                return None
            out.extend(sdes)
        elif pt == BYE:
            if body + 4 * count > end:
                return None
            ssrcs = struct.unpack_from(f"!{count}I", data, body)
            reason = ""
            rpos = body + 4 * count
            if rpos < end:
                n = data[rpos]
                reason = data[rpos + 1:min(rpos + 1 + n, end)].decode("utf-8", "replace")
            out.append(Bye(ssrcs=tuple(ssrcs), reason=reason))
        offset = end
    return out


def _parse_sdes(data: bytes, pos: int, count: int, end: int) -> list[SourceDescription] | None:
    out = []
    for _ in range(count):
        if pos + 4 > end:
            return None
        (ssrc,) = struct.unpack_from("!I", data, pos)
        pos += 4
        cname = ""
        while pos < end and data[pos] != 0:
            if pos + 2 > end:
                return None
            kind, n = data[pos], data[pos + 1]
            if pos + 2 + n > end:
                return None
            if kind == SDES_CNAME:
                cname = data[pos + 2:pos + 2 + n].decode("utf-8", "replace")
            pos += 2 + n
        pos += 1  # the null item ending the chunk
        pos += -pos % 4  # chunks are 32-bit aligned
        out.append(SourceDescription(ssrc=ssrc, cname=cname))
    return out
