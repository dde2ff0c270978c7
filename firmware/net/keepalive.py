"""RFC 5626 §4.4.1 CRLF keep-alive on every stream connection the phone opened.

Why: a phone registered over TCP (or TLS) is reachable only while the
connection to its proxy lives, and NATs and firewalls drop connections that
stay quiet; RFC 5626's double-CRLF ping (answered by a single CRLF pong,
which our own listening side sends, ``connections.py``) keeps it alive
without a SIP transaction.  It works on whatever stream connections the pool
holds, so TLS connections get it the same way as TCP.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

__all__ = ["PING", "StreamKeepAlive"]

log = logging.getLogger(__name__)

PING = b"\r\n\r\n"


class StreamKeepAlive:
    """Every ``interval`` seconds, a CRLFCRLF ping on each connection we opened that
    was quiet for at least half the interval (traffic keeps a connection alive too)."""

    def __init__(self, pool: Any, interval: float,
                 loop: asyncio.AbstractEventLoop | None = None) -> None:
        self.pool = pool
        self.interval = interval
        self._loop = loop
        self._handle: asyncio.TimerHandle | None = None
        self.pings = 0

    def start(self) -> None:
        if self.interval > 0:
            self._loop = self._loop or asyncio.get_running_loop()
            self._handle = self._loop.call_later(self.interval, self._tick)

    def _tick(self) -> None:
        assert self._loop is not None
        quiet_since = self._loop.time() - self.interval / 2
        try:
            for conn in self.pool.connections():
                if conn.accepted or conn.last_active > quiet_since:
                    continue
                if conn.write(PING):
                    self.pings += 1
                    self.pool.stats.pings_sent += 1
        except Exception:  # noqa: BLE001 - a keep-alive must never stop the loop
            log.exception("keep-alive round failed")
        self._handle = self._loop.call_later(self.interval, self._tick)

    def close(self) -> None:
        if self._handle is not None:
            self._handle.cancel()
            self._handle = None
