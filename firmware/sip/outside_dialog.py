"""Non-INVITE requests outside any dialog (RFC 3261 §8): OPTIONS, MESSAGE, NOTIFY, REFER ...

Why apart from the endpoint: sending one (with a digest retry, §22.2) and
holding incoming ones until call control answers them (or a 500 after a
timeout, so the peer's transaction ends) is a small state machine of its own.
The number of unanswered incoming requests is bounded.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from firmware.sip.auth import DigestClient
from firmware.sip.build import make_response, resubmit_with_credentials
from firmware.sip.events import Address, OutOfDialogRequest, RequestAnswered
from firmware.sip.message import Headers, NameAddr, Request, Response, SipUri
from firmware.sip.session_base import FAILOVER_WAIT
from firmware.sip.session_requests import PendingIncoming, respond_pending
from firmware.sip.transaction import ClientTransaction, ServerTransaction

__all__ = ["OutsideDialog", "MAX_PENDING_INCOMING", "MAX_AUTH_RETRIES"]

log = logging.getLogger(__name__)

MAX_PENDING_INCOMING = 64
MAX_AUTH_RETRIES = 3


@dataclass(slots=True)
class _Parked:
    tx: ClientTransaction
    auth: DigestClient
    tries: int
    status: int
    reason: str
    deadline: float
    response: Response | None


class OutsideDialog:
    """Out-of-dialog non-INVITE requests, both directions, for one endpoint (the ``host``)."""

    def __init__(self, host: Any, answer_timeout: float) -> None:
        self.host = host
        self.answer_timeout = answer_timeout
        self.incoming: dict[str, PendingIncoming] = {}
        self.outgoing: dict[ClientTransaction, tuple[str, str, DigestClient, int]] = {}
        #: requests that failed at one server, waiting for the shell's ``fail_over``
        self.parked: dict[str, _Parked] = {}
        self.failovers: dict[str, int] = {}
        #: (Call-ID, our tag) of the SUBSCRIBEs we sent: their NOTIFYs come tagged
        self.subscriptions: set[tuple[str, str]] = set()
        #: (Call-ID, our tag) of the SUBSCRIBEs we accepted (RFC 6665 notifier): their
        #: refreshes come tagged; oldest first, bounded like the others
        self.notifying: dict[tuple[str, str], None] = {}

    def owns_subscription(self, call_id: str, to_tag: str) -> bool:
        return (call_id, to_tag) in self.subscriptions

    def serves_subscription(self, call_id: str, to_tag: str) -> bool:
        """A SUBSCRIBE (refresh, unsubscribe) in a subscription dialog we accepted."""
        return (call_id, to_tag) in self.notifying

    # -- outgoing -------------------------------------------------------
    def send(self, method: str, uri: SipUri, from_: NameAddr, dest: Address, transport: str,
             now: float, *, body: bytes = b"", content_type: str | None = None,
             headers: tuple[tuple[str, str], ...] = (),
             dialog: tuple[str, str, str | None] | None = None) -> str:
        """``dialog`` (Call-ID, our tag, their tag) sends inside a dialog a SUBSCRIBE
        made (a refresh, RFC 6665 §4.1.2.1); otherwise a new Call-ID and tag."""
        host = self.host
        h = Headers()
        h.add("Via", str(host.via(transport)))
        h.add("Max-Forwards", "70")
        call_id, tag, their_tag = dialog or (
            host.ids.call_id(host.config.local_address[0]), host.new_tag(), None)
        h.add("From", str(from_.with_tag(tag)))
        h.add("To", str(NameAddr(uri=uri).with_tag(their_tag) if their_tag else NameAddr(uri=uri)))
        h.add("Call-ID", call_id)
        if method == "SUBSCRIBE":
            if len(self.subscriptions) >= MAX_PENDING_INCOMING:
                self.subscriptions.pop()
            self.subscriptions.add((call_id, tag))
        h.add("CSeq", f"{host.new_cseq()} {method}")
        if method in ("SUBSCRIBE", "REFER", "NOTIFY"):
            h.add("Contact", str(host.contact(transport)))
        for name, value in [*host.common_headers(), *headers]:
            h.add(name, value)
        if body and content_type:
            h.add("Content-Type", content_type)
        rid = host.new_request_id()
        self._start(Request(method, uri, h, body), rid, host.digest_client(from_.uri.user), dest, transport,
                    now, 0)
        return rid

    def _start(self, req: Request, rid: str, auth: DigestClient, dest: Address, transport: str,
               now: float, tries: int) -> None:
        tx = self.host.start_client(req, dest, transport, now, self._on_response, self._on_timeout)
        self.outgoing[tx] = (rid, req.method, auth, tries)

    def _on_response(self, tx: ClientTransaction, status: int, resp: Response, now: float) -> None:
        if status < 200 or tx not in self.outgoing:
            return
        rid, method, auth, tries = self.outgoing.pop(tx)
        req: Request = tx.request
        if status == 503 and self._park(tx, rid, auth, tries, status, resp.reason, now, resp):
            return
        if status in (401, 407) and tries < MAX_AUTH_RETRIES and auth.has_credentials:
            proxy = status == 407
            decision = auth.handle_challenges(
                resp.headers.get_all("Proxy-Authenticate" if proxy else "WWW-Authenticate"),
                proxy=proxy)
            if decision.retry:
                retry = resubmit_with_credentials(
                    req, via=str(self.host.via(tx.transport)), cseq=req.cseq.seq + 1,
                    credentials=auth.authorization_headers(method, str(req.uri), req.body))
                self._start(retry, rid, auth, tx.dest, tx.transport, now, tries + 1)
                return
        self.failovers.pop(rid, None)
        self.host.emit(RequestAnswered(request_id=rid, session=None, method=method,
                                       status=status, reason=resp.reason, response=resp))

    def _on_timeout(self, tx: ClientTransaction, now: float) -> None:
        entry = self.outgoing.pop(tx, None)
        if entry is None:
            return
        rid, method, auth, tries = entry
        if not self._park(tx, rid, auth, tries, 408, "Request Timeout", now, None):
            self.failovers.pop(rid, None)
            self.host.emit(RequestAnswered(request_id=rid, session=None, method=method,
                                           status=408, reason="Request Timeout"))

    # -- failover (RFC 3263 §4.3): like ``InviteSession.fail_over`` ----------
    def _park(self, tx: ClientTransaction, rid: str, auth: DigestClient, tries: int,
              status: int, reason: str, now: float, resp: Response | None) -> bool:
        """Hold a request that timed out or drew a 503 for ``FAILOVER_WAIT``: the
        shell may say its destination has another server (``fail_over``)."""
        moved = self.failovers.get(rid, 0)
        if moved >= self.host.failover_retries or len(self.parked) >= MAX_PENDING_INCOMING:
            return False
        self.parked[rid] = _Parked(tx, auth, tries, status, reason, now + FAILOVER_WAIT, resp)
        return True

    def fail_over(self, dest: Address, now: float) -> None:
        for rid, p in list(self.parked.items()):
            if p.tx.dest != dest:
                continue
            del self.parked[rid]
            self.failovers[rid] = self.failovers.get(rid, 0) + 1
            req: Request = p.tx.request
            h = req.headers.copy()
            h.set("CSeq", f"{req.cseq.seq + 1} {req.method}")
            h.remove("Via")
            h.add("Via", str(self.host.via(p.tx.transport)), first=True)
            log.info("%s failed (%d %s): trying the next server", req.method, p.status, p.reason)
            self._start(Request(req.method, req.uri, h, req.body), rid, p.auth, dest,
                        p.tx.transport, now, p.tries)

    def _give_up_parked(self, now: float) -> None:
        for rid, p in list(self.parked.items()):
            if now >= p.deadline:
                del self.parked[rid]
                self.failovers.pop(rid, None)
                self.host.emit(RequestAnswered(request_id=rid, session=None,
                                               method=p.tx.request.method, status=p.status,
                                               reason=p.reason, response=p.response))

    # -- incoming -------------------------------------------------------
    def on_request(self, req: Request, tx: ServerTransaction, now: float,
                   source: Address | None = None) -> None:
        if len(self.incoming) >= MAX_PENDING_INCOMING:
            self.host.send_response(tx, make_response(req, 503, to_tag=self.host.new_tag()), now)
            return
        rid = self.host.new_request_id()
        self.incoming[rid] = PendingIncoming(req, tx, now + self.answer_timeout)
        self.host.emit(OutOfDialogRequest(request_id=rid, method=req.method, body=req.body,
                                          content_type=req.content_type, request=req,
                                          source=source))

    def respond(self, rid: str, status: int, now: float, *, reason: str | None = None,
                body: bytes = b"", content_type: str | None = None,
                headers: tuple[tuple[str, str], ...] = (), to_tag: str | None = None) -> bool:
        """``to_tag``: the tag of the dialog a 2xx to a SUBSCRIBE creates (the notifier
        sends its NOTIFYs with it); a 2xx to a SUBSCRIBE also carries our Contact and
        makes its refreshes reach us (``serves_subscription``)."""
        pending = self.incoming.get(rid)
        tag = to_tag or self.host.new_tag()
        if pending is not None and pending.request.method == "SUBSCRIBE" and 200 <= status < 300:
            req = pending.request
            key = (req.call_id, req.to.tag or tag)
            self.notifying.pop(key, None)
            if len(self.notifying) >= MAX_PENDING_INCOMING:
                self.notifying.pop(next(iter(self.notifying)))
            self.notifying[key] = None
            headers = (("Contact", str(self.host.contact(pending.tx.transport))), *headers)
        return respond_pending(self.host, self.incoming, rid, status, now, lambda: tag,
                               reason=reason, body=body, content_type=content_type,
                               headers=headers)

    def get_timer(self) -> float | None:
        return min((p.deadline for p in [*self.incoming.values(), *self.parked.values()]),
                   default=None)

    def handle_timer(self, now: float) -> None:
        self._give_up_parked(now)
        for rid, p in list(self.incoming.items()):
            if now >= p.deadline:
                log.warning("%s left unanswered: 500", p.request.method)
                self.respond(rid, 500, now, reason="Not Answered")
