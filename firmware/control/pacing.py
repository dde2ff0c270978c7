"""Web and API work in a call starts in the gap just after an audio period.

Why: in a call the phone sends an RTP packet on a 20 ms grid, from the audio
period's wake-up of the one asyncio loop. Answering a request or pushing the
handset state holds that loop for a while (an SSE push with its LCD PNG about
a millisecond, a page less; more on a cold cache). Work that starts a few
milliseconds before a period's deadline makes that packet late, and with one
push a second (the call timer) that is 2 % of the packets: the pacing's 99th
percentile (bench/bench_web.py). Started right after a period instead, the same
work has the rest of the 20 ms to itself, and the page waits at most ~one period
(a few milliseconds on average), which nobody sees.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

#: Work that would start closer than this to the next period waits until it has run
#: (the longest web answer measured, a push with its PNG, stays well inside).
GUARD_S = 0.006
#: Past the deadline, room for the period itself (read, mix, encode, send: < 1 ms).
AFTER_S = 0.0015

NextPeriod = Callable[[], "float | None"]


async def media_gap(next_period: NextPeriod | None) -> None:
    """Return at once, or just after the next audio period when it is due within
    ``GUARD_S``. ``next_period()`` is its loop time (None: no call, no waiting)."""
    if next_period is None:
        return
    at = next_period()
    if at is None:
        return
    wait = at - asyncio.get_running_loop().time()
    if wait < GUARD_S:
        await asyncio.sleep(max(0.0, wait) + AFTER_S)
