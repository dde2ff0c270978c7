"""Periodic resync on the event loop: fetch again every ``resync_interval`` s
and hand a changed config to the app (the 7960 checks its files on a timer
and on a SIP NOTIFY ``Event: check-sync``; ``check_now`` is the latter).

A failed or refused fetch changes nothing and is only logged; the interval
is re-read from each new config, and 0 stops the loop. While the phone runs
without a usable fresh set (server down, per-MAC file missing, no line),
it retries every ``retry_interval`` seconds whatever ``resync_interval``
says: a phone booted line-less must pick up its line once the file appears.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
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
        degraded: bool = False,
        retry_interval: float = 60.0,
        fetcher: Callable[[str], Awaitable[bytes | None]] | None = None,
    ) -> None:
        self.current = current
        self._server = tftp_server
        self._mac = mac
        self._cache_dir = cache_dir
        self._on_change = on_change
        self._settings = settings
        self._lease_paths = lease_paths
        self._fetcher = fetcher
        self._lock = asyncio.Lock()
        self.checks = 0
        self.failures = 0
        #: True while the phone runs on the cache, SIPDefault alone or the defaults.
        self.degraded = degraded or not current.lines
        self.retry_interval = retry_interval
        #: The last check's problem (None: the server's set was good).
        self.problem: str | None = None

    async def check_now(self) -> ResyncResult:
        """Fetch and apply once (serialised: two triggers never overlap)."""
        async with self._lock:
            result = await resync(self.current, self._server, self._mac, self._cache_dir,
                                  settings=self._settings, lease_paths=self._lease_paths,
                                  fetcher=self._fetcher)
            self.checks += 1
            self.problem = result.problem
            self.degraded = bool(result.problem) or not result.config.lines
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

    def next_interval(self) -> float:
        """Seconds to the next check; 0 = no more checks."""
        interval = float(self.current.resync_interval)
        if self.degraded:
            return min(interval, self.retry_interval) if interval > 0 else self.retry_interval
        return interval

    async def run(self) -> None:
        """Resync every ``current.resync_interval`` seconds (``retry_interval`` while
        degraded) until cancelled or 0. Nothing a check raises ends the loop."""
        while (interval := self.next_interval()) > 0:
            await asyncio.sleep(interval)
            try:
                await self.check_now()
            except Exception:  # noqa: BLE001 - provisioning never stops the phone
                log.exception("resync failed")
