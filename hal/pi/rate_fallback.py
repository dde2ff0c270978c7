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
rate. Only integer ratios are used (x2, x3, x6), so the converter
(``hal.resample.IntegerResampler``, the phone's one resampler) is a plain FIR
with no drift of its own.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from hal.resample import VOICE_RATE, IntegerResampler

__all__ = ["FALLBACK_RATES", "ResampledPcm", "open_voice_pcm"]

log = logging.getLogger(__name__)

FALLBACK_RATES: tuple[int, ...] = (16000, 48000)


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
