"""RTP fixed header: build and parse (RFC 3550 §5.1), with RFC 1982-style
sequence arithmetic helpers.

Why strict parsing: every datagram on the media port is attacker-controlled.
``parse_rtp`` returns None (never raises) for anything that is not a usable
RTP packet (wrong version, truncated header/CSRC list/extension, bad padding),
and the stream counts the drop.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

RTP_VERSION = 2
HEADER = struct.Struct("!BBHII")
MAX_RTP_PACKET = 1500


@dataclass(frozen=True, slots=True, kw_only=True)
class RtpPacket:
    payload_type: int
    sequence: int
    timestamp: int
    ssrc: int
    payload: bytes = b""
    marker: bool = False
    csrcs: tuple[int, ...] = ()

    def to_bytes(self) -> bytes:
        """The wire form (no padding, no extension)."""
        b0 = (RTP_VERSION << 6) | len(self.csrcs)
        b1 = (0x80 if self.marker else 0) | (self.payload_type & 0x7F)
        head = HEADER.pack(b0, b1, self.sequence & 0xFFFF, self.timestamp & 0xFFFFFFFF, self.ssrc)
        if self.csrcs:
            head += struct.pack(f"!{len(self.csrcs)}I", *self.csrcs)
        return head + self.payload


def build_rtp(payload_type: int, sequence: int, timestamp: int, ssrc: int, payload: bytes,
              marker: bool = False) -> bytes:
    """``RtpPacket(...).to_bytes()`` without the object: the send path runs this 50
    times a second, and the dataclass would be built only to be thrown away."""
    return HEADER.pack(0x80, (0x80 if marker else 0) | (payload_type & 0x7F), sequence & 0xFFFF,
                       timestamp & 0xFFFFFFFF, ssrc) + payload


def parse_rtp(data: bytes) -> RtpPacket | None:
    """Parse one RTP packet; None when malformed."""
    if len(data) < HEADER.size or len(data) > MAX_RTP_PACKET:
        return None
    b0, b1, seq, ts, ssrc = HEADER.unpack_from(data)
    if b0 >> 6 != RTP_VERSION:
        return None
    pt = b1 & 0x7F
    if 72 <= pt <= 76:  # RTCP SR/RR/SDES/BYE/APP multiplexed here: not RTP (RFC 5761 §4)
        return None
    cc = b0 & 0x0F
    offset = HEADER.size + 4 * cc
    if len(data) < offset:
        return None
    csrcs = struct.unpack_from(f"!{cc}I", data, HEADER.size) if cc else ()
    if b0 & 0x10:  # header extension: 16-bit profile, 16-bit length in words
        if len(data) < offset + 4:
            return None
        (words,) = struct.unpack_from("!H", data, offset + 2)
        offset += 4 + 4 * words
        if len(data) < offset:
            return None
    end = len(data)
    if b0 & 0x20:  # padding: last octet counts the padding octets, itself included
        pad = data[-1]
        if pad == 0 or end - pad < offset:
            return None
        end -= pad
    return RtpPacket(
        payload_type=pt, sequence=seq, timestamp=ts, ssrc=ssrc,
        payload=bytes(data[offset:end]), marker=bool(b1 & 0x80), csrcs=tuple(csrcs),
    )


def seq_delta(a: int, b: int) -> int:
    """Signed distance a - b between 16-bit sequence numbers (-32768..32767)."""
    return ((a - b + 0x8000) & 0xFFFF) - 0x8000


def ts_delta(a: int, b: int) -> int:
    """Signed distance a - b between 32-bit RTP timestamps."""
    return ((a - b + 0x80000000) & 0xFFFFFFFF) - 0x80000000
