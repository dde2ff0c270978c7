"""Drive one sans-IO core on a ``Clock`` (the aioquic ``transmit()`` pattern, no asyncio).

Why: every core (SIP endpoint, RTP stream, media engine) speaks the same
verbs: take input with ``now``, queue output, report one deadline. After each
input something must flush the output, hand the events upward and arm exactly
one timer at ``get_timer()``. Doing it here, against the ``hal.clock.Clock``
protocol instead of asyncio, lets a whole phone run on ``VirtualClock`` in
tests (RFC 3261's 32 s Timer B passes in microseconds) and on the event loop
in production, with the same code.

A core that raises on input is a bug in that core: the pump logs it, counts
it and keeps the phone running (bad input never raises out of the loop).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import KW_ONLY, dataclass, field
from typing import Any, Protocol

from hal.clock import Cancellable, Clock

log = logging.getLogger(__name__)

#: Bound on events drained per flush: a core that loops emitting events cannot starve the loop.
MAX_EVENTS_PER_FLUSH = 10_000


class SansIOCore(Protocol):
    def get_timer(self) -> float | None: ...

    def handle_timer(self, now: float) -> None: ...


@dataclass(eq=False, repr=False)
class CorePump:
    """Flushes a core's datagrams and events after each input and keeps its one timer armed.

    ``send`` receives each item of ``core.datagrams_to_send()`` (if the core has
    that verb); ``on_event`` each item of ``core.next_event()`` (or of the verb
    named by ``drain``, e.g. call control's ``next_action``). ``after`` runs
    after each flush: call control commands the SIP endpoint, whose output
    must then be flushed too.
    """

    core: SansIOCore
    clock: Clock
    _: KW_ONLY
    send: Callable[[Any], None] | None = None
    on_event: Callable[[Any], None] | None = None
    name: str = "core"
    drain: str = "next_event"
    after: Callable[[], None] | None = None
    #: runs just before the core's own timer fires (e.g. read the sockets whose
    #: input that deadline consumes, in the same wake-up)
    before_timer: Callable[[], None] | None = None
    #: ``defer(deadline)`` True: arm no timer for it, another pump ``tick``s this
    #: core at that instant (one loop wake-up instead of two)
    defer: Callable[[float], bool] | None = None
    #: with ``defer``: a timer ``fallback`` s after a deferred deadline all the same,
    #: for a ticking pump that may stop (a sound card that stalls paces itself);
    #: each tick re-arms it a period later, so it fires only if the ticks stop
    fallback: float = 0.0
    #: the timer goes off this much before the deadline: the audio engine's, whose
    #: core counts a period due up to ``EARLY_S`` early, is armed half of that early,
    #: since asyncio wakes 0..1 ms after a deadline (epoll's timeout is rounded up to
    #: the millisecond): the periods then run centred on their deadlines, not late
    arm_early: float = 0.0
    #: how early a deadline counts as due in ``tick`` (the cores' own slack, e.g.
    #: ``firmware.media.grid.EARLY_S``)
    early: float = 0.0
    #: Extra observers of each event after ``on_event`` (the web page's push waits on them).
    observers: list[Callable[[Any], None]] = field(default_factory=list, init=False)
    errors: int = field(default=0, init=False)
    timer_fired: int = field(default=0, init=False)
    #: how many times a timer was armed on the clock (a deadline that did not move
    #: keeps its timer: this does not grow)
    arms: int = field(default=0, init=False)
    closed: bool = field(default=False, init=False)
    _handle: Cancellable | None = field(default=None, init=False)
    _armed_at: float | None = field(default=None, init=False)
    _flushing: bool = field(default=False, init=False)
    _again: bool = field(default=False, init=False)

    def input(self, fn: Callable[..., Any], *args: Any, **kw: Any) -> Any:
        """Call ``fn(*args, now=clock.time(), **kw)``-style inputs safely, then flush.

        ``fn`` receives ``now`` as the keyword ``now``; an exception is logged,
        counted and swallowed (returns None).
        """
        try:
            result = fn(*args, now=self.clock.time(), **kw)
        except Exception:
            self.errors += 1
            log.exception("%s: input %s failed", self.name, getattr(fn, "__name__", fn))
            result = None
        self.flush()
        return result

    def flush(self) -> None:
        """Send what is queued, hand up events, re-arm the timer (re-entrant safe)."""
        if self.closed:
            return
        if self._flushing:
            self._again = True  # an event handler fed the core: flush once more afterwards
            return
        self._flushing = True
        try:
            while True:
                self._again = False
                self._drain()
                if not self._again:
                    break
        finally:
            self._flushing = False
        self._arm()
        if self.after is not None:
            self._hook(self.after, "after-flush hook")

    def _drain(self) -> None:
        out = getattr(self.core, "datagrams_to_send", None)
        if out is not None and self.send is not None:
            for item in out():
                try:
                    self.send(item)
                except Exception:
                    self.errors += 1
                    log.exception("%s: send failed", self.name)
        nxt = getattr(self.core, self.drain, None)
        if nxt is None:
            return
        for _ in range(MAX_EVENTS_PER_FLUSH):
            try:
                ev = nxt()
            except Exception:
                self.errors += 1
                log.exception("%s: next_event failed", self.name)
                return
            if ev is None:
                return
            if self.on_event is not None:
                try:
                    self.on_event(ev)
                    for observe in list(self.observers):
                        observe(ev)
                except Exception:
                    self.errors += 1
                    log.exception("%s: event handler failed on %r", self.name, type(ev).__name__)
        log.warning("%s: more than %d events in one flush", self.name, MAX_EVENTS_PER_FLUSH)

    def _arm(self) -> None:
        try:
            when = self.core.get_timer()
        except Exception:
            self.errors += 1
            log.exception("%s: get_timer failed", self.name)
            when = None
        if when is not None and self.defer is not None:
            try:
                if self.defer(when):
                    when = when + self.fallback if self.fallback > 0 else None
            except Exception:
                self.errors += 1
                log.exception("%s: defer check failed", self.name)
        if when == self._armed_at and self._handle is not None:
            return
        self._disarm()
        self._armed_at = when
        if when is not None:
            self.arms += 1
            self._handle = self.clock.call_at(when - self.arm_early, self._fire)

    @property
    def deadline(self) -> float | None:
        """The deadline armed on the clock now (None when no timer is armed)."""
        return self._armed_at if self._handle is not None else None

    def _fire(self) -> None:
        self._handle = None
        self._armed_at = None
        if self.closed:
            return
        self.timer_fired += 1
        if self.before_timer is not None:
            self._hook(self.before_timer, "before-timer hook")
        self._handle_timer()

    def tick(self) -> None:
        """Fire the core's timer now if its deadline has come (within ``early``), from
        another pump's wake-up; a no-op otherwise."""
        if self.closed:
            return
        try:
            when = self.core.get_timer()
        except Exception:
            when = None
        if when is None:
            return
        now = self.clock.time()
        if when > now + self.early:
            return
        self._disarm()
        self._handle_timer(now)

    def _handle_timer(self, now: float | None = None) -> None:
        try:
            self.core.handle_timer(self.clock.time() if now is None else now)
        except Exception:
            self.errors += 1
            log.exception("%s: handle_timer failed", self.name)
        self.flush()

    def close(self) -> None:
        """Stop the timer; later inputs are no longer flushed."""
        self.closed = True
        self._disarm()

    def _disarm(self) -> None:
        """Cancel the armed timer, if any."""
        if self._handle is not None:
            self._handle.cancel()
            self._handle = None
            self._armed_at = None

    def _hook(self, fn: Callable[[], None], what: str) -> None:
        """Run one of the owner's hooks; what it raises is counted and logged, like a core's."""
        try:
            fn()
        except Exception:
            self.errors += 1
            log.exception("%s: %s failed", self.name, what)
