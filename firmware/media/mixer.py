"""Mixer: the handset's audio junction for one call or a 3-way conference, sans-IO.

Why a module of its own: with one call the earpiece plays what the stream
received and the stream sends the microphone; in a conference this phone is
the bridge (the 7960 mixes locally too), so each party must hear the other
two and our microphone, and the earpiece hears both parties. That is the
same rule for N legs: the earpiece gets the sum of the legs, leg *i* gets
the microphone plus every leg but *i* (``total - leg_i``, one sum per period
instead of N). Mixing happens at one rate, the device's: 16 kHz when any
leg is wideband (G.722), so a G.711 leg is converted 2:1 on its way in and
out (``hal.resample``) while a G.722 leg keeps its 7 kHz band.

Each leg's converters keep their filter history from period to period, so a
leg must keep its key for the life of the call (the app uses the call id).
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping

import numpy as np

from hal.resample import Downsampler, Upsampler

RATES = (8000, 16000)


class _Leg:
    """One party's converters between its stream's rate and the mixing rate."""

    def __init__(self, rate: int, mix_rate: int) -> None:
        if rate not in RATES or mix_rate not in RATES:
            raise ValueError(f"unsupported rates {rate}/{mix_rate}")
        self.rate = rate
        self.mix_rate = mix_rate
        # received audio, to the mix; the mix, to the leg (None: same rate, as it is)
        self._in = _converter(rate, mix_rate)
        self._out = _converter(mix_rate, rate)

    def to_mix(self, pcm: bytes) -> bytes:
        return pcm if self._in is None else self._in.process(pcm)

    def from_mix(self, pcm: bytes) -> bytes:
        return pcm if self._out is None else self._out.process(pcm)


def _converter(src: int, dst: int) -> Upsampler | Downsampler | None:
    """The 2:1 converter from ``src`` to ``dst`` Hz, with its own filter history."""
    if src < dst:
        return Upsampler()
    if src > dst:
        return Downsampler()
    return None


def _i32(pcm: bytes, n: int) -> np.ndarray:
    """``pcm`` as int32, cut or zero-padded to ``n`` samples (a short period is silence)."""
    x = np.frombuffer(pcm, dtype="<i2")[:n].astype(np.int32)
    return x if x.size == n else np.concatenate((x, np.zeros(n - x.size, dtype=np.int32)))


def _i16(x: np.ndarray) -> bytes:
    return np.clip(x, -32768, 32767).astype("<i2").tobytes()


class Mixer:
    """Mix the microphone with N legs at ``rate``; ``period`` samples per period at that rate.

    ``set_legs({key: stream_rate})`` says who is in (keeping the converters of
    legs that stay); ``mix(mic, received)`` takes one period from the
    microphone (at ``rate``) and one from each leg (at the leg's rate) and
    returns ``(earpiece, {key: what leg key sends})``.
    """

    def __init__(self, rate: int = 8000, period: int = 160) -> None:
        if rate not in RATES:
            raise ValueError(f"unsupported mixing rate {rate}")
        self.rate = rate
        self.period = period
        self._legs: dict[Hashable, _Leg] = {}
        #: One leg at the mixing rate: ``mix`` would return the received period and the
        #: microphone unchanged, so the engine's period may skip calling it.
        self.passthrough = False

    def set_legs(self, legs: Mapping[Hashable, int]) -> None:
        self._legs = {
            key: old if (old := self._legs.get(key)) is not None and old.rate == r
            else _Leg(r, self.rate)
            for key, r in legs.items()
        }
        self.passthrough = (len(self._legs) == 1
                            and next(iter(self._legs.values())).rate == self.rate)

    @property
    def legs(self) -> tuple[Hashable, ...]:
        return tuple(self._legs)

    def mix(self, mic: bytes, received: Mapping[Hashable, bytes]) -> tuple[bytes, dict[Hashable, bytes]]:
        legs = self._legs
        if len(legs) == 1:
            (key, leg), = legs.items()
            if leg.rate == self.rate:  # one call at the device's rate: nothing to add up
                return received.get(key, bytes(2 * self.period)), {key: mic}
        n = self.period
        heard = {key: _i32(leg.to_mix(received.get(key, bytes(2 * n * leg.rate // self.rate))), n)
                 for key, leg in legs.items()}
        ear = np.zeros(n, dtype=np.int32)
        for x in heard.values():
            ear += x
        total = ear + _i32(mic, n)
        sends = {key: leg.from_mix(_i16(total - heard[key])) for key, leg in legs.items()}
        return _i16(ear), sends
