"""2:1 sample-rate conversion between a 16 kHz audio path and 8 kHz codecs.

Why: with a wideband handset (16 kHz device) G.722 runs natively, but G.711
calls still need 8 kHz. A windowed-sinc half-band low-pass (31 taps, cut-off
at 4 kHz) removes what would alias, with its history carried from frame to
frame so 20 ms frame boundaries do not click. Vectorised with numpy; no
per-sample Python loop.
"""

from __future__ import annotations

import numpy as np

TAPS = 31


def _lowpass() -> np.ndarray:
    n = np.arange(TAPS) - (TAPS - 1) / 2
    h = 0.5 * np.sinc(n / 2) * np.hamming(TAPS)  # cut-off at a quarter of 16 kHz
    return h / h.sum()


_H = _lowpass()


class Downsampler:
    """16 kHz S16_LE frames in, 8 kHz S16_LE frames out (half as many samples)."""

    def __init__(self) -> None:
        self._hist = np.zeros(TAPS - 1)
        self._odd = 0  # keep the decimation phase across frames of odd length

    def process(self, pcm: bytes) -> bytes:
        x = np.frombuffer(pcm, dtype="<i2").astype(np.float64)
        buf = np.concatenate((self._hist, x))
        y = np.convolve(buf, _H, mode="valid")  # one output per input sample
        self._hist = buf[-(TAPS - 1):]
        out = y[self._odd::2]
        self._odd = (self._odd + x.size) % 2
        return np.clip(np.rint(out), -32768, 32767).astype("<i2").tobytes()


class Upsampler:
    """8 kHz S16_LE frames in, 16 kHz S16_LE frames out (twice as many samples)."""

    def __init__(self) -> None:
        self._hist = np.zeros(TAPS - 1)

    def process(self, pcm: bytes) -> bytes:
        x = np.frombuffer(pcm, dtype="<i2").astype(np.float64)
        z = np.zeros(2 * x.size)
        z[::2] = 2.0 * x  # zero-stuff, gain 2 restores the level after the low-pass
        buf = np.concatenate((self._hist, z))
        y = np.convolve(buf, _H, mode="valid")
        self._hist = buf[-(TAPS - 1):]
        return np.clip(np.rint(y), -32768, 32767).astype("<i2").tobytes()
