"""The values a ``MediaStream`` hands out: datagrams, events and its statistics.

Why a module of its own: the shell, call control and the status API use
these names without needing the stream's machinery, and ``stream_rtcp.py``
builds some of them too.
"""

from __future__ import annotations

from dataclasses import dataclass

from firmware.media.dtmf import DtmfDigit
from firmware.media.jitter import JitterStats

__all__ = ["Address", "MediaDatagram", "MediaEvent", "RemoteBye", "StreamStats"]

Address = tuple[str, int]


@dataclass(frozen=True, slots=True, kw_only=True)
class MediaDatagram:
    data: bytes
    addr: Address
    rtcp: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class RemoteBye:
    ssrc: int
    reason: str
    at: float


MediaEvent = DtmfDigit | RemoteBye


@dataclass(frozen=True, slots=True, kw_only=True)
class StreamStats:
    """What the call-info screen and the status API show."""

    codec: str
    sending: bool
    receiving: bool
    packets_sent: int
    octets_sent: int
    packets_received: int
    packets_lost: int
    fraction_lost: float  # 0..1, ours about the peer, last RTCP interval
    jitter_ms: float
    remote_fraction_lost: float | None
    remote_packets_lost: int | None
    remote_jitter_ms: float | None
    rtt_ms: float | None
    dtmf_sent: int
    dtmf_received: int
    malformed: int
    wrong_source: int
    unknown_pt: int
    wrong_ssrc: int
    seq_resyncs: int
    ssrc_changes: int
    rtcp_sent: int
    rtcp_received: int
    rtcp_malformed: int
    ticks_skipped: int
    capture_dropped: int
    capture_starved: int
    not_running: int
    jitter_buffer: JitterStats
