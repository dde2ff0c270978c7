"""Web and API work in a call waits for the gap after an audio period (firmware.control.pacing).

Why: an SSE push or a page answer holds the loop for about a millisecond; started
just before a period's deadline it makes that period's RTP packet late (the pacing
figure with the page open is in bench/bench_web.py). These tests pin the rule, not
a duration: work due close to a period starts only once the period has run; work
with room before the next period, or with no call, starts at once (no yield).
"""

from __future__ import annotations

import asyncio

from firmware.control.pacing import GUARD_S, media_gap


def _runs_without_yielding(coro: object) -> bool:
    """True when the coroutine finished on its first step (it never awaited a sleep)."""
    try:
        coro.send(None)  # type: ignore[attr-defined]
    except StopIteration:
        return True
    coro.close()  # type: ignore[attr-defined]
    return False


def test_no_call_or_a_period_far_enough_away_starts_at_once() -> None:
    async def main() -> tuple[bool, bool, bool]:
        loop = asyncio.get_running_loop()
        far = loop.time() + 10 * GUARD_S
        return (_runs_without_yielding(media_gap(None)),
                _runs_without_yielding(media_gap(lambda: None)),
                _runs_without_yielding(media_gap(lambda: far)))

    assert asyncio.run(main()) == (True, True, True)


def test_work_due_close_to_a_period_starts_after_it() -> None:
    async def main() -> tuple[bool, float, float]:
        loop = asyncio.get_running_loop()
        at = loop.time() + GUARD_S / 3  # the next period is due very soon
        period_ran: list[float] = []
        loop.call_at(at, lambda: period_ran.append(loop.time()))  # the audio pump's timer
        yielded = not _runs_without_yielding(media_gap(lambda: at))
        await media_gap(lambda: at)
        return yielded, (period_ran or [float("inf")])[0], loop.time()

    yielded, period_at, started = asyncio.run(main())
    assert yielded
    assert period_at <= started  # the period ran first: its packet went out before the work


def test_an_overdue_period_still_runs_first() -> None:
    async def main() -> tuple[float, float]:
        loop = asyncio.get_running_loop()
        at = loop.time() - 0.001  # late: the pump's timer is already due
        ran: list[float] = []
        loop.call_at(at, lambda: ran.append(loop.time()))
        await media_gap(lambda: at)
        return (ran or [float("inf")])[0], loop.time()

    period_at, started = asyncio.run(main())
    assert period_at <= started
