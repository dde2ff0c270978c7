"""Call-progress and DTMF tones, generated period by period.

Why: the handset plays dial tone, ringback, busy and call-waiting locally
(no RTP), so the generator keeps phase and cadence across periods and is
pulled at the audio device's pace. Frequencies and cadences follow the North
American precise tone plan (ANSI T1.401 / Telcordia GR-506): dial 350+440 Hz
continuous, ringback 440+480 Hz 2 s on 4 s off, busy 480+620 Hz 0.5/0.5 s,
reorder 480+620 Hz 0.25/0.25 s, call waiting 440 Hz 0.3 s (then 9.7 s
silence); and the ITU-T E.180 425 Hz plan (dial continuous, ringback 1 s on
4 s off, busy 0.5/0.5 s). DTMF pairs are ITU-T Q.23.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

DTMF_LOW = {"1": 697, "2": 697, "3": 697, "A": 697, "4": 770, "5": 770, "6": 770, "B": 770,
            "7": 852, "8": 852, "9": 852, "C": 852, "*": 941, "0": 941, "#": 941, "D": 941}
DTMF_HIGH = {"1": 1209, "4": 1209, "7": 1209, "*": 1209, "2": 1336, "5": 1336, "8": 1336,
             "0": 1336, "3": 1477, "6": 1477, "9": 1477, "#": 1477, "A": 1633, "B": 1633,
             "C": 1633, "D": 1633}


@dataclass(frozen=True, slots=True, kw_only=True)
class ToneSpec:
    """Frequencies summed at ``level_dbfs`` each, and an (on, off) cadence; () = continuous."""

    freqs: tuple[float, ...]
    cadence: tuple[tuple[float, float], ...] = ()
    level_dbfs: float = -16.0
    once: bool = False


TONES_NA: dict[str, ToneSpec] = {
    "dial": ToneSpec(freqs=(350.0, 440.0)),
    "ringback": ToneSpec(freqs=(440.0, 480.0), cadence=((2.0, 4.0),)),
    "busy": ToneSpec(freqs=(480.0, 620.0), cadence=((0.5, 0.5),)),
    "reorder": ToneSpec(freqs=(480.0, 620.0), cadence=((0.25, 0.25),)),
    "call_waiting": ToneSpec(freqs=(440.0,), cadence=((0.3, 9.7),)),
    "confirm": ToneSpec(freqs=(350.0, 440.0), cadence=((0.1, 0.1),) * 3, once=True),
    # dial tone that stutters first: voice messages are waiting (GR-506 "message waiting
    # indicator" dial tone: ten 0.1 s bursts, then steady)
    "stutter": ToneSpec(freqs=(350.0, 440.0), cadence=((0.1, 0.1),) * 10 + ((3600.0, 0.0),)),
    # the warning before an auto-answered (intercom) call is heard: two short beeps
    "intercom": ToneSpec(freqs=(480.0,), cadence=((0.15, 0.1), (0.15, 0.2)), once=True),
}
TONES_ITU: dict[str, ToneSpec] = {
    "dial": ToneSpec(freqs=(425.0,)),
    "ringback": ToneSpec(freqs=(425.0,), cadence=((1.0, 4.0),)),
    "busy": ToneSpec(freqs=(425.0,), cadence=((0.5, 0.5),)),
    "reorder": ToneSpec(freqs=(425.0,), cadence=((0.25, 0.25),)),
    "call_waiting": ToneSpec(freqs=(425.0,), cadence=((0.2, 0.2), (0.2, 9.4))),
}


def dtmf_spec(digit: str, duration: float = 0.1) -> ToneSpec:
    """The Q.23 pair for ``digit``, on for ``duration`` then off (plays once)."""
    d = digit.upper()
    if d not in DTMF_LOW:
        raise ValueError(f"not a DTMF digit: {digit!r}")
    return ToneSpec(freqs=(DTMF_LOW[d], DTMF_HIGH[d]), cadence=((duration, 0.05),),
                    level_dbfs=-10.0, once=True)


class ToneGenerator:
    """Pull ``next_period()`` for consecutive S16_LE periods of a tone."""

    def __init__(self, spec: ToneSpec, *, rate: int = 8000, period: int = 160) -> None:
        self.spec = spec
        self.rate = rate
        self.period = period
        self._n = 0  # samples produced so far (phase and cadence position)
        amp = 32767.0 * 10 ** (spec.level_dbfs / 20.0)
        self._amp = amp
        cycle = [(int(round(on * rate)), int(round(off * rate))) for on, off in spec.cadence]
        self._cycle = cycle
        self._cycle_len = sum(a + b for a, b in cycle)

    @property
    def finished(self) -> bool:
        return self.spec.once and self._n >= self._cycle_len

    def _gate(self, idx: np.ndarray) -> np.ndarray:
        if not self._cycle:
            return np.ones(idx.size, dtype=bool)
        pos = idx % self._cycle_len if not self.spec.once else idx
        gate = np.zeros(idx.size, dtype=bool)
        start = 0
        for on, off in self._cycle:
            gate |= (pos >= start) & (pos < start + on)
            start += on + off
        return gate

    def next_period(self) -> bytes:
        idx = np.arange(self._n, self._n + self.period, dtype=np.int64)
        self._n += self.period
        t = idx / self.rate
        wave = np.zeros(self.period, dtype=np.float64)
        for f in self.spec.freqs:
            wave += np.sin(2 * np.pi * f * t)
        wave *= self._amp
        wave[~self._gate(idx)] = 0.0
        return np.clip(wave, -32768, 32767).astype("<i2").tobytes()


def sine(freq: float, seconds: float, *, rate: int = 8000, level_dbfs: float = -6.0) -> bytes:
    """A plain sine as S16_LE (test signals, the mock microphone)."""
    n = int(round(seconds * rate))
    t = np.arange(n) / rate
    amp = 32767.0 * 10 ** (level_dbfs / 20.0)
    return (amp * np.sin(2 * np.pi * freq * t)).astype("<i2").tobytes()
