"""What the assembled phone exposes to its edges: one small protocol and its values.

Why here, below both: the edges that drive a phone from outside (the HTTP
control API, ../shared/spec/control-api.md; the demo's loopback handsets)
must not know how call control, the HAL or the media engine are built, and
the assembly (``firmware.app``) must not depend on any one edge's model. So
the app exposes this interface, ``PhoneControl`` (implemented by
``firmware.app.control_adapter.AppControl``; tests implement it with a fake),
and ``firmware.control`` serves it. Every method runs on the event-loop
thread and returns quickly; a refusal is a ``ControlError`` carrying a 4xx
status and a plain sentence for the user, never an arbitrary exception.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, fields
from typing import Any, Literal, Protocol

from firmware.provisioning.directory import DirectoryEntry

CallState = Literal[
    "dialing",
    "calling",
    "proceeding",
    "ringback",
    "incoming",
    "connected",
    "holding",
    "held",
    "ended",
]


def _by_field(value: Any, *leave_out: str) -> dict[str, Any]:
    """A value's JSON object: each field under its own name, in the order declared (the
    spec's objects are named field for field, so a field added is one the API shows)."""
    return {f.name: getattr(value, f.name) for f in fields(value) if f.name not in leave_out}


class ControlError(Exception):
    """A request the phone refuses: ``status`` is 400 (bad input) or 409 (wrong state) etc."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        if not 400 <= status < 500:
            raise ValueError("control errors are 4xx by contract")
        self.status = status
        self.message = message


@dataclass(frozen=True, slots=True, kw_only=True)
class CallInfo:
    """One call as the API shows it (the CALL object of the spec)."""

    id: str
    line: int
    direction: Literal["in", "out"]
    state: CallState
    remote: str
    call_id: str
    reason: str | None = None
    #: additive to the spec's CALL: codec, packets_sent/received, loss_pct, jitter_ms,
    #: rtt_ms (null until an RTCP report gave it); None while the call has no media
    media: dict[str, Any] | None = None
    #: additive: this phone mixes the call with another (a 3-way conference, Confrn)
    conference: bool = False
    #: additive: the call's audio is SRTP (SDES keys agreed over TLS signalling)
    encrypted: bool = False

    def to_json(self) -> dict[str, Any]:
        return _by_field(self)


@dataclass(frozen=True, slots=True, kw_only=True)
class LineInfo:
    line: int
    name: str
    registered: bool
    #: why the line is not registered, in words ("Registration failed: 403 Forbidden",
    #: "No answer from proxy"); None while registered or before the first answer
    error: str | None = None

    def to_json(self) -> dict[str, Any]:
        return _by_field(self)


@dataclass(frozen=True, slots=True, kw_only=True)
class PhoneStatus:
    """``GET /api/status``: the handset at a glance."""

    hook: Literal["on", "off"]
    ringer: bool
    lines: tuple[LineInfo, ...] = ()
    calls: tuple[CallInfo, ...] = ()
    display: tuple[str, ...] = ()
    softkeys: tuple[str, ...] = ()
    #: additive (issue 14): microphone off, speakerphone on, the three volume levels
    #: 0..15, and message waiting (RFC 3842; new/old None when the server did not count)
    muted: bool = False
    speaker: bool = False
    volume: dict[str, int] = field(
        default_factory=lambda: {"handset": 8, "speaker": 8, "ringer": 8})
    mwi: dict[str, Any] = field(
        default_factory=lambda: {"waiting": False, "new": None, "old": None})
    #: a CallBack waiting on a busy callee (RFC 5359 automatic redial): {"target": URI,
    #: "state": subscribing|waiting|alerting|calling|ending}; None when there is none
    callback: dict[str, Any] | None = None

    @property
    def registered(self) -> bool:
        """True when at least one line is registered (a phone with no lines is not)."""
        return any(line.registered for line in self.lines)

    def to_json(self) -> dict[str, Any]:
        return {
            "hook": self.hook,
            "ringer": self.ringer,
            "registered": self.registered,
            "lines": [line.to_json() for line in self.lines],
            "calls": [call.to_json() for call in self.calls],
            "display": list(self.display),
            "softkeys": list(self.softkeys),
            "muted": self.muted,
            "speaker": self.speaker,
            "volume": dict(self.volume),
            "mwi": dict(self.mwi),
            "callback": dict(self.callback) if self.callback is not None else None,
        }


@dataclass(frozen=True, slots=True, kw_only=True)
class MockAudioReport:
    """``GET /api/mock/audio``: what reached the mock earpiece."""

    tx_frames: int
    rx_frames: int
    rx_dominant_hz: float | None
    rx_level_dbfs: float

    def to_json(self) -> dict[str, Any]:
        return _by_field(self)


@dataclass(frozen=True, slots=True, kw_only=True)
class HistoryEntry:
    """One line of the call history: ``kind`` is placed, received or missed."""

    kind: Literal["placed", "received", "missed"]
    remote: str
    line: int
    at: float
    call_id: str = ""
    duration: float | None = None
    reason: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        out = _by_field(self, "extra")
        out.update(self.extra)
        return out


class PhoneControl(Protocol):
    """The phone-facing side of the control API. Raise ``ControlError`` to refuse."""

    def status(self) -> PhoneStatus: ...

    def set_hook(self, off_hook: bool) -> None: ...

    def press_keys(self, keys: str) -> None: ...

    def press_softkey(self, name: str) -> None: ...

    def press_button(self, name: str) -> None: ...

    def dial(self, target: str) -> None: ...

    def screen_png(self) -> bytes: ...

    def set_mock_tone(self, tone_hz: float) -> None: ...

    def mock_audio(self) -> MockAudioReport: ...

    def history(self) -> list[HistoryEntry]: ...


# ---------------------------------------------------------------- the web page's extra view
# What the web page (firmware.control.web) needs beyond ``PhoneControl``: settings, the
# configuration with its sources, the log tail, resync/restart and the SIP trace. The app
# implements ``WebBackend`` (firmware.app.web_adapter); a phone without one still gets the
# handset page and the lists.


@dataclass(frozen=True, slots=True, kw_only=True)
class WirePacket:
    """One SIP message as seen at ``wall`` (Unix time) from ``src`` to ``dst``."""

    wall: float
    src: tuple[str, int]
    dst: tuple[str, int]
    transport: str  # "udp", "tcp", "tls"...
    data: bytes


@dataclass(frozen=True, slots=True, kw_only=True)
class ConfigRow:
    """One configuration key as the admin page shows it (secrets already masked)."""

    key: str
    value: str
    source: str  # "SIPDefault.cnf:12", "(default)", ...
    secret: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class UserSettings:
    """What a user owns: DND, forward all, and the volumes (0..15) when the phone has them."""

    dnd: bool
    forward_all: str
    volume: dict[str, int] | None = None


class WebBackend(Protocol):
    """The web page's side of a running phone. Raise ``ControlError`` to refuse."""

    def watch(self, callback: Callable[[], None]) -> Callable[[], None]:
        """Call ``callback`` (on the loop) whenever what the handset shows may have
        changed; returns the function that stops it."""
        ...

    def user_settings(self) -> UserSettings: ...

    def set_user_settings(self, *, dnd: bool, forward_all: str,
                          volume: dict[str, int] | None = None) -> None: ...

    def directory(self) -> list[DirectoryEntry]: ...

    def admin_status(self) -> dict[str, Any]:
        """Sections of (label, value) rows: registration, network, phone."""
        ...

    def config_rows(self) -> list[ConfigRow]: ...

    def log_tail(self, lines: int) -> list[str]: ...

    def resync(self) -> str:
        """Start a configuration check now; a sentence for the page."""
        ...

    def restart(self) -> str: ...

    def sip_trace(self, since_wall: float) -> list[WirePacket]: ...
