"""Clocks: the one source of time for every timer in the firmware.

Why: the sans-IO cores never read a clock; they take ``now`` and report their
next deadline. The shell arms that deadline on a ``Clock``. In production the
clock is the asyncio loop's (``LoopClock``); in tests it is ``VirtualClock``,
so RFC 3261's 32-second Timer B elapses in microseconds and every timestamp a
test asserts is exact.
"""

from __future__ import annotations

import heapq
import itertools
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol


class Cancellable(Protocol):
    def cancel(self) -> None: ...


class Clock(Protocol):
    """What the firmware needs from time: read it, and be called back at a deadline."""

    def time(self) -> float: ...

    def call_at(self, when: float, callback: Callable[[], Any]) -> Cancellable: ...

    def call_later(self, delay: float, callback: Callable[[], Any]) -> Cancellable: ...


@dataclass(order=True)
class _Scheduled:
    when: float
    seq: int
    callback: Callable[[], Any] = field(compare=False)
    cancelled: bool = field(default=False, compare=False)

    def cancel(self) -> None:
        self.cancelled = True


class VirtualClock:
    """A clock that moves only when told to: ``advance(dt)`` or ``run_until_idle()``.

    Callbacks run in deadline order (ties first-in first-out), with ``time()``
    set to each callback's deadline while it runs, so code under test sees the
    exact instant its timer was due.
    """

    def __init__(self, start: float = 0.0) -> None:
        self._now = start
        self._heap: list[_Scheduled] = []
        self._seq = itertools.count()

    def time(self) -> float:
        return self._now

    def call_at(self, when: float, callback: Callable[[], Any]) -> _Scheduled:
        item = _Scheduled(max(when, self._now), next(self._seq), callback)
        heapq.heappush(self._heap, item)
        return item

    def call_later(self, delay: float, callback: Callable[[], Any]) -> _Scheduled:
        return self.call_at(self._now + max(0.0, delay), callback)

    def call_soon(self, callback: Callable[[], Any]) -> _Scheduled:
        return self.call_at(self._now, callback)

    def next_deadline(self) -> float | None:
        """The earliest pending deadline, or None when nothing is scheduled."""
        while self._heap and self._heap[0].cancelled:
            heapq.heappop(self._heap)
        return self._heap[0].when if self._heap else None

    def advance(self, dt: float) -> int:
        """Move time forward by ``dt`` seconds, running every callback due; returns how many ran."""
        return self.advance_to(self._now + dt)

    def advance_to(self, target: float) -> int:
        ran = 0
        while True:
            nxt = self.next_deadline()
            if nxt is None or nxt > target:
                break
            item = heapq.heappop(self._heap)
            self._now = max(self._now, item.when)
            item.callback()
            ran += 1
        self._now = max(self._now, target)
        return ran

    def run_until_idle(self, limit: float = 3600.0) -> int:
        """Run callbacks until none is left or virtual time passes ``now + limit``."""
        end = self._now + limit
        ran = 0
        while True:
            nxt = self.next_deadline()
            if nxt is None or nxt > end:
                return ran
            ran += self.advance_to(nxt)


class LoopClock:
    """The asyncio event loop's monotonic clock (``loop.time()``/``loop.call_at``)."""

    #: ``loop.time`` itself, bound once: a call's audio period reads the clock several
    #: times, and a method wrapping it would be one more Python call each time
    time: Callable[[], float]

    def __init__(self, loop: Any) -> None:
        self._loop = loop
        self.time = loop.time

    def call_at(self, when: float, callback: Callable[[], Any]) -> Cancellable:
        return self._loop.call_at(when, callback)

    def call_later(self, delay: float, callback: Callable[[], Any]) -> Cancellable:
        return self._loop.call_later(delay, callback)

    def call_soon(self, callback: Callable[[], Any]) -> Cancellable:
        return self._loop.call_soon(callback)
