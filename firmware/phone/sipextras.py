"""SIP requests a desk phone answers besides calls: MWI NOTIFYs, UPDATE, INFO, intercom.

Why a mixin in front of ``SipEvents``: each handler here takes what it knows
and hands everything else to the call handlers (``super()``), so the core
call flows stay as they were.

- ``UPDATE`` with an SDP offer (RFC 3311 §5.2) gets a 200 with our answer and the
  stream follows it (hold, a new address or codec), exactly like a re-INVITE;
  one without a body (a session refresh) gets a plain 200; an offer with no
  common codec gets 488 and a Warning, and the call goes on unchanged.
- ``INFO`` ``application/dtmf-relay`` (``Signal=5``) or ``application/dtmf``
  is a digit from the far end, shown and logged like an RFC 4733 event; an
  empty INFO (a keep-alive) gets 200; another body type gets 415 with Accept.
- An incoming call takes its name from the local directory when the caller
  is in it (the user's own name for a number wins over the From display name);
  a call we place shows the directory's name for the number dialled.
- Intercom (auto-answer): an INVITE from the proxy's address with
  ``Call-Info: <...>;answer-after=0`` or ``Alert-Info: <...>;info=alert-autoanswer``
  is answered at once on the speaker, with a warning beep and the microphone
  muted until the user presses mute (the safe default), but only with
  ``auto_answer: 1``, and only when the phone is idle; otherwise it rings.
"""

from __future__ import annotations

import logging
import re
from functools import partial
from typing import Any

from firmware.phone.call import CallState
from firmware.phone.mwi import MwiOps
from firmware.phone.screens import uri_user
from firmware.phone.sipevents import _parse, header

log = logging.getLogger(__name__)
_S = CallState

INTERCOM_ALERT_S = 0.6  # the warning beeps before the far end is heard
_DTMF_DIGITS = frozenset("0123456789*#ABCD")
_SIGNAL_RE = re.compile(r"^\s*signal\s*=\s*(\S+)", re.IGNORECASE | re.MULTILINE)
_DTMF_TYPES = ("application/dtmf-relay", "application/dtmf")


def dtmf_from_info(content_type: str | None, body: bytes) -> str | None:
    """The digit an INFO carries (``Signal=5`` of dtmf-relay, or a bare digit), else None."""
    kind = (content_type or "").split(";", 1)[0].strip().lower()
    text = body[:256].decode("ascii", "replace")
    if kind == "application/dtmf-relay":
        m = _SIGNAL_RE.search(text)
        value = m.group(1) if m else ""
    elif kind == "application/dtmf":
        value = text.strip()
    else:
        return None
    if value == "10":  # RFC 4733 event numbers for * and #, as some gateways send them
        value = "*"
    elif value == "11":
        value = "#"
    value = value.upper()
    return value if len(value) == 1 and value in _DTMF_DIGITS else None


def wants_auto_answer(request: Any) -> bool:
    """``Call-Info: ...;answer-after=0`` or ``Alert-Info: ...;info=alert-autoanswer``."""
    call_info = (header(request, "Call-Info") or "").lower().replace(" ", "")
    alert_info = (header(request, "Alert-Info") or "").lower().replace(" ", "")
    return ";answer-after=0" in call_info or "info=alert-autoanswer" in alert_info


class SipExtras(MwiOps):
    """Handlers in front of ``SipEvents`` (mixed into ``Phone``)."""

    # ------------------------------------------------------------------ incoming calls
    def _on_IncomingCall(self, event: Any, now: float) -> None:
        super()._on_IncomingCall(event, now)  # type: ignore[misc]
        call = self._by_session.get(event.session)
        if call is None or call.state is not _S.INCOMING:
            return
        name = self.directory.name_for(uri_user(event.from_uri))
        if name:
            call.remote_display = name
        if self._intercom_allowed(event, call):
            log.info("[%s] intercom call from %s: answered muted on the speaker",
                     call.id, event.from_uri)
            self.speaker, self.headset = True, False
            self.answer(call, now)
            self.muted = True
            call.extra["alert_until"] = now + INTERCOM_ALERT_S
            call.extra["intercom"] = True

    def _intercom_allowed(self, event: Any, call: Any) -> bool:
        if not self.settings.auto_answer or not wants_auto_answer(event.request):
            return False
        source = getattr(event, "source", None)
        if source is None or str(source[0]).lower() not in self.settings.proxy_hosts:
            log.warning("auto-answer asked by %s refused: not the proxy", source)
            return False
        others = [c for c in self._all_calls() if c is not call and not c.ended]
        return not others and not self.active

    def place_call(self, target: str, now: float, **kwargs: Any) -> Any:
        """A call we place shows the directory's name for the number, like an incoming one."""
        call = super().place_call(target, now, **kwargs)  # type: ignore[misc]
        if not call.remote_display:
            call.remote_display = self.directory.name_for(uri_user(call.remote)) or None
        return call

    # ------------------------------------------------------------------ requests
    def _on_OutOfDialogRequest(self, event: Any, now: float) -> None:
        if self.is_mwi_notify(event):
            self.mwi_notify(event, now)
            return
        super()._on_OutOfDialogRequest(event, now)  # type: ignore[misc]

    def _on_RequestAnswered(self, event: Any, now: float) -> None:
        entry = self._requests.get(event.request_id)
        if entry is not None and entry[1] == "mwi":
            del self._requests[event.request_id]
            self.mwi_answered(event, now)
            return
        super()._on_RequestAnswered(event, now)  # type: ignore[misc]

    def _on_InDialogRequest(self, event: Any, now: float) -> None:
        method = event.method.upper()
        call = self._by_session.get(getattr(event, "session", "") or "")
        if call is None or method not in ("UPDATE", "INFO"):
            super()._on_InDialogRequest(event, now)  # type: ignore[misc]
            return
        if method == "UPDATE":
            self._update(call, event, now)
        else:
            self._info_request(call, event, now)

    def _update(self, call: Any, event: Any, now: float) -> None:
        """RFC 3311: an offer in an UPDATE is answered in its 200 (no ACK follows)."""
        if not event.body:
            self._sip("respond", event.request_id, 200, now=now)
            return
        offer = _parse(event.body)
        if offer is None:
            self._sip("respond", event.request_id, 400, now=now, reason="Bad SDP")
            return
        result = self.answer_reoffer(call, offer, partial(self._sip, "respond", event.request_id,
                                                          now=now))
        if result is None:
            return
        self._sip("respond", event.request_id, 200, now=now, body=result.sdp.to_bytes(),
                  content_type="application/sdp")
        if call.established:
            self.follow_offer(call, result.negotiated, now)

    def _info_request(self, call: Any, event: Any, now: float) -> None:
        if not event.body:
            self._sip("respond", event.request_id, 200, now=now)
            return
        kind = (event.content_type or "").split(";", 1)[0].strip().lower()
        if kind not in _DTMF_TYPES:
            self._sip("respond", event.request_id, 415, now=now,
                      reason="Unsupported Media Type",
                      headers=(("Accept", ", ".join(_DTMF_TYPES)),))
            return
        digit = dtmf_from_info(event.content_type, event.body)
        if digit is None:
            self._sip("respond", event.request_id, 400, now=now, reason="Bad DTMF Signal")
            return
        self._sip("respond", event.request_id, 200, now=now)
        self.dtmf_received(call.id, digit, now)

    # ------------------------------------------------------------------ timers
    def feature_deadlines(self) -> list[float]:
        out = self.mwi_deadlines()
        out += [t for c in self._all_calls() if (t := c.extra.get("alert_until")) is not None
                and not c.ended]
        return out

    def fire_feature_timers(self, now: float) -> None:
        self.fire_mwi(now)
        for c in self._all_calls():
            if (t := c.extra.get("alert_until")) is not None and t <= now:
                del c.extra["alert_until"]
