"""The caller's half of automatic redial (RFC 5359 §2.17): CallBack after a busy.

Why: a call that ends 486 Busy Here shows a ``CallBack`` softkey (the name
desk phones give RFC 5359's "automatic redial"). Pressed, the phone
SUBSCRIBEs to the callee's dialog state (RFC 4235: ``Event: dialog``,
``Accept: application/dialog-info+xml``) and goes back to idle, showing
"CallBack: <number>". When a NOTIFY says the callee has no call left (every
dialog ``terminated``, or none), the phone rings and shows "<number> is free"
(RFC 5359: "Alice is alerted"); lifting the handset, pressing ``Dial`` or
the speaker redials. Once the callee answers, the subscription is ended
(``SUBSCRIBE`` with ``Expires: 0``), as in the RFC's figure (F16).

- the redial finds the callee busy again: the phone keeps watching (the
  subscription lives on) and alerts again when the callee is free;
- the alert is not taken within ``ALERT_S`` or ``Exit`` is pressed: the
  subscription ends and the callback is over; so does a refused SUBSCRIBE
  (the callee's phone cannot tell us: "CallBack refused: 489"), the
  callee's ``terminated`` NOTIFY, or ``EXPIRES`` seconds without a redial;
- one callback at a time: a new CallBack replaces the old one; at dial tone the
  row is ``Redial, CallBack, EndCall`` while one waits, and CallBack cancels it.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from firmware.phone.base import PhoneBase
from firmware.phone.call import Call, CallState
from firmware.phone.callops import PhoneError
from firmware.phone.dialoginfo import CONTENT_TYPE, EVENT, parse_dialog_info
from firmware.phone.dialogstate import event_package
from firmware.phone.screens import uri_user
from firmware.phone.softkeys import CALLBACK, DIAL, EXIT
from firmware.phone.transferops import header
from hal.base import RING_NORMAL, RingCadence

log = logging.getLogger(__name__)

EXPIRES = 3600  # how long a callback waits for the callee (one subscription, not refreshed)
ALERT_S = 30.0  # how long the phone rings "<number> is free" before giving up
LINGER_S = 32.0  # after the unsubscribe: wait this long for the final NOTIFY (64*T1/2)


@dataclass(slots=True)
class Callback:
    """One automatic redial: the number, the subscription dialog, and where we are.

    ``phase``: ``subscribing`` (SUBSCRIBE sent), ``waiting`` (callee busy),
    ``alerting`` (callee free, ringing the user), ``calling`` (redial placed),
    ``ending`` (unsubscribed, waiting for the last NOTIFY).
    """

    target: str
    display: str | None
    call_id: str
    tag: str
    phase: str = "subscribing"
    request: str | None = None
    remote_tag: str | None = None
    remote_target: str | None = None
    version: int = -1
    dialogs: dict[str, str] = field(default_factory=dict)
    deadline: float | None = None  # expiry, alert timeout or end of ``ending``
    call: str | None = None  # the redial's call id

    def to_json(self) -> dict[str, Any]:
        return {"target": self.target, "state": self.phase}


class CallbackOps(PhoneBase):
    """CallBack (automatic redial) for ``Phone``; the callee half is ``dialogstate.py``."""

    callback: Callback | None = None

    # ------------------------------------------------------------------ the user
    def softkey(self, label: str, now: float) -> None:
        cb = self.callback if getattr(self, "menu", None) is None else None
        focused = self.line().focused
        if label == CALLBACK and cb is not None and focused is not None \
                and focused.state is CallState.DIALING and not focused.remote:
            self.notice = "CallBack cancelled"  # the key again, at dial tone: cancel it
            self.end_callback(now)
        elif label == CALLBACK:
            if focused is None or not focused.ended or focused.reason != "busy" \
                    or focused.direction != "out":
                raise PhoneError(409, "no busy call to call back")
            self.start_callback(focused, now)
        elif cb is not None and cb.phase == "alerting" and focused is None and label == DIAL:
            self.redial_callback(now)
        elif cb is not None and cb.phase == "alerting" and focused is None and label == EXIT:
            self.notice = "CallBack cancelled"
            self.end_callback(now)
        else:
            super().softkey(label, now)  # type: ignore[misc]

    def go_off_hook(self, now: float) -> None:
        cb = self.callback
        if cb is not None and cb.phase == "alerting" and self.line().focused is None \
                and not self.speaker:
            self.redial_callback(now)
            return
        super().go_off_hook(now)  # type: ignore[misc]

    def start_callback(self, call: Call, now: float) -> None:
        """Watch ``call``'s callee (it ended busy) and ring when they are free."""
        if self.callback is not None:
            self.end_callback(now)
        target, display = call.remote, call.remote_display
        self.forget(call)  # type: ignore[attr-defined]
        tag = self.endpoint.new_tag()
        call_id = f"{self.endpoint.new_tag()}{self.endpoint.new_tag()}@{self.settings.media_address}"
        cb = Callback(target=target, display=display, call_id=call_id, tag=tag,
                      deadline=now + EXPIRES)
        rid = self._sip("send_request", "SUBSCRIBE", target, now=now,  # type: ignore[attr-defined]
                        headers=(("Event", EVENT), ("Accept", CONTENT_TYPE),
                                 ("Expires", str(EXPIRES))),
                        dialog=(call_id, tag, None))
        if rid is None:
            self.notice = "CallBack not possible"
            return
        cb.request = rid
        self._requests[rid] = ("", "callback")
        self.callback = cb
        self.notice = f"CallBack set: {uri_user(target)}"
        log.info("CallBack: watching %s", target)

    def redial_callback(self, now: float) -> None:
        cb = self.callback
        assert cb is not None
        if not self.handset_up:
            self.speaker = True
        call = self.place_call(cb.target, now)  # type: ignore[attr-defined]
        call.extra["callback"] = True
        cb.phase, cb.call, cb.deadline = "calling", call.id, now + EXPIRES

    def end_callback(self, now: float) -> None:
        """Unsubscribe (when the callee knows us) and forget the callback."""
        cb = self.callback
        if cb is None:
            return
        if cb.phase == "ending":
            return
        if cb.remote_tag is None:  # never subscribed: nothing to end on the far side
            self.callback = None
            return
        cb.phase, cb.deadline = "ending", now + LINGER_S
        rid = self._sip("send_request", "SUBSCRIBE", cb.remote_target or cb.target,  # type: ignore[attr-defined]
                        now=now, headers=(("Event", EVENT), ("Accept", CONTENT_TYPE),
                                          ("Expires", "0")),
                        dialog=(cb.call_id, cb.tag, cb.remote_tag))
        if rid is None:
            self.callback = None
            return
        self._requests[rid] = ("", "callback")
        cb.request = rid

    # ------------------------------------------------------------------ the redial call
    def end_call(self, call: Call, now: float, reason: str, *, failed: bool = False) -> None:
        super().end_call(call, now, reason, failed=failed)  # type: ignore[misc]
        cb = self.callback
        if cb is None or cb.call != call.id or cb.phase != "calling":
            return
        if call.reason == "busy":  # busy again: keep watching
            cb.phase, cb.call = "waiting", None
            cb.deadline = now + EXPIRES
        elif call.connected_at is None:
            self.end_callback(now)

    def _on_CallAnswered(self, event: Any, now: float) -> None:
        super()._on_CallAnswered(event, now)  # type: ignore[misc]
        cb = self.callback
        call = self._by_session.get(getattr(event, "session", "") or "")
        if cb is not None and call is not None and cb.call == call.id and call.established:
            self.end_callback(now)  # RFC 5359 F16: the redial is answered

    # ------------------------------------------------------------------ SIP
    def callback_answered(self, event: Any, now: float) -> None:
        """The final response to our SUBSCRIBE (initial or unsubscribe)."""
        cb = self.callback
        if cb is None or event.request_id != cb.request:
            return
        cb.request = None
        if cb.phase == "ending":
            if event.status >= 300:
                self.callback = None
            return
        if 200 <= event.status < 300 and event.response is not None:
            resp = event.response
            cb.remote_tag = cb.remote_tag or resp.to.tag
            contacts = resp.contacts
            if contacts and cb.remote_target is None:
                cb.remote_target = str(contacts[0].uri)
            if cb.phase == "subscribing":
                cb.phase = "waiting"
            return
        log.info("CallBack: SUBSCRIBE to %s answered %d", cb.target, event.status)
        self.notice = f"CallBack refused: {event.status}"
        self.callback = None

    def is_callback_notify(self, event: Any) -> bool:
        return str(event.method).upper() == "NOTIFY" and event_package(event.request) == EVENT

    def callback_notify(self, event: Any, now: float) -> None:
        req, rid = event.request, event.request_id
        cb = self.callback
        if cb is None or req.to.tag != cb.tag or str(req.call_id) != cb.call_id:
            self._sip("respond", rid, 481, now=now, reason="Subscription Does Not Exist")  # type: ignore[attr-defined]
            return
        info = None
        if event.body:
            try:
                info = parse_dialog_info(event.body)
            except ValueError as exc:
                log.info("CallBack: bad dialog-info: %s", exc)
                self._sip("respond", rid, 400, now=now, reason="Bad Dialog Info")  # type: ignore[attr-defined]
                return
        self._sip("respond", rid, 200, now=now)  # type: ignore[attr-defined]
        cb.remote_tag = cb.remote_tag or req.from_.tag
        if cb.remote_target is None and req.contacts:
            cb.remote_target = str(req.contacts[0].uri)
        if info is not None and info.version > cb.version:
            cb.version = info.version
            if info.full:
                cb.dialogs = {}
            cb.dialogs.update({d.id: d.state for d in info.dialogs})
            cb.dialogs = {k: v for k, v in cb.dialogs.items() if v != "terminated"}
        state = (header(req, "Subscription-State") or "").split(";", 1)[0].strip().lower()
        if state == "terminated":
            if cb.phase in ("waiting", "subscribing", "alerting"):
                self.notice = "CallBack ended"
            if cb.phase != "calling":
                self.callback = None
            return
        if cb.phase in ("subscribing", "waiting") and info is not None and not cb.dialogs:
            log.info("CallBack: %s is free", cb.target)
            cb.phase, cb.deadline = "alerting", now + ALERT_S
        elif cb.phase == "alerting" and cb.dialogs:  # busy again before we redialled
            cb.phase, cb.deadline = "waiting", now + EXPIRES

    # ------------------------------------------------------------------ views, timers
    def callback_row(self) -> str:
        cb = self.callback
        if cb is None or cb.phase in ("calling", "ending"):
            return ""
        who = cb.display or uri_user(cb.target)
        return f"{who} is free" if cb.phase == "alerting" else f"CallBack: {who}"

    @property
    def callback_alerting(self) -> bool:
        cb = self.callback
        return cb is not None and cb.phase == "alerting" and self.line().focused is None

    def _desired_ring(self) -> RingCadence | None:
        ring = super()._desired_ring()  # type: ignore[misc]
        if ring is None and self.callback_alerting and not self.active:
            return RING_NORMAL
        return ring

    def callback_deadlines(self) -> list[float]:
        cb = self.callback
        return [cb.deadline] if cb is not None and cb.deadline is not None else []

    def fire_callback(self, now: float) -> None:
        cb = self.callback
        if cb is None or cb.deadline is None or cb.deadline > now:
            return
        cb.deadline = None
        if cb.phase == "ending":
            self.callback = None
            return
        if cb.phase == "alerting":
            self.notice = "CallBack not taken"
        elif cb.phase in ("subscribing", "waiting"):
            self.notice = "CallBack ended"  # an hour without the callee getting free
        self.end_callback(now)
