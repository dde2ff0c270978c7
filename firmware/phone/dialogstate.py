"""The callee's half of automatic redial: RFC 4235 dialog-state subscriptions we serve.

Why: RFC 5359 §2.17 (automatic redial) has the caller who got 486 Busy Here
SUBSCRIBE to the callee's dialog state and redial once the callee's call is
over. A desk phone that answers those SUBSCRIBEs lets any SIP phone with the
feature (ours: ``callback.py``) call back as soon as its user hangs up.

What a watcher is told (``dialoginfo.py``): each call of ours once it is
established (``confirmed``) and, once, its end (``terminated``); calls being
set up or ringing are not reported (a watcher waiting for "free" needs
neither, and ringing stays private), nor is any party's identity. NOTIFYs are
full state, versioned per subscription, one in flight at a time (a change
while one is unanswered is sent after its answer, RFC 6665 §4.2.2).

- a new ``SUBSCRIBE`` (``Event: dialog``) gets 200 with ``Expires`` (at most
  ``MAX_EXPIRES``) and at once a NOTIFY with the present state; ``Expires: 0``
  is a one-off fetch (200, then a final NOTIFY); at most ``MAX_WATCHERS``
  (503 beyond); with ``dialog_events: 0`` it gets 403; another event package gets 489; an ``Accept`` without
  ``application/dialog-info+xml`` gets 406;
- a refresh in the dialog extends it; ``Expires: 0`` ends it with a NOTIFY
  ``Subscription-State: terminated``; an unknown dialog gets 481;
- a subscription that runs out is ended the same way (``reason=timeout``); a
  NOTIFY answered 481 or unanswered (408) drops it silently.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from firmware.phone.base import PhoneBase
from firmware.phone.dialoginfo import (
    CONTENT_TYPE,
    EVENT,
    DialogEntry,
    DialogInfo,
    build_dialog_info,
)
from firmware.phone.transferops import header

log = logging.getLogger(__name__)

MAX_WATCHERS = 8
MAX_EXPIRES = 3600


def event_package(request: Any) -> str:
    return (header(request, "Event") or "").split(";", 1)[0].strip().lower()


def _expires(request: Any, default: int) -> int | None:
    raw = header(request, "Expires")
    if raw is None:
        return default
    try:
        value = int(raw.strip())
    except ValueError:
        return None
    return value if value >= 0 else None


@dataclass(slots=True)
class Watcher:
    """One subscription to our dialog state (the dialog's ids, and what it was last told)."""

    call_id: str
    tag: str  # ours: the To tag of our 200
    their_tag: str
    target: str  # the subscriber's Contact
    entity: str
    expires_at: float
    version: int = 0
    sent: dict[str, str] | None = None  # dialog id -> state in the last NOTIFY
    request: str | None = None  # NOTIFY in flight
    again: bool = False  # state changed while a NOTIFY was in flight
    final: str | None = None  # the terminated Subscription-State, once ending


class DialogStateOps(PhoneBase):
    """Serve RFC 4235 subscriptions to this phone's calls (mixed into ``Phone``)."""

    _watchers: dict[tuple[str, str], Watcher]

    def init_dialog_state(self) -> None:
        self._watchers = {}

    def _dialog_snapshot(self) -> dict[str, str]:
        return {c.id: "confirmed" for c in self._all_calls() if c.established}

    # ------------------------------------------------------------------ SUBSCRIBE
    def is_dialog_subscribe(self, event: Any) -> bool:
        return str(event.method).upper() == "SUBSCRIBE"

    def dialog_subscribe(self, event: Any, now: float) -> None:
        """An incoming SUBSCRIBE (new, refresh or unsubscribe); every one is answered."""
        req, rid = event.request, event.request_id
        if event_package(req) == EVENT and not self.settings.dialog_events:
            self._sip("respond", rid, 403, now=now, reason="Forbidden")  # dialog_events: 0
            return
        if event_package(req) != EVENT:
            self._sip("respond", rid, 489, now=now, reason="Bad Event",
                      headers=(("Allow-Events", EVENT),))
            return
        accept = (header(req, "Accept") or "").lower()
        if accept and CONTENT_TYPE not in accept and "*/*" not in accept:
            self._sip("respond", rid, 406, now=now, reason="Not Acceptable",
                      headers=(("Accept", CONTENT_TYPE),))
            return
        expires = _expires(req, MAX_EXPIRES)
        if expires is None:
            self._sip("respond", rid, 400, now=now, reason="Bad Expires")
            return
        expires = min(expires, MAX_EXPIRES)
        to_tag = req.to.tag
        if to_tag is not None:
            self._refresh_watcher(rid, str(req.call_id), to_tag, expires, now)
            return
        if expires and len(self._watchers) >= MAX_WATCHERS:
            self._sip("respond", rid, 503, now=now, reason="Too Many Subscriptions",
                      headers=(("Retry-After", "60"),))
            return
        contacts = req.contacts
        if not contacts or not req.from_.tag:
            self._sip("respond", rid, 400, now=now, reason="Missing Contact or From tag")
            return
        tag = self.endpoint.new_tag()
        w = Watcher(call_id=str(req.call_id), tag=tag, their_tag=req.from_.tag,
                    target=str(contacts[0].uri), entity=str(req.uri)[:256],
                    expires_at=now + expires)
        self._sip("respond", rid, 200, now=now, to_tag=tag,
                  headers=(("Expires", str(expires)),))
        log.info("dialog state: %s subscribed for %d s", w.target, expires)
        if expires:
            self._watchers[(w.call_id, tag)] = w
            self._notify(w, now)
        else:
            self._end_watcher(w, now, "terminated;reason=timeout")

    def _refresh_watcher(self, rid: str, call_id: str, tag: str, expires: int,
                         now: float) -> None:
        w = self._watchers.get((call_id, tag))
        if w is None or w.final is not None:
            self._sip("respond", rid, 481, now=now, reason="Subscription Does Not Exist")
            return
        self._sip("respond", rid, 200, now=now, headers=(("Expires", str(expires)),))
        if expires == 0:
            self._end_watcher(w, now, "terminated;reason=timeout")
            return
        w.expires_at = now + expires
        w.sent = None  # a refresh is answered with the full state (RFC 6665 §4.2.1.2)
        self._notify(w, now)

    # ------------------------------------------------------------------ NOTIFY
    def publish_dialogs(self, now: float) -> None:
        """Tell every watcher whose last NOTIFY no longer matches our calls (``_refresh``)."""
        watchers = self._watchers
        if not watchers:
            return
        state = self._dialog_snapshot()
        for w in list(watchers.values()):
            if w.final is None and w.sent != state:
                self._notify(w, now)

    def _notify(self, w: Watcher, now: float) -> None:
        if w.request is not None:
            w.again = True
            return
        w.again = False
        state = self._dialog_snapshot()
        dialogs = [DialogEntry(id=i, state=s) for i, s in state.items()]
        dialogs += [DialogEntry(id=i, state="terminated") for i in (w.sent or {})
                    if i not in state]
        body = build_dialog_info(DialogInfo(version=w.version, full=True, entity=w.entity,
                                            dialogs=tuple(dialogs)))
        w.version += 1
        w.sent = state
        left = max(0, int(w.expires_at - now))
        sub_state = w.final or f"active;expires={left}"
        rid = self._sip("send_request", "NOTIFY", w.target, now=now, body=body,
                        content_type=CONTENT_TYPE,
                        headers=(("Event", EVENT), ("Subscription-State", sub_state)),
                        dialog=(w.call_id, w.tag, w.their_tag))
        if rid is None:
            self._watchers.pop((w.call_id, w.tag), None)
            return
        w.request = rid
        self._requests[rid] = ("", "dialog-notify")

    def _end_watcher(self, w: Watcher, now: float, final: str) -> None:
        w.final = final
        self._watchers.setdefault((w.call_id, w.tag), w)
        if w.request is None:
            self._notify(w, now)
        else:
            w.again = True

    def dialog_notify_answered(self, event: Any, now: float) -> None:
        w = next((x for x in self._watchers.values() if x.request == event.request_id), None)
        if w is None:
            return
        w.request = None
        gone = event.status in (404, 408, 410, 481) or event.status >= 500
        if w.final is not None and not w.again or gone:
            self._watchers.pop((w.call_id, w.tag), None)
            if gone and w.final is None:
                log.info("dialog state: %s dropped (%d)", w.target, event.status)
            return
        if w.again:
            self._notify(w, now)

    # ------------------------------------------------------------------ timers
    def watcher_deadlines(self) -> list[float]:
        return [w.expires_at for w in self._watchers.values() if w.final is None]

    def expire_watchers(self, now: float) -> None:
        for w in list(self._watchers.values()):
            if w.final is None and w.expires_at <= now:
                self._end_watcher(w, now, "terminated;reason=timeout")
