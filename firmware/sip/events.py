"""Upward events of the SIP endpoint (RFC 3261 §13-§15 usages, §10 registration).

Why frozen, keyword-only dataclasses: events are past facts handed to call
control (``firmware.phone``) through ``Endpoint.next_event()``; they must not
change after the fact and must be cheap to compare in tests. Every event that
concerns a call carries the ``session`` id returned by ``Endpoint.invite`` or
announced by ``IncomingCall``. Requests the layer above must answer carry a
``request_id`` for ``Endpoint.respond``.

Bodies are raw bytes (usually SDP): the SIP core knows nothing of media.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

__all__ = [
    "Address",
    "Outgoing",
    "Event",
    "IncomingCall",
    "CallProgress",
    "CallAnswered",
    "CallConfirmed",
    "CallFailed",
    "CallEnded",
    "ReInviteReceived",
    "ReInviteAnswered",
    "ReInviteFailed",
    "InDialogRequest",
    "OutOfDialogRequest",
    "RequestAnswered",
    "Registered",
    "RegistrationFailed",
    "Unregistered",
    "TargetFailed",
]

#: A transport address: (host, port). ``host`` is an IP literal or a name the shell resolves.
Address = tuple[str, int]


@dataclass(frozen=True, kw_only=True)
class Outgoing:
    """One datagram (or stream message) for the shell to put on the wire."""

    data: bytes
    dest: Address
    transport: str = "udp"


@dataclass(frozen=True, kw_only=True)
class Event:
    """Base of every endpoint event."""


@dataclass(frozen=True, kw_only=True)
class IncomingCall(Event):
    """A new INVITE arrived (100 Trying already sent); answer with ringing/answer/reject."""

    session: str
    call_id: str
    from_uri: str
    from_display: str | None
    to_uri: str
    request_uri: str
    sdp: bytes | None
    request: Any = field(default=None, compare=False, repr=False)
    #: the address the INVITE came from (not its Via): auto-answer trusts only the proxy
    source: Address | None = None
    #: what it came over ("udp", "tcp", "tls"): SRTP keys go only in SDP over TLS
    transport: str = ""


@dataclass(frozen=True, kw_only=True)
class CallProgress(Event):
    """A provisional response (180/183/...) to our INVITE; ``sdp`` set for early media."""

    session: str
    status: int
    reason: str
    sdp: bytes | None = None


@dataclass(frozen=True, kw_only=True)
class CallAnswered(Event):
    """Our INVITE got a 2xx (the core has already sent the ACK)."""

    session: str
    status: int
    sdp: bytes | None


@dataclass(frozen=True, kw_only=True)
class CallConfirmed(Event):
    """The ACK for our 2xx arrived (UAS side); ``sdp`` set if the ACK carried the answer."""

    session: str
    sdp: bytes | None = None


@dataclass(frozen=True, kw_only=True)
class CallFailed(Event):
    """Our INVITE ended without a dialog: final non-2xx, timeout (408) or cancelled (487).

    ``contacts`` lists the Contact URIs of a 3xx, best q first, for the layer above to try.
    """

    session: str
    status: int
    reason: str
    contacts: tuple[str, ...] = ()
    #: the response's Warning header (RFC 3261 §20.43), e.g. why a 488 refused our offer
    warning: str = ""


@dataclass(frozen=True, kw_only=True)
class CallEnded(Event):
    """A call that existed ended: ``by`` 'local' or 'remote'.

    ``reason`` examples: 'bye', 'cancelled' (the caller cancelled before we answered),
    'ack timeout', 'rejected', 'timeout', 'transport'.
    """

    session: str
    by: Literal["local", "remote"]
    reason: str
    #: The peer's BYE when ``by == "remote"`` and ``reason == "bye"`` (to read ``Also``).
    request: Any = field(default=None, compare=False, repr=False)


@dataclass(frozen=True, kw_only=True)
class ReInviteReceived(Event):
    """The peer sent a re-INVITE; answer with ``answer(session, sdp)`` or ``reject``."""

    session: str
    sdp: bytes | None


@dataclass(frozen=True, kw_only=True)
class ReInviteAnswered(Event):
    """Our re-INVITE got a 2xx (ACK sent)."""

    session: str
    sdp: bytes | None


@dataclass(frozen=True, kw_only=True)
class ReInviteFailed(Event):
    """Our re-INVITE was refused (491 glare is retried by the core first); the call goes on."""

    session: str
    status: int
    reason: str


@dataclass(frozen=True, kw_only=True)
class InDialogRequest(Event):
    """REFER / NOTIFY / INFO / MESSAGE / OPTIONS ... inside a call; answer with ``respond``."""

    session: str
    request_id: str
    method: str
    body: bytes
    content_type: str | None
    request: Any = field(default=None, compare=False, repr=False)


@dataclass(frozen=True, kw_only=True)
class OutOfDialogRequest(Event):
    """A non-INVITE request outside any dialog that the core does not answer itself
    (MESSAGE, NOTIFY, REFER ...); answer with ``respond`` (unanswered ones get 500 at Timer F/2).

    ``source`` is the address the datagram came from (not the Via): the layer
    above trusts some requests (a check-sync NOTIFY) only from its proxy.
    """

    request_id: str
    method: str
    body: bytes
    content_type: str | None
    request: Any = field(default=None, compare=False, repr=False)
    source: Address | None = None


@dataclass(frozen=True, kw_only=True)
class RequestAnswered(Event):
    """The final response to a request we sent with ``send_in_dialog``/``send_request``,
    or to a BYE (``method`` "BYE", ``request_id`` "<session>:BYE").

    ``status`` is 408 when the transaction timed out.
    """

    request_id: str
    session: str | None
    method: str
    status: int
    reason: str
    response: Any = field(default=None, compare=False, repr=False)


@dataclass(frozen=True, kw_only=True)
class Registered(Event):
    """A REGISTER succeeded; ``expires`` is what the registrar granted."""

    registration: str
    aor: str
    expires: int


@dataclass(frozen=True, kw_only=True)
class RegistrationFailed(Event):
    """A REGISTER failed; the core retries by itself after ``retry_in`` seconds."""

    registration: str
    aor: str
    status: int
    reason: str
    retry_in: float


@dataclass(frozen=True, kw_only=True)
class Unregistered(Event):
    """The un-REGISTER (Expires: 0) finished (or timed out); nothing more is sent."""

    registration: str
    aor: str


@dataclass(frozen=True, kw_only=True)
class TargetFailed(Event):
    """A request sent to ``dest`` timed out or drew a 503 (RFC 3263 §4.3, RFC 3261 §16.7).

    For the shell, which knows which server ``dest`` stands for right now
    (``firmware.net.router``) and moves to the next one; call control ignores it.
    """

    dest: Address
    transport: str
    status: int
