"""MediaStream: one RTP/RTCP audio session, sans-IO (RFC 3550 §5-§6, RFC 4733).

Why sans-IO: the same object runs under asyncio on the handset and under a
virtual clock in tests. It never reads a clock: packets go out on absolute
deadlines t0 + n*ptime reported by ``get_timer()`` and fired by
``handle_timer(now)``, so an event loop that wakes late does not drift (the
next deadline is still on the grid) and a stalled loop skips ticks instead
of bursting. The timestamp of packet n is ts0 + n*samples whether or not it
was sent, so resuming from hold continues the timeline (RFC 3550 §5.1) and
the first packet after start/resume carries the marker bit.

Receiving is defensive: malformed RTP, an unexpected source address, an
un-negotiated payload type, an SSRC change or a sequence jump is dropped (or,
when the new state is confirmed by a second packet, resynchronised) and
counted in ``stats()``; nothing raises.

RTCP (reports, round-trip time, BYE) is in ``stream_rtcp.py``, receiving RTP in
``stream_rx.py``; the values this hands out in ``stream_types.py``.
"""

from __future__ import annotations

import logging
import math
import random
from collections import deque
from typing import Any

from firmware.media import rtcp
from firmware.media.dtmf import DtmfReceiver, DtmfSender, inband_pcm
from firmware.media.framecodec import FrameCodec, make_codec
from firmware.media.grid import EARLY_S
from firmware.media.jitter import JitterBuffer
from firmware.media.rtp import build_rtp
from firmware.media.rtpstats import SequenceTracker
from firmware.media.sdp import Negotiated
from firmware.media.srtp import context_for
from firmware.media.stream_rtcp import RtcpMixin
from firmware.media.stream_rx import RxMixin
from firmware.media.stream_types import (
    Address,
    MediaDatagram,
    MediaEvent,
    RemoteBye,
    StreamStats,
)

__all__ = [
    "EARLY_S", "MAX_BURST_TICKS", "MediaDatagram", "MediaEvent", "MediaStream", "RemoteBye",
    "StreamStats",
]

log = logging.getLogger(__name__)


MAX_BURST_TICKS = 5  # a loop stall longer than this many periods skips ticks
MAX_EVENTS = 64


class MediaStream(RxMixin, RtcpMixin):
    """One audio RTP session. Feed ``push_capture``; pull ``pull_playout``."""

    def __init__(self, *, ssrc: int, cname: str, seq0: int = 0, ts0: int = 0,
                 rtcp_interval: float = 5.0, ntp_offset: float = 0.0,
                 period: int = 160, pcm_rate: int = 8000, latch: bool = False) -> None:
        self.ssrc = ssrc & 0xFFFFFFFF
        # Opt-in (``nat_enable`` / ``rtp_latch``): follow a peer whose packets come from
        # another *address* than its SDP says (behind NAT). Off by default, since
        # whoever sends first with the right SSRC/PT could then take the call's audio.
        self.latch = latch
        #: ``firmware.media.srtp.SrtpContext`` once SDES keys were agreed: RTP and RTCP
        #: go out protected and come in authenticated (a failure is dropped, counted there)
        self.srtp: Any = None
        self.cname = cname
        self._seq = seq0 & 0xFFFF
        self._ts0 = ts0 & 0xFFFFFFFF
        self._rtcp_interval = rtcp_interval
        self._rng = random.Random(ssrc)  # reproducible per stream; no clock read
        self._ntp_offset = ntp_offset
        self.period = period  # audio samples per device period
        if pcm_rate not in (8000, 16000):
            raise ValueError(f"unsupported audio rate {pcm_rate}")
        self.pcm_rate = pcm_rate
        self._k = pcm_rate // 8000  # audio samples per RTP timestamp unit
        self.neg: Negotiated | None = None
        self._spp = period // self._k  # RTP timestamp units per packet
        self._t0: float | None = None
        self._tick = 0
        self._next_rtcp: float | None = None
        self._running = False
        self._marker = True
        self._capture = bytearray()
        self._out: list[MediaDatagram] = []
        self._events: deque[MediaEvent] = deque(maxlen=MAX_EVENTS)
        self._jb = JitterBuffer(period=period // self._k, samples_per_ts=self._k)
        self._dtmf_tx = DtmfSender(samples_per_packet=period // self._k)
        #: The 7960's dtmf_inband: digits as tones in the audio when no telephone-event
        #: goes out; ``dtmf_always_pt`` (dtmf_outofband: avt_always): send events with
        #: our own payload type even when the peer's answer listed none.
        self.dtmf_inband = True
        self.dtmf_always_pt: int | None = None
        self._inband = bytearray()
        self._dtmf_rx = DtmfReceiver()
        self._codec: FrameCodec | None = None
        self._decoders: dict[int, FrameCodec] = {}
        self._latched: Address | None = None
        self._peer: Address | None = None  # negotiated RTP source/destination
        self._from_expected = False
        self._remote_ssrc: int | None = None
        self._candidate: tuple[int, int] | None = None
        self._seqs: SequenceTracker | None = None
        self._lsr = 0
        self._lsr_at = 0.0
        self._remote_block: rtcp.ReportBlock | None = None
        self._rtt: float | None = None
        self._fraction_lost = 0.0
        self._c = dict.fromkeys(
            ("sent", "octets", "malformed", "wrong_source", "unknown_pt", "wrong_ssrc",
             "ssrc_changes", "rtcp_sent", "rtcp_received", "rtcp_malformed", "skipped",
             "capture_dropped", "dtmf_received", "sent_since_report", "not_running", "capture_starved",
             "octets_received"), 0)

    # ------------------------------------------------------------ control

    def update(self, negotiated: Negotiated, now: float, *, t0: float | None = None,
               pcm_rate: int | None = None) -> None:
        """Start, or apply a re-negotiation (hold, resume, new address/codec).

        ``t0`` puts the send grid on the audio engine's period grid (its next
        deadline): capture and send then happen in one loop wake-up, and the
        fresh period goes out at once. ``pcm_rate``: the new codec's audio rate
        (G.711 -> G.722 by re-INVITE: 8 -> 16 kHz); see ``_switch_rate``.
        """
        if pcm_rate is not None and pcm_rate != self.pcm_rate:
            self._switch_rate(pcm_rate)
        was_sending = self.sending
        self.neg = negotiated
        self.srtp = context_for(self.srtp, negotiated.crypto)  # SDES keys: new, kept or gone
        spp = max(80, min(960, 8 * negotiated.ptime))  # 10..120 ms at 8 kHz
        if spp != self._spp and self._running and self._t0 is not None:
            # new packet size mid-call: re-base the grid where the old one had got to,
            # so neither the deadlines nor the timestamps jump
            self._t0 += self._tick * self._spp / 8000.0
            self._ts0 = (self._ts0 + self._tick * self._spp) & 0xFFFFFFFF
            self._tick = 0
        self._spp = spp
        if self._codec is None or self._codec.name != negotiated.send_codec.name.upper():
            self._codec = make_codec(negotiated.send_codec.name, self.pcm_rate)  # keeps state
        old = self._decoders
        self._decoders = {}
        for pt, c in negotiated.recv_codecs.items():
            if pt in old and old[pt].name == c.name.upper():
                self._decoders[pt] = old[pt]
                continue
            try:
                self._decoders[pt] = make_codec(c.name, self.pcm_rate)
            except ValueError:
                log.debug("no decoder for %s", c.name)
        self._dtmf_tx.samples_per_packet = self.samples_per_packet
        if not self._running:
            self._running = True
            self._t0 = now if t0 is None or t0 < now - 1e-9 else t0
            self._tick = 0
            self._next_rtcp = now + self._rtcp_interval * self._rng.uniform(0.5, 1.5) / 2
        if self.sending and not was_sending:
            self._marker = True
            self._capture.clear()
        if negotiated.remote_address is not None:
            if (negotiated.remote_address, negotiated.remote_rtp_port) != self._peer:
                self._latched = None
                self._from_expected = False
            self._peer = (negotiated.remote_address, negotiated.remote_rtp_port)
        # else: c=0.0.0.0 hold: we send nothing, but the peer may still send
        # (music on hold) from where it was; keep accepting that source.

    def stop(self, now: float, reason: str = "") -> None:
        """End the session: one last report with an RTCP BYE, then no timers."""
        if not self._running:
            return
        self._queue_rtcp(now, bye=reason or "call ended")
        self._running = False

    @property
    def sending(self) -> bool:
        neg = self.neg
        return self._running and neg is not None and neg.send and neg.remote_address is not None

    def _switch_rate(self, pcm_rate: int) -> None:
        """The audio side moves to ``pcm_rate``; the RTP side (SSRC, sequence, 8000 Hz
        timestamps, packet size) goes on unbroken. Buffered audio of the old rate is
        dropped (one period), and the codecs are made anew at the new rate."""
        if pcm_rate not in (8000, 16000):
            raise ValueError(f"unsupported audio rate {pcm_rate}")
        self.period = self.period * pcm_rate // self.pcm_rate
        self.pcm_rate, self._k = pcm_rate, pcm_rate // 8000
        self._jb = JitterBuffer(period=self.period // self._k, samples_per_ts=self._k)
        self._capture.clear()
        self._inband.clear()
        self._codec, self._decoders = None, {}

    @property
    def samples_per_packet(self) -> int:
        return self._spp

    @property
    def ptime_s(self) -> float:
        return self._spp / 8000.0

    def send_dtmf(self, digit: str, now: float) -> bool:
        """Send ``digit`` as RFC 4733 events; False when the peer took no telephone-event."""
        del now
        if self.neg is None or not self.sending:
            return False
        if self._dtmf_pt() is not None:
            return self._dtmf_tx.queue(digit)
        if self.dtmf_inband:
            pcm = inband_pcm(digit, self.pcm_rate)
            self._inband += pcm
            return bool(pcm)
        return False

    def _dtmf_pt(self) -> int | None:
        neg = self.neg
        pt = neg.dtmf_send_pt if neg is not None else None
        return pt if pt is not None else self.dtmf_always_pt

    # ------------------------------------------------------------ audio

    def push_capture(self, pcm: bytes) -> None:
        """Microphone samples (S16_LE at ``pcm_rate``). Keeps at most 2 packets' worth: a
        sound card running faster than the network clock drops samples instead of growing
        delay."""
        self._capture += pcm
        limit = 4 * self._spp * self._k  # (two packets of S16_LE samples)
        if len(self._capture) > limit:
            excess = len(self._capture) - limit
            excess += excess % 2
            del self._capture[:excess]
            self._c["capture_dropped"] += excess // 2

    def pull_playout(self, now: float) -> bytes:
        """One period for the earpiece from the jitter buffer."""
        return self._jb.get(now)

    # ------------------------------------------------------------ timers

    def get_timer(self) -> float | None:
        # asked up to three times a period (the pump's re-arm, the period's tick): the
        # ``sending`` and ``ptime_s`` properties written out
        if not self._running or self._t0 is None:
            return None
        rtcp_at = self._next_rtcp
        neg = self.neg
        if neg is not None and neg.send and neg.remote_address is not None:
            at = self._t0 + self._tick * self._spp / 8000.0
            return at if rtcp_at is None or at < rtcp_at else rtcp_at
        return rtcp_at

    def handle_timer(self, now: float) -> None:
        if not self._running or self._t0 is None:
            return
        ptime = self._spp / 8000.0
        due = math.floor((now + EARLY_S - self._t0) / ptime)  # last tick whose deadline came
        if due >= self._tick:
            if due - self._tick >= MAX_BURST_TICKS:
                skipped = due - self._tick
                self._c["skipped"] += skipped
                self._tick = due
            neg = self.neg
            sending = neg is not None and neg.send and neg.remote_address is not None
            while self._tick <= due:
                if sending:
                    self._send_tick(self._tick)
                self._tick += 1
        if self._next_rtcp is not None and now >= self._next_rtcp:
            self._queue_rtcp(now)
            # RFC 3550 §6.3.1: each interval randomised over [0.5, 1.5] x the mean
            self._next_rtcp = now + self._rtcp_interval * self._rng.uniform(0.5, 1.5)

    def _send_tick(self, tick: int) -> None:
        neg, codec = self.neg, self._codec
        assert neg is not None and codec is not None and neg.remote_address is not None
        addr = self._latched or (neg.remote_address, neg.remote_rtp_port)
        spp = self._spp
        ts = (self._ts0 + tick * spp) & 0xFFFFFFFF
        nbytes = 2 * spp * self._k
        capture = self._capture
        pcm = bytes(capture[:nbytes])
        del capture[:nbytes]
        dtmf_pt = neg.dtmf_send_pt
        if dtmf_pt is None:
            dtmf_pt = self.dtmf_always_pt
        dtmf_tx = self._dtmf_tx
        dtmf = dtmf_tx.next_packet(ts) if dtmf_pt is not None and dtmf_tx.active else None
        if self._inband:  # an in-band digit replaces the microphone
            pcm = bytes(self._inband[:nbytes]).ljust(nbytes, b"\0")
            del self._inband[:nbytes]
        if dtmf is not None:
            payload = dtmf.payload
            data = build_rtp(dtmf_pt, self._seq, dtmf.timestamp, self.ssrc,  # type: ignore[arg-type]
                             payload, dtmf.marker)
        else:
            if len(pcm) < nbytes:  # capture starved (slow card clock): pad with silence
                self._c["capture_starved"] += (nbytes - len(pcm)) // 2
                pcm += bytes(nbytes - len(pcm))
            payload = codec.encode(pcm)
            data = build_rtp(neg.send_codec.payload_type, self._seq, ts, self.ssrc, payload,
                             self._marker)
            self._marker = False
        self._seq = (self._seq + 1) & 0xFFFF
        if self.srtp is not None:
            data = self.srtp.protect(data)
        self._out.append(MediaDatagram(data=data, addr=addr))
        c = self._c
        c["sent"] += 1
        c["sent_since_report"] += 1
        c["octets"] += len(payload)

    # ------------------------------------------------------------ outputs

    @property
    def has_output(self) -> bool:
        """Datagrams or events queued: a received packet (RTP's) leaves the timer as it
        was, so with none of these the pump has nothing to flush."""
        return bool(self._out or self._events)

    def datagrams_to_send(self) -> list[MediaDatagram]:
        out, self._out = self._out, []
        return out

    def next_event(self) -> MediaEvent | None:
        return self._events.popleft() if self._events else None

    def stats(self) -> StreamStats:
        c, rb, seqs = self._c, self._remote_block, self._seqs
        return StreamStats(
            codec=self.neg.send_codec.name if self.neg else "",
            sending=self.sending,
            receiving=bool(self._running and self.neg and self.neg.recv),
            packets_sent=c["sent"], octets_sent=c["octets"],
            packets_received=seqs.received if seqs else 0,
            packets_lost=max(0, seqs.lost) if seqs else 0,
            fraction_lost=self._fraction_lost,
            jitter_ms=round(self._jb.jitter_ms, 3),
            remote_fraction_lost=rb.fraction_lost / 256.0 if rb else None,
            remote_packets_lost=rb.cumulative_lost if rb else None,
            remote_jitter_ms=rb.jitter / 8.0 if rb else None,
            rtt_ms=round(self._rtt * 1000.0, 3) if self._rtt is not None else None,
            dtmf_sent=self._dtmf_tx.sent_digits, dtmf_received=c["dtmf_received"],
            malformed=c["malformed"], wrong_source=c["wrong_source"], unknown_pt=c["unknown_pt"],
            wrong_ssrc=c["wrong_ssrc"], seq_resyncs=seqs.resyncs if seqs else 0,
            ssrc_changes=c["ssrc_changes"], rtcp_sent=c["rtcp_sent"],
            rtcp_received=c["rtcp_received"], rtcp_malformed=c["rtcp_malformed"],
            ticks_skipped=c["skipped"], capture_dropped=c["capture_dropped"],
            not_running=c["not_running"], capture_starved=c["capture_starved"],
            jitter_buffer=self._jb.stats(), octets_received=c["octets_received"],
        )
