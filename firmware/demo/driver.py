"""Drives the sans-IO SIP ``Endpoint`` from asyncio (the aioquic ``transmit()`` pattern).

Why: the core never reads a clock or touches a socket; something must feed
it what arrives, stamped with ``loop.time()``, put what it queues on the wire,
and wake it at its next deadline.  After every input (a datagram, a timer, a
command) the driver:

1. flushes ``endpoint.datagrams_to_send()`` into the ``SipTransport``;
2. drains ``endpoint.next_event()`` to the ``on_event`` callback (or to an
   ``asyncio.Queue`` read by ``wait_event``);
3. re-arms exactly one ``loop.call_at(endpoint.get_timer())``, replacing the
   previous handle only when the deadline moved.

Errors from the core on input are logged and counted, never raised into the
loop; an ``EndpointError`` from a *command* is the caller's bug and is raised
to the caller, after the flush.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

from firmware.net.transport import Address, SipTransport

__all__ = ["SansIOEndpoint", "SipDriver", "WireRecord"]

log = logging.getLogger(__name__)

T = TypeVar("T")


class SansIOEndpoint(Protocol):
    """The verbs of ``firmware.sip.endpoint.Endpoint`` the driver uses."""

    def receive_datagram(
        self, data: bytes, source: Address, transport: str, now: float
    ) -> None: ...

    def datagrams_to_send(self) -> list[Any]: ...

    def next_event(self) -> Any | None: ...

    def get_timer(self) -> float | None: ...

    def handle_timer(self, now: float) -> None: ...


@dataclass(frozen=True, kw_only=True)
class WireRecord:
    """One message as it crossed the wire, for ladder diagrams and test assertions."""

    direction: str  # "in" or "out"
    data: bytes
    peer: Address
    transport: str
    time: float


class SipDriver:
    """Owns an endpoint and a transport; see the module docstring.

    ``on_event`` gets every endpoint event in order; when it is None events
    are queued for ``wait_event``.  ``on_wire`` sees every message in and out.
    """

    def __init__(
        self,
        endpoint: SansIOEndpoint,
        transport: SipTransport,
        *,
        on_event: Callable[[Any], None] | None = None,
        on_wire: Callable[[WireRecord], None] | None = None,
        loop: asyncio.AbstractEventLoop | None = None,
    ) -> None:
        self.endpoint = endpoint
        self.transport = transport
        self.on_event = on_event
        self.on_wire = on_wire
        self._loop = loop
        self._timer: asyncio.TimerHandle | None = None
        self._timer_at: float | None = None
        self._events: asyncio.Queue[Any] = asyncio.Queue()
        self._flushing = False
        self.errors = 0
        self.timer_fires = 0
        transport.on_receive = self._receive

    @property
    def loop(self) -> asyncio.AbstractEventLoop:
        if self._loop is None:
            self._loop = asyncio.get_running_loop()
        return self._loop

    def now(self) -> float:
        return self.loop.time()

    # -- inputs -------------------------------------------------------------
    def _receive(self, data: bytes, source: Address, transport: str) -> None:
        now = self.now()
        if self.on_wire is not None:
            self._wire("in", data, source, transport, now)
        try:
            self.endpoint.receive_datagram(data, source, transport, now)
        except Exception:  # noqa: BLE001 - the core promises not to raise; if it does, survive
            self.errors += 1
            log.exception("endpoint raised on a %d-byte message from %s", len(data), source)
        self.flush()

    def _fire(self) -> None:
        self._timer = None
        self._timer_at = None
        self.timer_fires += 1
        try:
            self.endpoint.handle_timer(self.now())
        except Exception:  # noqa: BLE001
            self.errors += 1
            log.exception("endpoint raised in handle_timer")
        self.flush()

    def command(self, method: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Run an endpoint command with ``now=loop.time()``, then flush.

        ``driver.command(endpoint.invite, "sip:bob@host", sdp)`` returns what
        the command returns; its exceptions propagate (after the flush).
        """
        try:
            return method(*args, now=self.now(), **kwargs)
        finally:
            self.flush()

    # -- outputs ------------------------------------------------------------
    def flush(self) -> None:
        """Send queued datagrams, deliver events, re-arm the one timer."""
        if self._flushing:  # an on_event callback issued a command: the outer flush continues
            return
        self._flushing = True
        try:
            while True:
                progressed = self._send_all()
                progressed |= self._deliver_events()
                if not progressed:
                    break
        finally:
            self._flushing = False
        self._rearm()

    def _send_all(self) -> bool:
        try:
            outgoing = self.endpoint.datagrams_to_send()
        except Exception:  # noqa: BLE001
            self.errors += 1
            log.exception("endpoint raised in datagrams_to_send")
            return False
        for item in outgoing:
            if self.on_wire is not None:
                self._wire("out", item.data, item.dest, item.transport, self.now())
            self.transport.send(item.data, item.dest, item.transport)
        return bool(outgoing)

    def _deliver_events(self) -> bool:
        delivered = False
        while True:
            try:
                event = self.endpoint.next_event()
            except Exception:  # noqa: BLE001
                self.errors += 1
                log.exception("endpoint raised in next_event")
                return delivered
            if event is None:
                return delivered
            delivered = True
            if self.on_event is None:
                self._events.put_nowait(event)
                continue
            try:
                self.on_event(event)
            except Exception:  # noqa: BLE001 - a bug in call control must not stop SIP
                self.errors += 1
                log.exception("event handler failed on %s", type(event).__name__)

    def _rearm(self) -> None:
        try:
            deadline = self.endpoint.get_timer()
        except Exception:  # noqa: BLE001
            self.errors += 1
            log.exception("endpoint raised in get_timer")
            deadline = None
        if deadline == self._timer_at and (deadline is None or self._timer is not None):
            return
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self._timer_at = deadline
        if deadline is not None:
            self._timer = self.loop.call_at(deadline, self._fire)

    def _wire(self, direction: str, data: bytes, peer: Address, transport: str, now: float) -> None:
        try:
            assert self.on_wire is not None
            self.on_wire(
                WireRecord(direction=direction, data=data, peer=peer, transport=transport, time=now)
            )
        except Exception:  # noqa: BLE001
            self.errors += 1
            log.exception("wire observer failed")

    # -- conveniences -------------------------------------------------------
    @property
    def timer_deadline(self) -> float | None:
        """The deadline currently armed on the loop (None when none)."""
        return self._timer_at if self._timer is not None else None

    async def wait_event(
        self, predicate: Callable[[Any], bool] | None = None, timeout: float = 10.0
    ) -> Any:
        """The next queued event (matching ``predicate``, others are discarded).

        Only when ``on_event`` is None.  Raises ``TimeoutError`` after ``timeout``.
        """
        async with asyncio.timeout(timeout):
            while True:
                event = await self._events.get()
                if predicate is None or predicate(event):
                    return event

    async def close(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
            self._timer_at = None
        await self.transport.close()
