"""What the web page needs of a phone beyond the JSON API's ``PhoneControl``.

Why a second small interface: settings, the configuration with its sources,
the log tail, resync/restart and the SIP trace belong to the assembled
firmware (``firmware.app``), which the control edge may not import. The app
implements ``WebBackend``; a phone without one (a fake in tests) still gets
the handset page and the lists, and the other pages say what is missing.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from firmware.control.web.pcap import WirePacket


@dataclass(frozen=True, slots=True, kw_only=True)
class ConfigRow:
    """One configuration key as the admin page shows it (secrets already masked)."""

    key: str
    value: str
    source: str  # "SIPDefault.cnf:12", "<default>", ...
    secret: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class DirectoryEntry:
    name: str
    number: str


@dataclass(frozen=True, slots=True, kw_only=True)
class UserSettings:
    """What a user owns: DND, forward all, and the volumes (0..15) when the phone has them."""

    dnd: bool
    forward_all: str
    volume: dict[str, int] | None = None


class WebBackend(Protocol):
    def watch(self, callback: Callable[[], None]) -> Callable[[], None]:
        """Call ``callback`` (on the loop) whenever what the handset shows may have
        changed; returns the function that stops it."""
        ...

    def user_settings(self) -> UserSettings: ...

    def set_user_settings(self, *, dnd: bool, forward_all: str,
                          volume: dict[str, int] | None = None) -> None:
        """Raise ``ControlError`` (400/409) to refuse."""
        ...

    def directory(self) -> list[DirectoryEntry]: ...

    def admin_status(self) -> dict[str, Any]:
        """Registration per line, addresses, uptime...: rows of (label, value) by section."""
        ...

    def config_rows(self) -> list[ConfigRow]: ...

    def log_tail(self, lines: int) -> list[str]: ...

    def resync(self) -> str:
        """Start a configuration check now; a sentence for the page, or ControlError."""
        ...

    def restart(self) -> str: ...

    def sip_trace(self, since_wall: float) -> list[WirePacket]: ...
