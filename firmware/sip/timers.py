"""RFC 3261 §17.1.1.1, §17.1.2.2, §17.2.1, §17.2.2 and Table 4 (Appendix A): SIP timer values.

Why a module of its own: every timer in the transaction layer and in the UA
core (2xx retransmission, §13.3.1.4) derives from three base values, T1, T2
and T4. Keeping them in one frozen ``TimerConfig`` lets a deployment (or a
test) change T1 once and see Timer B, F, H and J follow, as Table 4 says.

All values are durations in seconds. The cores turn them into absolute
deadlines (``now + value``); nothing here reads a clock.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = [
    "T1",
    "T2",
    "T4",
    "TIMER_D_UNRELIABLE",
    "TRYING_DELAY",
    "TimerConfig",
    "DEFAULT_TIMERS",
]

#: RTT estimate (§17.1.1.1, Table 4).
T1 = 0.5
#: Maximum retransmit interval for non-INVITE requests and INVITE responses.
T2 = 4.0
#: Maximum duration a message remains in the network.
T4 = 5.0
#: Timer D: "at least 32 seconds" for unreliable transports (§17.1.1.2).
TIMER_D_UNRELIABLE = 32.0
#: With ``invite_retx``/``retx``, the timeout falls this much before the retransmission
#: that would exceed the count, so that one is never sent.
RETX_MARGIN = 0.001
#: RFC 3261 §17.2.1: a server INVITE transaction sends 100 Trying if the TU
#: has not answered within 200 ms.
TRYING_DELAY = 0.2


@dataclass(frozen=True, kw_only=True)
class TimerConfig:
    """The base timer values and every timer derived from them (RFC 3261 Table 4).

    ``reliable`` methods take the transport's reliability into account: over
    TCP the absorb-retransmissions timers (D, I, J, K) are zero and the
    retransmit timers (A, E, G) are not used.
    """

    t1: float = T1
    t2: float = T2
    t4: float = T4
    timer_d_unreliable: float = TIMER_D_UNRELIABLE
    trying_delay: float = TRYING_DELAY
    #: The 7960's ``sip_invite_retx`` / ``sip_retx``: at most this many retransmissions
    #: of an INVITE / other request over UDP; the transaction then times out one
    #: interval after the last one (or at 64*T1, whichever is sooner). None: RFC 3261.
    invite_retx: int | None = None
    retx: int | None = None

    def __post_init__(self) -> None:
        if not (self.t1 > 0 and self.t2 >= self.t1 and self.t4 > 0):
            raise ValueError(f"invalid timer config t1={self.t1} t2={self.t2} t4={self.t4}")

    # -- timeouts -------------------------------------------------------
    @property
    def timer_b(self) -> float:
        """INVITE client transaction timeout (64*T1), sooner with ``invite_retx``."""
        if self.invite_retx is None:
            return 64 * self.t1
        return min(64 * self.t1, sum(self.timer_a(i) for i in range(self.invite_retx + 1))
                   - RETX_MARGIN)

    @property
    def timer_f(self) -> float:
        """Non-INVITE client transaction timeout (64*T1), sooner with ``retx``."""
        if self.retx is None:
            return 64 * self.t1
        return min(64 * self.t1, sum(self.timer_e(i) for i in range(self.retx + 1))
                   - RETX_MARGIN)

    @property
    def timer_h(self) -> float:
        """Wait time for ACK receipt at an INVITE server transaction (64*T1)."""
        return 64 * self.t1

    def timer_d(self, reliable: bool) -> float:
        """Wait time for response retransmits in Completed (client INVITE)."""
        return 0.0 if reliable else max(self.timer_d_unreliable, 0.0)

    def timer_i(self, reliable: bool) -> float:
        """Wait time for ACK retransmits in Confirmed (server INVITE): T4."""
        return 0.0 if reliable else self.t4

    def timer_j(self, reliable: bool) -> float:
        """Wait time for request retransmits in Completed (server non-INVITE): 64*T1."""
        return 0.0 if reliable else 64 * self.t1

    def timer_k(self, reliable: bool) -> float:
        """Wait time for response retransmits in Completed (client non-INVITE): T4."""
        return 0.0 if reliable else self.t4

    # -- retransmit intervals -------------------------------------------
    def timer_a(self, count: int) -> float:
        """Interval before INVITE retransmission number ``count + 1``.

        Timer A starts at T1 and doubles on each firing, without a cap
        (§17.1.1.2), so a lost INVITE is re-sent at T1, 3*T1, 7*T1, ...
        until Timer B ends the transaction.
        """
        return self.t1 * (2 ** max(count, 0))

    def timer_e(self, count: int, proceeding: bool = False) -> float:
        """Interval before non-INVITE retransmission ``count + 1`` (§17.1.2.2).

        Doubles from T1 and is capped at T2; once a provisional response
        arrived (Proceeding) it is T2 flat.
        """
        if proceeding:
            return self.t2
        return min(self.t1 * (2 ** max(count, 0)), self.t2)

    def timer_g(self, count: int) -> float:
        """Interval before INVITE final-response retransmission ``count + 1`` (§17.2.1)."""
        return min(self.t1 * (2 ** max(count, 0)), self.t2)

    def retransmit_2xx(self, count: int) -> float:
        """UAS core 2xx retransmission interval (§13.3.1.4): T1 doubling, capped at T2."""
        return min(self.t1 * (2 ** max(count, 0)), self.t2)

    @property
    def ack_timeout_2xx(self) -> float:
        """How long the UAS core retransmits a 2xx before giving up (64*T1, §13.3.1.4)."""
        return 64 * self.t1


DEFAULT_TIMERS = TimerConfig()
