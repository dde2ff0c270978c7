"""RFC 3261 §13-§15 INVITE sessions (UAS side and in-dialog part), with §9 CANCEL and §14 re-INVITE.

Why the UA core keeps this state, not the transactions: a 2xx to INVITE
ends the INVITE transaction's job; the UAS core retransmits the 2xx until
the ACK comes (§13.3.1.4: T1 doubling to T2, give up after 64*T1 and BYE),
and the UAC core sends the ACK itself and re-sends it for every 2xx
retransmission (§13.2.2.4). Re-INVITEs reuse the same machinery inside the
dialog, with the §14.1 glare rule (491, then a random wait whose range
depends on who owns the Call-ID).

Theory of operation (``SessionState``)::

    UAC: CALLING --1xx--> PROCEEDING --2xx/ACK--> CONFIRMED --BYE--> TERMINATED
         CALLING/PROCEEDING --3xx-6xx, timeout, CANCEL+487--> TERMINATED
    UAS: INCOMING --answer: 2xx--> ANSWERED --ACK--> CONFIRMED --BYE--> TERMINATED
         INCOMING --reject / CANCEL (200 + 487)--> TERMINATED

The UAC half is in ``session_uac.py``; re-INVITE both ways and in-dialog
auth in ``session_reinvite.py``; generic in-dialog requests (REFER, NOTIFY,
INFO, MESSAGE, OPTIONS) in ``session_requests.py``; this module deals with
the UAS side, ACK, CANCEL, BYE and the timers.
"""

from __future__ import annotations

import logging

from firmware.sip.auth import DigestClient
from firmware.sip.build import make_response
from firmware.sip.dialog import Dialog, DialogState
from firmware.sip.events import (
    Address,
    CallConfirmed,
    CallEnded,
    RequestAnswered,
)
from firmware.sip.message import Request, Response
from firmware.sip.session_base import MAX_RING_TIME, SessionError, SessionHost, SessionState
from firmware.sip.session_reinvite import ReinviteMixin
from firmware.sip.session_requests import DialogRequests
from firmware.sip.session_uac import UacMixin
from firmware.sip.timers import TimerConfig
from firmware.sip.transaction import ClientTransaction, ServerTransaction

__all__ = ["InviteSession", "SessionState", "SessionHost", "SessionError"]

log = logging.getLogger(__name__)


class _Pending2xx:
    """A 2xx the UAS core retransmits until the ACK with the same CSeq (§13.3.1.4)."""

    def __init__(self, data: bytes, dest: Address, transport: str, cseq: int, now: float,
                 timers: TimerConfig, reliable: bool) -> None:
        self.data = data
        self.dest = dest
        self.transport = transport
        self.cseq = cseq
        self.count = 0
        self.timers = timers
        self.next_at: float | None = None if reliable else now + timers.retransmit_2xx(0)
        self.give_up_at = now + timers.ack_timeout_2xx


class InviteSession(UacMixin, ReinviteMixin):
    """One call: the INVITE dialog usage on either side."""

    def __init__(self, host: SessionHost, sid: str, role: str, transport: str) -> None:
        self.host = host
        self.id = sid
        self.role = role
        self.transport = transport
        self.state = SessionState.CALLING if role == "uac" else SessionState.INCOMING
        self.dialog: Dialog | None = None
        self.early: dict[str, Dialog] = {}
        self.call_id = ""
        # UAC
        self._invite: Request | None = None
        self._invite_tx: ClientTransaction | None = None
        self._dest: Address | None = None
        self._cancel_wanted = False
        self._cancel_sent = False
        self._provisional_seen = False
        self._acks: dict[int, bytes] = {}
        self._auth: DigestClient | None = None
        # UAS
        self._server_tx: ServerTransaction | None = None
        self._server_request: Request | None = None
        self._local_tag = ""
        self._pending_2xx: _Pending2xx | None = None
        # re-INVITE
        self._reinvite_tx: ClientTransaction | None = None
        self._reinvite_sdp: bytes | None = None
        self._glare_at: float | None = None
        self._in_reinvite: tuple[Request, ServerTransaction] | None = None
        self.requests = DialogRequests(host, self)
        self.ended = False
        #: Keep the finished session for Timer B (late 2xx to re-ACK, a late BYE to
        #: answer)? Not for an incoming call refused before any 2xx: its transaction
        #: alone answers retransmissions and takes the ACK.
        self.lingers = True
        self._bye_after_ack = False
        self._ring_deadline: float | None = None
        self._bye_headers: tuple[tuple[str, str], ...] = ()
        self._bye_report = False  # emit RequestAnswered for our BYE's final answer
        self._ack_wanted: int | None = None
        self._uac_deadline: float | None = None

    # ================================================================ UAS
    def start_uas(self, request: Request, tx: ServerTransaction, now: float) -> None:
        self.call_id = request.call_id
        self._server_request = request
        self._server_tx = tx
        self._local_tag = request.to.tag or self.host.new_tag()
        # An unanswered call cannot hold a session slot for ever: the INVITE's
        # Expires (§20.19), else MAX_RING_TIME, then 480.
        ring = MAX_RING_TIME
        try:
            if request.expires is not None:
                ring = min(float(request.expires), MAX_RING_TIME)
        except ValueError:
            pass
        self._ring_deadline = now + ring

    def _uas_dialog(self, confirmed: bool) -> Dialog:
        assert self._server_request is not None
        if self.dialog is None:
            self.dialog = Dialog.from_uas(self._server_request, self._local_tag,
                                          local_seq=self.host.new_cseq(), confirmed=confirmed)
            self.host.bind_dialog(self.dialog, self)
        elif confirmed:
            self.dialog.state = DialogState.CONFIRMED
        return self.dialog

    def _response(self, request: Request, status: int, reason: str | None = None, *,
                  body: bytes = b"", headers: tuple[tuple[str, str], ...] = ()) -> Response:
        extra: list[tuple[str, str]] = []
        if 100 < status < 300:
            if request.method == "INVITE" and request.to.tag is None:
                # §12.1.1: a dialog-creating response copies the Record-Route of the request.
                extra.extend(("Record-Route", v) for v in request.headers.lines("Record-Route"))
            extra.append(("Contact", str(self.host.contact(self.transport))))
        extra.extend(self.host.common_headers())
        extra.extend(headers)
        return make_response(request, status, reason, to_tag=self._local_tag, headers=extra,
                             body=body, content_type="application/sdp" if body else None)

    def ringing(self, now: float, sdp: bytes | None = None) -> None:
        if self.role != "uas" or self.state is not SessionState.INCOMING:
            raise SessionError(f"cannot ring in state {self.state.value}")
        assert self._server_request is not None and self._server_tx is not None
        self._uas_dialog(confirmed=False)
        status = 183 if sdp else 180
        self.host.send_response(self._server_tx,
                                self._response(self._server_request, status, body=sdp or b""), now)

    def answer(self, sdp: bytes | None, now: float) -> None:
        """2xx to the pending INVITE or re-INVITE, retransmitted until ACK (§13.3.1.4).

        After a late offer (our INVITE/re-INVITE had no SDP, the 2xx did), this
        sends the ACK carrying ``sdp``, our answer.
        """
        if self._ack_wanted is not None and self.dialog is not None:
            seq, self._ack_wanted = self._ack_wanted, None
            self._send_ack(self.dialog, seq, sdp or b"")
            return
        if self._in_reinvite is not None:
            req, tx = self._in_reinvite
            self._in_reinvite = None
            self._send_2xx(req, tx, sdp, now)
            return
        if self.role != "uas" or self.state is not SessionState.INCOMING:
            raise SessionError(f"nothing to answer in state {self.state.value}")
        assert self._server_request is not None and self._server_tx is not None
        self._uas_dialog(confirmed=True)
        self.state = SessionState.ANSWERED
        self._send_2xx(self._server_request, self._server_tx, sdp, now)

    def _send_2xx(self, request: Request, tx: ServerTransaction, sdp: bytes | None,
                  now: float) -> None:
        resp = self._response(request, 200, body=sdp or b"")
        self.host.send_response(tx, resp, now)
        self._pending_2xx = _Pending2xx(bytes(resp), tx.dest, tx.transport, request.cseq.seq,
                                        now, self.host.timers, tx.reliable)

    def reject(self, status: int, now: float, reason: str | None = None,
               headers: tuple[tuple[str, str], ...] = ()) -> None:
        if not 300 <= status <= 699:
            raise SessionError(f"reject needs a 3xx-6xx status, not {status}")
        if self._in_reinvite is not None:
            req, tx = self._in_reinvite
            self._in_reinvite = None
            self.host.send_response(tx, self._response(req, status, reason, headers=headers), now)
            return
        if self.role != "uas" or self.state is not SessionState.INCOMING:
            raise SessionError(f"nothing to reject in state {self.state.value}")
        assert self._server_request is not None and self._server_tx is not None
        self.host.send_response(
            self._server_tx, self._response(self._server_request, status, reason, headers=headers),
            now,
        )
        self._terminate(now)
        self.host.emit(CallEnded(session=self.id, by="local", reason="rejected"))

    def on_cancel(self, cancel: Request, cancel_tx: ServerTransaction, now: float) -> None:
        """§9.2: 200 to the CANCEL; if still unanswered, 487 to the INVITE and end."""
        self.host.send_response(cancel_tx, make_response(cancel, 200, to_tag=self._local_tag), now)
        if self.state is SessionState.INCOMING and self._server_request is not None:
            assert self._server_tx is not None
            self.host.send_response(self._server_tx,
                                    self._response(self._server_request, 487), now)
            self._terminate(now)
            self.host.emit(CallEnded(session=self.id, by="remote", reason="cancelled"))

    # ====================================================== in-dialog input
    def on_request(self, request: Request, tx: ServerTransaction | None, now: float) -> None:
        """A request matched to this session's dialog (ACK: ``tx`` is None)."""
        method = request.method
        if method == "ACK":
            self._on_ack(request, now)
            return
        assert tx is not None
        if self.ended and method != "BYE":
            # The call is over (we keep the dialog a while only to re-ACK late 2xx).
            self.host.send_response(tx, make_response(request, 481), now)
            return
        dialog = self.dialog or self.early.get(request.from_.tag or "")
        if dialog is not None and not dialog.check_remote_cseq(request):
            self.host.send_response(tx, make_response(request, 500, "CSeq Out of Order"), now)
            return
        if method == "BYE":
            self.host.send_response(tx, self._response(request, 200), now)
            was_incoming = self.state is SessionState.INCOMING
            if was_incoming and self._server_tx is not None and self._server_request is not None:
                self.host.send_response(self._server_tx,
                                        self._response(self._server_request, 487), now)
            if not self.ended:
                self._terminate(now)
                self.host.emit(CallEnded(session=self.id, by="remote", reason="bye",
                                         request=request))
            return
        if method == "INVITE":
            self._on_reinvite(request, tx, now)
            return
        self.requests.on_request(request, tx, now)

    def _on_ack(self, ack: Request, now: float) -> None:
        pending = self._pending_2xx
        if pending is None or ack.cseq.seq != pending.cseq:
            return
        self._pending_2xx = None
        if self.state is SessionState.ANSWERED and not self._bye_after_ack:
            self.state = SessionState.CONFIRMED
            self.host.emit(CallConfirmed(session=self.id, sdp=ack.body or None))
        elif ack.body and not self.ended:
            # the answer to the offer we put in a re-INVITE's 2xx
            self.host.emit(CallConfirmed(session=self.id, sdp=ack.body))
        if self._bye_after_ack:
            self._bye_after_ack = False
            self._send_bye(now, emit=False)

    # ================================================================ BYE
    def bye(self, now: float, headers: tuple[tuple[str, str], ...] = (), *,
            report: bool = False) -> None:
        """End the call; with ``report`` its final answer comes as ``RequestAnswered``."""
        self._bye_report = report
        if self.ended:
            raise SessionError("session already ended")
        if self.dialog is None or self.state not in (SessionState.CONFIRMED,
                                                     SessionState.ANSWERED):
            raise SessionError(f"cannot BYE in state {self.state.value}")
        self._bye(now, headers)

    def _bye(self, now: float, headers: tuple[tuple[str, str], ...] = ()) -> None:
        self._bye_headers = headers
        if self.state is SessionState.ANSWERED and self._pending_2xx is not None:
            # §15: the callee waits for the ACK (or its timeout) before BYE.
            self._bye_after_ack = True
            self.ended = True
            self.host.emit(CallEnded(session=self.id, by="local", reason="bye"))
            return
        self._send_bye(now, emit=True)

    def hangup(self, now: float) -> None:
        """End the session whatever its state: CANCEL, 603 or BYE."""
        if self.ended:
            return
        if self.state in (SessionState.CALLING, SessionState.PROCEEDING):
            if not self._cancel_wanted:
                self.cancel(now)
        elif self.state is SessionState.INCOMING:
            self.reject(603, now)
        else:
            self._bye(now)

    def _send_bye(self, now: float, *, emit: bool) -> None:
        assert self.dialog is not None
        if self._ack_wanted is not None:  # a late-offer 2xx still owes its ACK
            seq, self._ack_wanted = self._ack_wanted, None
            self._send_ack(self.dialog, seq, b"")
        req = self.dialog.create_request(
            "BYE", via=self.host.via(self.transport),
            headers=tuple(self.host.common_headers()) + self._bye_headers
            + self._auth_headers("BYE", b""),
        )
        dest, transport = self.dialog.next_hop()
        self.host.start_client(req, dest, transport, now, self._on_bye_response,
                               self._on_bye_timeout)
        self._terminate(now)
        if emit:
            self.host.emit(CallEnded(session=self.id, by="local", reason="bye"))

    def _on_bye_response(self, tx: ClientTransaction, status: int, resp: Response,
                         now: float) -> None:
        if status < 200:
            return
        if status in (401, 407) and self.challenge_retry(  # a proxy wants credentials for BYE too
                tx, resp, now, self._on_bye_response, self._on_bye_timeout) is not None:
            return
        if self._bye_report:
            # call control waits for it (the seed's B-8: BYE/Also to A after C's 200 OK)
            self.host.emit(RequestAnswered(request_id=f"{self.id}:BYE", session=self.id,
                                           method="BYE", status=status, reason=resp.reason,
                                           response=resp))

    def _on_bye_timeout(self, tx: ClientTransaction, now: float) -> None:
        if self._bye_report:
            self.host.emit(RequestAnswered(request_id=f"{self.id}:BYE", session=self.id,
                                           method="BYE", status=408, reason="Request Timeout"))

    def dialog_info(self) -> tuple[str, str, str | None]:
        """(Call-ID, local tag, remote tag or None before any dialog), e.g. for Replaces."""
        d = self.dialog
        if d is not None:
            return d.call_id, d.local_tag, d.remote_tag
        if self.role == "uas" and self._server_request is not None:
            return self.call_id, self._local_tag, self._server_request.from_.tag
        early = next(iter(self.early.values()), None)
        return self.call_id, self._local_tag, early.remote_tag if early is not None else None

    def dialog_gone(self, now: float, reason: str) -> None:
        """The dialog died under us (481 to an in-dialog request, §12.2.1.2): the call ends."""
        if not self.ended:
            self._terminate(now)
            self.host.emit(CallEnded(session=self.id, by="remote", reason=reason))

    def _terminate(self, now: float) -> None:
        if self.role == "uas" and self.state is SessionState.INCOMING:
            self.lingers = False
        # An INVITE we never answered gets 487, or its transaction would wait for ever.
        tx, req = self._server_tx, self._server_request
        if tx is not None and req is not None and not tx.final_sent and not tx.terminated:
            self.host.send_response(tx, self._response(req, 487), now)
        # §15.1.2: requests still pending in the dialog get 487 when it ends.
        if self._in_reinvite is not None:
            req, tx = self._in_reinvite
            self._in_reinvite = None
            self.host.send_response(tx, self._response(req, 487), now)
        self.requests.terminate_pending(now)
        self.state = SessionState.TERMINATED
        self.ended = True
        self._glare_at = None
        self._pending_2xx = None
        self._bye_after_ack = False
        if self.dialog is not None:
            self.dialog.state = DialogState.TERMINATED
        for d in self.early.values():
            self.host.unbind_dialog(d)
        self.early.clear()

    # ============================================================= timers
    def get_timer(self) -> float | None:
        times = [t for t in (self._glare_at, self.requests.get_timer(), self._uac_timer())
                 if t is not None]
        if self.state is SessionState.INCOMING and self._ring_deadline is not None:
            times.append(self._ring_deadline)
        p = self._pending_2xx
        if p is not None:
            times.append(p.give_up_at if p.next_at is None else min(p.next_at, p.give_up_at))
        return min(times) if times else None

    def handle_timer(self, now: float) -> None:
        self._uac_handle_timer(now)
        if self.state is SessionState.INCOMING and self._ring_deadline is not None \
                and now >= self._ring_deadline:
            self._ring_deadline = None
            assert self._server_request is not None and self._server_tx is not None
            self.host.send_response(self._server_tx,
                                    self._response(self._server_request, 480, "No Answer"), now)
            self._terminate(now)
            self.host.emit(CallEnded(session=self.id, by="local", reason="no answer"))
        p = self._pending_2xx
        if p is not None:
            if now >= p.give_up_at:
                self._pending_2xx = None
                if self._bye_after_ack and self.dialog is not None:
                    self._send_bye(now, emit=False)
                elif not self.ended and self.dialog is not None:
                    log.info("[%s] no ACK for 2xx after %.1fs: BYE", self.call_id,
                             self.host.timers.ack_timeout_2xx)
                    self.host.emit(CallEnded(session=self.id, by="local", reason="ack timeout"))
                    self._send_bye(now, emit=False)
            elif p.next_at is not None and now >= p.next_at:
                p.count += 1
                self.host.send_direct_bytes(p.data, p.dest, p.transport)
                p.next_at = p.next_at + self.host.timers.retransmit_2xx(p.count)
        if self._glare_at is not None and now >= self._glare_at:
            self._glare_at = None
            if self.state is SessionState.CONFIRMED:
                self._send_reinvite(now)
        self.requests.handle_timer(now)

    @property
    def finished(self) -> bool:
        """Ended and nothing left to retransmit or answer: the endpoint may forget it."""
        return self.ended and self._pending_2xx is None and self.requests.idle

    def release(self) -> None:
        """Unbind every dialog from the endpoint (called when the session is forgotten)."""
        if self.dialog is not None:
            self.host.unbind_dialog(self.dialog)
        for d in self.early.values():
            self.host.unbind_dialog(d)

