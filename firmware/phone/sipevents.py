"""SIP endpoint events -> call state (seed B-1, B-9..B-17; RFC 3261 §13, RFC 3264 §8).

Why a mixin of ``Phone``: one handler per ``firmware.sip.events`` class, each
small; the table ``_HANDLERS`` maps the event class name to it, so an event
the phone does not know is logged and dropped, never raised.

Incoming INVITE (B-1): decide (forward-all 302, DND 480/486, busy 486 or
forward-on-busy 302, no common codec 488/400 + Warning 304), else 180 and the
ringer (or the call-waiting beep, B-6). Media starts on the ACK
(``CallConfirmed``). As caller: 180 -> ringback tone; 2xx -> media; failures
follow ``forwarding.Redirector`` (3xx contacts, 5xx next location, 6xx stop,
B-14) and show the reason.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from functools import partial
from typing import Any

from firmware.media.sdp import (
    NoCommonCodec,
    SdpParseError,
    SessionDescription,
    negotiate,
    parse_sdp,
)
from firmware.phone.actions import HistoryChanged, StartMedia, StopMedia, UpdateMedia
from firmware.phone.call import LIVE_OUTGOING, Call, CallInput, CallState, failure_reason
from firmware.phone.callops import PhoneError
from firmware.phone.forwarding import Forward, Refuse, decide_incoming
from firmware.phone.history import HistoryEntry
from firmware.phone.reasons import NO_RESPONSE_DIRECT, NO_RESPONSE_PROXY
from firmware.phone.screens import uri_user
from firmware.phone.transferops import TransferOps, header

log = logging.getLogger(__name__)
_S, _I = CallState, CallInput


def _parse(sdp: bytes | None) -> SessionDescription | None:
    if not sdp:
        return None
    try:
        return parse_sdp(sdp)
    except SdpParseError as exc:
        log.info("unusable SDP: %s", exc.reason)
        return None


class SipEvents(TransferOps):
    """Handlers for ``Endpoint.next_event()`` results (mixed into ``Phone``)."""

    def dispatch_sip(self, event: Any, now: float) -> None:
        handler = getattr(self, "_on_" + type(event).__name__, None)
        if handler is None:
            log.debug("SIP event %s not handled", type(event).__name__)
            return
        handler(event, now)

    def _call(self, event: Any) -> Call | None:
        call = self._by_session.get(getattr(event, "session", None) or "")
        if call is None:
            log.debug("%s for unknown session", type(event).__name__)
        return call

    # ------------------------------------------------------------------ registration
    def _line_for(self, aor: str) -> Any:
        user = uri_user(aor)
        return next((ln for ln in self.lines if ln.settings.number == user), None)

    def _on_Registered(self, event: Any, now: float) -> None:
        line = self._line_for(event.aor)
        if line is not None:
            line.registered, line.registration_reason = True, None

    def _on_RegistrationFailed(self, event: Any, now: float) -> None:
        line = self._line_for(event.aor)
        if line is not None:
            line.registered = False
            line.registration_reason = f"{event.status} {event.reason}"[:40]

    def _on_Unregistered(self, event: Any, now: float) -> None:
        line = self._line_for(event.aor)
        if line is not None:
            line.registered = False

    # ------------------------------------------------------------------ incoming calls
    def _on_IncomingCall(self, event: Any, now: float) -> None:
        line = self._line_for(event.to_uri) or self._line_for(event.request_uri) or self.lines[0]
        replaces = header(event.request, "Replaces")
        if replaces is not None:
            self._incoming_replaces(event, line, replaces, now)
            return
        offer = _parse(event.sdp)
        if event.sdp and offer is None:
            self._sip("reject", event.session, 400, now=now, reason="Bad SDP")
            return
        decision = decide_incoming(
            now=now, cfwd_all_to=self.cfwd_to, dnd=self.dnd,
            dnd_response=self.settings.dnd_response, line_busy=line.busy, line_full=line.full,
            call_waiting=self.settings.call_waiting, cfwd_busy_url=self.settings.cfwd_busy_url,
            cfwd_noanswer_url=self.settings.cfwd_noanswer_url,
            cfwd_noanswer_timeout=self.settings.cfwd_noanswer_timeout)
        if isinstance(decision, Forward):
            self._sip("reject", event.session, 302, now=now, reason="Moved Temporarily",
                      headers=(("Contact", f"<{decision.target}>"),))
            self._log_missed(event, line, now, "Forwarded")
            return
        if isinstance(decision, Refuse):
            self._sip("reject", event.session, decision.status, now=now, reason=decision.reason)
            self._log_missed(event, line, now, "Do not disturb" if self.dnd else "Busy")
            return
        focus_before, line_before = line.focused, self.current_line
        call = self.new_call("in", line, now, remote=event.from_uri)
        if decision.waiting and focus_before is not None:
            line.focus(focus_before)  # a call waiting does not steal the screen's focus
        if self.lines[line_before - 1].live and line_before != line.index:
            self.current_line = line_before  # nor does a call on another line
        call.remote_display = (event.from_display or None)
        call.session, call.call_id = event.session, event.call_id
        self._by_session[event.session] = call
        call.extra["offer"] = offer
        call.extra["sip_transport"] = getattr(event, "transport", "")
        if offer is not None:
            try:
                probe = self.media_for(call).receive_offer(offer)
            except PhoneError:  # every RTP port in use: we cannot take another call
                self._sip("reject", event.session, 486, now=now, reason="Busy Here")
                self.end_call(call, now, "busy", failed=True)
                self.forget(call)
                return
            if isinstance(probe, NoCommonCodec):
                self.reject_no_codec(call, probe, now)
                self.forget(call)
                return
        if decision.forward_at is not None:
            call.ring_deadline = decision.forward_at
            call.extra["forward_to"] = decision.forward_to
        self._sip("ringing", event.session, now=now)

    def _log_missed(self, event: Any, line: Any, now: float, why: str = "Refused") -> None:
        """A call refused or forwarded without ringing still shows under Missed."""
        self.history.add(HistoryEntry(kind="missed", remote=event.from_uri,
                                      display=event.from_display, at=now + self.wall_offset,
                                      line=line.index, reason=why,
                                      call_id=getattr(event, "call_id", "") or ""))
        self.emit(HistoryChanged())

    def _incoming_replaces(self, event: Any, line: Any, value: str, now: float) -> None:
        old = self.find_replaced(value)
        if old is None:
            self._sip("reject", event.session, 481, now=now,
                      reason="Call/Transaction Does Not Exist")
            return
        old_line = self.line(old.line)
        if old_line.full:  # no room for both: the replaced call goes first
            self._drop_replaced(old, now)
        call = self.new_call("in", old_line, now, remote=event.from_uri)
        call.remote_display = event.from_display or None
        call.session, call.call_id = event.session, event.call_id
        self._by_session[event.session] = call
        call.extra["offer"] = _parse(event.sdp)
        call.extra["sip_transport"] = getattr(event, "transport", "")
        self.do_answer(call, now)  # answered without ringing, then the old dialog ends (§3)
        if not old.ended:
            self._drop_replaced(old, now)

    def _drop_replaced(self, old: Call, now: float) -> None:
        self._sip("bye", old.session, now=now)
        self.end_call(old, now, "transferred")
        self.forget(old)

    def _on_CallConfirmed(self, event: Any, now: float) -> None:
        call = self._call(event)
        if call is None or call.direction != "in" or not call.established:
            return
        call.extra["acked"] = True
        negotiated = call.extra.pop("negotiated", None)
        if call.extra.pop("await_ack_answer", False):
            answer = _parse(event.sdp)
            result = call.media.receive_answer(answer) if answer is not None else None
            if result is None or isinstance(result, NoCommonCodec):
                self._sip("bye", call.session, now=now)
                self.end_call(call, now, "rejected 488 incompatible media")
                return
            negotiated = result
        if negotiated is not None:
            self._start_media(call, negotiated)
        held = call.extra.pop("hold_after_ack", None)
        if held is not None:  # Hold pressed between our 200 and the ACK
            try:
                self.hold(call, now, then=held if isinstance(held, tuple) else None)
            except PhoneError as exc:
                log.info("deferred hold dropped: %s", exc.message)

    def _start_media(self, call: Call, negotiated: Any) -> None:
        if call.media_started:
            self.emit(UpdateMedia(call=call.id, negotiated=negotiated))
        else:
            call.media_started = True
            self.emit(StartMedia(call=call.id, local=call.media.local,
                                 negotiated=negotiated))

    # ------------------------------------------------------------------ outgoing calls
    def _on_CallProgress(self, event: Any, now: float) -> None:
        call = self._call(event)
        if call is None or call.direction != "out" or call.state not in LIVE_OUTGOING:
            return
        call.call_id = call.call_id or self.sip_call_id(event.session) or ""
        call.apply(_I.RINGING if event.status in (180, 183) else _I.TRYING, now)
        if event.status in (180, 183):
            self.referred_progress(call, event.status, event.reason, now)
        early = _parse(event.sdp)
        offer = call.extra.get("offer_sent")
        if early is not None and offer is not None:
            # early media (RFC 3960 gateway model): play what the far end sends, instead
            # of our ringback; the 2xx's answer is negotiated again when it comes
            result = negotiate(offer, early, local_is_offer=True)
            if not isinstance(result, NoCommonCodec):
                self._start_media(call, result)

    def _on_CallAnswered(self, event: Any, now: float) -> None:
        call = self._call(event)
        # ended: we cancelled and a 200 crossed the CANCEL; the core ACKs and BYEs it
        if call is None or call.direction != "out" or call.state not in LIVE_OUTGOING:
            return
        call.call_id = call.call_id or self.sip_call_id(event.session) or ""
        answer = _parse(event.sdp)
        media = self.media_for(call)
        result = media.receive_answer(answer) if answer is not None else None
        call.ring_deadline = None
        if result is None or isinstance(result, NoCommonCodec):
            call.apply(_I.ANSWERED, now)
            self._sip("bye", call.session, now=now)
            self.end_call(call, now, "rejected 488 incompatible media")
            self.referred_progress(call, 488, "Not Acceptable Here", now)
            return
        call.apply(_I.ANSWERED, now)
        self._start_media(call, result)
        self.referred_progress(call, 200, "OK", now)

    def _on_CallFailed(self, event: Any, now: float) -> None:
        call = self._call(event)
        if call is None or call.direction != "out" or call.state not in LIVE_OUTGOING:
            return
        why = call.extra.pop("cancel_why", None)
        status = 408 if why == "timeout" else event.status
        redirector = call.extra.get("redirector")
        nxt = redirector.after_failure(status, event.contacts) if redirector else None
        if nxt is not None:
            log.info("call %s: %s -> trying %s", call.id, event.status, nxt)
            if call.media_started:  # early media of the location that failed
                self.emit(StopMedia(call=call.id))
                call.media_started = False
            call.remote = nxt
            self.send_invite(call, nxt, now)
            return
        if why is None and status == 488 and self._retry_with_savp(call, now):
            return
        if why == "timeout" or status == 408:
            reason = "no-answer"
            if why is None and call.state is CallState.CALLING:  # not a word back: Timer B
                line = self.line(call.line)
                call.extra["reason_text"] = (NO_RESPONSE_PROXY if line.settings.proxy
                                             else NO_RESPONSE_DIRECT)
        elif why == "user":
            reason = "cancelled"
        else:
            reason = failure_reason(event.status, event.reason)
            if event.status == 488 and getattr(event, "warning", "").startswith("302 "):
                # RFC 3261 §20.43 302: the peer cannot take our RTP profile (SRTP or plain)
                call.extra["reason_text"] = "Encryption mismatch"
        self.end_call(call, now, reason, failed=True)
        self.referred_progress(call, event.status, event.reason or "Failed", now)

    def _retry_with_savp(self, call: Any, now: float) -> bool:
        """Our best-effort SRTP offer (RTP/AVP with keys, ``srtp_mode: optional``) got 488:
        an SRTP-only peer wants RTP/SAVP. Try once more with that (``firmware.media.sdes``)."""
        policy = getattr(call.media, "srtp", None)
        if (policy is None or call.extra.get("srtp_savp") or policy.mode != "optional"
                or not policy.keys_allowed):
            return False
        log.info("call %s: 488 to our RTP/AVP offer with keys; trying RTP/SAVP", call.id)
        call.extra["srtp_savp"] = True
        if call.media_started:  # early media of the attempt that failed
            self.emit(StopMedia(call=call.id))
            call.media_started = False
        self.send_invite(call, call.remote, now)
        return True

    # ------------------------------------------------------------------ both
    def _on_CallEnded(self, event: Any, now: float) -> None:
        call = self._call(event)
        if call is None or call.ended:
            return
        was_incoming = call.state is _S.INCOMING
        reason = "hangup"
        if event.by == "remote" and event.reason == "cancelled":
            reason = "cancelled"
        if event.by == "remote" and call.established and self.on_bye_also(
                call, getattr(event, "request", None), now):
            reason = "transferred"
        elif call.extra.get("referral_done"):
            reason = "transferred"
        self.end_call(call, now, reason)
        if was_incoming:
            self.record("missed", call, now)

    def _on_ReInviteReceived(self, event: Any, now: float) -> None:
        call = self._call(event)
        if call is None or call.ended or not call.established:
            if call is not None:
                self._sip("reject", event.session, 491, now=now, reason="Request Pending")
            return
        offer = _parse(event.sdp)
        if offer is None:  # an offerless re-INVITE: we offer in the 200, the ACK answers
            direction = "sendonly" if call.local_hold else "sendrecv"
            sdp = self.media_for(call).offer(direction=direction, hold_style=self.hold_style)
            self._sip("answer", event.session, sdp.to_bytes(), now=now)
            call.extra["await_ack_answer"] = True
            return
        result = self.answer_reoffer(call, offer, partial(self._sip, "reject", event.session, now=now))
        if result is not None:
            self._sip("answer", event.session, result.sdp.to_bytes(), now=now)
            self.follow_offer(call, result.negotiated, now)

    def answer_reoffer(self, call: Call, offer: Any, reply: Callable[..., Any]) -> Any:
        """Our answer to the peer's new offer inside ``call`` (a re-INVITE's or an
        UPDATE's); with no codec in common None, after ``reply(488, ...)`` (that
        request's final response) with a Warning: the call goes on as it was."""
        result = self.answer_offer(call, offer)
        if isinstance(result, NoCommonCodec):
            reply(488, reason="Not Acceptable Here",
                  headers=(("Warning", result.warning(self.settings.media_address)),))
            return None
        return result

    def follow_offer(self, call: Call, negotiated: Any, now: float) -> None:
        """The stream follows an offer we answered: the peer's hold, address or codec."""
        call.set_hold(now, remote=negotiated.remote_hold)
        self._start_media(call, negotiated)

    def _on_ReInviteAnswered(self, event: Any, now: float) -> None:
        call = self._call(event)
        if call is None or not call.established:
            return
        what = call.extra.pop("reinvite", None)
        answer = _parse(event.sdp)
        result = self.media_for(call).receive_answer(answer) if answer is not None else None
        if what in ("hold", "resume"):
            call.set_hold(now, local=(what == "hold"))
        if result is not None and not isinstance(result, NoCommonCodec):
            if what != "hold":  # an answer to our hold says nothing of theirs
                call.set_hold(now, remote=result.remote_hold)
            self._start_media(call, result)
        self._continue(call, now)

    def _on_ReInviteFailed(self, event: Any, now: float) -> None:
        call = self._call(event)
        if call is None:
            return
        what = call.extra.pop("reinvite", None)
        self.notice = f"{(what or 'update').capitalize()} failed ({event.status})"
        self._continue(call, now)

    def _continue(self, call: Call, now: float) -> None:
        """Run what was waiting for this call's hold (answer, consultation INVITE, resume)."""
        then = call.extra.pop("then", None)
        if then is None:
            return
        verb, other_id = then
        other = self.call_by_id(other_id)
        if other is None or other.ended:
            return
        if verb == "answer":
            self.do_answer(other, now)
        elif verb == "invite" and other.state is _S.DIALING:
            self.send_invite(other, other.remote, now)
        elif verb == "resume" and other.state is _S.HOLDING:
            self.resume(other, now)

    # ------------------------------------------------------------------ other requests
    def _on_InDialogRequest(self, event: Any, now: float) -> None:
        call = self._call(event)
        method = event.method.upper()
        if call is None:
            self._sip("respond", event.request_id, 481, now=now,
                      reason="Call/Transaction Does Not Exist")
            return
        if method == "REFER":
            self.on_refer(call, event.request_id, event.request, now)
        elif method == "NOTIFY":
            event_pkg = (header(event.request, "Event") or "refer").split(";")[0].strip().lower()
            if event_pkg != "refer":
                self._sip("respond", event.request_id, 489, now=now, reason="Bad Event")
                return
            self._sip("respond", event.request_id, 200, now=now)
            self.on_refer_notify(call, event.body, now)
        elif method in ("INFO", "MESSAGE", "OPTIONS", "UPDATE"):
            self._sip("respond", event.request_id, 200, now=now)
        else:
            self._sip("respond", event.request_id, 501, now=now, reason="Not Implemented")

    def _on_OutOfDialogRequest(self, event: Any, now: float) -> None:
        method = event.method.upper()
        if method == "MESSAGE":
            self._sip("respond", event.request_id, 200, now=now)
        elif method == "NOTIFY":
            self._sip("respond", event.request_id, 489, now=now, reason="Bad Event")
        else:
            self._sip("respond", event.request_id, 501, now=now, reason="Not Implemented")

    def _on_RequestAnswered(self, event: Any, now: float) -> None:
        entry = self._requests.pop(event.request_id, None)
        if entry is None:
            return
        call_id, purpose = entry
        call = self.call_by_id(call_id)
        if call is not None and purpose == "refer":
            self.on_refer_answered(call, event.status, now)
        elif call is not None and purpose == "also-after-bye":
            self.on_consultation_ended(call, now)
        elif call is not None and purpose == "refer-notify":
            self.on_refer_notify_answered(call, now)
