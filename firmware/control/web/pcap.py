"""SIP messages as a pcap file that Wireshark, tshark and sngrep open.

Why synthesize: the phone sees SIP as payloads on its own sockets, not as
packets, and capturing the wire needs root and a capture library the Pi
does not carry. A pcap needs little more than the payload: each message is
written as one IPv4 or IPv6 packet (LINKTYPE_RAW) with a UDP header, or a
TCP header for stream transports (sequence numbers kept per direction so
Wireshark's reassembly is happy), checksums computed, timestamps from the
wall clock the message was seen at.
"""

from __future__ import annotations

import ipaddress
import struct
from collections.abc import Iterable

from firmware.surface import WirePacket

LINKTYPE_RAW = 101
SNAPLEN = 65535
_MAGIC = 0xA1B2C3D4  # microsecond timestamps


def _checksum(data: bytes) -> int:
    """The Internet checksum (RFC 1071)."""
    if len(data) % 2:
        data += b"\0"
    total = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


def _l4(pkt: WirePacket, seq: int, pseudo: bytes) -> tuple[int, bytes]:
    """(IP protocol number, transport header + payload) with its checksum filled in."""
    sport, dport = pkt.src[1], pkt.dst[1]
    if pkt.transport.lower() == "udp":
        length = 8 + len(pkt.data)
        head = struct.pack("!HHHH", sport, dport, length, 0)
        csum = _checksum(pseudo + struct.pack("!BBH", 0, 17, length) + head + pkt.data) or 0xFFFF
        return 17, struct.pack("!HHHH", sport, dport, length, csum) + pkt.data
    # TCP: PSH|ACK, window 65535, no options (data offset 5 words).
    length = 20 + len(pkt.data)
    head = struct.pack("!HHIIBBHHH", sport, dport, seq, 1, 5 << 4, 0x18, 65535, 0, 0)
    csum = _checksum(pseudo + struct.pack("!BBH", 0, 6, length) + head + pkt.data)
    head = struct.pack("!HHIIBBHHH", sport, dport, seq, 1, 5 << 4, 0x18, 65535, csum, 0)
    return 6, head + pkt.data


def _packet(pkt: WirePacket, seq: int, ident: int) -> bytes:
    src = ipaddress.ip_address(pkt.src[0].split("%", 1)[0])
    dst = ipaddress.ip_address(pkt.dst[0].split("%", 1)[0])
    if src.version != dst.version:  # an IPv4-mapped peer: show both as IPv6
        src, dst = (ipaddress.IPv6Address(f"::ffff:{a}") if a.version == 4 else a for a in (src, dst))
    if src.version == 4:
        pseudo = src.packed + dst.packed
        proto, seg = _l4(pkt, seq, pseudo)
        head = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(seg), ident & 0xFFFF, 0x4000,
                           64, proto, 0, src.packed, dst.packed)
        head = head[:10] + struct.pack("!H", _checksum(head)) + head[12:]
        return head + seg
    pseudo = src.packed + dst.packed
    proto, seg = _l4(pkt, seq, pseudo + b"\0\0")  # 32-bit length: high half is zero here
    head = struct.pack("!IHBB16s16s", 6 << 28, len(seg), proto, 64, src.packed, dst.packed)
    return head + seg


def write_pcap(packets: Iterable[WirePacket]) -> bytes:
    """The whole capture file: global header, then one record per message."""
    out = [struct.pack("<IHHiIII", _MAGIC, 2, 4, 0, 0, SNAPLEN, LINKTYPE_RAW)]
    seqs: dict[tuple[tuple[str, int], tuple[str, int]], int] = {}
    for ident, pkt in enumerate(packets, start=1):
        flow = (pkt.src, pkt.dst)
        seq = seqs.get(flow, 1)
        seqs[flow] = (seq + len(pkt.data)) & 0xFFFFFFFF
        frame = _packet(pkt, seq, ident)[:SNAPLEN]
        sec = int(pkt.wall)
        usec = min(int(round((pkt.wall - sec) * 1_000_000)), 999_999)
        out.append(struct.pack("<IIII", sec, usec, len(frame), len(frame)))
        out.append(frame)
    return b"".join(out)
