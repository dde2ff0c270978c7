"""MockAudio: a sound card on the injected clock, for tests and the demo.

Why: headless machines have no sound card (see the toolchain notes), yet the
voice path must be checked by ear: the mock microphone plays a tone (or any
samples), and the earpiece side records what reached it so a test or the
control API (``GET /api/mock/audio``) can ask for its dominant frequency and
level. It runs at the call's rate (``set_rate``: 16 kHz for G.722), so
tones up to 7 kHz are made and analysed at the stream's own rate. The
device has no clock of its own (``has_clock`` is False): the
media engine paces it on the loop clock, like ALSA's null/file plugins.
"""

from __future__ import annotations

from collections import deque
from typing import Any

from hal.base import Audio, AudioFormat


class MockAudio(Audio):
    def __init__(self, clock: Any = None, fmt: AudioFormat | None = None, *,
                 keep_seconds: float = 10.0, fail_open: str | None = None) -> None:
        self.clock = clock
        self.format = fmt or AudioFormat()
        self._open = False
        self._fail_open = fail_open
        self._tone_hz = 0.0
        self._level = 10 ** (-6.0 / 20.0) * 32767.0
        # the tone as S16_LE bytes, made by set_tone (numpy loads then): a period is a slice
        # of it, no numpy call 50 times a second
        self._tone_table = b""
        self._phase_n = 0
        self._inject = bytearray()
        keep = max(1, int(keep_seconds / self.format.period_seconds))
        self._played: deque[bytes] = deque(maxlen=keep)
        self.tx_frames = 0  # periods the microphone delivered
        self.rx_frames = 0  # periods that reached the earpiece
        self.last_write_at: float | None = None

    # ------------------------------------------------------------ Audio API

    def open(self) -> None:
        if self._fail_open:
            raise OSError(f"mock audio device unavailable: {self._fail_open}")
        self._open = True

    def close(self) -> None:
        self._open = False

    @property
    def is_open(self) -> bool:
        return self._open

    def read_period(self) -> bytes | None:
        if not self._open:
            return None
        n = self.format.period_frames
        if self._inject:
            chunk = bytes(self._inject[:2 * n])
            del self._inject[:2 * n]
            chunk += bytes(2 * n - len(chunk))
        elif self._tone_hz > 0:
            start = 2 * (self._phase_n % self.format.rate)
            chunk = self._tone_table[start:start + 2 * n]
        else:
            chunk = bytes(2 * n)
        self._phase_n += n
        self.tx_frames += 1
        return chunk

    def write_period(self, pcm: bytes) -> None:
        if not self._open:
            return
        self._played.append(bytes(pcm))
        self.rx_frames += 1
        if self.clock is not None:
            self.last_write_at = float(self.clock.time())

    def set_rate(self, rate: int) -> bool:
        """Switch the microphone and earpiece to ``rate`` (the call's: 16 kHz for G.722).

        The tone keeps playing, generated at the new rate (a 6 kHz tone made at
        8 kHz would alias to 2 kHz); what the earpiece recorded at the old rate is
        dropped, since it would be analysed at the wrong rate."""
        import numpy as np

        if rate not in (8000, 16000):
            return False
        if rate != self.format.rate:
            self.format = AudioFormat(rate=rate, period_frames=int(round(rate * self.format.period_seconds)))
            self._played.clear()
            self._phase_n = 0
            if self._tone_hz > 0:
                self.set_tone(self._tone_hz, 20 * float(np.log10(self._level / 32767.0)))
        return True

    # ------------------------------------------------------------ test hooks

    def set_tone(self, hz: float, level_dbfs: float = -6.0) -> None:
        """What the microphone hears from now on (0 = silence; fractional Hz are rounded),
        generated at the device's current rate (and again at a new one, ``set_rate``)."""
        import numpy as np

        self._tone_hz = float(max(0, round(hz)))
        self._level = 10 ** (level_dbfs / 20.0) * 32767.0
        # one second plus a period, precomputed: an integer-Hz tone repeats every second,
        # so slicing it keeps the phase continuous at no per-period cost
        rate, n = self.format.rate, self.format.period_frames
        t = np.arange(rate + n) / rate
        # a sound card's anti-alias filter: what the rate cannot carry is not captured
        # (a 6 kHz tone gives silence at 8 kHz, not a 2 kHz alias)
        level = self._level if self._tone_hz < rate / 2 else 0.0
        self._tone_table = (level * np.sin(2 * np.pi * self._tone_hz * t)).astype("<i2").tobytes()

    @property
    def tone_hz(self) -> float:
        return self._tone_hz

    def inject(self, pcm: bytes) -> None:
        """Exact samples for the microphone (played before any tone)."""
        self._inject += pcm

    def recorded(self, seconds: float | None = None) -> bytes:
        """What reached the earpiece, the last ``seconds`` of it (all kept when None)."""
        frames = list(self._played)
        frames += self._silence_since_last_write(len(frames))
        if seconds is not None:
            frames = frames[-max(1, int(round(seconds / self.format.period_seconds))):]
        return b"".join(frames)

    def _silence_since_last_write(self, have: int) -> list[bytes]:
        """An earpiece nobody writes to is silent: the periods since the last write
        (less two, for a loop that is merely late) count as silence, so an idle phone,
        which runs no audio periods, does not keep "hearing" its last call."""
        if self.clock is None or self.last_write_at is None:
            return []
        period = self.format.period_seconds
        idle = int((float(self.clock.time()) - self.last_write_at) / period) - 2
        if idle <= 0:
            return []
        keep = self._played.maxlen or have
        return [bytes(self.format.period_bytes)] * min(idle, keep)

    def dominant_hz(self, seconds: float = 0.5) -> float | None:
        """Strongest frequency at the earpiece over the last ``seconds`` (None: silence)."""
        import numpy as np

        x = np.frombuffer(self.recorded(seconds), dtype="<i2").astype(np.float64)
        if x.size < 64 or np.sqrt(np.mean(x * x)) < 30.0:  # about -60 dBFS
            return None
        spec = np.abs(np.fft.rfft((x - x.mean()) * np.hanning(x.size)))
        return float(np.argmax(spec) * self.format.rate / x.size)

    def tone_levels(self, freqs: list[float] | tuple[float, ...], seconds: float = 0.5) -> dict[float, float]:
        """Level (dBFS of a sine) at each of ``freqs`` at the earpiece, +-2 % around each:
        a conference's earpiece carries two parties at once, which one dominant
        frequency cannot tell."""
        import numpy as np

        x = np.frombuffer(self.recorded(seconds), dtype="<i2").astype(np.float64)
        if x.size < 64:
            return {f: -120.0 for f in freqs}
        win = np.hanning(x.size)
        spec = np.abs(np.fft.rfft((x - x.mean()) * win)) * 2 / win.sum()
        hz = np.fft.rfftfreq(x.size, 1 / self.format.rate)
        out = {}
        for f in freqs:
            band = spec[(hz >= 0.98 * f) & (hz <= 1.02 * f)]
            amp = float(band.max()) if band.size else 0.0
            out[f] = -120.0 if amp <= 0 else max(-120.0, 20 * float(np.log10(amp / 32767)))
        return out

    def level_dbfs(self, seconds: float = 0.5) -> float:
        import numpy as np

        x = np.frombuffer(self.recorded(seconds), dtype="<i2").astype(np.float64)
        rms = float(np.sqrt(np.mean(x * x))) if x.size else 0.0
        return -120.0 if rms <= 0 else max(-120.0, 20 * np.log10(rms / (32767 / np.sqrt(2))))
