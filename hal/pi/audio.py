"""ALSA audio through pyalsaaudio: non-blocking, woken by poll descriptors, no thread.

Why this shape: the sound card's clock must pace the voice path (one period
every 20 ms), and the phone has one event loop. The PCMs are opened with
``PCM_NONBLOCK``; the shell registers ``poll_descriptors()`` with
``loop.add_reader`` and reads/writes one period when the capture side is
ready. A missing or busy device raises ``OSError`` with the device name from
``open()``: the phone keeps signalling without audio. ALSA's ``null`` and
``file`` plugins are not paced (see the toolchain notes), so ``paced=False``
tells the engine to pace them on the loop clock instead.
"""

from __future__ import annotations

import logging
from typing import Any

from hal.base import Audio, AudioFormat
from hal.pi.rate_fallback import open_voice_pcm

log = logging.getLogger(__name__)

PRIME_PERIODS = 1


class AlsaAudio(Audio):
    def __init__(self, *, capture: str = "default", playback: str = "default",
                 fmt: AudioFormat | None = None, periods: int = 4, paced: bool = True) -> None:
        self.format = fmt or AudioFormat()
        self.capture_device = capture
        self.playback_device = playback
        self.periods = periods
        self.paced = paced
        self._cap: Any = None
        self._play: Any = None
        self.overruns = 0
        self.underruns = 0
        self.dropped_writes = 0

    def _pcm(self, alsaaudio: Any, kind: int, device: str) -> Any:
        def open_at(rate: int, period_frames: int) -> Any:
            try:
                return alsaaudio.PCM(
                    kind, alsaaudio.PCM_NONBLOCK, device=device, rate=rate, channels=1,
                    format=alsaaudio.PCM_FORMAT_S16_LE, periodsize=period_frames,
                    periods=self.periods,
                )
            except alsaaudio.ALSAAudioError as exc:
                raise OSError(f"ALSA device {device!r} unavailable: {exc}") from exc

        # A card that refuses the voice rate runs at 16/48 kHz behind a resampler
        # (hal.pi.rate_fallback); to this class it still reads and writes voice periods.
        return open_voice_pcm(open_at, device, period_frames=self.format.period_frames,
                              voice_rate=self.format.rate)

    def open(self) -> None:
        try:
            import alsaaudio
        except ImportError as exc:
            raise OSError(f"pyalsaaudio is not installed: {exc}") from exc
        self._cap = self._pcm(alsaaudio, alsaaudio.PCM_CAPTURE, self.capture_device)
        try:
            self._play = self._pcm(alsaaudio, alsaaudio.PCM_PLAYBACK, self.playback_device)
        except OSError:
            self._cap.close()
            self._cap = None
            raise
        # Prime the earpiece with silence so the first period written does not
        # find an empty buffer (an immediate underrun): this is the device's
        # share of the playout delay, PRIME_PERIODS x 20 ms.
        self._play.write(bytes(self.format.period_bytes * PRIME_PERIODS))

    def set_rate(self, rate: int) -> bool:
        """Reopen the PCMs at the call's rate (16 kHz for G.722), same 20 ms periods.

        A card that refuses the rate runs at a multiple behind the resampler, as at
        open; one that cannot do it at all raises OSError (the call goes on
        without audio, as with a missing card). The poll descriptors change: the
        shell waits on the new ones (``App.on_audio_reopened``)."""
        if rate not in (8000, 16000):
            return False
        if rate == self.format.rate:
            return True
        was_open = self.is_open
        self.close()
        self.format = AudioFormat(rate=rate, period_frames=int(round(rate * self.format.period_seconds)))
        if was_open:
            self.open()
        return True

    def read_period(self) -> bytes | None:
        if self._cap is None:
            return None
        try:
            n, data = self._cap.read()
        except Exception as exc:  # ALSAAudioError: device gone
            raise OSError(f"ALSA capture failed: {exc}") from exc
        if n < 0:  # -EPIPE overrun: pyalsaaudio has re-prepared the PCM
            self.overruns += 1
            return None
        if n == 0:
            return None
        want = self.format.period_bytes
        return bytes(data[:want]) + bytes(max(0, want - len(data)))

    def write_period(self, pcm: bytes) -> None:
        if self._play is None:
            return
        try:
            n = self._play.write(pcm)
        except Exception as exc:
            raise OSError(f"ALSA playback failed: {exc}") from exc
        if n == 0:  # buffer full (EAGAIN)
            self.dropped_writes += 1
        elif n < 0:
            self.underruns += 1

    def close(self) -> None:
        for pcm in (self._cap, self._play):
            if pcm is not None:
                try:
                    pcm.close()
                except Exception as exc:  # closing a vanished device must not raise
                    log.debug("closing ALSA PCM: %s", exc)
        self._cap = self._play = None

    @property
    def is_open(self) -> bool:
        return self._cap is not None and self._play is not None

    @property
    def has_clock(self) -> bool:
        return self.paced

    def poll_descriptors(self) -> list[tuple[int, int]]:
        if self._cap is None:
            return []
        return list(self._cap.polldescriptors())
