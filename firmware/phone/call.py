"""One call's state machine (RFC 3261 §13 INVITE usage seen from the handset).

Theory of operation: a call moves through the STATE names of the control API
(``../shared/spec/control-api.md``): ``dialing`` (collecting digits),
``calling`` (INVITE sent), ``proceeding`` (1xx without ringing), ``ringback``
(180/183 received), ``incoming`` (ringing here), ``connected``, ``holding``
(we put it on hold, RFC 3264 §8.4), ``held`` (the far end did), ``ended``
(kept briefly with a ``reason``).

The lifecycle is a table of ``(state, input) -> state``; an input missing from
the table is a bug of ours and raises ``CallStateError`` (h11 style). Hold is
two flags (ours, theirs) because both sides may hold at once: the established
state is derived from them (ours wins: the display shows what *we* did).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Any, Literal

from firmware.phone.reasons import reason_text as words_for

__all__ = [
    "Call",
    "CallInput",
    "CallState",
    "CallStateError",
    "CallView",
    "ESTABLISHED",
    "LIVE_OUTGOING",
    "TRANSITIONS",
    "failure_reason",
]


class CallState(enum.StrEnum):
    DIALING = "dialing"
    CALLING = "calling"
    PROCEEDING = "proceeding"
    RINGBACK = "ringback"
    INCOMING = "incoming"
    CONNECTED = "connected"
    HOLDING = "holding"
    HELD = "held"
    ENDED = "ended"


class CallInput(enum.StrEnum):
    SEND = "send"                # dial plan matched / Dial pressed: INVITE goes out
    TRYING = "trying"            # 100 or another 1xx without ringing
    RINGING = "ringing"          # 180 / 183
    RETRY = "retry"              # a new INVITE to the next location (3xx, 5xx, ring timeout)
    ANSWERED = "answered"        # 2xx to our INVITE
    ANSWER = "answer"            # we answered an incoming call
    ESTABLISHED = "established"  # internal: connected-phase state recomputed from hold flags
    FAILED = "failed"            # final non-2xx / timeout / cancel
    END = "end"                  # BYE either way, hangup, decline, transfer done


S, In = CallState, CallInput
ESTABLISHED = frozenset({S.CONNECTED, S.HOLDING, S.HELD})
LIVE_OUTGOING = frozenset({S.CALLING, S.PROCEEDING, S.RINGBACK})

#: (state, input) -> next state. ``ESTABLISHED`` inputs land on CONNECTED and
#: are refined by the hold flags in ``Call._settle``.
TRANSITIONS: dict[tuple[CallState, CallInput], CallState] = {
    (S.DIALING, In.SEND): S.CALLING,
    (S.DIALING, In.END): S.ENDED,
    (S.CALLING, In.TRYING): S.PROCEEDING,
    (S.CALLING, In.RINGING): S.RINGBACK,
    (S.PROCEEDING, In.TRYING): S.PROCEEDING,
    (S.PROCEEDING, In.RINGING): S.RINGBACK,
    (S.RINGBACK, In.TRYING): S.RINGBACK,
    (S.RINGBACK, In.RINGING): S.RINGBACK,
    (S.INCOMING, In.ANSWER): S.CONNECTED,
    (S.INCOMING, In.FAILED): S.ENDED,
    (S.INCOMING, In.END): S.ENDED,
}
for _s in LIVE_OUTGOING:
    TRANSITIONS[(_s, In.RETRY)] = S.CALLING
    TRANSITIONS[(_s, In.ANSWERED)] = S.CONNECTED
    TRANSITIONS[(_s, In.FAILED)] = S.ENDED
    TRANSITIONS[(_s, In.END)] = S.ENDED
for _s in ESTABLISHED:
    TRANSITIONS[(_s, In.ESTABLISHED)] = S.CONNECTED
    TRANSITIONS[(_s, In.END)] = S.ENDED
    # a late 2xx retransmission or a second 200 from a fork: stay where we are
    TRANSITIONS[(_s, In.ANSWERED)] = _s
for _i in CallInput:
    TRANSITIONS.setdefault((S.ENDED, _i), S.ENDED)  # ended is absorbing
del _s, _i


class CallStateError(RuntimeError):
    """An input the table does not allow in this state (a bug of call control)."""


_PHRASES = {
    400: "Bad Request", 401: "Unauthorized", 403: "Forbidden", 404: "Not Found",
    407: "Proxy Authentication Required", 408: "Request Timeout", 480: "Temporarily Unavailable",
    484: "Address Incomplete", 486: "Busy Here", 487: "Request Terminated",
    488: "Not Acceptable Here", 500: "Server Internal Error", 503: "Service Unavailable",
    600: "Busy Everywhere", 603: "Decline", 604: "Does Not Exist Anywhere",
}


def failure_reason(status: int, phrase: str = "") -> str:
    """The ``reason`` shown for a final failure: ``busy``, or ``rejected 4xx <phrase>``."""
    if status in (486, 600):
        return "busy"
    if status == 487:
        return "cancelled"
    if status in (401, 407):  # the core already retried with credentials (B-17)
        return f"rejected {status} authentication failed"
    phrase = (phrase or _PHRASES.get(status, "")).strip()[:60]
    return f"rejected {status} {phrase}".rstrip()


@dataclass(frozen=True, slots=True, kw_only=True)
class CallView:
    """A call as screens, the control API and tests see it (a value)."""

    id: str
    line: int
    direction: Literal["in", "out"]
    state: CallState
    remote: str
    remote_display: str | None
    call_id: str
    reason: str | None
    connected_at: float | None
    waiting: bool = False
    #: ``reason`` in words for the LCD and the call lists ("Busy", "Proxy not responding")
    reason_text: str | None = None
    #: mixed by this phone with another call (a 3-way conference, ``conference.py``)
    conference: bool = False
    #: the call sends a wideband codec (G.722): HD voice, shown on the LCD
    hd: bool = False
    #: the call's audio is SRTP (SDES keys agreed in its offer/answer): a lock on the LCD
    encrypted: bool = False


@dataclass(kw_only=True, eq=False)
class Call:
    """One call on a line: its state plus what call control remembers about it.

    ``session`` is the SIP endpoint's session id for the current INVITE
    attempt (a redirected call gets a new session, same ``id``); ``media`` is
    the ``SdpSession`` of its audio, owned by the phone.
    """

    id: str
    line: int
    direction: Literal["in", "out"]
    created_at: float
    remote: str = ""
    remote_display: str | None = None
    call_id: str = ""
    session: str | None = None
    dialed: str = ""
    state: CallState = CallState.DIALING
    reason: str | None = None
    connected_at: float | None = None
    ended_at: float | None = None
    local_hold: bool = False
    remote_hold: bool = False
    media: Any = None
    media_started: bool = False
    #: locations still to try (3xx contacts in q order), and how many redirects we followed
    pending_targets: list[str] = field(default_factory=list)
    redirects: int = 0
    #: absolute deadlines owned by this call (ring timeout as caller or callee)
    ring_deadline: float | None = None
    #: transfer bookkeeping (see transfer.py)
    transfer: Any = None
    extra: dict[str, Any] = field(default_factory=dict)

    def apply(self, event: CallInput, now: float, reason: str | None = None) -> CallState:
        """Move along the table; returns the new state. Raises ``CallStateError``."""
        try:
            nxt = TRANSITIONS[(self.state, event)]
        except KeyError:
            raise CallStateError(f"call {self.id}: {event} not allowed in {self.state}") from None
        if self.state is CallState.ENDED:
            return self.state
        if nxt in ESTABLISHED and event is not CallInput.ANSWERED:
            nxt = self._settle()
        if nxt is CallState.CONNECTED and self.connected_at is None:
            self.connected_at = now
        if nxt is CallState.ENDED:
            self.ended_at = now
            self.ring_deadline = None
            self.reason = reason or self.reason or "hangup"
        self.state = nxt
        return nxt

    def set_hold(self, now: float, *, local: bool | None = None,
                 remote: bool | None = None) -> CallState:
        """Change a hold flag and recompute the established state."""
        if self.state not in ESTABLISHED:
            raise CallStateError(f"call {self.id}: hold change in {self.state}")
        if local is not None:
            self.local_hold = local
        if remote is not None:
            self.remote_hold = remote
        return self.apply(CallInput.ESTABLISHED, now)

    def _settle(self) -> CallState:
        if self.local_hold:
            return CallState.HOLDING
        if self.remote_hold:
            return CallState.HELD
        return CallState.CONNECTED

    @property
    def established(self) -> bool:
        return self.state in ESTABLISHED

    @property
    def ended(self) -> bool:
        return self.state is CallState.ENDED

    def can(self, event: CallInput) -> bool:
        return (self.state, event) in TRANSITIONS

    def view(self, *, waiting: bool = False) -> CallView:
        return CallView(
            id=self.id, line=self.line, direction=self.direction, state=self.state,
            remote=self.remote, remote_display=self.remote_display, call_id=self.call_id,
            reason=self.reason if self.state is CallState.ENDED else None,
            connected_at=self.connected_at, waiting=waiting,
            reason_text=(self.extra.get("reason_text") or words_for(self.reason))
            if self.state is CallState.ENDED else None,
            conference=bool(self.extra.get("conference")) and self.state is not CallState.ENDED,
            hd=_sends_wideband(self.media),
            encrypted=self.state in ESTABLISHED
            and bool(getattr(getattr(self.media, "negotiated", None), "crypto", None)),
        )


def _sends_wideband(media: Any) -> bool:
    """True when the call's negotiated send codec is G.722 (16 kHz audio)."""
    neg = getattr(media, "negotiated", None)
    codec = getattr(getattr(neg, "send_codec", None), "name", "")
    return str(codec).upper() == "G722"
