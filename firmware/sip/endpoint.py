"""The SIP user agent as one sans-IO object (RFC 3261 §8, §12-§17, §18.2.2, RFC 3581).

Why one object: the shell (``firmware.net``) should not know about
transactions, dialogs or registrations. It feeds datagrams in, flushes
``datagrams_to_send()``, arms one timer at ``get_timer()`` and hands
``next_event()`` results to call control. Call control drives calls with
the commands below, by session id, and never builds a SIP message.

Theory of operation::

    receive_datagram -> parse/validate -> TransactionLayer (§17)
        responses -> client transaction -> its owner (Session / Registration / request)
        requests  -> server transaction -> dialog match (§12.2.2) -> Session or 481,
                     or out of dialog -> INVITE (new Session) / OPTIONS (answered here)
                     / REGISTER (405) / other (OutOfDialogRequest event)
    commands (invite, answer, bye, ...) -> Session -> Dialog builds the request
        -> TransactionLayer -> Outgoing datagrams

Nothing here raises on bad input: unparseable datagrams are answered 400 when
Via, CSeq and Call-ID can be recovered, else dropped and counted in ``stats``.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from firmware.sip.auth import Credentials
from firmware.sip.events import Address, Event, Outgoing
from firmware.sip.timers import DEFAULT_TIMERS, TimerConfig

__all__ = ["Endpoint", "EndpointConfig", "EndpointStats", "EndpointError"]

log = logging.getLogger(__name__)


class EndpointError(Exception):
    """A command the endpoint cannot carry out (unknown session, wrong state).

    Raised to the caller of a command (a bug or race in the layer above),
    never out of ``receive_datagram``/``handle_timer``.
    """


@dataclass(frozen=True, kw_only=True)
class EndpointConfig:
    """What the UA is: its address, identity, credentials and limits.

    ``local_address`` goes into Via and Contact. ``outbound_proxy``, when set,
    receives every out-of-dialog request (RFC 3261 §8.1.2). Otherwise the
    request goes to the Request-URI's host/port (an IP literal, or a name the
    shell resolves when it sends).
    """

    local_address: Address
    transport: str = "udp"
    user: str = "piphone"
    display_name: str | None = None
    domain: str | None = None
    outbound_proxy: Address | None = None
    credentials: tuple[Credentials, ...] = ()
    timers: TimerConfig = DEFAULT_TIMERS
    user_agent: str = "piphone/0.1"
    allow: tuple[str, ...] = (
        "INVITE", "ACK", "CANCEL", "BYE", "OPTIONS", "INFO", "REFER", "NOTIFY", "MESSAGE", "UPDATE",
    )
    accept: tuple[str, ...] = ("application/sdp",)
    supported: tuple[str, ...] = ("replaces",)
    max_transactions: int = 1024
    max_sessions: int = 64
    max_events: int = 4096
    #: Seconds an incoming non-INVITE request waits for ``respond`` before the core answers 500.
    request_answer_timeout: float = 16.0


@dataclass
class EndpointStats:
    """Counters for what was dropped or refused, for diagnostics and tests."""

    received: int = 0
    dropped_unparseable: int = 0
    answered_400: int = 0
    dropped_stray_response: int = 0
    dropped_table_full: int = 0
    answered_481: int = 0
    answered_482: int = 0
    retransmissions_absorbed: int = 0
    extra: dict[str, int] = field(default_factory=dict)


class Endpoint:
    """One SIP user agent (UAC + UAS + registrations), sans-IO.

    Input verbs: ``receive_datagram``, ``handle_timer`` and the commands.
    Output verbs: ``datagrams_to_send``, ``next_event``, ``get_timer``.
    Every verb takes ``now`` (seconds, the shell's monotonic clock).
    """

    def __init__(self, config: EndpointConfig) -> None:
        raise NotImplementedError

    # -- the shell's verbs ----------------------------------------------
    def receive_datagram(self, data: bytes, source: Address, transport: str, now: float) -> None:
        """Feed one datagram (or one framed stream message) received from ``source``."""
        raise NotImplementedError

    def datagrams_to_send(self) -> list[Outgoing]:
        """Everything queued for the wire since the last call, in order."""
        raise NotImplementedError

    def next_event(self) -> Event | None:
        """The oldest unread event, or None."""
        raise NotImplementedError

    def get_timer(self) -> float | None:
        """The earliest absolute deadline of any timer, or None."""
        raise NotImplementedError

    def handle_timer(self, now: float) -> None:
        """Fire every timer due at ``now`` (calling early or late is harmless)."""
        raise NotImplementedError

    # -- registration ---------------------------------------------------
    def register(
        self, registrar: str, aor: str, *, now: float, expires: int = 3600,
        contact_params: str = "",
    ) -> str:
        """Start registering ``aor`` (a SIP URI) at ``registrar`` (a SIP URI); returns its id.

        The core refreshes before expiry, retries failures with capped
        exponential back-off and answers digest challenges with the configured
        credentials. Emits ``Registered`` / ``RegistrationFailed``.
        """
        raise NotImplementedError

    def unregister(self, registration: str | None = None, *, now: float) -> None:
        """Send REGISTER with Expires: 0 for one registration (or all); emits ``Unregistered``."""
        raise NotImplementedError

    # -- calls: UAC -----------------------------------------------------
    def invite(
        self, target: str, sdp_offer: bytes | None, *, now: float, from_: str | None = None,
        headers: tuple[tuple[str, str], ...] = (),
    ) -> str:
        """Call ``target`` (a SIP URI); returns the session id used by every later event/command."""
        raise NotImplementedError

    def cancel(self, session: str, *, now: float) -> None:
        """CANCEL our pending INVITE (sent as soon as a provisional response arrived, §9.1)."""
        raise NotImplementedError

    # -- calls: UAS -----------------------------------------------------
    def ringing(self, session: str, *, now: float, sdp: bytes | None = None) -> None:
        """Send 180 Ringing (or 183 Session Progress when ``sdp`` is given, early media)."""
        raise NotImplementedError

    def answer(self, session: str, sdp: bytes | None, *, now: float) -> None:
        """Send 200 OK to the pending INVITE or re-INVITE of ``session``; the core retransmits it until ACK."""
        raise NotImplementedError

    def reject(
        self, session: str, status: int = 486, *, now: float, reason: str | None = None,
        headers: tuple[tuple[str, str], ...] = (),
    ) -> None:
        """Answer the pending INVITE or re-INVITE of ``session`` with a final non-2xx."""
        raise NotImplementedError

    # -- calls: both ----------------------------------------------------
    def bye(self, session: str, *, now: float) -> None:
        """End an established (or early, UAC 2xx-pending) call with BYE."""
        raise NotImplementedError

    def hangup(self, session: str, *, now: float) -> None:
        """Whatever ends this session now: CANCEL, 486/603 reject, or BYE."""
        raise NotImplementedError

    def reinvite(self, session: str, sdp: bytes | None, *, now: float) -> None:
        """Send a re-INVITE (hold/resume/codec change); answer arrives as ``ReInviteAnswered``."""
        raise NotImplementedError

    def send_in_dialog(
        self, session: str, method: str, *, now: float, body: bytes = b"",
        content_type: str | None = None, headers: tuple[tuple[str, str], ...] = (),
    ) -> str:
        """Send REFER / NOTIFY / INFO / MESSAGE / OPTIONS in the call's dialog; returns a request id.

        The final response arrives as ``RequestAnswered``.
        """
        raise NotImplementedError

    def send_request(
        self, method: str, target: str, *, now: float, body: bytes = b"",
        content_type: str | None = None, headers: tuple[tuple[str, str], ...] = (),
    ) -> str:
        """Send an out-of-dialog non-INVITE request (OPTIONS, MESSAGE ...); returns a request id."""
        raise NotImplementedError

    def respond(
        self, request_id: str, status: int, *, now: float, reason: str | None = None,
        body: bytes = b"", content_type: str | None = None,
        headers: tuple[tuple[str, str], ...] = (),
    ) -> None:
        """Answer an ``InDialogRequest`` / ``OutOfDialogRequest`` by its request id."""
        raise NotImplementedError

    def shutdown(self, *, now: float) -> None:
        """Hang up every call and un-REGISTER everything (systemd stop path)."""
        raise NotImplementedError
