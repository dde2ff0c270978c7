"""RTP in for one ``MediaStream``: source, payload type, SSRC and sequence checks, then
the jitter buffer (RFC 3550 §5-§6 and A.1, RFC 4961 symmetric RTP, RFC 4733 events).

Why a mixin of ``MediaStream``: every datagram on the media port is
attacker-controlled, and what the stream does with one (drop and count it,
latch onto a NATed peer, believe a new SSRC after two packets, hand a digit
up, or decode it into the jitter buffer) is a job of its own. The packet of
every period takes a fast path through the same checks. ``MediaStream``
owns every attribute used.
"""

from __future__ import annotations

import logging
from collections import deque
from typing import Any

from firmware.media.dtmf import DtmfReceiver
from firmware.media.framecodec import FrameCodec
from firmware.media.jitter import JitterBuffer
from firmware.media.rtp import HEADER, MAX_RTP_PACKET, parse_rtp
from firmware.media.rtpstats import SequenceTracker
from firmware.media.sdp import Negotiated
from firmware.media.stream_types import Address, MediaEvent

__all__ = ["RxMixin"]

log = logging.getLogger("firmware.media.stream")


class RxMixin:
    """The receive methods of ``MediaStream``."""

    srtp: Any
    latch: bool
    neg: Negotiated | None
    _running: bool
    _c: dict[str, int]
    _events: deque[MediaEvent]
    _jb: JitterBuffer
    _decoders: dict[int, FrameCodec]
    _dtmf_rx: DtmfReceiver
    _seqs: SequenceTracker | None
    _remote_ssrc: int | None
    _candidate: tuple[int, int] | None
    _latched: Address | None
    _peer: Address | None
    _from_expected: bool

    def _source_ok(self, addr: Address, rtcp_port: bool) -> bool | None:
        """True: accept; False: drop; None: another address the stream may latch onto
        (``latch`` on), if the packet proves valid (negotiated PT, expected SSRC)."""
        expected = self._peer
        if expected is None:
            return False
        if rtcp_port:
            return addr[0] == expected[0] or (self._latched is not None and addr[0] == self._latched[0])
        if addr == expected:
            self._from_expected = True
            return True
        if self._latched == addr:
            return True
        # Symmetric RTP (RFC 4961): a peer behind NAT sends from another port
        # of the negotiated address; latch on it once, before the expected
        # source has been heard.
        if not self._from_expected and self._latched is None and addr[0] == expected[0]:
            self._latched = addr
            return True
        if self.latch and not self._from_expected and self._latched is None:
            return None
        return False

    def receive_rtp(self, data: bytes, addr: Address, now: float) -> None:
        if self.srtp is not None and (data := self.srtp.unprotect(data)) is None:
            return  # not authentic (or replayed): counted in srtp.auth_failures
        if HEADER.size <= len(data) <= MAX_RTP_PACKET and data[0] == 0x80 and not 72 <= (data[1] & 0x7F) <= 76:
            # the common case, read in place: version 2, no padding, extension or CSRCs
            _b0, b1, seq, ts, ssrc = HEADER.unpack_from(data)
            pt = b1 & 0x7F
            payload = data[HEADER.size:]
        else:
            pkt = parse_rtp(data)
            if pkt is None:
                self._c["malformed"] += 1
                return
            pt, seq, ts, ssrc, payload = (pkt.payload_type, pkt.sequence, pkt.timestamp,
                                          pkt.ssrc, pkt.payload)
        if not self._running:
            self._c["not_running"] += 1  # before start or after stop: not an attack
            return
        neg = self.neg
        assert neg is not None
        decoder = self._decoders.get(pt)
        seqs = self._seqs
        if (addr == self._peer and decoder is not None and ssrc == self._remote_ssrc
                and seqs is not None and neg.recv and pt not in neg.dtmf_recv_pts):
            # every period's packet: the negotiated source, payload type and SSRC (what
            # the checks below would all pass), with the RFC 3550 A.1 sequence check
            self._from_expected = True
            before = seqs.resyncs
            if not seqs.accept(seq):
                return
            if seqs.resyncs != before:
                self._jb.reset()
            self._c["octets_received"] += len(payload)
            self._jb.put(ts, seq, decoder.decode(payload), now)
            return
        source = self._source_ok(addr, False)
        if source is False:
            self._c["wrong_source"] += 1
            return
        is_dtmf = pt in neg.dtmf_recv_pts
        if source is None:
            # RFC 4961 symmetric RTP across NAT: latch onto the first source whose
            # packet is valid for this session, and send there from now on.
            if (not is_dtmf and decoder is None) or (
                    self._remote_ssrc is not None and ssrc != self._remote_ssrc):
                self._c["wrong_source"] += 1
                return
            self._latched = addr
            log.info("RTP: latched onto %s:%d (SDP said %s:%d)", *addr, *(self._peer or ("", 0)))
        if not is_dtmf and decoder is None:
            if pt != 13:  # comfort noise: understood, nothing to play
                self._c["unknown_pt"] += 1
            return
        if not self._check_ssrc(ssrc, seq):
            return
        if not neg.recv:
            return
        if is_dtmf:
            digit = self._dtmf_rx.receive(payload, ts, ssrc, now)
            if digit is not None:
                self._c["dtmf_received"] += 1
                self._events.append(digit)
            return
        assert decoder is not None
        self._c["octets_received"] += len(payload)
        self._jb.put(ts, seq, decoder.decode(payload), now)

    def _check_ssrc(self, ssrc: int, seq: int) -> bool:
        if self._remote_ssrc is None or self._seqs is None:
            self._remote_ssrc = ssrc
            self._seqs = SequenceTracker(seq)
            return self._seqs.accept(seq)
        if ssrc != self._remote_ssrc:
            # A new SSRC is believed after two packets in sequence (RFC 3550 A.1 probation).
            if self._candidate and self._candidate == (ssrc, (seq - 1) & 0xFFFF):
                self._remote_ssrc = ssrc
                self._seqs = SequenceTracker(seq)
                self._candidate = None
                self._jb.reset()
                self._c["ssrc_changes"] += 1
                return self._seqs.accept(seq)
            self._candidate = (ssrc, seq)
            self._c["wrong_ssrc"] += 1
            return False
        before = self._seqs.resyncs
        ok = self._seqs.accept(seq)
        if self._seqs.resyncs != before:
            self._jb.reset()
        return ok
