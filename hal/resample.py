"""The phone's one sample-rate converter: integer ratios, 20 ms period in, one period out.

Why one, and why here: the voice path converts between 8 kHz (G.711) and
16 kHz (a wideband handset, G.722), and between either and 48 kHz (a sound
card that refuses the voice rate, ``hal.pi.rate_fallback``). ``hal`` is the
lowest package, so both the media core (``firmware.media.framecodec``) and
the Pi driver can use this without the driver knowing the firmware.

Why this filter, not libsoxr: ``bench/bench_resample.py`` measures both on
every path. soxr at its default quality answers in bursts (nothing for
several periods, then many: 100+ ms of lag), which breaks a 20 ms period
grid; at its quick quality it is steady but lets images and aliases through
at about -30 dB. This windowed sinc (Blackman, 48 taps per phase, cut-off
0.45 x the low rate) is steady (each period in gives exactly one period out)
and at 8 kHz stays within 1 dB up to 3.4 kHz and at least 54 dB down from
4 kHz up, so nothing aliases. State (filter history, decimation phase) is
carried across periods, so a stream converted period by period is
sample-identical to the same stream converted at once.
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "CUTOFF", "TAPS_PER_PHASE", "VOICE_RATE", "Downsampler", "IntegerResampler", "Upsampler",
]

VOICE_RATE = 8000
CUTOFF = 0.45  # of the low rate: 3.6 kHz at 8 kHz
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


class Downsampler:
    """S16_LE bytes at ``high_rate`` in, at ``low_rate`` out (16 -> 8 kHz by default).

    The byte-level face of ``IntegerResampler`` for the 2:1 path G.711 takes
    on a wideband handset (``firmware.media.framecodec``, the conference mixer).
    """

    def __init__(self, high_rate: int = 16000, low_rate: int = VOICE_RATE) -> None:
        self._rs = IntegerResampler(high_rate, low_rate)

    def process(self, pcm: bytes) -> bytes:
        return self._rs.down(np.frombuffer(pcm, dtype="<i2")).tobytes()


class Upsampler:
    """S16_LE bytes at ``low_rate`` in, at ``high_rate`` out (8 -> 16 kHz by default)."""

    def __init__(self, high_rate: int = 16000, low_rate: int = VOICE_RATE) -> None:
        self._rs = IntegerResampler(high_rate, low_rate)

    def process(self, pcm: bytes) -> bytes:
        return self._rs.up(np.frombuffer(pcm, dtype="<i2")).tobytes()
