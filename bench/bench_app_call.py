"""Bench: CPU of a two-phone call through the whole app (``python -m firmware run``'s stack).

Why a separate bench: bench_media_cpu.py measures the media stack alone
(RtpEndpoint + AudioPump); the handset runs it through ``firmware.app.App`` and
``firmware.app.host.PhoneHost`` (CorePumps on the loop clock, ``UdpMediaIO``). Two
``firmware.demo.network`` handsets (mock HAL, MockAudio paced by the loop clock, a 440 Hz
tone each way) call each other on loopback in this one process; CPU is
``time.process_time()`` (every thread) and the loop thread's
``time.thread_time()`` over the call, after a second of settling, reported per
phone per minute of call. Loop wake-ups are counted by wrapping the selector.

``--callgrind`` counts instructions instead (noise-free, whatever the machine's
load): the script runs itself under valgrind's callgrind for a short and a long
call; the difference per extra second, per phone, per 20 ms period is the figure
(start-up cancels out), as bench_media_instr.py does for the media stack alone.

usage: python bench/bench_app_call.py [--seconds 30] [--runs 3]
       python bench/bench_app_call.py --callgrind [--short 3 --long 9]
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from firmware.demo.network import Network, call_and_answer, free_media_base, handset_config  # noqa: E402


async def one_call(seconds: float) -> dict[str, float]:
    net = Network()
    loop = asyncio.get_running_loop()
    selector = loop._selector  # type: ignore[attr-defined]
    wakeups = [0]
    select = selector.select

    def counting(timeout: float | None = None) -> list:
        wakeups[0] += 1
        return select(timeout)

    selector.select = counting
    try:
        a = await net.add("A", handset_config("5550001", media_base=free_media_base()))
        b = await net.add("B", handset_config("5550002", media_base=free_media_base()))
        a.audio.set_tone(440)
        b.audio.set_tone(1000)
        await call_and_answer(a, b)
        await asyncio.sleep(1.0)
        p0, t0, w0, c0 = time.process_time(), time.thread_time(), wakeups[0], time.monotonic()
        await asyncio.sleep(seconds)
        p1, t1, w1, c1 = time.process_time(), time.thread_time(), wakeups[0], time.monotonic()
        heard_a, heard_b = a.audio.dominant_hz(), b.audio.dominant_hz()
        assert heard_a and abs(heard_a - 1000) < 50, heard_a
        assert heard_b and abs(heard_b - 440) < 25, heard_b
        minutes = (c1 - c0) / 60.0
        return {"process": (p1 - p0) / minutes / 2, "loop_thread": (t1 - t0) / minutes / 2,
                "wakeups_per_s": (w1 - w0) / (c1 - c0)}
    finally:
        selector.select = select
        await net.close()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=30.0)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--callgrind", action="store_true")
    ap.add_argument("--short", type=float, default=3.0)
    ap.add_argument("--long", type=float, default=9.0)
    args = ap.parse_args()
    if args.callgrind:
        import tempfile

        from bench_media_instr import callgrind_total

        me = [sys.executable, str(Path(__file__).resolve()), "--runs", "1"]
        with tempfile.TemporaryDirectory() as tmp:
            short = callgrind_total([*me, "--seconds", str(args.short)], Path(tmp), "s")
            long_ = callgrind_total([*me, "--seconds", str(args.long)], Path(tmp), "l")
        per_period = (long_ - short) / (args.long - args.short) / 2 / 50
        print(f"callgrind: {short:,} Ir ({args.short:g} s call), {long_:,} Ir ({args.long:g} s)")
        print(f"ours (whole app): {per_period / 1e3:.0f} k instructions per 20 ms period per phone")
        return
    logging.basicConfig(level=logging.WARNING)
    runs = [asyncio.run(one_call(args.seconds)) for _ in range(args.runs)]
    for key, unit in (("process", "CPU-s/min per phone, all threads"),
                      ("loop_thread", "CPU-s/min per phone, loop thread"),
                      ("wakeups_per_s", "loop wake-ups/s, both phones")):
        vals = [r[key] for r in runs]
        print(f"{key:14s} median {statistics.median(vals):.3f}  range {min(vals):.3f}-{max(vals):.3f}  ({unit})")


if __name__ == "__main__":
    main()
