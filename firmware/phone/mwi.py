"""Message waiting (RFC 3842 message-summary over RFC 6665 SUBSCRIBE/NOTIFY).

Why in call control: the envelope icon, the count on the LCD, the stutter
dial tone and the ``mwi`` status field all follow one ``MessageSummary``.
Two ways in, as voicemail servers do it:

- ``mwi_subscribe: 1``: SUBSCRIBE ``Event: message-summary`` to ``mwi_uri``
  (default: line 1's address of record), refreshed before it expires (at 90 %
  of what the server granted, in the same dialog) and retried with back-off
  (30 s doubling to 30 min) when refused or unanswered; the NOTIFYs of that
  dialog are taken from anyone who knows the dialog (Call-ID and our tag).
- unsolicited NOTIFYs outside any dialog (Asterisk's and FreePBX's default
  ``mwi`` for a registered peer) are taken only from the proxy's address
  (``settings.proxy_hosts``); anyone else gets 403, like check-sync.

A body we cannot read gets 400 and changes nothing.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from typing import Any

from firmware.phone.base import PhoneBase

log = logging.getLogger(__name__)

EVENT = "message-summary"
CONTENT_TYPE = "application/simple-message-summary"
RETRY_MIN, RETRY_MAX = 30.0, 1800.0
MAX_BODY = 8192
_VOICE_RE = re.compile(r"^(\d{1,6})/(\d{1,6})(?:\s*\((\d{1,6})/(\d{1,6})\))?\s*$")


@dataclass(frozen=True, slots=True, kw_only=True)
class MessageSummary:
    """``waiting`` (Messages-Waiting), and the voice messages ``new``/``old`` when given."""

    waiting: bool = False
    new: int | None = None
    old: int | None = None

    def to_json(self) -> dict[str, Any]:
        return {"waiting": self.waiting, "new": self.new, "old": self.old}


def parse_message_summary(body: bytes) -> MessageSummary:
    """RFC 3842 §5.2 body; raises ValueError when ``Messages-Waiting`` is missing or odd."""
    if len(body) > MAX_BODY:
        raise ValueError("message-summary body too large")
    waiting: bool | None = None
    new = old = None
    for raw in body.decode("utf-8", "replace").splitlines():
        name, sep, value = raw.partition(":")
        if not sep:
            continue
        name, value = name.strip().lower(), value.strip()
        if name == "messages-waiting":
            if value.lower() not in ("yes", "no"):
                raise ValueError(f"Messages-Waiting: {value[:20]!r}")
            waiting = value.lower() == "yes"
        elif name == "voice-message":
            m = _VOICE_RE.match(value)
            if m is None:
                raise ValueError(f"Voice-Message: {value[:30]!r}")
            new, old = int(m.group(1)), int(m.group(2))
    if waiting is None:
        raise ValueError("no Messages-Waiting line")
    return MessageSummary(waiting=waiting, new=new, old=old)


def _header(request: Any, name: str) -> str | None:
    headers = getattr(request, "headers", None)
    try:
        value = headers.get(name) if headers is not None else None
    except Exception:  # noqa: BLE001 - a malformed header is simply absent
        return None
    return str(value) if value else None


def _tag(value: str | None) -> str | None:
    if not value:
        return None
    m = re.search(r";\s*tag=([^;>\s]+)", value)
    return m.group(1) if m else None


@dataclass(slots=True)
class _Subscription:
    target: str
    request: str | None = None  # the SUBSCRIBE in flight
    call_id: str | None = None
    local_tag: str | None = None
    remote_tag: str | None = None
    remote_target: str | None = None
    due: float | None = None  # next SUBSCRIBE (refresh or retry)
    failures: int = 0
    active: bool = False


class MwiOps(PhoneBase):
    """Message waiting (mixed into ``Phone``)."""

    mwi: MessageSummary
    _mwi_sub: _Subscription | None

    def init_mwi(self) -> None:
        self.mwi = MessageSummary()
        target = self.settings.mwi_uri or (self.lines[0].settings.aor if self.lines else "")
        self._mwi_sub = _Subscription(target=target, due=0.0) \
            if self.settings.mwi_subscribe and target else None

    # ------------------------------------------------------------------ subscribing
    def mwi_deadlines(self) -> list[float]:
        sub = self._mwi_sub
        return [sub.due] if sub is not None and sub.due is not None else []

    def fire_mwi(self, now: float) -> None:
        sub = self._mwi_sub
        if sub is None or sub.due is None or sub.due > now or sub.request is not None:
            return
        sub.due = None
        headers = [("Event", EVENT), ("Accept", CONTENT_TYPE),
                   ("Expires", str(self.settings.mwi_expires))]
        dialog = None
        if sub.active and sub.call_id and sub.local_tag:
            dialog = (sub.call_id, sub.local_tag, sub.remote_tag)
        target = sub.remote_target if dialog is not None and sub.remote_target else sub.target
        try:
            sub.request = self.endpoint.send_request(
                "SUBSCRIBE", target, now=now, headers=tuple(headers), dialog=dialog)
        except Exception as exc:  # noqa: BLE001 - a bad mwi_uri must not stop the phone
            log.warning("MWI: cannot SUBSCRIBE to %s: %s", target, exc)
            self._mwi_retry(now)
            return
        self._requests[sub.request] = ("", "mwi")

    def mwi_answered(self, event: Any, now: float) -> None:
        """The final response to our SUBSCRIBE (``RequestAnswered``)."""
        sub = self._mwi_sub
        if sub is None or event.request_id != sub.request:
            return
        sub.request = None
        resp = event.response
        if 200 <= event.status < 300 and resp is not None:
            expires = self.settings.mwi_expires
            try:
                expires = int(_header(resp, "Expires") or expires)
            except ValueError:
                pass
            if expires <= 0:  # the server ended it at once: try again later
                sub.active = False
                self._mwi_retry(now)
                return
            sub.call_id = str(resp.call_id)
            sub.local_tag = _tag(_header(resp, "From"))
            sub.remote_tag = _tag(_header(resp, "To"))
            contact = _header(resp, "Contact")
            if contact:
                sub.remote_target = contact.split(">", 1)[0].strip().lstrip("<").strip()
            sub.active, sub.failures = True, 0
            sub.due = now + 0.9 * expires
            log.info("MWI: subscribed to %s for %d s", sub.target, expires)
        else:
            log.info("MWI: SUBSCRIBE to %s answered %d %s", sub.target, event.status, event.reason)
            sub.active = False
            self._mwi_retry(now)

    def _mwi_retry(self, now: float) -> None:
        sub = self._mwi_sub
        if sub is None:
            return
        sub.failures += 1
        sub.due = now + min(RETRY_MAX, RETRY_MIN * 2 ** (sub.failures - 1))

    # ------------------------------------------------------------------ notifications
    def is_mwi_notify(self, event: Any) -> bool:
        event_pkg = (_header(event.request, "Event") or "").split(";", 1)[0].strip().lower()
        return str(event.method).upper() == "NOTIFY" and event_pkg == EVENT

    def mwi_notify(self, event: Any, now: float) -> None:
        """A message-summary NOTIFY: ours (dialog) or unsolicited from the proxy."""
        req = event.request
        to_tag = _tag(_header(req, "To"))
        sub = self._mwi_sub
        ours = (sub is not None and to_tag is not None and sub.local_tag == to_tag
                and sub.call_id == str(getattr(req, "call_id", "")))
        if to_tag is not None and not ours:
            self._sip("respond", event.request_id, 481, now=now,
                      reason="Subscription Does Not Exist")
            return
        source = getattr(event, "source", None)
        if not ours and (source is None or str(source[0]).lower() not in self.settings.proxy_hosts):
            log.warning("MWI NOTIFY from %s refused: not the proxy", source)
            self._sip("respond", event.request_id, 403, now=now, reason="Forbidden")
            return
        try:
            summary = parse_message_summary(event.body or b"")
        except ValueError as exc:
            log.info("MWI NOTIFY with a bad body: %s", exc)
            self._sip("respond", event.request_id, 400, now=now, reason="Bad Message Summary")
            return
        self._sip("respond", event.request_id, 200, now=now)
        state = (_header(req, "Subscription-State") or "").split(";", 1)[0].strip().lower()
        if ours and state == "terminated" and sub is not None:
            sub.active = False
            sub.call_id = sub.local_tag = sub.remote_tag = None
            self._mwi_retry(now)
        if summary != self.mwi:
            log.info("MWI: %s", summary)
        self.mwi = summary
