"""Sound cards that refuse 8 kHz: open them at 16 or 48 kHz and resample.

Why: the voice path runs at 8 kHz (G.711, 20 ms = 160 frames), but many USB
sound cards and I2S codecs only clock 16/44.1/48 kHz. Opened as ``hw:``
devices they either refuse 8000 Hz outright or, through
``snd_pcm_hw_params_set_rate_near``, silently run at 48000 Hz: the far end
then hears chipmunks or silence. ``open_voice_pcm`` asks for 8000 Hz first,
checks the rate the device actually granted (``PCM.info()["rate"]``), and
falls back to 16000 then 48000 Hz, wrapping the device in ``ResampledPcm``
so that the caller (``hal.pi.audio.AlsaAudio``) still reads and writes 8 kHz
periods of the same size and meaning. Only integer ratios are used (x2, x6),
so the converter is a plain polyphase FIR with no drift of its own.

Filter: windowed-sinc low-pass (Blackman), cutoff 3.6 kHz, 48 taps per
phase: within 1 dB up to 3.4 kHz (the telephone band) and at least 54 dB
down from 4 kHz (the 8 kHz Nyquist frequency) up, so nothing aliases. State (filter history, decimation phase) is carried
across periods, so a stream converted period by period is sample-identical
to the same stream converted at once.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

__all__ = ["FALLBACK_RATES", "IntegerResampler", "ResampledPcm", "open_voice_pcm"]

log = logging.getLogger(__name__)

VOICE_RATE = 8000
FALLBACK_RATES: tuple[int, ...] = (16000, 48000)
CUTOFF_HZ = 3600.0
TAPS_PER_PHASE = 48


def _lowpass(factor: int, high_rate: int) -> np.ndarray:
    """FIR taps at ``high_rate`` with unit DC gain, ``TAPS_PER_PHASE * factor`` long."""
    n = TAPS_PER_PHASE * factor
    t = np.arange(n) - (n - 1) / 2.0
    fc = CUTOFF_HZ / high_rate
    h = 2 * fc * np.sinc(2 * fc * t) * np.blackman(n)
    return h / h.sum()


class IntegerResampler:
    """Stateful int16 mono converter between 8 kHz and ``high_rate`` (an integer multiple).

    ``up(x)``: 8 kHz -> high rate (len(x) * factor samples out).
    ``down(x)``: high rate -> 8 kHz (len(x) // factor samples out, phase carried).
    One object per direction: each keeps its own filter history.
    """

    def __init__(self, high_rate: int, low_rate: int = VOICE_RATE) -> None:
        if high_rate % low_rate or high_rate <= low_rate:
            raise ValueError(f"{high_rate} Hz is not an integer multiple of {low_rate} Hz")
        self.factor = high_rate // low_rate
        self.taps = _lowpass(self.factor, high_rate)
        self._hist = np.zeros(len(self.taps) - 1)
        self._phase = 0  # down(): offset of the next kept sample in the next block

    def _filter(self, x: np.ndarray) -> np.ndarray:
        buf = np.concatenate((self._hist, x))
        self._hist = buf[len(buf) - (len(self.taps) - 1):]
        return np.convolve(buf, self.taps, mode="valid")

    @staticmethod
    def _to_int16(y: np.ndarray) -> np.ndarray:
        return np.clip(np.rint(y), -32768, 32767).astype("<i2")

    def up(self, x: np.ndarray) -> np.ndarray:
        stuffed = np.zeros(len(x) * self.factor)
        stuffed[:: self.factor] = x.astype(np.float64) * self.factor
        return self._to_int16(self._filter(stuffed))

    def down(self, x: np.ndarray) -> np.ndarray:
        y = self._filter(x.astype(np.float64))
        kept = y[self._phase :: self.factor]
        self._phase = (self._phase - len(y)) % self.factor
        return self._to_int16(kept)


class ResampledPcm:
    """A pyalsaaudio PCM running at ``rate`` that reads/writes 8 kHz frames.

    Mirrors the calls ``AlsaAudio`` makes on a PCM: ``read() -> (frames,
    bytes)``, ``write(bytes) -> frames``, ``polldescriptors()``, ``info()``,
    ``close()``. Frame counts are reported in 8 kHz frames; ALSA's negative
    (overrun/underrun) and zero (EAGAIN) results pass through unchanged.
    """

    def __init__(self, pcm: Any, rate: int) -> None:
        self.pcm = pcm
        self.rate = rate
        self._up = IntegerResampler(rate)
        self._down = IntegerResampler(rate)
        self.factor = self._up.factor

    def read(self) -> tuple[int, bytes]:
        n, data = self.pcm.read()
        if n <= 0:
            return n, data
        x = np.frombuffer(bytes(data[: n * 2]), dtype="<i2")
        y = self._down.down(x)
        return len(y), y.tobytes()

    def write(self, data: bytes) -> int:
        x = np.frombuffer(bytes(data[: len(data) // 2 * 2]), dtype="<i2")
        n = self.pcm.write(self._up.up(x).tobytes())
        return n if n <= 0 else n // self.factor

    def polldescriptors(self) -> Any:
        return self.pcm.polldescriptors()

    def info(self) -> dict[str, Any]:
        return dict(self.pcm.info(), rate=VOICE_RATE, device_rate=self.rate)

    def close(self) -> None:
        self.pcm.close()

    def __getattr__(self, name: str) -> Any:  # anything else: the device's own
        return getattr(self.pcm, name)


def _granted_rate(pcm: Any) -> int | None:
    try:
        return int(pcm.info()["rate"])
    except Exception:  # an object without info(): trust the request
        return None


def open_voice_pcm(
    open_at: Callable[[int, int], Any],
    device: str,
    *,
    period_frames: int,
    rates: Sequence[int] = FALLBACK_RATES,
) -> Any:
    """A PCM for 8 kHz voice on ``device``: the device itself, or resampled from 16/48 kHz.

    Args:
        open_at: ``open_at(rate, period_frames_at_that_rate)`` opens the device
            (raising ``OSError`` when it refuses), e.g. a lambda around
            ``alsaaudio.PCM(kind, mode, device=..., rate=rate, periodsize=...)``.
        device: the ALSA name, for the messages.
        period_frames: frames per period at 8 kHz (160 for 20 ms).
        rates: the fallbacks, in order of preference.

    Raises:
        OSError: no rate worked; the message lists what each attempt gave.
    """
    tried: list[str] = []
    for rate in (VOICE_RATE, *rates):
        factor = rate // VOICE_RATE
        try:
            pcm = open_at(rate, period_frames * factor)
        except OSError as exc:
            tried.append(f"{rate} Hz: {exc}")
            continue
        granted = _granted_rate(pcm)
        if granted is not None and granted != rate:  # set_rate_near chose another rate
            tried.append(f"{rate} Hz: device runs at {granted} Hz")
            pcm.close()
            continue
        if rate == VOICE_RATE:
            return pcm
        log.warning("audio: ALSA device %r refuses %d Hz (%s); running it at %d Hz and resampling",
                    device, VOICE_RATE, "; ".join(tried), rate)
        return ResampledPcm(pcm, rate)
    raise OSError(f"ALSA device {device!r} runs at none of {VOICE_RATE}, "
                  f"{', '.join(map(str, rates))} Hz: " + "; ".join(tried))
