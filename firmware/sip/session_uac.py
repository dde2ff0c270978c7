"""RFC 3261 §13.2 UAC half of an INVITE session: INVITE, provisional, 2xx + ACK, CANCEL (§9.1), auth.

Why a mixin: the caller's side (early dialogs, forks, the ACK built by the
core and re-sent for every 2xx retransmission, §13.2.2.4; CANCEL deferred
until a provisional arrived; the digest retry with CSeq+1, §22.2) is half
of ``InviteSession`` and reads best on its own. ``InviteSession`` owns the
attributes it uses.
"""

from __future__ import annotations

import logging

from firmware.sip.dialog import Dialog
from firmware.sip.events import Address, CallAnswered, CallFailed, CallProgress
from firmware.sip.message import Headers, NameAddr, Request, Response, SipUri
from firmware.sip.session_base import (
    FAILOVER_WAIT,
    MAX_RING_TIME,
    SessionError,
    SessionParts,
    SessionState,
    sorted_contacts,
)
from firmware.sip.transaction import ClientTransaction

__all__ = ["UacMixin"]

log = logging.getLogger(__name__)


class UacMixin(SessionParts):
    """The UAC methods of ``InviteSession``."""

    early: dict[str, Dialog]
    call_id: str
    _invite: Request | None
    _invite_tx: ClientTransaction | None
    _dest: Address | None
    _cancel_wanted: bool
    _cancel_sent: bool
    _provisional_seen: bool
    _local_tag: str
    _uac_deadline: float | None

    def start_uac(self, *, target: SipUri, from_: NameAddr, sdp: bytes | None,
                  headers: tuple[tuple[str, str], ...], call_id: str, dest: Address,
                  now: float) -> None:
        """Build and send the initial INVITE (§13.2.1)."""
        self.call_id = call_id
        self._dest = dest
        self._local_tag = from_.tag or self.host.new_tag()
        h = Headers()
        h.add("Via", str(self.host.via(self.transport)))
        h.add("Max-Forwards", "70")
        h.add("From", str(from_.with_tag(self._local_tag)))
        h.add("To", str(NameAddr(uri=target)))
        h.add("Call-ID", call_id)
        h.add("CSeq", f"{self.host.new_cseq()} INVITE")
        h.add("Contact", str(self.host.contact(self.transport)))
        for name, value in [*self.host.common_headers(), *headers]:
            h.add(name, value)
        if sdp:
            h.add("Content-Type", "application/sdp")
        self._send_invite(Request("INVITE", target, h, sdp or b""), now)

    def _send_invite(self, request: Request, now: float) -> None:
        assert self._dest is not None
        self._invite = request
        self._provisional_seen = False
        self._invite_tx = self.host.start_client(
            request, self._dest, self.transport, now, self._on_invite_response,
            self._on_invite_timeout,
        )

    def _on_invite_response(self, tx: ClientTransaction, status: int, resp: Response,
                            now: float) -> None:
        if tx is not self._invite_tx:
            return
        if status < 200:
            self._on_provisional(resp, now)
        elif status < 300:
            self._on_2xx(resp, now)
        else:
            self._on_invite_failure(resp, now)

    def _on_provisional(self, resp: Response, now: float) -> None:
        if self.state not in (SessionState.CALLING, SessionState.PROCEEDING):
            return
        self.state = SessionState.PROCEEDING
        self._provisional_seen = True
        if self._uac_deadline is None and not self._cancel_sent:
            self._uac_deadline = now + MAX_RING_TIME
        tag = resp.to.tag
        if tag and resp.status > 100 and tag not in self.early and self._invite is not None:
            try:
                dialog = Dialog.from_uac(self._invite, resp)
            except ValueError:
                dialog = None
            if dialog is not None:
                self.early[tag] = dialog
                self.host.bind_dialog(dialog, self)
        if self._cancel_wanted and not self._cancel_sent:
            self._send_cancel(now)
            return
        if resp.status > 100 and not self._cancel_wanted:
            self.host.emit(CallProgress(session=self.id, status=resp.status, reason=resp.reason,
                                        sdp=resp.body or None))

    def _on_2xx(self, resp: Response, now: float) -> None:
        """A 2xx (first or retransmitted, any fork) to our INVITE: ACK it (§13.2.2.4)."""
        assert self._invite is not None
        tag = resp.to.tag or ""
        seq = resp.cseq.seq
        if self.dialog is not None:
            if tag == self.dialog.remote_tag:
                ack = self._acks.get(seq)
                if ack is not None:
                    self.host.send_direct_bytes(ack, *self.dialog.next_hop())
                return
            self._ack_and_bye_fork(resp, now)
            return
        dialog = self.early.pop(tag, None)
        if dialog is None:
            try:
                dialog = Dialog.from_uac(self._invite, resp)
            except ValueError:
                log.warning("[%s] 2xx without To tag ignored", self.call_id)
                return
        else:
            self.host.unbind_dialog(dialog)
        dialog.confirm_uac(resp)
        for other in self.early.values():
            self.host.unbind_dialog(other)
        self.early.clear()
        self.dialog = dialog
        self.host.bind_dialog(dialog, self)
        if resp.body and not self._invite.body and not self._cancel_wanted:
            # Late offer (§13.2.2.4, RFC 3264): the ACK must carry our answer, so it
            # waits for ``answer(session, sdp)``.
            self._ack_wanted = seq
        else:
            self._send_ack(dialog, seq, b"")
        if self._auth is not None:
            self._auth.succeeded()
        if self._cancel_wanted:
            # The 200 crossed our CANCEL: the call exists, end it at once (§9.1).
            self.state = SessionState.CONFIRMED
            self.host.emit(CallFailed(session=self.id, status=487, reason="Request Terminated"))
            self._send_bye(now, emit=False)
            return
        self.state = SessionState.CONFIRMED
        self.host.emit(CallAnswered(session=self.id, status=resp.status, sdp=resp.body or None))

    def on_stray_2xx(self, resp: Response, now: float) -> None:
        """A 2xx to our INVITE after its transaction ended (late, or another fork)."""
        if self.dialog is None and self.ended:
            self._ack_and_bye_fork(resp, now)  # the call already failed: ACK + BYE (§13.2.2.4)
            return
        self._on_2xx(resp, now)

    def _send_ack(self, dialog: Dialog, seq: int, body: bytes) -> None:
        via = self.host.via(self.transport)
        creds: tuple[tuple[str, str], ...] = ()
        inv = self._invite
        if inv is not None and inv.cseq.seq == seq:
            # §13.2.2.4: the ACK carries the INVITE's credentials.
            creds = tuple((n, v) for n in ("Authorization", "Proxy-Authorization")
                          for v in inv.headers.lines(n))
        ack = dialog.create_request("ACK", via=via, cseq=seq, body=body, headers=creds,
                                    content_type="application/sdp" if body else None)
        data = bytes(ack)
        self._acks = {seq: data}
        dest, transport = dialog.next_hop()
        self.host.send_direct(ack, dest, transport)

    def _ack_and_bye_fork(self, resp: Response, now: float) -> None:
        """A second fork answered: ACK it and BYE it (§13.2.2.4)."""
        assert self._invite is not None
        try:
            fork = Dialog.from_uac(self._invite, resp)
        except ValueError:
            return
        via = self.host.via(self.transport)
        ack = fork.create_request("ACK", via=via, cseq=resp.cseq.seq)
        dest, transport = fork.next_hop()
        self.host.send_direct(ack, dest, transport)
        bye = fork.create_request("BYE", via=self.host.via(self.transport))
        self.host.start_client(bye, dest, transport, now, lambda *a: None, lambda *a: None)

    def _on_invite_failure(self, resp: Response, now: float) -> None:
        if self.state not in (SessionState.CALLING, SessionState.PROCEEDING):
            return
        for d in self.early.values():
            self.host.unbind_dialog(d)
        self.early.clear()
        if resp.status in (401, 407) and not self._cancel_wanted and self._retry_with_auth(resp, now):
            return
        if (resp.status == 503 and not self._provisional_seen  # after a 1xx: the far end's
                and self._park_for_failover(503, resp.reason, now)):
            return
        self.state = SessionState.TERMINATED
        self.ended = True
        contacts = sorted_contacts(resp) if 300 <= resp.status < 400 else ()
        reason = resp.reason
        if resp.status in (401, 407) and self._auth_failure:
            reason = f"{resp.reason} ({self._auth_failure})"
        self.host.emit(CallFailed(session=self.id, status=resp.status, reason=reason,
                                  contacts=contacts,
                                  warning=(resp.headers.get("Warning") or "")[:200]))

    _auth_failure = ""

    def _next_invite_headers(self, old: Request) -> Headers:
        """The headers of a fresh INVITE transaction after ``old`` (an auth retry or a
        move to the next server): CSeq+1, a new top Via, no credentials."""
        h = old.headers.copy()
        h.remove("Authorization")
        h.remove("Proxy-Authorization")
        h.set("CSeq", f"{old.cseq.seq + 1} INVITE")
        h.remove("Via")
        h.add("Via", str(self.host.via(self.transport)), first=True)
        return h

    def _retry_with_auth(self, resp: Response, now: float) -> bool:
        """§22.2: resend the INVITE with credentials, same Call-ID and From tag, CSeq+1."""
        assert self._invite is not None
        if self._auth is None:
            self._auth = self.host.digest_client(self._invite.from_.uri.user)
        if not self._auth.has_credentials:
            self._auth_failure = "no credentials"
            return False
        proxy = resp.status == 407
        values = resp.headers.get_all("Proxy-Authenticate" if proxy else "WWW-Authenticate")
        decision = self._auth.handle_challenges(values, proxy=proxy)
        if not decision.retry:
            self._auth_failure = decision.reason
            return False
        old = self._invite
        h = self._next_invite_headers(old)
        for name, value in self._auth.authorization_headers("INVITE", str(old.uri), old.body):
            h.add(name, value)
        self.state = SessionState.CALLING
        self._send_invite(Request("INVITE", old.uri, h, old.body), now)
        return True

    def _on_invite_timeout(self, tx: ClientTransaction, now: float) -> None:
        if tx is not self._invite_tx or self.state not in (
            SessionState.CALLING, SessionState.PROCEEDING
        ):
            return
        for d in self.early.values():
            self.host.unbind_dialog(d)
        self.early.clear()
        if self._park_for_failover(408, "Request Timeout", now):
            return
        self.state = SessionState.TERMINATED
        self.ended = True
        if self._cancel_wanted:
            self.host.emit(CallFailed(session=self.id, status=487, reason="Request Terminated"))
        else:
            self.host.emit(CallFailed(session=self.id, status=408, reason="Request Timeout"))

    def cancel(self, now: float) -> None:
        """§9.1: CANCEL the INVITE, deferred until a provisional response arrived."""
        if self.role != "uac" or self.state not in (SessionState.CALLING, SessionState.PROCEEDING):
            raise SessionError(f"cannot cancel a session in state {self.state.value}")
        self._cancel_wanted = True
        if self._failover_at is not None:  # between servers: nothing is in flight to cancel
            self._failover_at = now
        elif self._provisional_seen and not self._cancel_sent:
            self._send_cancel(now)

    def _send_cancel(self, now: float) -> None:
        assert self._invite is not None and self._dest is not None
        inv = self._invite
        h = Headers()
        h.add("Via", str(inv.top_via))
        for r in inv.headers.lines("Route"):
            h.add("Route", r)
        h.add("Max-Forwards", "70")
        h.add("From", inv.headers.get("From") or "")
        h.add("To", inv.headers.get("To") or "")
        h.add("Call-ID", inv.call_id)
        h.add("CSeq", f"{inv.cseq.seq} CANCEL")
        self._cancel_sent = True
        # §9.1: without a final response 64*T1 after the CANCEL, the INVITE is given up.
        self._uac_deadline = now + self.host.timers.timer_b
        self.host.start_client(Request("CANCEL", inv.uri, h), self._dest, self.transport, now,
                               lambda *a: None, lambda *a: None)

    # -- failover (RFC 3263 §4.3) ----------------------------------------------
    _failover_at: float | None = None
    _failed_with: tuple[int, str] = (408, "Request Timeout")
    _failovers = 0

    def _park_for_failover(self, status: int, reason: str, now: float) -> bool:
        """The INVITE timed out or drew a 503: wait ``FAILOVER_WAIT`` for the shell,
        which alone knows whether its destination stands for another server
        (``fail_over``); without that word the call fails as it would have."""
        if self._cancel_wanted or self._failovers >= self.host.failover_retries:
            return False
        self._failover_at = now + FAILOVER_WAIT
        self._failed_with = (status, reason)
        self._uac_deadline = None
        return True

    def fail_over(self, dest: Address, now: float) -> None:
        """The shell moved ``dest`` to its next server: send the INVITE again, as a new
        transaction (new branch, CSeq+1, same Call-ID and From tag; credentials
        dropped, the next server challenges afresh)."""
        if (self._failover_at is None or self._cancel_wanted or dest != self._dest
                or self._invite is None):
            return
        self._failover_at = None
        self._failovers += 1
        old = self._invite
        h = self._next_invite_headers(old)
        self._auth = None
        self.state = SessionState.CALLING
        log.info("[%s] INVITE failed (%d %s): trying the next server", self.call_id,
                 *self._failed_with)
        self._send_invite(Request("INVITE", old.uri, h, old.body), now)

    def _uac_timer(self) -> float | None:
        if self.state in (SessionState.CALLING, SessionState.PROCEEDING):
            return self._failover_at if self._failover_at is not None else self._uac_deadline
        return None

    def _uac_handle_timer(self, now: float) -> None:
        if self._failover_at is not None:
            if now >= self._failover_at:
                self._failover_at = None  # no other server: the call fails after all
                self.state = SessionState.TERMINATED
                self.ended = True
                status, reason = ((487, "Request Terminated") if self._cancel_wanted
                                  else self._failed_with)
                self.host.emit(CallFailed(session=self.id, status=status, reason=reason))
            return
        deadline = self._uac_timer()
        if deadline is None or now < deadline:
            return
        self._uac_deadline = None
        if not self._cancel_sent:
            log.info("[%s] rang %.0f s unanswered: CANCEL", self.call_id, MAX_RING_TIME)
            self._cancel_wanted = True
            self._send_cancel(now)
            return
        if self._invite_tx is not None:
            self.host.abandon_client(self._invite_tx)
        for d in self.early.values():
            self.host.unbind_dialog(d)
        self.early.clear()
        self.state = SessionState.TERMINATED
        self.ended = True
        self.host.emit(CallFailed(session=self.id, status=487, reason="Request Terminated"))

