"""The UA core's receive path (RFC 3261 §8.2, §12.2.2, §17.2.3, §18.2.1; RFC 3581).

Why a mixin of ``Endpoint``: the receive path is long enough to read on its
own: stamp ``received``/``rport`` on the top Via, validate (§8.2.1-§8.2.3,
via ``validate.py``), hand the request to the transaction layer, then route
it: CANCEL to its INVITE (§9.2), tagged requests to their dialog or 481
(§12.2.2), merged requests to 482 (§8.2.2.2), new INVITEs to a new session,
OPTIONS answered here, other methods up to call control. Responses go to
their client transaction, or re-ACK a late 2xx (§13.2.2.4).
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from firmware.sip.admission import SourceAdmission
from firmware.sip.build import make_response, response_destination
from firmware.sip.endpoint_config import EndpointConfig, EndpointStats
from firmware.sip.errors import SipParseError
from firmware.sip.events import Address, Event, IncomingCall
from firmware.sip.message import Request, Response
from firmware.sip.outside_dialog import OutsideDialog
from firmware.sip.session import InviteSession
from firmware.sip.transaction import ServerTransaction
from firmware.sip.transaction_layer import Match, TransactionLayer
from firmware.sip.trust import SourceTrust
from firmware.sip.validate import UaPolicy, check_request, check_response, response_for

__all__ = ["ReceiveMixin"]

log = logging.getLogger(__name__)


class ReceiveMixin:
    """Incoming requests and responses of ``Endpoint`` (which owns every attribute used)."""

    config: EndpointConfig
    stats: EndpointStats
    policy: UaPolicy
    layer: TransactionLayer
    sessions: dict[str, InviteSession]
    _live: dict[str, InviteSession]
    _dialogs: dict[Any, InviteSession]
    _by_call_id: dict[str, InviteSession]
    _ood: OutsideDialog
    admission: SourceAdmission
    trust: SourceTrust

    if TYPE_CHECKING:  # provided by Endpoint
        def _next(self, prefix: str) -> str: ...

        def new_tag(self) -> str: ...

        def send_direct(self, message: Request | Response, dest: Address, transport: str) -> None: ...

        def send_response(self, tx: ServerTransaction, response: Response, now: float) -> None: ...

        def common_headers(self) -> list[tuple[str, str]]: ...

        def emit(self, event: Event) -> None: ...

        def _count(self, name: str) -> None: ...

        def _touch(self, session: InviteSession) -> None: ...

    def _stamp_via(self, req: Request, source: Address) -> None:
        """§18.2.1 received, RFC 3581 §4 rport, on the top Via."""
        via = req.top_via
        new = via
        if via.host != source[0]:
            new = new.with_param("received", source[0])
        if via.rport_requested:
            new = new.with_param("rport", str(source[1]))
            if via.host == source[0] and new.received is None:
                new = new.with_param("received", source[0])
        if new is not via:
            req.headers.pop_first("Via")
            req.headers.add("Via", str(new), first=True)

    def _on_request(self, req: Request, source: Address, transport: str, now: float) -> None:
        try:
            self._stamp_via(req, source)
        except SipParseError:
            pass  # check_request answers the bad Via below
        rejection = check_request(req, self.policy)
        if rejection is not None:
            answerable = "Via" in req.headers  # RFC 4475 §3.3.1: 400 even without Call-ID
            if rejection.respond and answerable:
                resp = response_for(req, rejection, to_tag=self.new_tag())
                self.stats.answered_400 += rejection.status == 400
                try:
                    dest = response_destination(req.top_via, source, transport)
                except SipParseError:
                    dest = source  # no usable Via: answer the sender (best effort)
                self.send_direct(resp, dest, transport)
            else:
                self.stats.dropped_unparseable += 1
            return
        if not self._admit(req, source, transport):
            return
        match, tx = self.layer.receive_request(
            req, source, transport, now, on_timeout=self._on_server_timeout,
            admit=lambda r: r.to.tag is not None or self.admission.admit(source[0], now))
        if match is Match.REFUSED:
            self._count("rate_limited")
            if self.admission.config.answer_503:
                resp = make_response(req, 503, headers=[
                    ("Retry-After", str(self.admission.config.retry_after))], to_tag=self.new_tag())
                self.send_direct(resp, response_destination(req.top_via, source, transport), transport)
            return
        if match is Match.RETRANSMISSION or match is Match.ACK_NON_2XX:
            self.stats.retransmissions_absorbed += 1
            return
        if match is Match.ACK_2XX:
            session = self._dialogs.get((req.call_id, req.to.tag or "", req.from_.tag or ""))
            if session is not None:
                self._touch(session)
                session.on_request(req, None, now)
            else:
                self._count("stray_ack")
            return
        if match is Match.FULL or tx is None:
            self.stats.dropped_table_full += 1
            resp = make_response(req, 503, headers=[("Retry-After", "5")], to_tag=self.new_tag())
            self.send_direct(resp, response_destination(req.top_via, source, transport), transport)
            return
        self._dispatch(req, tx, transport, now, source)

    def _admit(self, req: Request, source: Address, transport: str) -> bool:
        """``firmware.sip.trust``: a new request from a foreign source is refused statelessly."""
        if not self.trust.active:
            return True
        to_tag = req.to.tag
        if to_tag is not None and (req.call_id, to_tag, req.from_.tag or "") in self._dialogs:
            return True  # inside one of our dialogs
        if to_tag is not None and req.method == "NOTIFY" and self._ood.owns_subscription(
                req.call_id, to_tag):
            return True  # for a SUBSCRIBE we sent (its server knows the dialog)
        if to_tag is not None and req.method == "SUBSCRIBE" and self._ood.serves_subscription(
                req.call_id, to_tag):
            return True  # a refresh of a subscription we accepted
        if req.method == "CANCEL" and self.layer.find_cancel_target(req) is not None:
            return True  # cancels a request we already admitted
        verdict = self.trust.verdict(source[0], req.uri.user)
        if verdict is None:
            return True
        if verdict == 0 or req.method == "ACK":
            self._count("untrusted_dropped")
            return False
        self._count("untrusted_refused" if verdict == 403 else "unknown_user_404")
        log.info("%s from %s refused %d: %s", req.method, source, verdict,
                 "not the proxy" if verdict == 403 else f"no line {req.uri.user!r}")
        resp = make_response(req, verdict, to_tag=self.new_tag())
        self.send_direct(resp, response_destination(req.top_via, source, transport), transport)
        return False

    def _reply(self, tx: ServerTransaction, req: Request, status: int, now: float,
               reason: str | None = None, headers: list[tuple[str, str]] | None = None) -> None:
        self.send_response(tx, make_response(req, status, reason, to_tag=self.new_tag(),
                                              headers=headers or []), now)

    def _dispatch(self, req: Request, tx: ServerTransaction, transport: str, now: float,
                  source: Address | None = None) -> None:
        method = req.method
        if method == "CANCEL":
            target = self.layer.find_cancel_target(req)
            if target is None:
                self.stats.answered_481 += 1
                self._reply(tx, req, 481, now)
            elif isinstance(target.owner, InviteSession):
                self._touch(target.owner)
                target.owner.on_cancel(req, tx, now)
            else:
                self._reply(tx, req, 200, now)
            return
        to_tag = req.to.tag
        if to_tag is not None:
            session = self._dialogs.get((req.call_id, to_tag, req.from_.tag or ""))
            if session is None and method == "INVITE" and self.config.recreate_dialogs:
                # §12.2.2 lets a UAS accept a tagged INVITE for a dialog it lost (a reboot):
                # it becomes a new call keeping that To tag (RFC 4475 §3.1.1.1 rings).
                self._new_call(req, tx, transport, now, source)
                return
            if session is None and method == "NOTIFY" and self._ood.owns_subscription(
                    req.call_id, to_tag):
                self._ood.on_request(req, tx, now, source)  # RFC 6665: our SUBSCRIBE's dialog
                return
            if session is None and method == "SUBSCRIBE" and self._ood.serves_subscription(
                    req.call_id, to_tag):
                self._ood.on_request(req, tx, now, source)  # a refresh or an unsubscribe
                return
            if session is None:
                self.stats.answered_481 += 1
                self._reply(tx, req, 481, now)
                return
            tx.owner = session
            self._touch(session)
            session.on_request(req, tx, now)
            return
        if self.layer.is_merged(req, tx):
            self.stats.answered_482 += 1
            self._reply(tx, req, 482, now)
            return
        if method == "INVITE":
            self._new_call(req, tx, transport, now, source)
        elif method == "OPTIONS":
            self._reply(tx, req, 200, now, headers=[
                *self.common_headers(),
                ("Accept", ", ".join(self.config.accept)),
            ])
        elif method == "BYE":
            self.stats.answered_481 += 1
            self._reply(tx, req, 481, now)
        elif method == "REGISTER":
            self._reply(tx, req, 405, now, headers=[("Allow", ", ".join(self.config.allow))])
        else:
            self._ood.on_request(req, tx, now, source)

    def _new_call(self, req: Request, tx: ServerTransaction, transport: str, now: float,
                  source: Address | None = None) -> None:
        live = sum(1 for s in self._live.values() if not s.ended)
        if live >= self.config.max_sessions:
            self._reply(tx, req, 486, now)
            return
        sid = self._next("s")
        session = InviteSession(self, sid, "uas", transport)
        session.start_uas(req, tx, now)
        tx.owner = session
        self.sessions[sid] = session
        self._live[sid] = session
        self._by_call_id[req.call_id] = session
        frm = req.from_
        self.emit(IncomingCall(session=sid, call_id=req.call_id, from_uri=str(frm.uri),
                               from_display=frm.display_name, to_uri=str(req.to.uri),
                               request_uri=str(req.uri), sdp=req.body or None, request=req,
                               source=source, transport=transport))

    def _on_server_timeout(self, tx: ServerTransaction, now: float) -> None:
        log.info("server transaction %s timed out without ACK", tx.key)

    # ================================================= incoming responses
    def _on_response(self, resp: Response, now: float) -> None:
        problem = check_response(resp)
        if problem is None and len(resp.vias) != 1:
            problem = "response with more than one Via (§8.1.3.1)"
        if problem is not None:
            log.info("dropping response: %s", problem)
            self.stats.dropped_unparseable += 1
            return
        if self.layer.receive_response(resp, now):
            return
        if 200 <= resp.status < 300 and resp.cseq.method == "INVITE":
            session = self._by_call_id.get(resp.call_id)
            if session is not None and session.role == "uac":
                self._touch(session)
                session.on_stray_2xx(resp, now)
                return
        self.stats.dropped_stray_response += 1
