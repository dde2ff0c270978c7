"""MediaEngine: the audio device, local tones and the RTP stream, one period at a time.

Why: the earpiece and microphone run on the sound card's clock while RTP runs
on the network's, and the handset also plays call-progress tones with no
call at all. Once per audio period the engine moves one captured period into
the stream (``push_capture``), and one period from the jitter buffer (mixed
with any local tone) to the earpiece. Both hand-offs are bounded (the stream
keeps at most three packets of capture; the jitter buffer drops frames when
it runs deep), so drift between the two clocks never grows the delay.

Rate: the device runs at the call's rate (16 kHz for G.722, else 8 kHz)
when it can switch (``Audio.set_rate``); with a conference it runs at the
highest leg's rate and ``mixer.Mixer`` converts the others. A leg whose
rate the device could not follow is converted the same way, so audio is
never played at the wrong speed.

Pacing: a device with its own clock (``audio.has_clock``) calls ``on_period``
from the shell when its poll descriptors are ready; a device without one
(mock, ALSA null/file) is paced here on absolute deadlines t0 + k*period
reported by ``get_timer()`` (sans-IO, like every core).
"""

from __future__ import annotations

import logging
import math
from typing import TYPE_CHECKING

from firmware.media.grid import EARLY_S

if TYPE_CHECKING:  # numpy and the codecs load with the first call or tone, not at boot
    from firmware.media.mixer import Mixer
    from firmware.media.stream import MediaStream
    from firmware.media.tones import ToneGenerator, ToneSpec
from hal.base import Audio

log = logging.getLogger(__name__)


class MediaEngine:
    def __init__(self, audio: Audio) -> None:
        self.audio = audio
        self.stream: MediaStream | None = None
        #: every stream the earpiece and microphone serve now (two in a conference)
        self.legs: tuple[MediaStream, ...] = ()
        self._mixer: Mixer | None = None  # made with the first call (it needs numpy)
        self.muted = False
        #: earpiece/speaker volume as a sample factor (1.0: as received), tones included
        self.gain = 1.0
        self._tone: ToneGenerator | None = None
        self._tone_spec: ToneSpec | None = None
        self._t0: float | None = None
        self._k = 0
        self.periods = 0
        #: when the last period ran (the clock ``on_period`` was given): a device with
        #: its own clock has no ``get_timer``, the next period is about one later
        self.last_period_at: float | None = None
        self.capture_missed = 0
        self.device_error: str | None = None
        #: Run periods although nothing is attached (the app sets it while a call has
        #: media, e.g. on hold, so polled RTP sockets keep being read).
        self.keep_running = False

    @property
    def period_s(self) -> float:
        return self.audio.format.period_seconds

    # ------------------------------------------------------------ control

    def start(self, now: float) -> bool:
        """Open the device; False (and ``device_error``) when it is missing or busy.

        A failed device never stops the phone: signalling carries on, and the
        stream still sends (silence) so the far end sees a live call.
        """
        try:
            if not self.audio.is_open:
                self.audio.open()
            self.device_error = None
        except OSError as exc:
            self.device_error = str(exc)
            log.error("audio device unavailable: %s", exc)
        self._t0 = now
        self._k = 0
        return self.device_error is None

    def stop(self) -> None:
        self._t0 = None
        self._tone = None
        if self.audio.is_open:
            self.audio.close()

    def attach(self, stream: MediaStream | None) -> None:
        """The call's stream (None when the call ends)."""
        self.attach_legs((stream,) if stream is not None else ())

    def attach_legs(self, streams: tuple[MediaStream, ...] | list[MediaStream]) -> None:
        """The streams to serve: one call, or a conference's legs (mixed here)."""
        self.legs = tuple(streams)
        self.stream = self.legs[-1] if self.legs else None
        if self.legs:
            self._follow_rate(max(s.pcm_rate for s in self.legs))
        if self._mixer is not None:
            self._mixer.set_legs({id(s): s.pcm_rate for s in self.legs})

    def _follow_rate(self, rate: int) -> None:
        """Ask the device for ``rate``; the mixer runs at whatever the device runs at."""
        fmt = self.audio.format
        if rate != fmt.rate:
            set_rate = getattr(self.audio, "set_rate", None)
            try:
                if set_rate is not None and set_rate(rate):
                    log.info("audio: device now at %d Hz", rate)
            except OSError as exc:
                self.device_error = str(exc)
                log.error("audio device cannot run at %d Hz: %s", rate, exc)
            fmt = self.audio.format
        mixer = self._mixer
        if mixer is None or fmt.rate != mixer.rate or fmt.period_frames != mixer.period:
            self._mixer = _new_mixer(fmt.rate, fmt.period_frames)
            if self._tone_spec is not None and self._tone is not None:
                self.play_tone(self._tone_spec)

    @property
    def rate(self) -> int:
        """The rate the microphone and earpiece run at now."""
        return self.audio.format.rate

    def play_tone(self, spec: ToneSpec | None) -> None:
        """Start a local tone to the earpiece (None stops it)."""
        fmt = self.audio.format
        self._tone_spec = spec
        if spec is None:
            self._tone = None
            return
        from firmware.media.tones import ToneGenerator

        self._tone = ToneGenerator(spec, rate=fmt.rate, period=fmt.period_frames)

    @property
    def tone_playing(self) -> bool:
        return self._tone is not None

    @property
    def busy(self) -> bool:
        """Something to capture or play: a call's stream, a tone, or media kept running.

        An idle phone runs no audio periods at all (no 50 wake-ups a second on a
        desk where nobody is calling); a new call or tone rejoins the same grid.
        """
        return bool(self.legs) or self._tone is not None or self.keep_running

    # ------------------------------------------------------------ pacing

    def get_timer(self) -> float | None:
        # asked twice a period in a call (the pump, the stream's re-arm): the ``busy``
        # and ``period_s`` properties written out
        if self._t0 is None or not (self.legs or self._tone is not None or self.keep_running):
            return None
        audio = self.audio
        if audio.has_clock and self.device_error is None:
            return None
        fmt = audio.format
        return self._t0 + self._k * (fmt.period_frames / fmt.rate)

    def next_period_at(self, now: float) -> float | None:
        """The first period deadline on this engine's grid at or after ``now``, busy or
        idle (None: not started, or the device paces itself).

        Why: a call's stream starts its send grid here, so the capture and the send of
        a period share one wake-up. ``get_timer`` is None while the engine idles (the
        callee answers with no tone playing) and may lie in the past when the loop is
        late; a stream started at ``now`` instead runs on its own grid, a fraction of a
        period off, and every packet then waits for a second timer of its own."""
        if self._t0 is None or (self.audio.has_clock and self.device_error is None):
            return None
        fmt = self.audio.format
        period = fmt.period_frames / fmt.rate
        return self._t0 + max(0, math.ceil((now - self._t0) / period - 1e-9)) * period

    def handle_timer(self, now: float) -> None:
        if self._t0 is None:
            return
        fmt = self.audio.format
        due = math.floor((now + EARLY_S - self._t0) * fmt.rate / fmt.period_frames)  # see stream.EARLY_S
        if due - self._k > 5:  # loop stalled: do not burst, rejoin the grid
            self._k = due
        while self._k <= due:
            self.on_period(now)
            self._k += 1

    # ------------------------------------------------------------ one period

    def on_period(self, now: float) -> None:
        audio = self.audio
        fmt = audio.format
        pcm = None
        live = self.device_error is None and audio.is_open
        if live:
            try:
                pcm = audio.read_period()
            except OSError as exc:
                self.device_error = str(exc)
                live = False
                log.error("audio capture failed: %s", exc)
        if pcm is None:
            self.capture_missed += 1
            pcm = bytes(fmt.period_bytes)
        legs = self.legs
        if len(legs) == 1 and self._mixer is not None and self._mixer.passthrough:
            # one call at the device's rate (the common case): the mixer would hand the
            # earpiece the received period and the stream the microphone, unchanged
            leg = legs[0]
            out = leg.pull_playout(now)
            leg.push_capture(bytes(fmt.period_bytes) if self.muted else pcm)
        elif legs and self._mixer is not None:
            mic = bytes(fmt.period_bytes) if self.muted else pcm
            out, sends = self._mixer.mix(mic, {id(s): s.pull_playout(now) for s in legs})
            for s in legs:
                s.push_capture(sends[id(s)])
        else:
            out = bytes(fmt.period_bytes)
        if self._tone is not None:
            out = _mix(out, self._tone.next_period())
            if self._tone.finished:
                self._tone = None
        if self.gain != 1.0:
            out = _scale(out, self.gain)
        if live:  # (nothing in between closes the device or records an error)
            try:
                audio.write_period(out)
            except OSError as exc:
                self.device_error = str(exc)
                log.error("audio playback failed: %s", exc)
        self.periods += 1
        self.last_period_at = now


def _scale(pcm: bytes, gain: float) -> bytes:
    import numpy as np

    x = np.frombuffer(pcm, dtype="<i2").astype(np.float32) * gain
    return np.clip(x, -32768, 32767).astype("<i2").tobytes()


def _new_mixer(rate: int, period: int) -> Mixer:
    from firmware.media.mixer import Mixer

    return Mixer(rate, period)


def _mix(a: bytes, b: bytes) -> bytes:
    import numpy as np

    x = np.frombuffer(a, dtype="<i2").astype(np.int32)
    y = np.frombuffer(b, dtype="<i2").astype(np.int32)
    n = min(x.size, y.size)
    return np.clip(x[:n] + y[:n], -32768, 32767).astype("<i2").tobytes()
