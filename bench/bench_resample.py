#!/usr/bin/env python3
"""Sample-rate fallback cost and quality: hal.pi.rate_fallback vs audioop.ratecv.

Why: a card that refuses 8 kHz (hal/pi/rate_fallback.py) costs one up- and
one down-conversion per 20 ms period on the loop that also paces the audio,
so the figure that matters is the CPU time per period against the 20 ms
budget. The peer is the standard library's C converter ``audioop.ratecv``
(linear interpolation, no anti-alias filter), measured in the same run; its
quality figure shows what the FIR buys: a 5 kHz tone captured at 48 kHz must
not fold into the voice band (to 3 kHz) when taken down to 8 kHz.

Usage: python bench/bench_resample.py [--periods N] [--rate 48000|16000]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
import warnings
from collections.abc import Callable
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
warnings.filterwarnings("ignore", category=DeprecationWarning)

from hal.pi.rate_fallback import IntegerResampler  # noqa: E402

try:
    import audioop  # noqa: E402 - deprecated in 3.11, removed in 3.13
except ImportError:  # pragma: no cover - newer Pythons
    audioop = None


def tone(hz: float, rate: int, seconds: float) -> np.ndarray:
    t = np.arange(int(rate * seconds)) / rate
    return np.rint(10000 * np.sin(2 * np.pi * hz * t)).astype("<i2")


def rms_db(x: np.ndarray) -> float:
    return float(20 * np.log10(np.sqrt(np.mean(x.astype(np.float64) ** 2)) + 1e-9))


def per_period_us(fn: Callable[[bytes], object], periods: list[bytes], repeats: int = 5) -> float:
    """Median over ``repeats`` of the mean time per period, in microseconds."""
    runs = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        for p in periods:
            fn(p)
        runs.append((time.perf_counter() - t0) / len(periods) * 1e6)
    return statistics.median(runs)


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--periods", type=int, default=500)
    ap.add_argument("--rate", type=int, default=48000, choices=[16000, 48000])
    args = ap.parse_args(argv)
    high, factor = args.rate, args.rate // 8000
    low_periods = [p.tobytes() for p in np.split(tone(1000, 8000, args.periods * 0.02), args.periods)]
    high_periods = [p.tobytes() for p in np.split(tone(1000, high, args.periods * 0.02), args.periods)]

    up, down = IntegerResampler(high), IntegerResampler(high)
    ours_up = per_period_us(lambda b: up.up(np.frombuffer(b, dtype="<i2")).tobytes(), low_periods)
    ours_down = per_period_us(lambda b: down.down(np.frombuffer(b, dtype="<i2")).tobytes(), high_periods)
    print(f"8 kHz <-> {high} Hz, one 20 ms period ({160} <-> {160 * factor} frames), "
          f"median of 5 x {args.periods} periods")
    print(f"  ours     up {ours_up:8.1f} us  down {ours_down:8.1f} us  "
          f"= {(ours_up + ours_down) / 200:.2f}% of the 20 ms budget")
    if audioop is None:
        print("  audioop not available on this Python: no peer figures")
        return 0
    st: list[object] = [None, None]

    def ratecv(b: bytes, i: int, a: int, z: int) -> bytes:
        out, st[i] = audioop.ratecv(b, 2, 1, a, z, st[i])
        return out

    peer_up = per_period_us(lambda b: ratecv(b, 0, 8000, high), low_periods)
    peer_down = per_period_us(lambda b: ratecv(b, 1, high, 8000), high_periods)
    print(f"  audioop  up {peer_up:8.1f} us  down {peer_down:8.1f} us  "
          f"= {(peer_up + peer_down) / 200:.2f}% of the 20 ms budget")
    print(f"  ratio ours/audioop: up {ours_up / peer_up:.1f}x, down {ours_down / peer_down:.1f}x")

    alias = tone(5000, high, 1.0)
    ours_alias = IntegerResampler(high).down(alias)[1000:]
    peer_alias = np.frombuffer(audioop.ratecv(alias.tobytes(), 2, 1, high, 8000, None)[0], dtype="<i2")[1000:]
    def level(x: np.ndarray) -> str:
        if not x.any():
            return "silence (every sample rounds to 0)"
        return f"{rms_db(x) - rms_db(alias):.1f} dB"

    print(f"  5 kHz at {high} Hz taken to 8 kHz (it would fold to 3 kHz), level vs the input: "
          f"ours {level(ours_alias)}, audioop {level(peer_alias)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
