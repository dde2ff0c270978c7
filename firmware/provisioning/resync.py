"""Periodic resync on the event loop: fetch again every ``resync_interval`` s
and hand a changed config to the app (the 7960 checks its files on a timer
and on a SIP NOTIFY ``Event: check-sync``; ``check_now`` is the latter).

A failed or refused fetch changes nothing and is only logged; the interval
is re-read from each new config, and 0 stops the loop.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from pathlib import Path

from firmware.provisioning.boot import ResyncResult, Server, resync
from firmware.provisioning.schema import PhoneConfig
from firmware.provisioning.tftp import TftpSettings

log = logging.getLogger(__name__)


class Resyncer:
    """Owns the current config; calls ``on_change(result)`` when a resync changed it."""

    def __init__(
        self,
        current: PhoneConfig,
        tftp_server: str | Server | None,
        mac: str,
        cache_dir: Path | str,
        *,
        on_change: Callable[[ResyncResult], None],
        settings: TftpSettings | None = None,
        lease_paths: list[Path] | None = None,
    ) -> None:
        self.current = current
        self._server = tftp_server
        self._mac = mac
        self._cache_dir = cache_dir
        self._on_change = on_change
        self._settings = settings
        self._lease_paths = lease_paths
        self._lock = asyncio.Lock()
        self.checks = 0
        self.failures = 0

    async def check_now(self) -> ResyncResult:
        """Fetch and apply once (serialised: two triggers never overlap)."""
        async with self._lock:
            result = await resync(self.current, self._server, self._mac, self._cache_dir,
                                  settings=self._settings, lease_paths=self._lease_paths)
            self.checks += 1
            if result.problem:
                self.failures += 1
                log.warning("resync kept the current configuration: %s", result.problem)
            elif not result.diff.empty:
                self.current = result.config
                try:
                    self._on_change(result)
                except Exception:  # the app's handler must not kill the timer
                    log.exception("applying the new configuration failed")
            return result

    async def run(self) -> None:
        """Resync every ``current.resync_interval`` seconds until cancelled or 0."""
        while (interval := self.current.resync_interval) > 0:
            await asyncio.sleep(interval)
            await self.check_now()
