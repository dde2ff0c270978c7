"""The call commands of the SIP user agent: one verb per thing call control does to a call.

Why a mixin of ``Endpoint``: every verb here finds its session by id, runs
the session's method, turns a ``SessionError`` (a command that does not fit
the call's state) into an ``EndpointError`` and lets the endpoint forget
finished sessions. That pattern is one job, apart from the endpoint's
receive path (``endpoint_receive.py``) and its host services.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from firmware.sip.endpoint_config import EndpointError
from firmware.sip.events import Address
from firmware.sip.registration import Registration
from firmware.sip.session import InviteSession, SessionError, SessionState

__all__ = ["SessionCommandsMixin"]


class SessionCommandsMixin:
    """Per-call commands of ``Endpoint`` (which owns ``sessions`` and the reaping)."""

    sessions: dict[str, InviteSession]
    registrations: dict[str, Registration]

    if TYPE_CHECKING:  # provided by Endpoint

        def _touch(self, session: InviteSession) -> None: ...
        def _reap(self, now: float) -> None: ...
        def _route(self, uri: Any) -> tuple[Address, str]: ...
        def _parse_target(self, target: str) -> Any: ...

    def transport_failed(self, dest: Address, transport: str, reason: str, now: float) -> None:
        """The shell could not reach ``dest`` (a TLS certificate refused, a connect failed):
        registrations waiting on it fail now with 503 ``reason`` (§8.1.3.1) instead of
        timing out, so the screen says why."""
        for reg in list(self.registrations.values()):
            if reg.dest == dest and reg.transport == transport.lower():
                reg.transport_failed(now, reason)

    def _session(self, sid: str) -> InviteSession:
        s = self.sessions.get(sid)
        if s is None:
            raise EndpointError(f"unknown session {sid!r}")
        self._touch(s)
        return s

    def _run(self, now: float, fn: Callable[..., None], *args: Any) -> None:
        try:
            fn(*args)
        except SessionError as exc:
            raise EndpointError(str(exc)) from exc
        finally:
            self._reap(now)

    def cancel(self, session: str, *, now: float) -> None:
        """CANCEL our pending INVITE (sent as soon as a provisional response arrived, §9.1)."""
        self._run(now, self._session(session).cancel, now)

    def ringing(self, session: str, *, now: float, sdp: bytes | None = None) -> None:
        """Send 180 Ringing (or 183 Session Progress when ``sdp`` is given, early media)."""
        self._run(now, self._session(session).ringing, now, sdp)

    def answer(self, session: str, sdp: bytes | None, *, now: float) -> None:
        """Send 200 OK to the pending INVITE or re-INVITE of ``session``; retransmitted until ACK."""
        self._run(now, self._session(session).answer, sdp, now)

    def reject(
        self, session: str, status: int = 486, *, now: float, reason: str | None = None,
        headers: tuple[tuple[str, str], ...] = (),
    ) -> None:
        """Answer the pending INVITE or re-INVITE of ``session`` with a final non-2xx."""
        self._run(now, self._session(session).reject, status, now, reason, headers)

    def bye(self, session: str, *, now: float,
            headers: tuple[tuple[str, str], ...] = (), report: bool = False) -> None:
        """End an established call with BYE (``headers`` e.g. Also / Requested-By); with
        ``report`` the final answer arrives as ``RequestAnswered`` (request id "<session>:BYE")."""
        self._run(now, lambda: self._session(session).bye(now, headers, report=report))

    def route_transport(self, target: str) -> str:
        """The transport an INVITE to ``target`` leaves on ("udp", "tcp", "tls"): the
        phone puts SRTP keys in its offer only when that is TLS."""
        return self._route(self._parse_target(target))[1]

    def dialog_info(self, session: str) -> tuple[str, str, str | None]:
        """(Call-ID, local tag, remote tag or None) of a session, e.g. for Replaces (RFC 3891)."""
        return self._session(session).dialog_info()

    def hangup(self, session: str, *, now: float) -> None:
        """Whatever ends this session now: CANCEL, 603 reject, or BYE."""
        self._run(now, self._session(session).hangup, now)

    def reinvite(self, session: str, sdp: bytes | None, *, now: float) -> None:
        """Send a re-INVITE (hold/resume/codec change); answer arrives as ``ReInviteAnswered``."""
        self._run(now, self._session(session).reinvite, sdp, now)

    def send_in_dialog(
        self, session: str, method: str, *, now: float, body: bytes = b"",
        content_type: str | None = None, headers: tuple[tuple[str, str], ...] = (),
    ) -> str:
        """Send REFER / NOTIFY / INFO / MESSAGE / OPTIONS in the call's dialog; returns a request id.

        The final response arrives as ``RequestAnswered``.
        """
        s = self._session(session)
        if method in ("INVITE", "ACK", "CANCEL", "BYE"):
            raise EndpointError(f"use the dedicated command for {method}")
        if s.dialog is None or s.ended:
            raise EndpointError(f"session {session!r} has no dialog")
        return s.requests.send(method, now, body=body, content_type=content_type,
                               headers=headers)

    def session_state(self, session: str) -> SessionState:
        """The state of a session (for diagnostics and tests)."""
        return self._session(session).state
