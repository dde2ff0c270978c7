"""Drives a sans-IO SIP ``Endpoint`` over a real ``SipTransport`` for tests and benches.

Why it exists: tests/net, tests/interop and bench/bench_sip_calls.py run a
bare endpoint (no call control, no App) against SIPp, Kamailio or another
endpoint, and want the wire as it crossed, events in a queue, and commands
that raise. Why it is thin: pumping a core (flush output after every input,
hand events up, keep exactly one timer at ``get_timer()``, count and survive
a core's exceptions) is the product's ``firmware.app.pump.CorePump``, on the
loop's clock; this adds only what tooling needs on top:

- ``on_wire`` sees every message in and out (``WireRecord``), for ladders;
- without ``on_event``, events queue for ``await wait_event(...)``;
- ``command(endpoint.invite, ...)`` passes ``now`` and lets an
  ``EndpointError`` (the caller's bug) propagate, after the flush.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

from firmware.app.pump import CorePump
from firmware.net.transport import Address, SipTransport
from hal.clock import LoopClock

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
    """An endpoint and a transport joined by a ``CorePump``; see the module docstring.

    ``on_event`` gets every endpoint event in order; when it is None events
    are queued for ``wait_event``. ``on_wire`` sees every message in and out.
    Build it inside the running loop (or pass ``loop``).
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
        self.clock = LoopClock(loop or asyncio.get_running_loop())
        self.pump = CorePump(endpoint, self.clock, send=self._send, on_event=self._event,
                             name="sip-driver")
        self._events: asyncio.Queue[Any] = asyncio.Queue()
        self._wire_errors = 0
        transport.on_receive = self._receive

    def now(self) -> float:
        return self.clock.time()

    @property
    def errors(self) -> int:
        """Exceptions the core, an event handler or the wire observer raised (and survived)."""
        return self.pump.errors + self._wire_errors

    @property
    def timer_fires(self) -> int:
        return self.pump.timer_fired

    @property
    def timer_deadline(self) -> float | None:
        """The deadline currently armed on the loop (None when none)."""
        return self.pump.deadline

    # -- inputs -------------------------------------------------------------
    def _receive(self, data: bytes, source: Address, transport: str) -> None:
        self._wire("in", data, source, transport)
        self.pump.input(self.endpoint.receive_datagram, data, source, transport)

    def command(self, method: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Run an endpoint command with ``now=loop.time()``, then flush.

        ``driver.command(endpoint.invite, "sip:bob@host", sdp)`` returns what
        the command returns; its exceptions propagate (after the flush).
        """
        try:
            return method(*args, now=self.now(), **kwargs)
        finally:
            self.pump.flush()

    def flush(self) -> None:
        """Send queued datagrams, deliver events, re-arm the one timer."""
        self.pump.flush()

    # -- outputs ------------------------------------------------------------
    def _send(self, item: Any) -> None:
        self._wire("out", item.data, item.dest, item.transport)
        self.transport.send(item.data, item.dest, item.transport)

    def _event(self, event: Any) -> None:
        if self.on_event is None:
            self._events.put_nowait(event)
        else:
            self.on_event(event)  # CorePump counts and logs what it raises

    def _wire(self, direction: str, data: bytes, peer: Address, transport: str) -> None:
        if self.on_wire is None:
            return
        record = WireRecord(direction=direction, data=data, peer=peer, transport=transport,
                            time=self.now())
        try:
            self.on_wire(record)
        except Exception:  # noqa: BLE001 - an observer must not change what is sent
            self._wire_errors += 1
            log.exception("wire observer failed")

    # -- conveniences -------------------------------------------------------
    async def wait_event(
        self, predicate: Callable[[Any], bool] | None = None, timeout: float = 10.0
    ) -> Any:
        """The next queued event (matching ``predicate``, others are discarded).

        Only when ``on_event`` is None. Raises ``TimeoutError`` after ``timeout``.
        """
        async with asyncio.timeout(timeout):
            while True:
                event = await self._events.get()
                if predicate is None or predicate(event):
                    return event

    async def close(self) -> None:
        self.pump.close()
        await self.transport.close()
