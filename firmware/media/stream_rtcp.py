"""RTCP of one ``MediaStream`` (RFC 3550 §6): reports out, reports and BYE in, round trip.

Why a mixin of ``MediaStream``: RTCP reads and writes the stream's counters
and receive statistics, but what it does with them (sender/receiver reports
with one report block, the LSR/DLSR round trip of §6.4.1, a peer's BYE as
an event) is a job of its own. ``MediaStream`` owns every attribute used.
"""

from __future__ import annotations

from collections import deque
from typing import TYPE_CHECKING

from firmware.media import rtcp
from firmware.media.jitter import JitterBuffer
from firmware.media.rtpstats import SequenceTracker
from firmware.media.sdp import Negotiated
from firmware.media.stream_types import Address, MediaDatagram, MediaEvent, RemoteBye

__all__ = ["RtcpMixin"]


class RtcpMixin:
    """The RTCP methods of ``MediaStream``."""

    ssrc: int
    cname: str
    neg: Negotiated | None
    _ts0: int
    _t0: float | None
    _running: bool
    _c: dict[str, int]
    _out: list[MediaDatagram]
    _events: deque[MediaEvent]
    _jb: JitterBuffer
    _seqs: SequenceTracker | None
    _remote_ssrc: int | None
    _latched: Address | None
    _ntp_offset: float
    _lsr: int
    _lsr_at: float
    _remote_block: rtcp.ReportBlock | None
    _rtt: float | None
    _fraction_lost: float

    if TYPE_CHECKING:  # provided by MediaStream

        def _source_ok(self, addr: Address, rtcp_port: bool) -> bool | None: ...

    def receive_rtcp(self, data: bytes, addr: Address, now: float) -> None:
        srtp = getattr(self, "srtp", None)
        if srtp is not None and (data := srtp.unprotect_rtcp(data)) is None:
            return  # SRTCP that fails authentication: dropped, counted there
        packets = rtcp.parse(data)
        if packets is None:
            self._c["rtcp_malformed"] += 1
            return
        if not self._running:
            self._c["not_running"] += 1
            return
        if not self._source_ok(addr, True):  # None (not latched yet) drops too
            self._c["wrong_source"] += 1
            return
        self._c["rtcp_received"] += 1
        for p in packets:
            if isinstance(p, rtcp.SenderReport):
                self._lsr = rtcp.ntp_middle(p.ntp)
                self._lsr_at = now
            if isinstance(p, rtcp.SenderReport | rtcp.ReceiverReport):
                for block in p.reports:
                    if block.ssrc == self.ssrc:
                        self._remote_block = block
                        self._rtt = self._round_trip(block, now)
            elif isinstance(p, rtcp.Bye):
                if self._remote_ssrc is None or self._remote_ssrc in p.ssrcs:
                    self._events.append(RemoteBye(ssrc=p.ssrcs[0] if p.ssrcs else 0,
                                                  reason=p.reason, at=now))

    def _round_trip(self, block: rtcp.ReportBlock, now: float) -> float | None:
        if block.lsr == 0:
            return self._rtt
        a = rtcp.ntp_middle(rtcp.ntp_from_seconds(now + self._ntp_offset))
        rtt = ((a - block.lsr - block.dlsr) & 0xFFFFFFFF) / 65536.0
        return rtt if rtt < 60.0 else self._rtt

    def _queue_rtcp(self, now: float, bye: str | None = None) -> None:
        neg = self.neg
        if neg is None or neg.remote_address is None:
            return
        blocks: tuple[rtcp.ReportBlock, ...] = ()
        if self._remote_ssrc is not None and self._seqs is not None:
            dlsr = int((now - self._lsr_at) * 65536) if self._lsr else 0
            jitter = int(self._jb.jitter_ms * 8)
            block = self._seqs.report_block(self._remote_ssrc, jitter, self._lsr, dlsr)
            self._fraction_lost = block.fraction_lost / 256.0
            blocks = (block,)
        packets: list[rtcp.RtcpPacket] = []
        if self._c["sent_since_report"]:
            elapsed = (now - (self._t0 or now)) * 8000
            packets.append(rtcp.SenderReport(
                ssrc=self.ssrc, ntp=rtcp.ntp_from_seconds(now + self._ntp_offset),
                rtp_timestamp=(self._ts0 + int(elapsed)) & 0xFFFFFFFF,
                packet_count=self._c["sent"], octet_count=self._c["octets"], reports=blocks))
        else:
            packets.append(rtcp.ReceiverReport(ssrc=self.ssrc, reports=blocks))
        self._c["sent_since_report"] = 0
        packets.append(rtcp.SourceDescription(ssrc=self.ssrc, cname=self.cname))
        if bye is not None:
            packets.append(rtcp.Bye(ssrcs=(self.ssrc,), reason=bye))
        addr = (self._latched[0] if self._latched else neg.remote_address, neg.remote_rtcp_port)
        data = rtcp.build(packets)
        srtp = getattr(self, "srtp", None)
        if srtp is not None:
            data = srtp.protect_rtcp(data)
        self._out.append(MediaDatagram(data=data, addr=addr, rtcp=True))
        self._c["rtcp_sent"] += 1
