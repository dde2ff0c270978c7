"""Plain A lookups for the transport's own sends to a name, without blocking the loop.

Why: the core addresses requests to the Request-URI or proxy host, which may
be a name (a Cisco config names its proxy).  ``socket.sendto`` would resolve
it synchronously and stall every call on the phone while DNS answers; here
names are resolved with ``loop.getaddrinfo`` and cached for a while, and
messages for a name being resolved wait in a small bounded queue.  The phone's
proxies go through ``router.py`` (RFC 3263 NAPTR/SRV with failover); this
covers any other name a message is addressed to.
"""

from __future__ import annotations

import asyncio
import logging
import socket
from collections.abc import Callable

__all__ = ["NameCache"]

log = logging.getLogger(__name__)

Address = tuple[str, int]


class NameCache:
    """Resolve ``(name, port)`` to an IP address, once per ``ttl`` seconds, asynchronously."""

    def __init__(
        self,
        loop: asyncio.AbstractEventLoop,
        *,
        family: int = socket.AF_INET,
        ttl: float = 60.0,
        max_names: int = 64,
        max_waiting: int = 32,
    ) -> None:
        self._loop = loop
        self._family = family
        self._ttl = ttl
        self._max_names = max_names
        self._max_waiting = max_waiting
        self._cache: dict[str, tuple[str, float]] = {}
        self._waiting: dict[str, list[Callable[[str | None], None]]] = {}
        self._tasks: set[asyncio.Task[None]] = set()

    def lookup(self, host: str) -> str | None:
        """The cached address of ``host`` if still fresh."""
        hit = self._cache.get(host.lower())
        if hit is not None and hit[1] > self._loop.time():
            return hit[0]
        return None

    def resolve(self, host: str, then: Callable[[str | None], None]) -> bool:
        """Call ``then(ip)`` (or ``then(None)`` on failure) once ``host`` is resolved.

        Returns False, without calling ``then``, when too many sends already wait.
        """
        key = host.lower()
        cached = self.lookup(key)
        if cached is not None:
            then(cached)
            return True
        waiting = self._waiting.get(key)
        if waiting is not None:
            if len(waiting) >= self._max_waiting:
                return False
            waiting.append(then)
            return True
        if len(self._waiting) >= self._max_names:
            return False
        self._waiting[key] = [then]
        task = self._loop.create_task(self._resolve(key))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return True

    async def _resolve(self, key: str) -> None:
        address: str | None = None
        try:
            infos = await self._loop.getaddrinfo(
                key, None, family=self._family, type=socket.SOCK_DGRAM
            )
            address = str(infos[0][4][0]) if infos else None
        except (OSError, UnicodeError) as exc:
            log.info("cannot resolve %s: %s", key, exc)
        if address is not None:
            if len(self._cache) >= self._max_names:
                self._cache.pop(next(iter(self._cache)))
            self._cache[key] = (address, self._loop.time() + self._ttl)
        for then in self._waiting.pop(key, []):
            try:
                then(address)
            except Exception:  # noqa: BLE001 - one bad callback must not strand the others
                log.exception("send after resolving %s failed", key)

    def close(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        self._waiting.clear()
