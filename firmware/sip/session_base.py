"""Shared vocabulary of the INVITE usage (RFC 3261 §13-§15): states, errors, the host interface.

Why a module of its own: the UAC half (``session_uac.py``) and the session
(``session.py``) both need these names, and neither should import the other's
internals.
"""

from __future__ import annotations

import enum
from typing import TYPE_CHECKING, Any, Protocol

from firmware.sip.auth import DigestClient
from firmware.sip.dialog import Dialog
from firmware.sip.events import Address, Event
from firmware.sip.message import NameAddr, Request, Response, Via
from firmware.sip.timers import TimerConfig
from firmware.sip.transaction import ClientTransaction, ServerTransaction

__all__ = [
    "FAILOVER_WAIT", "MAX_RING_TIME", "SessionError", "SessionHost", "SessionParts", "SessionState",
    "sorted_contacts",
]

#: Longest a call rings unanswered, either way (seconds): an incoming one is
#: then answered 480 (or sooner, by the INVITE's Expires, §20.19); an outgoing
#: one is cancelled (no Timer B once it rings, §17.1.1.2).
MAX_RING_TIME = 300.0


#: How long a request that timed out or drew a 503 waits for the shell to say that
#: its destination has another server (``Endpoint.fail_over``, RFC 3263 §4.3)
#: before it fails: the shell answers within the same loop turn.
FAILOVER_WAIT = 0.05


class SessionError(Exception):
    """A command that does not fit the session's state (a bug in the caller)."""


class SessionState(enum.Enum):
    CALLING = "calling"
    PROCEEDING = "proceeding"
    INCOMING = "incoming"
    ANSWERED = "answered"
    CONFIRMED = "confirmed"
    TERMINATED = "terminated"


class SessionHost(Protocol):
    """What a session needs from the endpoint (implemented by ``Endpoint``)."""

    timers: TimerConfig
    #: how many times one request may move to another server (0: never)
    failover_retries: int

    def via(self, transport: str) -> Via: ...
    def contact(self, transport: str) -> NameAddr: ...
    def common_headers(self) -> list[tuple[str, str]]: ...
    def new_tag(self) -> str: ...
    def new_cseq(self) -> int: ...
    def random_uniform(self, low: float, high: float) -> float: ...
    def start_client(self, request: Request, dest: Address, transport: str, now: float,
                     on_response: Any, on_timeout: Any) -> ClientTransaction: ...
    def send_response(self, tx: ServerTransaction, response: Response, now: float) -> None: ...
    def send_direct(self, message: Request | Response, dest: Address, transport: str) -> None: ...
    def send_direct_bytes(self, data: bytes, dest: Address, transport: str) -> None: ...
    def emit(self, event: Event) -> None: ...
    def bind_dialog(self, dialog: Dialog, session: Any) -> None: ...
    def unbind_dialog(self, dialog: Dialog) -> None: ...
    def new_request_id(self) -> str: ...
    def digest_client(self, user: str | None = None) -> DigestClient: ...
    def abandon_client(self, tx: ClientTransaction) -> None: ...


class SessionParts:
    """The state of ``InviteSession`` that each of its halves (``UacMixin``,
    ``ReinviteMixin``) works on: the session sets it in ``__init__``; a mixin
    declares here what all share and in its own class only what it alone reads."""

    host: SessionHost
    id: str
    transport: str
    state: SessionState
    dialog: Dialog | None
    ended: bool
    _acks: dict[int, bytes]
    _auth: DigestClient | None
    _ack_wanted: int | None

    if TYPE_CHECKING:  # provided by InviteSession

        def _send_bye(self, now: float, *, emit: bool) -> None: ...


def sorted_contacts(response: Response) -> tuple[str, ...]:
    """3xx Contacts, highest q first (§8.1.3.4)."""
    try:
        contacts = response.contacts
    except ValueError:
        return ()

    def q(c: NameAddr) -> float:
        try:
            return float(c.param("q") or "1")
        except ValueError:
            return 0.0

    return tuple(str(c.uri) for c in sorted(contacts, key=q, reverse=True))


