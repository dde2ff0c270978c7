"""Debouncing one contact on the event loop's clock.

Why: a hook switch or button contact chatters for a few milliseconds when it
moves. Reporting every edge would turn one lift into a lift, a hang-up and a
lift: a spurious hang-up drops the call. A new level is accepted only after the
contact has been quiet for ``quiet`` seconds, so any burst of chatter shorter
than that produces no event at all.

Edges may be signalled from anywhere on the loop thread (``edge()``); the
level is read back when the quiet time expires, so a missed edge cannot leave
the debounced state wrong.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from hal.clock import Cancellable, Clock

__all__ = ["Debouncer"]


class Debouncer:
    """Accepts ``read()``'s level after ``quiet`` seconds without edges; calls ``on_change``."""

    def __init__(
        self,
        clock: Clock,
        quiet: float,
        read: Callable[[], bool],
        on_change: Callable[[bool, float], Any],
        initial: bool = False,
    ) -> None:
        self._clock = clock
        self._quiet = quiet
        self._read = read
        self._on_change = on_change
        self._timer: Cancellable | None = None
        self.state = initial
        self.edges = 0  # raw edges seen, chatter included

    def edge(self) -> None:
        """The raw level may have changed: restart the quiet period."""
        self.edges += 1
        if self._timer is not None:
            self._timer.cancel()
        self._timer = self._clock.call_at(self._clock.time() + self._quiet, self._settle)

    def _settle(self) -> None:
        self._timer = None
        level = bool(self._read())
        if level != self.state:
            self.state = level
            self._on_change(level, self._clock.time())

    def close(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
