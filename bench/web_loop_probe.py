"""What bench/bench_web.py measures inside phone B's process: each RTP send's
deviation from its slot, the loop's waits in its selector, who made a late send
late, and the loop-thread CPU of each SSE push, page answer and GC pause.

Why a module of its own: these probes patch the running loop and the web front
(read-only timing wrappers); the bench script keeps the phases, the processes and
the report.
"""

from __future__ import annotations

import asyncio
import bisect
import gc
import time
from typing import Any

from firmware.media.grid import EARLY_S


def deviation(sends: list[tuple[float, int, float]], grid: tuple[float, int, int, float]) -> list[float]:
    """Signed ms from each send to its slot ``t0 + n*ptime`` on the stream's grid;
    ``grid`` is (t0, ts0, samples per packet, ptime) and ``n`` comes from the packet's
    RTP timestamp."""
    t0, ts0, spp, ptime = grid
    return [(t - (t0 + ((ts - ts0) & 0xFFFFFFFF) // spp * ptime)) * 1000 for t, ts, _cpu in sends]


def watch_selects(loop: asyncio.AbstractEventLoop) -> list[tuple[float, float, float]]:
    """(entered, returned, thread CPU at return) of each of the loop's waits in its
    selector (loop times)."""
    selector = loop._selector  # type: ignore[attr-defined]
    select = selector.select
    waits: list[tuple[float, float, float]] = []

    def timed(timeout: float | None = None) -> Any:
        t = loop.time()
        try:
            return select(timeout)
        finally:
            waits.append((t, loop.time(), time.thread_time()))

    selector.select = timed
    return waits


def why_late(sends: list[tuple[float, int, float]], dev: list[float],
             waits: list[tuple[float, float, float]]) -> dict[str, int]:
    """Who made each send more than 2 ms late, by the loop thread's CPU time from the
    moment its period's timer fell due to the send: over 1 ms (the period's own work
    is a few tenths) is the loop busy (the web, a GC pause, another callback: ours);
    less is the machine (the process preempted, or its wake-up late: other processes,
    the VM). CPU time does not advance while the process waits for a CPU, so the
    split does not depend on the machine's load."""
    out = {"loop busy": 0, "machine": 0}
    returned = [w[1] for w in waits]
    for (t, _ts, cpu), d in zip(sends, dev, strict=True):
        if d <= 2.0:
            continue
        due = t - d / 1000 - EARLY_S / 2  # when the period's timer was armed to go off
        i = bisect.bisect_right(returned, t) - 1  # the wake-up that ran this period
        if i < 0:
            continue
        if waits[i][0] > due:  # busy when due: count from its last wake-up before then
            i = bisect.bisect_right(returned, due) - 1
            if i < 0:
                continue
        out["loop busy" if cpu - waits[i][2] > 0.001 else "machine"] += 1
    return out


def instrument() -> dict[str, list[float]]:
    """Loop-thread CPU (``thread_time``, ms) of each SSE push and each page or API answer:
    what the web takes from the loop, which other processes' load does not inflate."""
    from firmware.control.web import front, sse

    cpu: dict[str, list[float]] = {"push": []}
    snap = sse.snapshot

    def timed_snapshot(phone: Any) -> dict[str, Any]:
        t = time.thread_time()
        try:
            return snap(phone)
        finally:
            cpu["push"].append((time.thread_time() - t) * 1000)

    sse.snapshot = timed_snapshot  # type: ignore[assignment]
    handle = front.WebFront.handle

    async def timed_handle(self: Any, head: Any, body: bytes, **kw: Any) -> Any:
        t = time.thread_time()  # no awaits inside but login's hashing thread
        try:
            return await handle(self, head, body, **kw)
        finally:
            cpu.setdefault(head.path, []).append((time.thread_time() - t) * 1000)

    front.WebFront.handle = timed_handle  # type: ignore[method-assign]
    started: list[float] = []

    def collected(phase: str, info: dict[str, int]) -> None:  # the collector's pauses
        if phase == "start":
            started[:] = [time.thread_time()]
        elif started:
            cpu.setdefault(f"gc pause, generation {info['generation']}", []).append(
                (time.thread_time() - started[0]) * 1000)

    gc.callbacks.append(collected)
    return cpu
