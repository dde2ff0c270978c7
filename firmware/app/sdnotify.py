"""systemd service notification (sd_notify(3) protocol) over ``$NOTIFY_SOCKET``.

Part of the shell: the only firmware module outside ``firmware.net`` that
may import ``socket``. The unit is ``Type=notify`` with ``WatchdogSec``: the
app sends ``READY=1`` once every line is registered or has failed, and
``WATCHDOG=1`` from a callback on the event loop itself, so a stalled loop
stops the pings and systemd restarts the service. Without ``$NOTIFY_SOCKET``
(not under systemd) every call is a cheap no-op.
"""

from __future__ import annotations

import logging
import os
import socket

log = logging.getLogger(__name__)


class Notifier:
    """Send state strings to systemd. Never raises: notification is best effort."""

    def __init__(self, address: str | None = None) -> None:
        addr = address if address is not None else os.environ.get("NOTIFY_SOCKET", "")
        self._address: str | bytes | None = None
        if addr.startswith("@"):
            self._address = "\0" + addr[1:]  # abstract namespace socket
        elif addr.startswith("/"):
            self._address = addr
        self._sock: socket.socket | None = None
        if self._address is not None:
            try:
                self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC)
            except OSError as exc:
                log.warning("cannot create the systemd notify socket: %s", exc)

    @property
    def enabled(self) -> bool:
        return self._sock is not None

    def notify(self, state: str) -> bool:
        """Send raw ``KEY=VALUE`` lines; True if systemd got them."""
        if self._sock is None or self._address is None:
            return False
        try:
            self._sock.sendto(state.encode("utf-8"), self._address)
            return True
        except OSError as exc:
            log.debug("sd_notify %r failed: %s", state.split("=", 1)[0], exc)
            return False

    def ready(self, status: str | None = None) -> bool:
        return self.notify("READY=1" + (f"\nSTATUS={_one_line(status)}" if status else ""))

    def watchdog(self) -> bool:
        return self.notify("WATCHDOG=1")

    def status(self, text: str) -> bool:
        return self.notify(f"STATUS={_one_line(text)}")

    def stopping(self) -> bool:
        return self.notify("STOPPING=1")

    def close(self) -> None:
        if self._sock is not None:
            self._sock.close()
            self._sock = None


_default: Notifier | None = None


def notify(state: str) -> bool:
    """Module-level shortcut: send ``state`` (e.g. ``"READY=1"``) with a shared
    ``Notifier`` built from ``$NOTIFY_SOCKET`` on first use."""
    global _default
    if _default is None:
        _default = Notifier()
    return _default.notify(state)


def _one_line(text: str) -> str:
    return " ".join(text.split())[:200]


def watchdog_interval(default: float | None = None) -> float | None:
    """Half of ``$WATCHDOG_USEC`` in seconds (ping twice per period), if the
    watchdog is meant for this process (``$WATCHDOG_PID`` unset or ours)."""
    usec = os.environ.get("WATCHDOG_USEC", "")
    pid = os.environ.get("WATCHDOG_PID", "")
    if not usec.isdecimal() or int(usec) == 0:
        return default
    if pid and (not pid.isdecimal() or int(pid) != os.getpid()):
        return default
    return int(usec) / 2_000_000
