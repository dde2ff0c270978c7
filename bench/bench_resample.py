#!/usr/bin/env python3
"""Resamplers on the voice paths: ours (hal.resample), the old 2:1 filter, and soxr.

Why: the phone converts audio on three kinds of path, every 20 ms on the
loop that also paces the audio: 8 <-> 16 kHz (G.711 on a wideband handset),
and 8 or 16 <-> 48 kHz (a sound card that refuses the voice rate). A
converter for that job must (1) keep a voice-band tone clean, (2) keep what
is above the new Nyquist frequency from folding into the voice band on the
way down, and from leaving images above the old one on the way up, (3) turn
every 20 ms period into exactly one period at the other rate (a converter
that buffers and answers in bursts adds latency and breaks the period
grid), and (4) cost little CPU. This measures each candidate on each path
in the same run:

- ``hal``: ``hal.resample.IntegerResampler`` (polyphase windowed sinc,
  Blackman, 48 taps per phase, cut-off 0.45 x the low rate);
- ``2:1``: the 31-tap Hamming half-band filter ``firmware.media.resample``
  had before issue 10 (8 <-> 16 kHz only), rebuilt here from its recipe so
  the figures stay reproducible;
- ``soxr QQ`` / ``soxr HQ``: libsoxr through ``soxr.ResampleStream`` (a
  maintained library), at its quick and its default quality.

Figures: THD+N of a 1 kHz tone (dB below the tone); alias (down) or image
(up) level of an out-of-band tone or of the 1 kHz tone's images (dB below
the input); the level change of a tone at the top of the voice band (3.4 kHz
at 8 kHz, 7 kHz at 16 kHz); the worst lag of output behind input (ms) and
whether every period came out whole; CPU per period (us, median of 5 runs).

Usage: python bench/bench_resample.py [--periods N]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from hal.resample import IntegerResampler  # noqa: E402

try:
    import soxr  # noqa: E402
except ImportError:  # pragma: no cover - not installed: no peer figures
    soxr = None

PERIOD_S = 0.02
PATHS = [(8000, 16000), (16000, 8000), (8000, 48000), (48000, 8000), (16000, 48000), (48000, 16000)]

Block = Callable[[np.ndarray], np.ndarray]  # int16 block at one rate -> int16 block at the other


def tone(hz: float, rate: int, seconds: float, amplitude: float = 10000.0) -> np.ndarray:
    t = np.arange(int(rate * seconds)) / rate
    return np.rint(amplitude * np.sin(2 * np.pi * hz * t)).astype("<i2")


def db(x: np.ndarray) -> float:
    return float(20 * np.log10(np.sqrt(np.mean(x.astype(np.float64) ** 2)) + 1e-9))


def _halfband() -> np.ndarray:
    n = np.arange(31) - 15
    h = 0.5 * np.sinc(n / 2) * np.hamming(31)
    return h / h.sum()


class OldHalfBand:
    """The pre-issue-10 ``firmware.media.resample`` Down/Upsampler, 2:1 only."""

    def __init__(self, up: bool) -> None:
        self.up, self.h = up, _halfband()
        self.hist, self.odd = np.zeros(30), 0

    def __call__(self, x: np.ndarray) -> np.ndarray:
        x = x.astype(np.float64)
        if self.up:
            z = np.zeros(2 * x.size)
            z[::2] = 2.0 * x
            x = z
        buf = np.concatenate((self.hist, x))
        y = np.convolve(buf, self.h, mode="valid")
        self.hist = buf[-30:]
        if not self.up:
            y, self.odd = y[self.odd::2], (self.odd + x.size) % 2
        return np.clip(np.rint(y), -32768, 32767).astype("<i2")


def candidates(src: int, dst: int) -> dict[str, Callable[[], Block]]:
    high, low = max(src, dst), min(src, dst)
    out: dict[str, Callable[[], Block]] = {}

    def ours() -> Block:
        rs = IntegerResampler(high, low)
        return rs.up if dst > src else rs.down

    out["hal"] = ours
    if high == 2 * low == 16000:
        out["2:1"] = lambda: OldHalfBand(up=dst > src)
    if soxr is not None:
        for q in ("QQ", "HQ"):
            out[f"soxr {q}"] = (
                lambda q=q: soxr.ResampleStream(src, dst, 1, dtype="int16", quality=q).resample_chunk
            )
    return out


def run(make: Callable[[], Block], x: np.ndarray, src: int, dst: int) -> tuple[np.ndarray, float, bool]:
    """Convert ``x`` period by period: (output, worst lag in ms, every period whole)."""
    conv, n_in, n_out = make(), int(src * PERIOD_S), int(dst * PERIOD_S)
    outs, produced, lag, whole = [], 0, 0.0, True
    for i in range(0, len(x) - n_in + 1, n_in):
        y = np.asarray(conv(x[i:i + n_in])).reshape(-1)
        whole &= len(y) == n_out
        outs.append(y)
        produced += len(y)
        lag = max(lag, ((i + n_in) * dst / src - produced) / dst * 1000)
    return np.concatenate(outs), lag, whole


def thd_n(y: np.ndarray, hz: float, rate: int) -> float:
    """Residual after the best-fitting ``hz`` sine, dB below that sine."""
    t = np.arange(len(y)) / rate
    basis = np.stack([np.sin(2 * np.pi * hz * t), np.cos(2 * np.pi * hz * t)], axis=1)
    coef, *_ = np.linalg.lstsq(basis, y.astype(np.float64), rcond=None)
    return db(y - basis @ coef) - db(basis @ coef)


def above(y: np.ndarray, rate: int, hz: float) -> np.ndarray:
    """The part of ``y`` above ``hz`` (FFT brick wall: analysis only)."""
    spec = np.fft.rfft(y.astype(np.float64) * np.hanning(len(y)))
    spec[np.fft.rfftfreq(len(y), 1 / rate) <= hz] = 0
    return np.fft.irfft(spec, len(y))


@dataclass
class Row:
    name: str
    thd_n: float
    stray: float
    edge: float
    lag_ms: float
    whole: bool
    us: float


def measure(name: str, make: Callable[[], Block], src: int, dst: int, periods: int) -> Row:
    settle = int(0.2 * dst)  # skip the filters' start-up
    x = tone(1000, src, 1.0)
    y, lag, whole = run(make, x, src, dst)
    y = y[settle:]
    if dst < src:  # a tone that would fold into the band: 0.75 x the new rate
        bad = tone(0.75 * dst, src, 1.0)
        stray = db(run(make, bad, src, dst)[0][settle:]) - db(bad)
    else:  # images of the 1 kHz tone above the old Nyquist frequency
        stray = db(above(y, dst, src / 2)) - db(x)
    top = 3400 if min(src, dst) == 8000 else 7000
    edge = db(run(make, tone(top, src, 1.0), src, dst)[0][settle:]) - db(tone(top, src, 1.0))
    blocks = [b for b in np.split(tone(1000, src, periods * PERIOD_S), periods)]
    runs = []
    for _ in range(5):
        conv = make()
        t0 = time.perf_counter()
        for b in blocks:
            conv(b)
        runs.append((time.perf_counter() - t0) / periods * 1e6)
    return Row(name, thd_n(y, 1000, dst), stray, edge, lag, whole, statistics.median(runs))


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    ap.add_argument("--periods", type=int, default=500)
    args = ap.parse_args(argv)
    if soxr is None:
        print("soxr is not installed: only our own figures")
    print("path          candidate   THD+N  alias/img  band-edge  worst lag  whole   CPU/period")
    for src, dst in PATHS:
        for name, make in candidates(src, dst).items():
            r = measure(name, make, src, dst, args.periods)
            stray = f"{r.stray:7.1f} dB" if r.stray > -150 else " silent   "
            print(f"{src:>5}->{dst:<5}  {r.name:<9} {r.thd_n:6.1f} dB {stray} "
                  f"{r.edge:7.2f} dB {r.lag_ms:7.1f} ms  {'yes' if r.whole else 'NO ':<5}"
                  f"{r.us:8.1f} us")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
