"""RFC 3261 §17 transactions (with the RFC 6026 Accepted state), as timer-driven state machines.

Why message-agnostic: a transaction only needs the bytes it (re)sends, the
status code of what it receives and two builders from the layer above (the
ACK for a non-2xx, the 100 Trying). Keeping the message model out makes the
state machines small and lets tests assert exact deadlines with plain bytes.

Theory of operation (client INVITE, Figure 5 + RFC 6026 §7.2)::

    CALLING --1xx--> PROCEEDING --2xx--> ACCEPTED --Timer M--> TERMINATED
       |  Timer A: resend, T1 doubling     | 300-699: send ACK
       |  Timer B (64*T1, Calling only)    v
       +--------- 300-699 ---------> COMPLETED --Timer D--> TERMINATED

Client non-INVITE (Figure 6): TRYING/PROCEEDING with Timer E (T1 doubling,
capped at T2; T2 flat in Proceeding) and Timer F (64*T1) -> COMPLETED
(Timer K) -> TERMINATED.

Server INVITE (Figure 7 + RFC 6026 §7.1): PROCEEDING (100 Trying if the TU
is silent for 200 ms) -> 2xx: ACCEPTED (Timer L) ; 300-699: COMPLETED with
Timer G (T1 doubling, capped at T2) and Timer H (64*T1, no ACK -> timeout)
-> ACK: CONFIRMED (Timer I) -> TERMINATED.

Server non-INVITE (Figure 8): TRYING -> PROCEEDING -> COMPLETED (Timer J).

Over a reliable transport no retransmit timers run and D/I/J/K are zero.
"""

from __future__ import annotations

import enum
import logging
from collections.abc import Callable
from typing import Any

from firmware.sip.events import Address, Outgoing
from firmware.sip.timers import TimerConfig

__all__ = ["TxState", "ClientTransaction", "ServerTransaction", "Sink"]

log = logging.getLogger(__name__)

Sink = Callable[[Outgoing], None]


class TxState(enum.Enum):
    CALLING = "calling"  # client INVITE, request sent
    TRYING = "trying"  # non-INVITE, client sent / server received
    PROCEEDING = "proceeding"  # a provisional response seen/sent
    COMPLETED = "completed"  # a final response (non-2xx for INVITE)
    ACCEPTED = "accepted"  # INVITE 2xx (RFC 6026)
    CONFIRMED = "confirmed"  # server INVITE, ACK received
    TERMINATED = "terminated"


class _Timed:
    """Named absolute deadlines; the earliest is reported by ``get_timer``."""

    def __init__(self) -> None:
        self.deadlines: dict[str, float] = {}

    def get_timer(self) -> float | None:
        return min(self.deadlines.values()) if self.deadlines else None

    def _due(self, now: float) -> list[str]:
        due = [(t, name) for name, t in self.deadlines.items() if t <= now]
        due.sort()
        return [name for _, name in due]


class ClientTransaction(_Timed):
    """A client transaction (INVITE or non-INVITE), §17.1.

    ``on_response(tx, status, response, now)`` is called for every response
    the TU must see (provisionals, the final, and 2xx retransmissions in
    Accepted); ``on_timeout(tx, now)`` when Timer B/F fires.
    """

    def __init__(
        self,
        *,
        key: tuple[Any, ...],
        invite: bool,
        data: bytes,
        dest: Address,
        transport: str,
        reliable: bool,
        timers: TimerConfig,
        sink: Sink,
        on_response: Callable[[ClientTransaction, int, Any, float], None],
        on_timeout: Callable[[ClientTransaction, float], None],
        build_ack: Callable[[Any], bytes] | None = None,
        request: Any = None,
    ) -> None:
        super().__init__()
        self.key = key
        #: The request this transaction carries (the message object, for the TU).
        self.request = request
        self.invite = invite
        self.data = data
        self.dest = dest
        self.transport = transport
        self.reliable = reliable
        self.timers = timers
        self._sink = sink
        self._on_response = on_response
        self._on_timeout = on_timeout
        self._build_ack = build_ack
        self._ack: bytes | None = None
        self.state = TxState.CALLING if invite else TxState.TRYING
        self.retransmissions = 0
        self.final_status: int | None = None
        self.owner: Any = None

    def start(self, now: float) -> None:
        """Send the request and arm Timer A/B (INVITE) or E/F (non-INVITE)."""
        self._send(self.data)
        if self.invite:
            if not self.reliable:
                self.deadlines["A"] = now + self.timers.timer_a(0)
            self.deadlines["B"] = now + self.timers.timer_b
        else:
            if not self.reliable:
                self.deadlines["E"] = now + self.timers.timer_e(0)
            self.deadlines["F"] = now + self.timers.timer_f

    @property
    def terminated(self) -> bool:
        return self.state is TxState.TERMINATED

    def _send(self, data: bytes) -> None:
        self._sink(Outgoing(data=data, dest=self.dest, transport=self.transport))

    def _terminate(self) -> None:
        self.state = TxState.TERMINATED
        self.deadlines.clear()

    def receive_response(self, status: int, response: Any, now: float) -> None:
        """Feed a response matched to this transaction (§17.1.3)."""
        if self.invite:
            self._receive_invite_response(status, response, now)
        else:
            self._receive_non_invite_response(status, response, now)

    def _receive_invite_response(self, status: int, response: Any, now: float) -> None:
        st = self.state
        if st in (TxState.CALLING, TxState.PROCEEDING):
            self.deadlines.pop("A", None)
            if status < 200:
                # Timer B guards only the Calling state (§17.1.1.2): a call may ring
                # for as long as the callee lets it.
                self.deadlines.pop("B", None)
                self.state = TxState.PROCEEDING
                self._on_response(self, status, response, now)
            elif status < 300:
                self.final_status = status
                self.state = TxState.ACCEPTED
                self.deadlines.pop("B", None)
                self.deadlines["M"] = now + 64 * self.timers.t1
                self._on_response(self, status, response, now)
            else:
                self.final_status = status
                self.state = TxState.COMPLETED
                self.deadlines.pop("B", None)
                self._send_ack(response)
                self.deadlines["D"] = now + self.timers.timer_d(self.reliable)
                self._on_response(self, status, response, now)
        elif st is TxState.COMPLETED and status >= 300:
            # §17.1.1.2: a retransmitted final response gets the same ACK again.
            if self._ack is not None:
                self._send(self._ack)
        elif st is TxState.ACCEPTED and 200 <= status < 300:
            # RFC 6026 §8.4: 2xx retransmissions go to the TU, which re-sends its ACK.
            self._on_response(self, status, response, now)

    def _send_ack(self, response: Any) -> None:
        if self._build_ack is None:
            return
        self._ack = self._build_ack(response)
        self._send(self._ack)

    def _receive_non_invite_response(self, status: int, response: Any, now: float) -> None:
        if self.state not in (TxState.TRYING, TxState.PROCEEDING):
            return  # Completed absorbs retransmissions
        if status < 200:
            self.state = TxState.PROCEEDING
            self._on_response(self, status, response, now)
            return
        self.final_status = status
        self.state = TxState.COMPLETED
        self.deadlines.pop("E", None)
        self.deadlines.pop("F", None)
        self.deadlines["K"] = now + self.timers.timer_k(self.reliable)
        self._on_response(self, status, response, now)

    def handle_timer(self, now: float) -> None:
        for name in self._due(now):
            if name not in self.deadlines or self.terminated:
                continue
            fired_at = self.deadlines.pop(name)
            if name == "A" and self.state is TxState.CALLING:
                self.retransmissions += 1
                self._send(self.data)
                self.deadlines["A"] = fired_at + self.timers.timer_a(self.retransmissions)
            elif name == "E" and self.state in (TxState.TRYING, TxState.PROCEEDING):
                self.retransmissions += 1
                self._send(self.data)
                interval = self.timers.timer_e(
                    self.retransmissions, proceeding=self.state is TxState.PROCEEDING
                )
                self.deadlines["E"] = fired_at + interval
            elif name in ("B", "F"):
                log.info("client transaction %s timed out (Timer %s)", self.key, name)
                self._terminate()
                self._on_timeout(self, now)
            elif name in ("D", "K", "M"):
                self._terminate()


class ServerTransaction(_Timed):
    """A server transaction (INVITE or non-INVITE), §17.2.

    ``on_timeout(tx, now)`` is called when Timer H fires without an ACK.
    ``build_trying()`` makes the 100 Trying sent when the TU stays silent
    for ``timers.trying_delay`` after an INVITE.
    """

    def __init__(
        self,
        *,
        key: tuple[Any, ...],
        invite: bool,
        dest: Address,
        transport: str,
        reliable: bool,
        timers: TimerConfig,
        sink: Sink,
        now: float,
        on_timeout: Callable[[ServerTransaction, float], None] | None = None,
        build_trying: Callable[[], bytes] | None = None,
        request: Any = None,
    ) -> None:
        super().__init__()
        self.key = key
        self.invite = invite
        self.dest = dest
        self.transport = transport
        self.reliable = reliable
        self.timers = timers
        self._sink = sink
        self._on_timeout = on_timeout
        self._build_trying = build_trying
        self.request = request
        #: (From tag, Call-ID, CSeq) of a tag-less request, for §8.2.2.2 merge detection;
        #: kept apart from ``request`` so the request can be shed once answered.
        self.merge_key: tuple[Any, ...] | None = None
        #: The To tag of the responses we sent (RFC 2543 ACK matching, §17.2.3).
        self.to_tag: str | None = None
        self.state = TxState.PROCEEDING if invite else TxState.TRYING
        self.last_response: bytes | None = None
        self.last_status: int | None = None
        self.retransmissions = 0
        self.owner: Any = None
        if invite and build_trying is not None:
            if timers.trying_delay <= 0:
                # At once, before the TU sees the INVITE (the 7960's behaviour).
                self._record(100, build_trying())
            else:
                self.deadlines["trying"] = now + timers.trying_delay

    @property
    def terminated(self) -> bool:
        return self.state is TxState.TERMINATED

    @property
    def final_sent(self) -> bool:
        return self.last_status is not None and self.last_status >= 200

    def _send(self, data: bytes) -> None:
        self._sink(Outgoing(data=data, dest=self.dest, transport=self.transport))

    def _terminate(self) -> None:
        self.state = TxState.TERMINATED
        self.deadlines.clear()

    def receive_retransmission(self, now: float) -> None:
        """The same request arrived again: resend the last response (§17.2.1, §17.2.2)."""
        if self.state is TxState.PROCEEDING and self.last_response is not None:
            self._send(self.last_response)
        elif self.state is TxState.COMPLETED and self.last_response is not None:
            self._send(self.last_response)
        # TRYING, ACCEPTED, CONFIRMED: absorbed

    def receive_ack(self, now: float) -> bool:
        """An ACK matched this INVITE transaction (non-2xx case); True if it was the first."""
        if self.invite and self.state is TxState.COMPLETED:
            self.state = TxState.CONFIRMED
            self.deadlines.pop("G", None)
            self.deadlines.pop("H", None)
            self.deadlines["I"] = now + self.timers.timer_i(self.reliable)
            return True
        return False

    def send_response(self, status: int, data: bytes, now: float) -> None:
        """Send a response from the TU; the state machine decides what to keep and arm."""
        st = self.state
        if self.invite:
            if st is TxState.PROCEEDING:
                self.deadlines.pop("trying", None)
                self._record(status, data)
                if 200 <= status < 300:
                    self.state = TxState.ACCEPTED
                    self.deadlines["L"] = now + 64 * self.timers.t1
                elif status >= 300:
                    self.state = TxState.COMPLETED
                    self._shed()
                    if not self.reliable:
                        self.deadlines["G"] = now + self.timers.timer_g(0)
                    self.deadlines["H"] = now + self.timers.timer_h
            elif st is TxState.ACCEPTED and 200 <= status < 300:
                # RFC 6026 §7.1: the TU's 2xx retransmissions pass through.
                self._send(data)
            else:
                log.debug("server INVITE tx %s in %s drops response %d", self.key, st, status)
            return
        if st in (TxState.TRYING, TxState.PROCEEDING):
            self._record(status, data)
            if status < 200:
                self.state = TxState.PROCEEDING
            else:
                self.state = TxState.COMPLETED
                self._shed()
                self.deadlines["J"] = now + self.timers.timer_j(self.reliable)
        else:
            log.debug("server tx %s in %s drops response %d", self.key, st, status)

    def _shed(self) -> None:
        """Answered with a final non-2xx: from now on the transaction only replays
        ``last_response`` to retransmissions (and takes the ACK), for up to Timer H/J.
        Drop what only the TU needed (the parsed request, its owner) so a flood of
        refused requests costs a few hundred bytes each for those 32 s, not kilobytes."""
        self.request = None
        self.owner = None
        self._build_trying = None

    def _record(self, status: int, data: bytes) -> None:
        self.last_status = status
        self.last_response = data
        self._send(data)

    def handle_timer(self, now: float) -> None:
        for name in self._due(now):
            if name not in self.deadlines or self.terminated:
                continue
            fired_at = self.deadlines.pop(name)
            if name == "trying" and self.state is TxState.PROCEEDING and self.last_status is None:
                if self._build_trying is not None:
                    self._record(100, self._build_trying())
            elif name == "G" and self.state is TxState.COMPLETED and self.last_response:
                self.retransmissions += 1
                self._send(self.last_response)
                self.deadlines["G"] = fired_at + self.timers.timer_g(self.retransmissions)
            elif name == "H":
                log.info("server INVITE tx %s: no ACK (Timer H)", self.key)
                self._terminate()
                if self._on_timeout is not None:
                    self._on_timeout(self, now)
            elif name in ("I", "J", "L"):
                self._terminate()
