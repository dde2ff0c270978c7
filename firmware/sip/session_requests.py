"""Generic in-dialog requests (RFC 3261 §12.2; RFC 3515 REFER, RFC 6665 NOTIFY, RFC 6086 INFO).

Why generic: the SIP core does not interpret REFER, NOTIFY, INFO, MESSAGE
or in-dialog OPTIONS; call control does. The core only sends them inside
the dialog with the right CSeq and route set, reports their final response,
and passes incoming ones up with a request id to answer. An incoming request
the layer above leaves unanswered gets a 500 after
``request_answer_timeout`` so the peer's transaction does not hang.

The session is a collaborator behind ``DialogOwner``, the few things this
needs from it (its dialog, its transport, a digest retry, and "the dialog
is gone"), so this module neither reads the session's internals nor
decides how a call ends.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from firmware.sip.build import make_response
from firmware.sip.dialog import Dialog
from firmware.sip.events import InDialogRequest, RequestAnswered
from firmware.sip.message import Request, Response
from firmware.sip.session_base import SessionHost
from firmware.sip.transaction import ClientTransaction, ServerTransaction

__all__ = [
    "DialogOwner", "DialogRequests", "PendingIncoming", "ANSWER_TIMEOUT", "respond_pending",
]

log = logging.getLogger(__name__)

#: Seconds an incoming request waits for ``respond`` before the core answers 500.
ANSWER_TIMEOUT = 16.0
#: Bound on unanswered incoming requests per dialog.
MAX_PENDING = 16


class DialogOwner(Protocol):
    """What ``DialogRequests`` needs from the session whose dialog it serves."""

    @property
    def id(self) -> str: ...
    @property
    def transport(self) -> str: ...
    @property
    def dialog(self) -> Dialog | None: ...

    def challenge_retry(self, tx: ClientTransaction, resp: Response, now: float,
                        on_response: Any, on_timeout: Any) -> ClientTransaction | None:
        """A new transaction answering a 401/407 with credentials, or None."""
        ...

    def dialog_gone(self, now: float, reason: str) -> None:
        """The peer no longer knows the dialog (481, §12.2.1.2): end the call."""
        ...


@dataclass
class PendingIncoming:
    request: Request
    tx: ServerTransaction
    deadline: float


def respond_pending(host: Any, incoming: dict[str, PendingIncoming], rid: str, status: int,
                    now: float, to_tag: Callable[[], str | None], *, reason: str | None,
                    body: bytes, content_type: str | None,
                    headers: tuple[tuple[str, str], ...]) -> bool:
    """Answer the pending incoming request ``rid``; False when it is not in ``incoming``.

    Why shared: in-dialog and out-of-dialog requests are answered alike and
    differ only in the To tag (the dialog's, or a fresh one).
    """
    pending = incoming.get(rid)
    if pending is None:
        return False
    if status >= 200:  # a provisional leaves the request pending for its final
        del incoming[rid]
    resp = make_response(pending.request, status, reason, to_tag=to_tag(),
                         headers=[*host.common_headers(), *headers], body=body,
                         content_type=content_type)
    host.send_response(pending.tx, resp, now)
    return True


class DialogRequests:
    """Incoming and outgoing non-INVITE requests of one session's dialog."""

    def __init__(self, host: SessionHost, owner: DialogOwner,
                 answer_timeout: float = ANSWER_TIMEOUT) -> None:
        self.host = host
        self.owner = owner
        self.answer_timeout = answer_timeout
        self.incoming: dict[str, PendingIncoming] = {}
        self.outgoing: dict[ClientTransaction, tuple[str, str]] = {}

    # -- incoming -------------------------------------------------------
    def on_request(self, request: Request, tx: ServerTransaction, now: float) -> None:
        if len(self.incoming) >= MAX_PENDING:
            self.host.send_response(tx, make_response(request, 503), now)
            return
        rid = self.host.new_request_id()
        self.incoming[rid] = PendingIncoming(request, tx, now + self.answer_timeout)
        try:
            ctype = request.content_type
        except ValueError:
            ctype = None
        self.host.emit(InDialogRequest(session=self.owner.id, request_id=rid,
                                       method=request.method, body=request.body,
                                       content_type=ctype, request=request))

    def respond(self, rid: str, status: int, now: float, *, reason: str | None = None,
                body: bytes = b"", content_type: str | None = None,
                headers: tuple[tuple[str, str], ...] = ()) -> bool:
        """Answer a pending incoming request; False when ``rid`` is not ours."""

        def tag() -> str | None:
            dialog = self.owner.dialog
            return dialog.local_tag if dialog is not None else None

        return respond_pending(self.host, self.incoming, rid, status, now, tag, reason=reason,
                               body=body, content_type=content_type, headers=headers)

    # -- outgoing -------------------------------------------------------
    def send(self, method: str, now: float, *, body: bytes = b"", content_type: str | None = None,
             headers: tuple[tuple[str, str], ...] = ()) -> str:
        dialog = self.owner.dialog
        if dialog is None:
            raise ValueError("no dialog")
        transport = self.owner.transport
        req = dialog.create_request(
            method, via=self.host.via(transport), contact=self.host.contact(transport),
            headers=tuple(self.host.common_headers()) + headers, body=body,
            content_type=content_type,
        )
        rid = self.host.new_request_id()
        dest, tp = dialog.next_hop()
        tx = self.host.start_client(req, dest, tp, now, self._on_response, self._on_timeout)
        self.outgoing[tx] = (rid, method)
        return rid

    def _on_response(self, tx: ClientTransaction, status: int, resp: Response, now: float) -> None:
        if status < 200:
            return
        entry = self.outgoing.pop(tx, None)
        if entry is None:
            return
        retry = self.owner.challenge_retry(tx, resp, now, self._on_response, self._on_timeout)
        if retry is not None:
            self.outgoing[retry] = entry
            return
        rid, method = entry
        self.host.emit(RequestAnswered(request_id=rid, session=self.owner.id, method=method,
                                       status=status, reason=resp.reason, response=resp))
        if status == 481:
            self.owner.dialog_gone(now, f"{method} 481")

    def _on_timeout(self, tx: ClientTransaction, now: float) -> None:
        entry = self.outgoing.pop(tx, None)
        if entry is None:
            return
        rid, method = entry
        self.host.emit(RequestAnswered(request_id=rid, session=self.owner.id, method=method,
                                       status=408, reason="Request Timeout"))

    def terminate_pending(self, now: float) -> None:
        """The dialog ended: answer every request still waiting with 487 (§15.1.2)."""
        for rid in list(self.incoming):
            self.respond(rid, 487, now)

    # -- timers ---------------------------------------------------------
    def get_timer(self) -> float | None:
        return min((p.deadline for p in self.incoming.values()), default=None)

    def handle_timer(self, now: float) -> None:
        for rid, p in list(self.incoming.items()):
            if now >= p.deadline:
                log.warning("in-dialog %s left unanswered: 500", p.request.method)
                self.respond(rid, 500, now, reason="Not Answered")

    @property
    def idle(self) -> bool:
        return not self.incoming and not self.outgoing

    def owns(self, rid: str) -> bool:
        return rid in self.incoming
