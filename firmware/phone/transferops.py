"""Transfer, both sides: REFER (RFC 3515) with Replaces (RFC 3891), or the seed's BYE/Also.

Why a mixin of ``Phone``: transfer touches two calls and three parties; its
bookkeeping (``TransferPlan`` on the call being transferred, the consultation
call's ``extra["transfer_of"]``, the referred call's ``extra["referred_from"]``)
stays in one module.

Transferor (the 7960's Transfer key):
1. Transfer on a call X: a consultation call Y starts dialling (nothing is sent
   yet, so a blind transfer is exactly seed B-7: no hold re-INVITE).
2. Transfer again while Y is still being dialled or rings: blind transfer of X
   to Y's target (Y is dropped). ``also``: BYE X with ``Also:`` (B-3, B-7);
   ``refer``: REFER X, then BYE X when the NOTIFY sipfrag says 2xx; a 405/501
   to the REFER falls back to BYE/Also.
3. Completing Y's number holds X first (B-8 steps 5-7), then INVITEs C. Transfer
   while Y is connected: attended. ``also``: BYE Y, and once Y's final answer
   to it is in, BYE X with Also (B-8 steps 12-15, in the seed's order);
   ``refer``: REFER X with ``Refer-To: <C?Replaces=Y>``.

Transferee: a REFER is answered 202, followed by NOTIFYs (100, then the final
status of the INVITE to the Refer-To target); a BYE with ``Also`` makes us
INVITE the Also target, with ``Requested-By`` when the BYE had one.
Transfer target: an INVITE with ``Replaces`` matching one of our dialogs is
answered at once and the replaced call gets a BYE; no match answers 481.
"""

from __future__ import annotations

import logging
from typing import Any

from firmware.phone.call import ESTABLISHED, LIVE_OUTGOING, Call, CallState
from firmware.phone.callops import CallOps, PhoneError
from firmware.phone.dialing import target_uri
from firmware.phone.transfer import (
    Replaces,
    TransferPhase,
    TransferPlan,
    also_header,
    build_refer_to,
    notify_headers,
    parse_name_addr_uri,
    parse_refer_to,
    sipfrag,
)

log = logging.getLogger(__name__)
_S = CallState


def header(request: Any, name: str) -> str | None:
    """One header of a parsed SIP message carried by an event, or None."""
    if request is None:
        return None
    headers = getattr(request, "headers", None)
    if headers is None:
        return None
    try:
        value = headers.get(name)
    except Exception:  # noqa: BLE001 - a malformed header is simply absent
        return None
    return value if isinstance(value, str) else None


class TransferOps(CallOps):
    """Transfer operations (mixed into ``Phone``)."""

    # ------------------------------------------------------------------ transferor
    def transfer_origin(self, call: Call) -> Call | None:
        """The call a consultation call ``call`` would transfer, if any."""
        origin_id = call.extra.get("transfer_of")
        origin = self.call_by_id(origin_id) if origin_id else None
        return origin if origin is not None and not origin.ended else None

    def transfer_pending(self, call: Call | None) -> bool:
        return call is not None and not call.ended and self.transfer_origin(call) is not None

    def cancel_transfer_of(self, consultation: Call) -> None:
        origin = self.transfer_origin(consultation)
        if origin is not None and origin.transfer is not None \
                and origin.transfer.phase is TransferPhase.WAITING_TARGET:
            origin.transfer = None

    def transfer(self, now: float) -> None:
        line = self.line()
        call: Call | None = line.focused
        if call is None or call.ended:
            raise self._error(409, "no call to transfer")
        origin = self.transfer_origin(call)
        if origin is None:
            other = line.other(call)
            if call.established and other is not None and other.established:
                # two calls set up by hand (NewCall): transfer the held one to the other
                held, talking = (other, call) if other.state is _S.HOLDING else (call, other)
                held.transfer = TransferPlan(method=self.settings.transfer_method)
                self._attended(held, talking, now)
                return
            if call.state not in ESTABLISHED:
                raise self._error(409, "only a call in conversation can be transferred")
            if other is not None:
                raise self._error(409, "the line already has a second call")
            consult = self.new_call("out", line, now)
            consult.extra["transfer_of"] = call.id
            call.transfer = TransferPlan(method=self.settings.transfer_method,
                                         consultation_id=consult.id)
            return
        if call.state is _S.DIALING:
            if not call.remote:
                raise self._error(409, "dial the transfer target first")
            target = self._uri(call.remote)
            self.end_call(call, now, "hangup")
            self.forget(call)
            self._blind(origin, target, now)
        elif call.state in LIVE_OUTGOING:
            target = call.remote
            self.hangup(call, now)
            self._blind(origin, target, now)
        elif call.established:
            self._attended(origin, call, now)
        else:
            raise self._error(409, "cannot transfer now")

    def transfer_to(self, target: str, now: float) -> None:
        """Blind-transfer the call in conversation to ``target`` (directory / control API)."""
        uri = self._uri(target)
        line = self.line()
        call: Call | None = line.focused
        if call is None or call.ended:
            raise self._error(409, "no call to transfer")
        origin = self.transfer_origin(call)
        if origin is not None:  # a consultation being dialled: drop it
            self.hangup(call, now)
            call = origin
        if not call.established:
            raise self._error(409, "only a call in conversation can be transferred")
        self._blind(call, uri, now)
        self._refresh(now)

    def _uri(self, target: str) -> str:
        try:
            settings = self.line().settings
            return target_uri(target, settings.domain, transport=settings.transport)
        except ValueError as exc:
            raise self._error(400, str(exc)) from None

    def _error(self, status: int, message: str) -> Exception:
        return PhoneError(status, message)

    def _blind(self, origin: Call, target: str, now: float) -> None:
        plan = origin.transfer or TransferPlan(method=self.settings.transfer_method)
        origin.transfer = plan
        plan.target, plan.consultation_id = target, None
        if plan.method == "also":
            self._bye_also(origin, target, now)
        else:
            self._refer(origin, plan, now)

    def _attended(self, origin: Call, consult: Call, now: float) -> None:
        plan = origin.transfer or TransferPlan(method=self.settings.transfer_method)
        origin.transfer = plan
        plan.target, plan.consultation_id = consult.remote, consult.id
        info = self.dialog_info(consult.session) if consult.session else None
        if plan.method == "refer" and info is not None and info[2]:
            call_id, local_tag, remote_tag = info
            plan.replaces = Replaces(call_id=call_id, to_tag=remote_tag or "", from_tag=local_tag)
            self._refer(origin, plan, now)
            return
        self._end_consultation_then_also(origin, consult, now)

    def _end_consultation_then_also(self, origin: Call, consult: Call, now: float) -> None:
        """The seed's B-8 steps 12-15: BYE to C; C's 200 OK; only then BYE with Also: C to A
        (``on_consultation_ended``), so A never calls C while C is still in B's call."""
        waiting = False
        if consult.session is not None and not consult.ended:
            try:
                self.endpoint.bye(consult.session, now=now, report=True)
                waiting = True
            except Exception as exc:  # noqa: BLE001 - the consultation is gone: go on at once
                log.warning("consultation BYE refused: %s", exc)
        if not consult.ended:
            self.end_call(consult, now, "transferred")
        plan = origin.transfer
        if not waiting or plan is None:
            self._bye_also(origin, plan.target if plan else consult.remote, now)
            return
        plan.phase = TransferPhase.ENDING_CONSULTATION
        self._requests[f"{consult.session}:BYE"] = (origin.id, "also-after-bye")
        self.notice = "Transferring..."

    def on_consultation_ended(self, origin: Call, now: float) -> None:
        """The transfer target answered our BYE (or it timed out): BYE/Also to the transferee."""
        plan = origin.transfer
        if origin.ended or plan is None or plan.phase is not TransferPhase.ENDING_CONSULTATION:
            return
        self._bye_also(origin, plan.target, now)

    def _refer(self, origin: Call, plan: TransferPlan, now: float) -> None:
        aor = self.line(origin.line).settings.aor
        refer_to = build_refer_to(plan.target, plan.replaces)
        rid = self._sip("send_in_dialog", origin.session, "REFER", now=now,
                        headers=(("Refer-To", refer_to), ("Referred-By", f"<{aor}>")))
        plan.phase = TransferPhase.REFER_SENT
        if rid is not None:
            self._requests[rid] = (origin.id, "refer")
        self.notice = "Transferring..."

    def _bye_also(self, origin: Call, target: str, now: float) -> None:
        aor = self.line(origin.line).settings.aor
        self._sip("bye", origin.session, now=now,
                  headers=(("Also", also_header(target)), ("Requested-By", f"<{aor}>")))
        if origin.transfer is not None:
            origin.transfer.phase = TransferPhase.DONE
        self.end_call(origin, now, "transferred")
        self.notice = None

    def on_refer_answered(self, origin: Call, status: int, now: float) -> None:
        plan = origin.transfer
        if plan is None or origin.ended:
            return
        outcome = plan.on_refer_answer(status)
        if outcome == "fallback":  # the 7960's later firmware: REFER refused -> BYE/Also
            consult = self.call_by_id(plan.consultation_id) if plan.consultation_id else None
            if consult is not None and not consult.ended:
                self._end_consultation_then_also(origin, consult, now)
            else:
                self._bye_also(origin, plan.target, now)
        elif outcome == "failed":
            self.notice = f"Transfer failed ({status})"
            origin.transfer = None

    def on_refer_notify(self, origin: Call, body: bytes, now: float) -> None:
        plan = origin.transfer
        if plan is None or origin.ended:
            return
        outcome = plan.on_notify(body)
        if outcome == "done":
            self._sip("bye", origin.session, now=now)
            self.end_call(origin, now, "transferred")
            self.notice = None
        elif outcome == "failed":
            self.notice = f"Transfer failed ({plan.last_status})"
            origin.transfer = None

    # ------------------------------------------------------------------ transferee
    def on_refer(self, call: Call, request_id: str, request: Any, now: float) -> None:
        value = header(request, "Refer-To")
        try:
            target, replaces = parse_refer_to(value or "")
        except ValueError:
            self._sip("respond", request_id, 400, now=now, reason="Bad Refer-To")
            return
        line = self.line(call.line)
        if line.other(call) is not None or call.ended:
            self._sip("respond", request_id, 603, now=now, reason="Decline")
            return
        self._sip("respond", request_id, 202, now=now, reason="Accepted")
        self.notify_referrer(call, 100, "Trying", now)
        headers: list[tuple[str, str]] = []
        if replaces is not None:
            headers.append(("Replaces", str(replaces)))
        referred_by = header(request, "Referred-By")
        if referred_by:
            headers.append(("Referred-By", referred_by[:256]))
        self.current_line = call.line
        new = self.place_call(target, now, headers=tuple(headers), hold_current=False)
        new.extra["referred_from"] = call.id

    def notify_referrer(self, call: Call, status: int, reason: str, now: float) -> None:
        """One NOTIFY of the referral's progress; one at a time (RFC 6665 §4.2.2: not the
        next before the last one's final response), later ones wait in order."""
        if call.ended:
            return
        if call.extra.get("notify_in_flight"):
            call.extra.setdefault("notify_queue", []).append((status, reason))
            return
        rid = self._sip("send_in_dialog", call.session, "NOTIFY", now=now,
                        body=sipfrag(status, reason), content_type="message/sipfrag;version=2.0",
                        headers=tuple((k, v) for k, v in notify_headers(status)
                                      if k != "Content-Type"))
        if rid is not None:
            call.extra["notify_in_flight"] = True
            self._requests[rid] = (call.id, "refer-notify")

    def on_refer_notify_answered(self, call: Call, now: float) -> None:
        """The referrer answered our last NOTIFY: the next one may go."""
        call.extra.pop("notify_in_flight", None)
        queue = call.extra.get("notify_queue")
        if queue:
            status, reason = queue.pop(0)
            self.notify_referrer(call, status, reason, now)

    def referred_progress(self, call: Call, status: int, reason: str, now: float) -> None:
        """Tell the referrer how the INVITE it asked for is doing (RFC 3515 §2.4.5)."""
        origin_id = call.extra.get("referred_from")
        origin = self.call_by_id(origin_id) if origin_id else None
        if origin is None:
            return
        if status >= 200:
            call.extra.pop("referred_from", None)
            origin.extra["referral_done"] = status < 300
        self.notify_referrer(origin, status, reason, now)

    def on_bye_also(self, call: Call, request: Any, now: float) -> bool:
        """A BYE that carries ``Also``: INVITE the Also target (seed B-3 steps 11-13). True if it did."""
        also = header(request, "Also")
        if not also:
            return False
        try:
            target = parse_name_addr_uri(also)
        except ValueError:
            return False
        headers: tuple[tuple[str, str], ...] = ()
        requested_by = header(request, "Requested-By")
        if requested_by:
            headers = (("Requested-By", requested_by[:256]),)
        self.current_line = call.line
        try:
            self.place_call(target, now, headers=headers, hold_current=False)
        except Exception as exc:  # noqa: BLE001 - a bad Also target must not kill the loop
            log.info("Also target %r not called: %s", also, exc)
            return False
        return True

    # ------------------------------------------------------------------ transfer target
    def find_replaced(self, value: str) -> Call | None:
        """The call an incoming ``Replaces`` header names (RFC 3891 §3), or None."""
        try:
            rep = Replaces.parse(value)
        except ValueError:
            return None
        for call in self._all_calls():
            if call.ended or call.session is None:
                continue
            info = self.dialog_info(call.session)
            if info is None:
                continue
            call_id, local_tag, remote_tag = info
            if call_id == rep.call_id and local_tag == rep.to_tag and remote_tag == rep.from_tag:
                if rep.early_only and call.established:
                    return None
                return call
        return None
