"""Receive-side sequence tracking and loss figures (RFC 3550 A.1 and A.3).

Why separate: the stream needs the A.1 rules (a source is accepted after
two packets in sequence; a jump of more than MAX_DROPOUT is a restart only if
the next packet follows it) both for dropping bad input and for the report
block it sends in RTCP (fraction lost since the last report, cumulative lost,
extended highest sequence number).
"""

from __future__ import annotations

from firmware.media.rtcp import ReportBlock

MAX_DROPOUT = 3000
MAX_MISORDER = 100
SEQ_MOD = 1 << 16


class SequenceTracker:
    """One remote source's sequence state; ``accept(seq)`` says whether to use a packet."""

    def __init__(self, seq: int) -> None:
        self._init(seq)
        self.bad_seq = SEQ_MOD + 1  # no pending restart
        self.expected_prior = 0
        self.received_prior = 0
        self.resyncs = 0

    def _init(self, seq: int) -> None:
        self.base_seq = seq
        self.max_seq = seq
        self.cycles = 0
        self.received = 0
        self.expected_prior = 0
        self.received_prior = 0

    def accept(self, seq: int) -> bool:
        """Update for ``seq``; False when the packet must be dropped (a jump, pending resync)."""
        udelta = (seq - self.max_seq) % SEQ_MOD
        if udelta < MAX_DROPOUT:
            if seq < self.max_seq:
                self.cycles += SEQ_MOD  # wrapped
            self.max_seq = seq
        elif udelta <= SEQ_MOD - MAX_MISORDER:
            if seq == self.bad_seq:
                # two sequential packets after a jump: the sender restarted
                self._init(seq)
                self.resyncs += 1
            else:
                self.bad_seq = (seq + 1) % SEQ_MOD
                return False
        # else: duplicate or reordered within MAX_MISORDER; counted, used
        self.received += 1
        return True

    @property
    def extended_max(self) -> int:
        return self.cycles + self.max_seq

    @property
    def expected(self) -> int:
        return self.extended_max - self.base_seq + 1

    @property
    def lost(self) -> int:
        """Cumulative packets lost (negative with duplicates), clamped to 24 bits signed."""
        return max(-0x800000, min(0x7FFFFF, self.expected - self.received))

    def report_block(self, ssrc: int, jitter: int, lsr: int, dlsr: int) -> ReportBlock:
        """A report block; resets the 'since last report' interval (A.3)."""
        expected_interval = self.expected - self.expected_prior
        received_interval = self.received - self.received_prior
        self.expected_prior = self.expected
        self.received_prior = self.received
        lost_interval = expected_interval - received_interval
        fraction = 0
        if expected_interval > 0 and lost_interval > 0:
            fraction = min(255, (lost_interval << 8) // expected_interval)
        return ReportBlock(ssrc=ssrc, fraction_lost=fraction, cumulative_lost=self.lost,
                           highest_seq=self.extended_max, jitter=jitter, lsr=lsr, dlsr=dlsr)
