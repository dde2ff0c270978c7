"""What the user does to calls: dial, answer, hold, resume, swap, hang up (seed B-1..B-6).

Why a mixin of ``Phone``: these are the operations the keys, the softkeys and
the control API trigger; keeping them apart from SIP event handling
(``sipevents.py``) keeps each module to one concern. Every SIP side effect is
an ``Endpoint`` command; every media side effect an ``Action``.

Hold (RFC 3264 §8.4, seed B-2/B-4): a re-INVITE whose offer is
``c=IN IP4 0.0.0.0`` (``hold_method: c0``, the seed) or ``a=sendonly``
(``hold_method: sendonly``). The state changes when the answer arrives.
Operations that must follow a hold (answer a waiting call, B-6; call the
consultation target, B-5/B-8; resume the other call on Swap) are queued on
the held call's ``extra["then"]`` and run from ``ReInviteAnswered``.
"""

from __future__ import annotations

import dataclasses
import logging
from typing import Any

from firmware.media.codecs import PCMA, PCMU, codec_by_name
from firmware.media.sdp import LocalMedia, NoCommonCodec, SdpSession, SrtpPolicy
from firmware.phone.actions import HistoryChanged, StopMedia
from firmware.phone.base import PhoneBase
from firmware.phone.call import ESTABLISHED, LIVE_OUTGOING, Call, CallInput, CallState
from firmware.phone.dialing import target_uri
from firmware.phone.forwarding import Redirector
from firmware.phone.history import HistoryEntry, Kind
from firmware.phone.line import Line

log = logging.getLogger(__name__)
_S, _I = CallState, CallInput


class PhoneError(Exception):
    """A user request the phone refuses: ``status`` 400 (bad input) or 409 (wrong state)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


class CallOps(PhoneBase):
    """User-driven call operations (mixed into ``Phone``)."""

    # ------------------------------------------------------------------ helpers
    def _sip(self, method: str, *args: Any, **kwargs: Any) -> Any:
        """Call an endpoint command; a refusal (a race with the network) is logged, not raised."""
        try:
            return getattr(self.endpoint, method)(*args, **kwargs)
        except Exception as exc:  # noqa: BLE001 - EndpointError and friends: never kill the loop
            log.warning("endpoint %s refused: %s", method, exc)
            return None

    def new_call(self, direction: str, line: Line, now: float, remote: str = "") -> Call:
        if line.full:
            raise PhoneError(409, f"line {line.index} already has two calls")
        call = Call(id=f"c{self.new_id()}", line=line.index, direction=direction,  # type: ignore[arg-type]
                    created_at=now, remote=remote)
        if direction == "in":
            call.state = _S.INCOMING
        line.add(call)
        line.focus(call)
        self.current_line = line.index
        return call

    @property
    def hold_style(self) -> str:
        """How our SDP says "on hold": c=0.0.0.0 (the seed's form) or a=sendonly."""
        return "connection" if self.settings.hold_method == "c0" else "attribute"

    def answer_offer(self, call: Call, offer: Any) -> Any:
        """``call``'s answer to a peer's (re-)offer (our hold kept), or NoCommonCodec."""
        direction = "sendonly" if call.local_hold else "sendrecv"
        return self.media_for(call).receive_offer(offer, direction=direction,
                                                  hold_style=self.hold_style)

    def media_for(self, call: Call) -> SdpSession:
        """The call's offer/answer state, with an RTP port; PhoneError(409) when none is free."""
        if call.media is None:
            codecs = tuple(c for name in self.settings.preferred_codecs
                           if (c := codec_by_name(name)) is not None)
            try:
                port = self.ports.allocate()
            except RuntimeError as exc:
                raise PhoneError(409, str(exc)) from None
            local = LocalMedia(address=self.settings.media_address, rtp_port=port,
                               codecs=codecs or (PCMU, PCMA),
                               dtmf_payload=self.settings.dtmf_payload)
            call.media = SdpSession(local, session_id=self.new_sdp_id(),
                                    srtp=self.srtp_policy(call))
        return call.media

    def srtp_policy(self, call: Call) -> SrtpPolicy:
        """``srtp_mode`` for this call; keys only when its SIP goes over TLS
        (``call.extra["sip_transport"]``, set before its first offer or answer)."""
        tls = call.extra.get("sip_transport") == "tls"
        return SrtpPolicy(self.settings.srtp_mode,
                          keys_allowed=tls or self.settings.srtp_over_plain,
                          savp=bool(call.extra.get("srtp_savp")))

    def route_transport(self, uri: str) -> str:
        """The transport our INVITE to ``uri`` will take ("udp", "tls"...)."""
        try:
            return str(self.endpoint.route_transport(uri))
        except Exception:  # noqa: BLE001 - a fake endpoint, or a URI it refuses (it says so)
            return ""

    def record(self, kind: Kind, call: Call, now: float) -> None:
        """A call list entry; a placed call's is completed (duration, reason) at its end."""
        entry = HistoryEntry(
            kind=kind, remote=call.remote, display=call.remote_display,
            at=now + self.wall_offset,
            duration=(now - call.connected_at) if call.connected_at is not None else 0.0,
            line=call.line, call_id=call.call_id,
            reason=("Caller hung up" if kind == "missed" and call.reason in ("hangup", "cancelled")
                    else call.view().reason_text or ""))
        self.history.add(entry)
        if kind == "placed":
            call.extra["history"] = entry
        self.emit(HistoryChanged())

    def _complete_placed(self, call: Call, now: float) -> None:
        entry = call.extra.pop("history", None)
        if entry is None:
            return
        done = dataclasses.replace(
            entry, remote=call.remote or entry.remote, call_id=call.call_id,
            duration=(now - call.connected_at) if call.connected_at is not None else 0.0,
            reason=call.view().reason_text or "")
        if self.history.replace(entry, done):
            self.emit(HistoryChanged())

    def focused(self) -> Call | None:
        return self.line().focused

    def end_call(self, call: Call, now: float, reason: str, *, failed: bool = False) -> None:
        """Mark ``call`` ended, stop its media, hand the focus to the other call."""
        if call.ended:
            return
        call.apply(_I.FAILED if failed and call.can(_I.FAILED) else _I.END, now, reason)
        if call.direction == "in" and call.connected_at is not None:
            self.record("received", call, now)  # at the end, so the duration is known
        self._complete_placed(call, now)
        if call.media_started:
            self.emit(StopMedia(call=call.id))
            call.media_started = False
        if call.media is not None:
            self.ports.release(call.media.local.rtp_port)
        line = self.line(call.line)
        other = line.other(call)
        if other is not None and line.focus_id == call.id:
            line.focus(other)
        collector = call.extra.get("collector")
        if collector is not None:
            collector.cancel()

    def forget(self, call: Call) -> None:
        line = self.line(call.line)
        line.remove(call)
        if call.session is not None:
            self._by_session.pop(call.session, None)
        if not any(ln.calls for ln in self.lines) and not self.handset_up:
            self.speaker = self.headset = False

    # ------------------------------------------------------------------ placing calls
    def place_call(self, target: str, now: float, *, headers: tuple[tuple[str, str], ...] = (),
                   hold_current: bool = True, user: str | None = None) -> Call:
        """INVITE ``target`` from the current line (reusing a call being dialled)."""
        line = self.line()
        try:
            uri = target_uri(target, line.settings.domain, user)
        except ValueError as exc:
            raise PhoneError(400, str(exc)) from None
        call = line.focused
        if call is not None and call.ended:
            self.forget(call)
            call = line.focused
        if call is None or call.state is not _S.DIALING:
            if hold_current and call is not None and call.state in (_S.CONNECTED, _S.HELD):
                self.hold(call, now)
            call = self.new_call("out", line, now)
        call.remote, call.dialed = uri, target
        call.extra["redirector"] = r = Redirector()
        call.extra["headers"] = headers
        r.start(uri)
        self.record("placed", call, now)
        if (collector := call.extra.pop("collector", None)) is not None:
            collector.cancel()
        origin = self.transfer_origin(call)
        if origin is not None and origin.state in (_S.CONNECTED, _S.HELD):
            # consultation: the seed holds the first call before calling C (B-5/B-8 steps 5-8)
            call.state = _S.DIALING
            self.hold(origin, now, then=("invite", call.id))
            return call
        self.send_invite(call, uri, now)
        return call

    def send_invite(self, call: Call, uri: str, now: float) -> None:
        line = self.line(call.line)
        call.extra["sip_transport"] = self.route_transport(uri)
        policy = self.srtp_policy(call)
        if policy.refusal is not None:  # srtp_mode mandatory, and no TLS to carry the keys
            call.extra["reason_text"] = policy.refusal
            self.end_call(call, now, f"rejected 488 {policy.refusal}"[:60], failed=True)
            return
        try:
            media = self.media_for(call)
            media.srtp = policy  # a redirect may take the call over another transport
            offer = media.offer()
        except PhoneError as exc:
            self.end_call(call, now, f"rejected 503 {exc.message}"[:60], failed=True)
            return
        call.extra["offer_sent"] = offer  # to read early media (183) without consuming it
        from_ = None if line.index == 1 else line.settings.aor
        session = self._sip("invite", uri, offer.to_bytes(), now=now, from_=from_,
                            headers=self.invite_headers(line.settings)
                            + tuple(call.extra.get("headers", ())))
        if session is None:
            self.end_call(call, now, "rejected 500 cannot send", failed=True)
            return
        if call.session is not None:
            self._by_session.pop(call.session, None)
        call.session = session
        self._by_session[session] = call
        call.call_id = self.sip_call_id(session) or call.call_id
        call.apply(_I.SEND if call.state is _S.DIALING else _I.RETRY, now)
        expires = self.settings.invite_expires
        call.ring_deadline = now + (min(self.settings.ring_timeout, expires)
                                    if expires else self.settings.ring_timeout)

    def invite_headers(self, line: Any) -> tuple[tuple[str, str], ...]:
        """Headers every INVITE we send carries, from the 7960 keys."""
        out: list[tuple[str, str]] = []
        if self.settings.invite_expires:
            out.append(("Expires", str(self.settings.invite_expires)))
        if self.settings.remote_party_id:
            name = line.display_name.replace('"', "").replace("\\", "")
            shown = f'"{name}" ' if name else ""
            out.append(("Remote-Party-ID",
                        f"{shown}<{line.aor}>;party=calling;screen=no;privacy=off"))
        return tuple(out)

    def sip_call_id(self, session: str) -> str | None:
        info = self.dialog_info(session)
        return info[0] if info else None

    def dialog_info(self, session: str) -> tuple[str, str, str | None] | None:
        """(Call-ID, local tag, remote tag or None) of a session (Replaces, RFC 3891)."""
        try:
            info = self.endpoint.dialog_info(session)
        except Exception:  # noqa: BLE001 - no dialog yet (before any response) or gone
            return None
        return (info[0], info[1], info[2]) if info is not None else None

    # ------------------------------------------------------------------ answer / decline / end
    def answer(self, call: Call, now: float) -> None:
        if call.state is not _S.INCOMING:
            raise PhoneError(409, "the call is not ringing")
        if not self.active:
            self.speaker = True
        line = self.line(call.line)
        line.focus(call)
        self.current_line = line.index
        other = self.talking(besides=call)
        if other is not None:
            self.hold(other, now, then=("answer", call.id))  # B-6 steps 7-10
            return
        self.do_answer(call, now)

    def talking(self, besides: Call | None = None) -> Call | None:
        """The call in conversation (on any line), other than ``besides``."""
        return next((c for c in self._all_calls()
                     if c is not besides and c.state in (_S.CONNECTED, _S.HELD)), None)

    def do_answer(self, call: Call, now: float) -> None:
        if call.state is not _S.INCOMING:
            return
        media = self.media_for(call)
        offer = call.extra.get("offer")
        if offer is None:
            sdp = media.offer()  # offerless INVITE: our offer in the 200, answer in the ACK
            call.extra["await_ack_answer"] = True
        else:
            result = media.receive_offer(offer)
            if isinstance(result, NoCommonCodec):
                self.reject_no_codec(call, result, now)
                return
            sdp = result.sdp
            call.extra["negotiated"] = result.negotiated
        self._sip("answer", call.session, sdp.to_bytes(), now=now)
        call.ring_deadline = None
        call.apply(_I.ANSWER, now)

    def reject_no_codec(self, call: Call, result: NoCommonCodec, now: float) -> None:
        """488 + Warning 304 (RFC 3261 §20.43), or the seed's 400 + 304 by config."""
        status = 400 if self.settings.reject_no_codec_as_400 else result.status
        warning = result.warning(self.settings.media_address)
        self._sip("reject", call.session, status, now=now,
                  reason="Bad Request" if status == 400 else "Not Acceptable Here",
                  headers=(("Warning", warning),))
        self.end_call(call, now, f"rejected {status} incompatible media", failed=True)

    def decline(self, call: Call, now: float) -> None:
        self._sip("reject", call.session, 603, now=now, reason="Decline")
        self.end_call(call, now, "rejected 603 Decline", failed=True)
        self.record("missed", call, now)

    def hangup(self, call: Call, now: float) -> None:
        """EndCall / on-hook on one call, whatever its state."""
        if call.state is _S.DIALING:
            self.end_call(call, now, "hangup")
            self.forget(call)
            self.cancel_transfer_of(call)
        elif call.state in LIVE_OUTGOING:
            call.extra["cancel_why"] = "user"
            self._sip("cancel", call.session, now=now)
            self.end_call(call, now, "cancelled")
        elif call.state is _S.INCOMING:
            self.decline(call, now)
        elif call.state in ESTABLISHED:
            self._sip("bye", call.session, now=now)
            self.end_call(call, now, "hangup")

    def ring_timeout(self, call: Call, now: float) -> None:
        if call.state in LIVE_OUTGOING:  # B-16: the caller gives up with CANCEL
            call.extra["cancel_why"] = "timeout"
            self._sip("cancel", call.session, now=now)
        elif call.state is _S.INCOMING and call.extra.get("forward_to"):
            target = call.extra["forward_to"]  # forward on no answer (B-11's phone-side half)
            self._sip("reject", call.session, 302, now=now, reason="Moved Temporarily",
                      headers=(("Contact", f"<{target}>"),))
            self.end_call(call, now, "forwarded", failed=True)
            self.record("missed", call, now)

    # ------------------------------------------------------------------ hold / resume / swap
    def hold(self, call: Call, now: float, *, then: tuple[str, str] | None = None) -> None:
        if call.state not in (_S.CONNECTED, _S.HELD) or call.local_hold:
            raise PhoneError(409, "only a call in conversation can be held")
        if call.extra.get("reinvite"):
            raise PhoneError(409, "a hold or resume is already under way")
        if call.direction == "in" and not call.extra.get("acked"):
            # RFC 3261 §14.1: no re-INVITE before the ACK of our 2xx; the endpoint would refuse
            # it and the call would be stuck. Hold once the ACK arrives (CallConfirmed).
            call.extra["hold_after_ack"] = then or True
            return
        sdp = self.media_for(call).offer(direction="sendonly", hold_style=self.hold_style)
        call.extra["reinvite"] = "hold"
        if then is not None:
            call.extra["then"] = then
        self._sip("reinvite", call.session, sdp.to_bytes(), now=now)

    def resume(self, call: Call, now: float) -> None:
        if call.state is not _S.HOLDING:
            raise PhoneError(409, "the call is not on hold")
        if call.extra.get("reinvite"):
            raise PhoneError(409, "a hold or resume is already under way")
        line = self.line(call.line)
        line.focus(call)
        self.current_line = line.index
        other = self.talking(besides=call)
        if other is not None:
            self.hold(other, now, then=("resume", call.id))
            return
        sdp = self.media_for(call).offer(direction="sendrecv")
        call.extra["reinvite"] = "resume"
        self._sip("reinvite", call.session, sdp.to_bytes(), now=now)

    def swap(self, now: float) -> None:
        line = self.line()
        call = line.focused
        other = line.other(call) if call is not None else None
        if call is None or other is None:
            raise PhoneError(409, "no second call to swap to")
        if other.state is _S.HOLDING:
            self.resume(other, now)
        else:
            line.focus(other)
