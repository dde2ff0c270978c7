"""Sound cards that refuse the voice rate: open them at 48 kHz (or 16) and resample.

Why: the voice path runs at 8 kHz (G.711, 20 ms = 160 frames; 16 kHz for
G.722), but many USB sound cards and I2S codecs only clock 44.1/48 kHz.
Opened as ``hw:`` devices they either refuse 8000 Hz outright or, through
``snd_pcm_hw_params_set_rate_near``, silently run at 48000 Hz: the far end
then hears chipmunks or silence. ``open_voice_pcm`` asks for the voice rate
first, checks the rate the device actually granted (``PCM.info()["rate"]``),
and falls back to the integer multiples 16000 and 48000 Hz, wrapping the
device in ``ResampledPcm`` so that the caller (``hal.pi.audio.AlsaAudio``)
still reads and writes periods of the same size and meaning at the voice
rate. Only integer ratios are used (x2, x3, x6), so the converter is a plain
FIR with no drift of its own.

Filter: windowed-sinc low-pass (Blackman), cutoff 0.45 x the voice rate,
48 taps per phase. At 8 kHz: within 1 dB up to 3.4 kHz (the telephone band)
and at least 54 dB down from 4 kHz (the 8 kHz Nyquist frequency) up, so
nothing aliases. State (filter history, decimation phase) is carried across
periods, so a stream converted period by period is sample-identical to the
same stream converted at once.
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
CUTOFF = 0.45  # of the voice (low) rate: 3.6 kHz at 8 kHz
TAPS_PER_PHASE = 48


def _lowpass(factor: int) -> np.ndarray:
    """FIR taps at the high rate with unit DC gain, ``TAPS_PER_PHASE * factor`` long."""
    n = TAPS_PER_PHASE * factor
    t = np.arange(n) - (n - 1) / 2.0
    fc = CUTOFF / factor  # in cycles per high-rate sample
    h = 2 * fc * np.sinc(2 * fc * t) * np.blackman(n)
    return h / h.sum()


class IntegerResampler:
    """Stateful int16 mono converter between ``low_rate`` and ``high_rate`` (an integer multiple).

    ``up(x)``: low -> high rate (len(x) * factor samples out).
    ``down(x)``: high -> low rate (about len(x) / factor samples out, phase carried).
    One object per direction: each keeps its own filter history.
    """

    def __init__(self, high_rate: int, low_rate: int = VOICE_RATE) -> None:
        if high_rate % low_rate or high_rate <= low_rate:
            raise ValueError(f"{high_rate} Hz is not an integer multiple of {low_rate} Hz")
        self.factor = high_rate // low_rate
        self.taps = _lowpass(self.factor)
        self._hist = np.zeros(len(self.taps) - 1)  # down(): past high-rate input
        # up(): polyphase, so the zeros of the stuffed signal are never multiplied
        self._phases = [self.taps[k :: self.factor] for k in range(self.factor)]
        self._up_hist = np.zeros(TAPS_PER_PHASE - 1)  # past low-rate input
        self._phase = 0  # down(): offset of the next kept sample in the next block


    @staticmethod
    def _to_int16(y: np.ndarray) -> np.ndarray:
        return np.clip(np.rint(y), -32768, 32767).astype("<i2")

    def up(self, x: np.ndarray) -> np.ndarray:
        if len(x) == 0:  # (np.convolve would swap a short buffer with the taps)
            return np.zeros(0, dtype="<i2")
        # y[q*L + k] = L * sum_i x[q - i] * h[i*L + k]: zero-stuffing then filtering,
        # computed one phase k at a time
        buf = np.concatenate((self._up_hist, x.astype(np.float64) * self.factor))
        self._up_hist = buf[len(buf) - (TAPS_PER_PHASE - 1):]
        out = np.empty(len(x) * self.factor)
        for k, phase in enumerate(self._phases):
            out[k :: self.factor] = np.convolve(buf, phase, mode="valid")
        return self._to_int16(out)

    def down(self, x: np.ndarray) -> np.ndarray:
        if len(x) == 0:
            return np.zeros(0, dtype="<i2")
        ntaps = len(self.taps)
        buf = np.concatenate((self._hist, x.astype(np.float64)))
        self._hist = buf[len(buf) - (ntaps - 1):]
        y = np.convolve(buf, self.taps, mode="valid")  # one output per input sample
        kept = y[self._phase :: self.factor]
        self._phase = (self._phase - len(y)) % self.factor
        return self._to_int16(kept)


class ResampledPcm:
    """A pyalsaaudio PCM running at ``rate`` that reads/writes frames at ``voice_rate``.

    Mirrors the calls ``AlsaAudio`` makes on a PCM: ``read() -> (frames,
    bytes)``, ``write(bytes) -> frames``, ``polldescriptors()``, ``info()``,
    ``close()``. Frame counts are reported at the voice rate; ALSA's negative
    (overrun/underrun) and zero (EAGAIN) results pass through unchanged.
    """

    def __init__(self, pcm: Any, rate: int, voice_rate: int = VOICE_RATE) -> None:
        self.pcm = pcm
        self.rate = rate
        self.voice_rate = voice_rate
        self._up = IntegerResampler(rate, voice_rate)
        self._down = IntegerResampler(rate, voice_rate)
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
        return dict(self.pcm.info(), rate=self.voice_rate, device_rate=self.rate)

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
    voice_rate: int = VOICE_RATE,
    rates: Sequence[int] = FALLBACK_RATES,
) -> Any:
    """A PCM for voice at ``voice_rate`` on ``device``: the device itself, or resampled.

    Args:
        open_at: ``open_at(rate, period_frames_at_that_rate)`` opens the device
            (raising ``OSError`` when it refuses), e.g. a lambda around
            ``alsaaudio.PCM(kind, mode, device=..., rate=rate, periodsize=...)``.
        device: the ALSA name, for the messages.
        period_frames: frames per period at the voice rate (160 for 20 ms at 8 kHz).
        voice_rate: what the caller reads and writes (8000, or 16000 for G.722).
        rates: the fallbacks, in order; those not a multiple of ``voice_rate`` are skipped.

    Raises:
        OSError: no rate worked; the message lists what each attempt gave.
    """
    tried: list[str] = []
    candidates = [voice_rate] + [r for r in rates if r > voice_rate and r % voice_rate == 0]
    for rate in candidates:
        factor = rate // voice_rate
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
        if rate == voice_rate:
            return pcm
        log.warning("audio: ALSA device %r refuses %d Hz (%s); running it at %d Hz and resampling",
                    device, voice_rate, "; ".join(tried), rate)
        return ResampledPcm(pcm, rate, voice_rate)
    raise OSError(f"ALSA device {device!r} runs at none of "
                  f"{', '.join(map(str, candidates))} Hz: " + "; ".join(tried))
