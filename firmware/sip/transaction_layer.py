"""RFC 3261 §17.1.3 / §17.2.3 transaction matching, §9.2 CANCEL matching, §8.2.2.2 merged requests.

Why a layer apart from the state machines: matching is about message
fields (branch, sent-by, CSeq method, and for RFC 2543 peers the whole
dialog-ish tuple), while the machines are about timers. The layer owns the
table, bounds its size (an attacker can open server transactions with
every datagram) and reaps terminated transactions.
"""

from __future__ import annotations

import enum
import heapq
import itertools
import logging
from collections.abc import Callable
from typing import Any

from firmware.sip.build import MAGIC_COOKIE, is_reliable, make_response, response_destination
from firmware.sip.events import Address, Outgoing
from firmware.sip.message import Headers, Request, Response
from firmware.sip.timers import TimerConfig
from firmware.sip.transaction import ClientTransaction, ServerTransaction, TxState

__all__ = ["TransactionLayer", "TableFull", "Match", "build_non_2xx_ack"]

log = logging.getLogger(__name__)


class TableFull(Exception):
    """No room for another transaction (``max_transactions`` reached)."""


class Match(enum.Enum):
    """What ``receive_request`` did with a request."""

    NEW = "new"  # a new server transaction: the TU must handle the request
    RETRANSMISSION = "retransmission"  # absorbed by an existing transaction
    ACK_NON_2XX = "ack"  # ACK for a non-2xx final: absorbed by its INVITE transaction
    ACK_2XX = "ack2xx"  # ACK matching no transaction: for the UA core (dialog)
    FULL = "full"  # table full: the caller answers 503 statelessly
    REFUSED = "refused"  # the admission callback refused a new transaction (rate limit)


def build_non_2xx_ack(request: Request, response: Response) -> Request:
    """ACK for a non-2xx final response, built inside the client transaction (§17.1.1.3)."""
    h = Headers()
    h.add("Via", str(request.top_via))
    for name in ("Route",):
        for value in request.headers.lines(name):
            h.add(name, value)
    h.add("Max-Forwards", "70")
    h.add("From", request.headers.get("From") or "")
    h.add("To", response.headers.get("To") or request.headers.get("To") or "")
    h.add("Call-ID", request.call_id)
    h.add("CSeq", f"{request.cseq.seq} ACK")
    return Request("ACK", request.uri, h)


def _server_key(req: Request) -> tuple[Any, ...]:
    """§17.2.3 key; ACK and CANCEL keep their own method except ACK -> INVITE."""
    via = req.top_via
    method = "INVITE" if req.method == "ACK" else req.method
    branch = via.branch or ""
    if branch.startswith(MAGIC_COOKIE):
        return ("3261", branch, via.host.lower(), via.port, method)
    return _rfc2543_key(req, method)


def _rfc2543_key(req: Request, method: str) -> tuple[Any, ...]:
    """RFC 2543 peers: Request-URI, From tag, Call-ID, CSeq number, top Via (To tag checked apart)."""
    via = req.top_via
    return (
        "2543", str(req.uri), req.from_.tag, req.call_id, req.cseq.seq,
        via.host.lower(), via.port, via.branch, method,
    )


class TransactionLayer:
    """The table of client and server transactions of one endpoint."""

    def __init__(
        self, *, timers: TimerConfig, sink: Callable[[Outgoing], None],
        max_transactions: int = 1024,
    ) -> None:
        self.timers = timers
        self._sink = sink
        self.max_transactions = max_transactions
        self.clients: dict[tuple[Any, ...], ClientTransaction] = {}
        self.servers: dict[tuple[Any, ...], ServerTransaction] = {}
        # §8.2.2.2: (from tag, call-id, cseq number, cseq method) -> server key
        self._merge_index: dict[tuple[Any, ...], tuple[Any, ...]] = {}
        #: Server transactions dropped early to make room (see ``_evict_absorbing``).
        self.evicted = 0
        # (deadline, seq, tx); entries go stale when a transaction's deadline moves and
        # are skipped lazily, so get_timer/handle_timer cost O(log n), not O(n).
        self._heap: list[tuple[float, int, Any]] = []
        self._seq = itertools.count()

    def pending_client_count(self) -> int:
        """Client transactions still waiting for a final response (calling/trying/proceeding)."""
        waiting = (TxState.CALLING, TxState.TRYING, TxState.PROCEEDING)
        return sum(1 for tx in self.clients.values() if tx.state in waiting)

    def __len__(self) -> int:
        return len(self.clients) + len(self.servers)

    # -- client side ----------------------------------------------------
    def send_request(
        self,
        request: Request,
        dest: Address,
        transport: str,
        now: float,
        *,
        on_response: Callable[[ClientTransaction, int, Any, float], None],
        on_timeout: Callable[[ClientTransaction, float], None],
    ) -> ClientTransaction:
        """Start a client transaction for ``request`` (its top Via carries a fresh branch)."""
        if len(self) >= self.max_transactions and not self._evict_absorbing():
            raise TableFull(f"{len(self)} transactions")
        invite = request.method == "INVITE"
        key = (request.top_via.branch, request.cseq.method)
        build_ack = None
        if invite:
            def build_ack(resp: Response) -> bytes:
                return bytes(build_non_2xx_ack(request, resp))
        tx = ClientTransaction(
            key=key, invite=invite, data=bytes(request), dest=dest, transport=transport,
            reliable=is_reliable(transport), timers=self.timers, sink=self._sink,
            on_response=on_response, on_timeout=on_timeout, build_ack=build_ack,
            request=request,
        )
        self.clients[key] = tx
        tx.start(now)
        self._schedule(tx)
        return tx

    def receive_response(self, response: Response, now: float) -> bool:
        """Hand a response to its client transaction (§17.1.3); False when none matches."""
        try:
            key = (response.top_via.branch, response.cseq.method)
        except ValueError:
            return False
        tx = self.clients.get(key)
        if tx is None or tx.terminated:
            return False
        tx.receive_response(response.status, response, now)
        self._schedule(tx)
        return True

    # -- server side ----------------------------------------------------
    def receive_request(
        self, request: Request, source: Address, transport: str, now: float,
        *, on_timeout: Callable[[ServerTransaction, float], None] | None = None,
        admit: Callable[[Request], bool] | None = None,
    ) -> tuple[Match, ServerTransaction | None]:
        """Match ``request`` to a server transaction, or create one (§17.2.3).

        ``admit(request)`` is asked only when a new transaction would be created
        (never for retransmissions or ACKs); False refuses it before any state exists.
        """
        key = _server_key(request)
        tx = self.servers.get(key)
        if request.method == "ACK":
            if tx is not None and tx.invite:
                if key[0] == "2543" and not self._ack_to_tag_matches(tx, request):
                    return Match.ACK_2XX, None
                if tx.state is TxState.ACCEPTED:
                    return Match.ACK_2XX, tx  # ACK for our 2xx sent on the INVITE's branch (2543 UAs)
                tx.receive_ack(now)
                self._schedule(tx)
                return Match.ACK_NON_2XX, tx
            return Match.ACK_2XX, None
        if tx is not None and not tx.terminated:
            tx.receive_retransmission(now)
            return Match.RETRANSMISSION, tx
        if admit is not None and not admit(request):
            return Match.REFUSED, None
        if len(self) >= self.max_transactions and not self._evict_absorbing():
            return Match.FULL, None
        invite = request.method == "INVITE"
        dest = response_destination(request.top_via, source, transport)

        def build_trying() -> bytes:
            return bytes(make_response(request, 100))

        tx = ServerTransaction(
            key=key, invite=invite, dest=dest, transport=transport,
            reliable=is_reliable(transport), timers=self.timers, sink=self._sink, now=now,
            on_timeout=on_timeout, build_trying=build_trying if invite else None,
            request=request,
        )
        self.servers[key] = tx
        self._schedule(tx)
        if request.to.tag is None:
            tx.merge_key = self._merge_key(request)
            self._merge_index.setdefault(tx.merge_key, key)
        return Match.NEW, tx

    def _evict_absorbing(self) -> bool:
        """Under load, drop the oldest transaction that has its final response.

        Such a transaction only absorbs retransmissions (Completed / Confirmed /
        Accepted); losing it early costs at most a re-processed retransmission
        (the UA core still re-ACKs 2xx retransmissions), while refusing new
        requests costs calls. Server transactions go first. False if none.
        """
        done = (TxState.COMPLETED, TxState.CONFIRMED, TxState.ACCEPTED)
        for table in (self.servers, self.clients):
            for tx in table.values():
                if tx.state in done:
                    tx.state = TxState.TERMINATED
                    tx.deadlines.clear()
                    self.evicted += 1
                    self._remove(tx)
                    return True
        return False

    @staticmethod
    def _merge_key(request: Request) -> tuple[Any, ...]:
        return (request.from_.tag, request.call_id, request.cseq.seq, request.cseq.method)

    def is_merged(self, request: Request, tx: ServerTransaction) -> bool:
        """§8.2.2.2: a tag-less request equal in From tag, Call-ID and CSeq to another live
        transaction it does not match (it forked and came back by another path)."""
        if request.to.tag is not None:
            return False
        other = self._merge_index.get(self._merge_key(request))
        if other is None or other == tx.key:
            return False
        live = self.servers.get(other)
        return live is not None and not live.terminated

    @staticmethod
    def _ack_to_tag_matches(tx: ServerTransaction, ack: Request) -> bool:
        if tx.last_response is None:
            return False
        return tx.to_tag is None or ack.to.tag == tx.to_tag

    def find_cancel_target(self, cancel: Request) -> ServerTransaction | None:
        """The INVITE server transaction a CANCEL refers to (§9.2), or None."""
        via = cancel.top_via
        branch = via.branch or ""
        if branch.startswith(MAGIC_COOKIE):
            key: tuple[Any, ...] = ("3261", branch, via.host.lower(), via.port, "INVITE")
        else:
            key = _rfc2543_key(cancel, "INVITE")
        tx = self.servers.get(key)
        if tx is None or not tx.invite or tx.terminated:
            return None
        return tx

    def send_response(self, tx: ServerTransaction, response: Response, now: float) -> None:
        """Send ``response`` through its server transaction."""
        tag = response.to.tag
        if tag is not None:
            tx.to_tag = tag
        tx.send_response(response.status, bytes(response), now)
        self._schedule(tx)

    # -- timers ---------------------------------------------------------
    def abandon(self, tx: ClientTransaction) -> None:
        """Terminate a client transaction the TU gave up on (§9.1: CANCELled INVITE, no answer)."""
        tx.state = TxState.TERMINATED
        tx.deadlines.clear()
        self._remove(tx)

    def _schedule(self, tx: ClientTransaction | ServerTransaction) -> None:
        """Record ``tx``'s current deadline (or drop it from the table once terminated)."""
        if tx.terminated:
            self._remove(tx)
            return
        t = tx.get_timer()
        if t is not None:
            heapq.heappush(self._heap, (t, next(self._seq), tx))

    def _remove(self, tx: ClientTransaction | ServerTransaction) -> None:
        if isinstance(tx, ClientTransaction):
            if self.clients.get(tx.key) is tx:
                del self.clients[tx.key]
            return
        if self.servers.get(tx.key) is not tx:
            return
        del self.servers[tx.key]
        mk = tx.merge_key
        if mk is not None and self._merge_index.get(mk) == tx.key:
            del self._merge_index[mk]

    def get_timer(self) -> float | None:
        heap = self._heap
        while heap:
            t, _, tx = heap[0]
            if not tx.terminated and tx.get_timer() == t:
                return t
            heapq.heappop(heap)
            if tx.terminated:
                self._remove(tx)
        return None

    def handle_timer(self, now: float) -> None:
        heap = self._heap
        while heap and heap[0][0] <= now:
            t, _, tx = heapq.heappop(heap)
            if tx.terminated:
                self._remove(tx)
                continue
            current = tx.get_timer()
            if current is None or current != t:
                continue  # stale entry; the current deadline has its own entry
            tx.handle_timer(now)
            self._schedule(tx)
