"""Which server a message for "the proxy" goes to: RFC 3263 targets, failover, fail-back.

Why between the core and the transport: the sans-IO core addresses requests
to the proxy as configured (``pbx.example`` or ``192.0.2.10:5060``); which
machine that is right now depends on DNS, on which servers failed lately and
on the backup proxy, all of which live here, on the loop.

A ``Route`` is one configured proxy: its targets are the RFC 3263 answer for
the primary (``resolve.TargetResolver``) followed by those of
``proxy_backup``.  A message for the route goes to

* the target in use (sticky: the one that answered keeps getting every
  request, the REGISTER with credentials included), unless it failed;
* else the first target, in order, that has not failed within
  ``retry_interval`` seconds.

A target fails when the core reports a transaction timeout or a 503 for the
route (``target_failed``, RFC 3263 §4.3, RFC 3261 §16.7), when the kernel
reports an ICMP error for its address, or when a TCP connect to it is refused
(``unreachable``, RFC 3261 §18.4); messages waiting for a refused connect
are sent on to the next target at once.  When a failure is forgotten and the
failed target ranks before the one in use, the route falls back to it and
``on_failback`` tells the app, which re-registers there.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from firmware.net.resolve import Target, TargetResolver, is_ip_literal
from firmware.net.wire import is_request, retarget_request_uri

__all__ = ["Route", "RouteSpec", "Router"]

log = logging.getLogger(__name__)

Address = tuple[str, int]
#: Messages held per route while its name resolves.
MAX_WAITING = 32


class Sender(Protocol):
    def send(self, data: bytes, dest: Address, transport: str = "udp", *,
             server_name: str | None = None) -> None: ...


@dataclass(frozen=True, slots=True)
class RouteSpec:
    """A configured proxy: ``host`` with ``port`` (None: not given, RFC 3263 SRV),
    and the backup proxy tried after every target of the primary."""

    host: str
    port: int | None
    transport: str = "udp"
    backup: Address | None = None


class Route:
    """One proxy's targets, the one in use, and the failures remembered."""

    def __init__(self, key: Address, spec: RouteSpec) -> None:
        self.key = key
        self.spec = spec
        self.active: Target | None = None
        self.failed: dict[Target, float] = {}
        self.waiting: list[tuple[bytes, str]] = []
        self.resolving = False
        #: The targets that are ``proxy_backup``'s (a request sent there names it).
        self.backup_targets: set[Target] = set()

    def pick(self, targets: list[Target], now: float) -> Target | None:
        """The target for the next message (see the module docstring)."""
        if not targets:
            return None
        if self.active in targets and self.failed.get(self.active, 0.0) <= now:
            return self.active
        for t in targets:
            if self.failed.get(t, 0.0) <= now:
                self._use(t)
                return t
        # Every target failed lately: the one whose failure is oldest news.
        best = min(targets, key=lambda t: self.failed.get(t, 0.0))
        self._use(best)
        return best

    def _use(self, target: Target) -> None:
        if target != self.active:
            log.info("proxy %s:%s: now using %s:%d", self.key[0], self.key[1], target.host,
                     target.port)
        self.active = target


class Router:
    """Sends for the core through ``transport``, choosing targets per ``Route``."""

    def __init__(self, transport: Sender, resolver: TargetResolver | None = None, *,
                 retry_interval: float = 60.0,
                 loop: asyncio.AbstractEventLoop | None = None) -> None:
        self.transport = transport
        self.resolver = resolver or TargetResolver()
        self.retry_interval = retry_interval
        self._loop = loop
        self.routes: dict[Address, Route] = {}
        #: Called with a route's key when it falls back to a better target (re-register).
        self.on_failback: Callable[[Address], None] | None = None
        #: Called with every target a route resolved to (the app trusts them as the proxy).
        self.on_targets: Callable[[list[Target]], None] | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._timers: dict[Address, asyncio.TimerHandle] = {}
        self.dropped = 0
        self.failovers = 0

    @property
    def loop(self) -> asyncio.AbstractEventLoop:
        return self._loop or asyncio.get_running_loop()

    def add(self, key: Address, spec: RouteSpec) -> Route:
        route = self.routes.get(key)
        if route is None or route.spec != spec:
            route = self.routes[key] = Route(key, spec)
        return route

    # -- targets ------------------------------------------------------------
    def _cached(self, route: Route, now: float) -> list[Target] | None:
        spec = route.spec
        out: list[Target] = []
        for host, port in [(spec.host, spec.port), *([spec.backup] if spec.backup else [])]:
            if is_ip_literal(host):
                found: list[Target] | None = [Target(host.strip("[]"), port or 5060)]
            else:
                found = self.resolver.cached(host, port, spec.transport, now)
            if found is None:
                return None
            if spec.backup is not None and (host, port) == spec.backup:
                route.backup_targets = set(found) - set(out)
            out.extend(t for t in found if t not in out)
        return out

    async def targets(self, key: Address) -> list[Target]:
        """The route's targets, resolving what is not cached (for start-up decisions)."""
        route = self.routes[key]
        spec = route.spec
        out: list[Target] = []
        for host, port in [(spec.host, spec.port), *([spec.backup] if spec.backup else [])]:
            found = await self.resolver.resolve(host, port, spec.transport)
            out.extend(t for t in found if t not in out)
        if self.on_targets is not None:
            try:
                self.on_targets(out)
            except Exception:  # noqa: BLE001
                log.exception("targets handler failed")
        return out

    def current(self, key: Address) -> Target | None:
        """The target the next message for ``key`` goes to, if known without DNS."""
        route = self.routes.get(key)
        if route is None:
            return None
        targets = self._cached(route, self.loop.time())
        return route.pick(targets, self.loop.time()) if targets else None

    # -- sending ------------------------------------------------------------
    def send(self, data: bytes, dest: Address, transport: str = "udp") -> None:
        """Send ``data`` for ``dest`` (a route key, or any address); never raises."""
        route = self.routes.get((dest[0], int(dest[1])))
        if route is None:
            self.transport.send(data, dest, transport)
            return
        now = self.loop.time()
        targets = self._cached(route, now)
        if targets is None:
            if len(route.waiting) >= MAX_WAITING:
                self.dropped += 1
                log.warning("proxy %s: too many messages wait for DNS; dropped one", dest[0])
                return
            route.waiting.append((data, transport))
            self._resolve(route)
            return
        target = route.pick(targets, now)
        if target is None:
            self.dropped += 1
            log.warning("proxy %s: no address to send to (DNS gave none)", dest[0])
            return
        self._send(data, target, transport, route)

    @staticmethod
    def _for(route: Route, target: Target, data: bytes) -> bytes:
        """A request for the proxy sent to the backup names the backup (``wire``)."""
        if target in route.backup_targets and route.spec.backup and is_request(data):
            return retarget_request_uri(data, route.key, route.spec.backup)
        return data

    def _resolve(self, route: Route) -> None:
        if route.resolving:
            return
        route.resolving = True
        task = self.loop.create_task(self._resolve_then_send(route))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _resolve_then_send(self, route: Route) -> None:
        try:
            await self.targets(route.key)
        except Exception:  # noqa: BLE001 - a resolver bug must not strand the queue
            log.exception("resolving proxy %s failed", route.key[0])
        finally:
            route.resolving = False
        waiting, route.waiting = route.waiting, []
        targets = self._cached(route, self.loop.time())
        target = route.pick(targets, self.loop.time()) if targets else None
        for data, transport in waiting:
            if target is None:
                self.dropped += 1  # DNS gave nothing
                continue
            self._send(data, target, transport, route)

    def _send(self, data: bytes, target: Target, transport: str, route: Route) -> None:
        if transport.lower() == "tls":
            # RFC 5922 §4: the certificate must name the proxy's domain as configured,
            # not the address its DNS records gave
            backup = route.spec.backup if target in route.backup_targets else None
            self.transport.send(self._for(route, target, data), target.address, transport,
                                server_name=backup[0] if backup else route.key[0])
        else:
            self.transport.send(self._for(route, target, data), target.address, transport)

    # -- failures -------------------------------------------------------------
    def target_failed(self, key: Address, why: str = "failed") -> bool:
        """The core saw a timeout or 503 for a request sent to route ``key``.

        Returns whether the route has another server that has not failed lately
        (the core then sends the failed request again: ``Endpoint.fail_over``)."""
        route = self.routes.get((key[0], int(key[1])))
        if route is None:
            return False
        if route.active is not None:
            self._fail(route, route.active, why)
        now = self.loop.time()
        targets = self._cached(route, now) or []
        return any(route.failed.get(t, 0.0) <= now for t in targets)

    def unreachable(self, address: Address) -> list[Address]:
        """The kernel refused ``address`` (ICMP, TCP): fail it in every route using it.
        Returns the keys of the routes that moved to another target."""
        moved = []
        for route in self.routes.values():
            if route.active is not None and route.active.address == (address[0], int(address[1])):
                self._fail(route, route.active, "unreachable")
                moved.append(route.key)
        return moved

    def connect_failed(self, address: Address, messages: list[bytes]) -> bool:
        """A TCP connect to ``address`` failed: send its queued messages to the next target."""
        moved = self.unreachable(address)
        if not moved:
            return False
        for data in messages:
            self.send(data, moved[0], "tcp")
        return True

    def _fail(self, route: Route, target: Target, why: str) -> None:
        now = self.loop.time()
        route.failed[target] = now + self.retry_interval
        route.active = None
        self.failovers += 1
        log.warning("proxy %s:%s: %s:%d %s; avoiding it for %.0fs", route.key[0], route.key[1],
                    target.host, target.port, why, self.retry_interval)
        self._arm_failback(route)

    def _arm_failback(self, route: Route) -> None:
        old = self._timers.pop(route.key, None)
        if old is not None:
            old.cancel()
        now = self.loop.time()
        pending = [until for until in route.failed.values() if until > now]
        if pending:
            self._timers[route.key] = self.loop.call_at(min(pending) + 0.01,
                                                        self._failback, route)

    def _failback(self, route: Route) -> None:
        """A failure was forgotten: if a better target is usable again, go back to it."""
        self._timers.pop(route.key, None)
        now = self.loop.time()
        targets = self._cached(route, now) or []
        route.failed = {t: until for t, until in route.failed.items() if until > now}
        best = next((t for t in targets if t not in route.failed), None)
        rank = {t: i for i, t in enumerate(targets)}
        if (best is not None and route.active is not None
                and rank.get(best, 1 << 30) < rank.get(route.active, 1 << 30)):
            log.info("proxy %s:%s: trying %s:%d again", route.key[0], route.key[1], best.host,
                     best.port)
            route.active = best
            if self.on_failback is not None:
                try:
                    self.on_failback(route.key)
                except Exception:  # noqa: BLE001
                    log.exception("fail-back handler failed")
        self._arm_failback(route)

    def close(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        for timer in self._timers.values():
            timer.cancel()
        self._timers.clear()
