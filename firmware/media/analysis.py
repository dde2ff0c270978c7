"""Tone analysis: dominant frequency (windowed FFT), level in dBFS, Goertzel power.

Why: tests and the control API (``GET /api/mock/audio``) check audio by what
a listener would hear: "a 1 kHz tone reached the earpiece at -12 dBFS",
not by comparing bytes, which codecs, PLC and resampling legitimately change.
dBFS here is RMS relative to a full-scale sine (a full-scale sine is 0 dBFS).
"""

from __future__ import annotations

import numpy as np

FULL_SCALE_SINE_RMS = 32767.0 / np.sqrt(2.0)
SILENCE_DBFS = -120.0


def _samples(pcm: bytes | np.ndarray) -> np.ndarray:
    if isinstance(pcm, bytes | bytearray | memoryview):
        return np.frombuffer(pcm, dtype="<i2").astype(np.float64)
    return np.asarray(pcm, dtype=np.float64)


def level_dbfs(pcm: bytes | np.ndarray) -> float:
    """RMS level in dBFS (-120 for digital silence or no samples)."""
    x = _samples(pcm)
    if x.size == 0:
        return SILENCE_DBFS
    rms = float(np.sqrt(np.mean(x * x)))
    if rms <= 0.0:
        return SILENCE_DBFS
    return max(SILENCE_DBFS, 20.0 * np.log10(rms / FULL_SCALE_SINE_RMS))


def dominant_frequency(pcm: bytes | np.ndarray, rate: int = 8000,
                       min_dbfs: float = -60.0) -> float | None:
    """The strongest frequency (Hz, parabolic-interpolated FFT peak), or None when quiet."""
    x = _samples(pcm)
    if x.size < 64 or level_dbfs(x) < min_dbfs:
        return None
    x = x - x.mean()
    spec = np.abs(np.fft.rfft(x * np.hanning(x.size)))
    spec[0] = 0.0
    k = int(np.argmax(spec))
    if 0 < k < spec.size - 1:
        a, b, c = np.log(spec[k - 1:k + 2] + 1e-12)
        denom = a - 2 * b + c
        shift = 0.5 * (a - c) / denom if denom else 0.0
    else:
        shift = 0.0
    return float((k + shift) * rate / x.size)


def goertzel_dbfs(pcm: bytes | np.ndarray, freq: float, rate: int = 8000) -> float:
    """Level (dBFS) of the component at ``freq``: the single DFT bin Goertzel computes."""
    x = _samples(pcm)
    n = x.size
    if n == 0:
        return SILENCE_DBFS
    # A single DFT bin at an arbitrary frequency, computed as a dot product
    # (same value as the Goertzel recurrence, without a Python loop).
    t = np.arange(n)
    re = float(np.dot(x, np.cos(2 * np.pi * freq * t / rate)))
    im = float(np.dot(x, np.sin(2 * np.pi * freq * t / rate)))
    amp = 2.0 * np.hypot(re, im) / n  # sine amplitude
    if amp <= 0:
        return SILENCE_DBFS
    return max(SILENCE_DBFS, 20.0 * np.log10(amp / 32767.0))


def detect_dtmf(pcm: bytes | np.ndarray, rate: int = 8000, threshold_dbfs: float = -40.0) -> str | None:
    """The DTMF digit present in ``pcm`` (both Q.23 tones above threshold), else None."""
    from firmware.media.tones import DTMF_HIGH, DTMF_LOW

    lows = {f: goertzel_dbfs(pcm, f, rate) for f in sorted(set(DTMF_LOW.values()))}
    highs = {f: goertzel_dbfs(pcm, f, rate) for f in sorted(set(DTMF_HIGH.values()))}
    lo = max(lows, key=lows.__getitem__)
    hi = max(highs, key=highs.__getitem__)
    if lows[lo] < threshold_dbfs or highs[hi] < threshold_dbfs:
        return None
    for d, f in DTMF_LOW.items():
        if f == lo and DTMF_HIGH[d] == hi:
            return d
    return None
