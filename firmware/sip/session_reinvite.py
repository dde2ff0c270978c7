"""RFC 3261 §14 re-INVITE inside an INVITE session, both ways, and §22.2 in-dialog auth.

Why a mixin of its own: a target refresh with glare handling (491, then a
random wait whose range depends on who owns the Call-ID, §14.1), the
late-offer ACK, and the digest retry every in-dialog request may need are
one job; ``InviteSession`` (``session.py``) owns the attributes and the
UAS/BYE machinery this calls back into, listed below.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from firmware.sip.build import resubmit_with_credentials
from firmware.sip.dialog import Dialog
from firmware.sip.events import CallEnded, ReInviteAnswered, ReInviteFailed, ReInviteReceived
from firmware.sip.message import Request, Response
from firmware.sip.session_base import SessionError, SessionParts, SessionState
from firmware.sip.transaction import ClientTransaction, ServerTransaction

__all__ = ["ReinviteMixin"]

log = logging.getLogger(__name__)


class ReinviteMixin(SessionParts):
    """The re-INVITE and in-dialog auth methods of ``InviteSession``."""

    role: str
    _pending_2xx: object | None
    _reinvite_tx: ClientTransaction | None
    _reinvite_sdp: bytes | None
    _glare_at: float | None
    _in_reinvite: tuple[Request, ServerTransaction] | None

    if TYPE_CHECKING:  # provided by InviteSession and UacMixin

        def _response(self, request: Request, status: int, reason: str | None = None, *,
                      body: bytes = b"",
                      headers: tuple[tuple[str, str], ...] = ()) -> Response: ...
        def _send_ack(self, dialog: Dialog, seq: int, body: bytes) -> None: ...

    # -- re-INVITE UAS -------------------------------------------------------
    def _on_reinvite(self, request: Request, tx: ServerTransaction, now: float) -> None:
        """§14.2: one re-INVITE at a time each way; glare -> 491."""
        if self.state is not SessionState.CONFIRMED or self._reinvite_tx is not None \
                or self._pending_2xx is not None:
            self.host.send_response(tx, self._response(request, 491), now)
            return
        if self._in_reinvite is not None:
            retry = int(self.host.random_uniform(0, 10))
            self.host.send_response(
                tx, self._response(request, 500, headers=(("Retry-After", str(retry)),)), now)
            return
        assert self.dialog is not None
        self.dialog.target_refresh(request)
        self._in_reinvite = (request, tx)
        self.host.emit(ReInviteReceived(session=self.id, sdp=request.body or None))

    # -- re-INVITE UAC -------------------------------------------------------
    def reinvite(self, sdp: bytes | None, now: float) -> None:
        if self.state is not SessionState.CONFIRMED or self.dialog is None:
            raise SessionError(f"cannot re-INVITE in state {self.state.value}")
        if self._reinvite_tx is not None or self._glare_at is not None:
            raise SessionError("a re-INVITE is already pending")
        self._reinvite_sdp = sdp
        self._send_reinvite(now)

    def _send_reinvite(self, now: float) -> None:
        assert self.dialog is not None
        sdp = self._reinvite_sdp
        req = self.dialog.create_request(
            "INVITE", via=self.host.via(self.transport), contact=self.host.contact(self.transport),
            headers=tuple(self.host.common_headers()) + self._auth_headers("INVITE", sdp or b""),
            body=sdp or b"", content_type="application/sdp" if sdp else None,
        )
        dest, transport = self.dialog.next_hop()
        self._reinvite_tx = self.host.start_client(req, dest, transport, now,
                                                   self._on_reinvite_response,
                                                   self._on_reinvite_timeout)

    def challenge_retry(self, tx: ClientTransaction, resp: Response, now: float,
                        on_response: Any, on_timeout: Any) -> ClientTransaction | None:
        """§22.2 for in-dialog requests: answer a 401/407 with credentials, next CSeq.

        Returns the new client transaction, or None when there is nothing to
        retry with (no credentials, realm unknown, credentials refused).
        """
        if resp.status not in (401, 407) or self.dialog is None or tx.request is None:
            return None
        if self._auth is None:
            self._auth = self.host.digest_client(self.dialog.local_uri.uri.user)
        if not self._auth.has_credentials:
            return None
        proxy = resp.status == 407
        values = resp.headers.get_all("Proxy-Authenticate" if proxy else "WWW-Authenticate")
        if not self._auth.handle_challenges(values, proxy=proxy).retry:
            return None
        old: Request = tx.request
        retry = resubmit_with_credentials(
            old, via=str(self.host.via(self.transport)), cseq=self.dialog.next_cseq(),
            credentials=self._auth.authorization_headers(old.method, str(old.uri), old.body))
        dest, transport = self.dialog.next_hop()
        return self.host.start_client(retry, dest, transport, now, on_response, on_timeout)

    def _auth_headers(self, method: str, body: bytes) -> tuple[tuple[str, str], ...]:
        if self._auth is None or self.dialog is None:
            return ()
        return tuple(self._auth.authorization_headers(method, str(self.dialog.remote_target),
                                                      body))

    def _on_reinvite_response(self, tx: ClientTransaction, status: int, resp: Response,
                              now: float) -> None:
        if tx is not self._reinvite_tx or self.dialog is None:
            if self.dialog is not None and 200 <= status < 300:
                ack = self._acks.get(resp.cseq.seq)
                if ack is not None:
                    self.host.send_direct_bytes(ack, *self.dialog.next_hop())
            return
        if status < 200:
            return
        if status < 300:
            self._reinvite_tx = None
            self.dialog.target_refresh(resp)
            if resp.body and not self._reinvite_sdp:
                self._ack_wanted = resp.cseq.seq  # late offer: ACK waits for answer()
            else:
                self._send_ack(self.dialog, resp.cseq.seq, b"")
            self.host.emit(ReInviteAnswered(session=self.id, sdp=resp.body or None))
            return
        retry = self.challenge_retry(tx, resp, now, self._on_reinvite_response,
                                     self._on_reinvite_timeout)
        if retry is not None:
            self._reinvite_tx = retry
            return
        self._reinvite_tx = None
        if status == 491:
            # §14.1: the Call-ID owner waits 2.1-4 s, the other side 0-2 s.
            low, high = (2.1, 4.0) if self.role == "uac" else (0.0, 2.0)
            self._glare_at = now + self.host.random_uniform(low, high)
            return
        if status in (481, 408):
            self._end_dialog(now, reason=f"re-INVITE {status}")
            return
        self.host.emit(ReInviteFailed(session=self.id, status=status, reason=resp.reason))

    def _on_reinvite_timeout(self, tx: ClientTransaction, now: float) -> None:
        if tx is self._reinvite_tx:
            self._reinvite_tx = None
            self._end_dialog(now, reason="re-INVITE timeout")

    def _end_dialog(self, now: float, reason: str) -> None:
        """§12.2.1.2: a 481/408 to a mid-dialog request ends the dialog; we BYE to be sure."""
        if not self.ended:
            self.host.emit(CallEnded(session=self.id, by="remote", reason=reason))
            self._send_bye(now, emit=False)
