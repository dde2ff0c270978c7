"""Adaptive jitter buffer with loss concealment and drift control.

Why this shape: playout is pulled once per audio period by whatever clock
paces the earpiece (the sound card, or the loop clock), while packets arrive
on the network's clock with jitter, loss, duplicates and reordering. The
buffer keeps decoded samples keyed by RTP timestamp and plays from a
timestamp cursor:

* interarrival jitter is the RFC 3550 §6.4.1 / A.8 estimator
  (J += (|D| - J) / 16), and the target depth is one period plus three
  times that jitter (less a quarter period of phase slack, plus a bump
  after late packets), clamped;
* a missing frame with later audio already queued is lost: concealed (the
  last frame repeated, fading over three frames, then silence) and skipped;
  with nothing queued it is an underrun: concealed *without* advancing the
  cursor, which grows the delay by one frame (what a slow far-end clock or
  a jitter spike needs);
* every 25 periods, when even the shallowest depth seen exceeded the target
  by more than a frame, one frame is dropped: a fast far-end clock (drift)
  or a past spike cannot grow the delay;
* late packets (behind the cursor) and duplicates are dropped and counted;
  a timestamp jump of more than ``resync_s`` restarts the buffer.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True, slots=True, kw_only=True)
class JitterStats:
    received: int
    played: int
    duplicates: int
    late: int
    reordered: int
    concealed: int
    underruns: int
    dropped_for_drift: int
    resyncs: int
    overflow: int
    talkspurts: int
    jitter_ms: float
    target_ms: float
    depth_ms: float


class JitterBuffer:
    """Sans-IO: ``put(ts, seq, pcm, now)`` on arrival, ``get(now)`` once per period."""

    WINDOW = 25

    def __init__(self, *, rate: int = 8000, period: int = 160, max_delay_s: float = 0.3,
                 resync_s: float = 2.0, samples_per_ts: int = 1) -> None:
        # ``rate``/``period`` are in RTP timestamp units; the audio itself may run at
        # ``samples_per_ts`` times that rate (16 kHz G.722 on an 8000 Hz RTP clock)
        self.rate = rate
        self.period = period
        self.k = samples_per_ts
        self.out_samples = period * samples_per_ts
        self.max_frames = max(2, int(max_delay_s * rate / period))
        self.resync = int(resync_s * rate)
        # decoded S16_LE frames as bytes: the common period (put, get) then runs no
        # numpy at all (a numpy call's set-up costs more than the 160 samples it moves);
        # only concealment and splicing convert
        self._frames: dict[int, bytes] = {}
        self._silence = bytes(2 * self.out_samples)
        self._cursor: int | None = None
        self._started = False
        self._high_seq: int | None = None
        self._transit: float | None = None
        self._jitter = 0.0  # timestamp units
        self._late_bump = 0
        self._late_decay = 0
        self._window_min: int | None = None
        self._window_n = 0
        self._last = self._silence
        self._conceal_run = 0
        self._played: deque[int] = deque(maxlen=64)
        self._stats = dict.fromkeys(
            ("received", "played", "duplicates", "late", "reordered", "concealed",
             "underruns", "dropped_for_drift", "resyncs", "overflow", "talkspurts"), 0)

    # ------------------------------------------------------------------ input

    def put(self, timestamp: int, seq: int, pcm: bytes, now: float) -> None:
        if len(pcm) < 2:
            return
        if type(pcm) is not bytes:
            pcm = bytes(pcm)
        st = self._stats
        # interarrival jitter, RFC 3550 A.8 (written out: this runs for every packet)
        transit = now * self.rate - timestamp
        last = self._transit
        if last is not None:
            d = abs(transit - last)
            if d < self.resync:
                self._jitter += (d - self._jitter) / 16.0
        self._transit = transit
        cursor = self._cursor
        if cursor is not None:
            ahead = ((timestamp - cursor + 0x80000000) & 0xFFFFFFFF) - 0x80000000  # ts_delta
            if abs(ahead) > self.resync:
                self.reset()
                st["resyncs"] += 1
                cursor = None
        if cursor is None:
            self._cursor = cursor = timestamp
            ahead = 0
        elif not self._frames and ahead > (self.target_frames + 1) * self.period:
            # audio resumes after a gap (hold, silence suppression): a new
            # talkspurt starts at the target delay instead of far behind it
            self._cursor = cursor = timestamp
            ahead = 0
            self._started = False
            st["talkspurts"] += 1
        if ahead < 0:
            if timestamp in self._played:
                st["duplicates"] += 1
                return
            st["late"] += 1
            self._late_bump = min(self._late_bump + 1, 5)
            self._late_decay = 0
            return
        frames = self._frames
        if timestamp in frames:
            st["duplicates"] += 1
            return
        high = self._high_seq
        if high is not None and ((seq - high) & 0xFFFF) >= 0x8000:
            st["reordered"] += 1
        else:
            self._high_seq = seq
        if len(frames) >= 2 * self.max_frames + 8:
            st["overflow"] += 1
            return
        frames[timestamp] = pcm
        st["received"] += 1

    def reset(self) -> None:
        """Forget queued audio and the cursor (new SSRC, sequence or timestamp jump)."""
        self._frames.clear()
        self._cursor = None
        self._started = False
        self._high_seq = None
        self._transit = None
        self._window_min = None
        self._window_n = 0

    # ----------------------------------------------------------------- output

    @property
    def target_frames(self) -> int:
        # a quarter period of jitter fits in the slack of the playout phase
        extra = max(0.0, (3.0 * self._jitter - 0.25 * self.period) / self.period)
        return max(1, min(self.max_frames, 1 + math.ceil(extra) + self._late_bump))

    def _depth(self) -> int:
        """Samples queued from the cursor to the end of the newest frame."""
        if not self._frames or self._cursor is None:
            return 0
        cur = self._cursor - 0x80000000  # ts_delta inlined: this runs every period
        div = 2 * self.k  # bytes per RTP timestamp unit
        best = 0
        for ts, frame in self._frames.items():
            end = ((ts - cur) & 0xFFFFFFFF) - 0x80000000 + len(frame) // div
            if end > best:
                best = end
        return best

    def get(self, now: float) -> bytes:
        """One period of S16_LE samples for the earpiece (silence before audio starts)."""
        del now  # pulled on the playout clock; kept for the sans-IO signature
        if self._cursor is None:
            return self._silence
        depth = self._depth()
        if not self._started:
            if depth < self.target_frames * self.period:
                return self._silence
            self._started = True
        # the shallowest depth of this window of periods (every period, so written out)
        shallow = depth // self.period
        low = self._window_min
        self._window_min = shallow if low is None or shallow < low else low
        self._window_n += 1
        if self._window_n >= self.WINDOW:
            self._end_window()
        frame = self._frames.pop(self._cursor, None)
        if frame is not None and len(frame) == 2 * self.out_samples:
            out = frame
            self._last = frame
            self._conceal_run = 0
            self._stats["played"] += 1
            self._played.append(self._cursor)
            self._cursor = (self._cursor + self.period) & 0xFFFFFFFF
        elif frame is not None:
            out = self._splice(frame)
        else:
            out = self._conceal()
            if depth > 0:
                self._stats["concealed"] += 1
                self._cursor = (self._cursor + self.period) & 0xFFFFFFFF
            else:
                self._stats["underruns"] += 1
        if self._frames:
            self._discard_old()
        return out

    def _splice(self, first: bytes) -> bytes:
        """A far end packetizing at another ptime: gather one period across packets."""
        assert self._cursor is not None
        self._played.append(self._cursor)
        k = self.k
        out = bytearray(2 * self.out_samples)
        pos = 0  # in audio samples
        chunk: bytes | None = first
        while chunk is not None and pos < self.out_samples:
            take = min(self.out_samples - pos, len(chunk) // 2)
            out[2 * pos:2 * (pos + take)] = chunk[:2 * take]
            if 2 * take < len(chunk):
                rest_ts = (self._cursor + (pos + take) // k) & 0xFFFFFFFF
                self._frames[rest_ts] = chunk[2 * take:]
            pos += take
            if pos < self.out_samples:
                chunk = self._frames.pop((self._cursor + pos // k) & 0xFFFFFFFF, None)
        self._cursor = (self._cursor + self.period) & 0xFFFFFFFF
        self._stats["played"] += 1
        self._last = bytes(out)
        self._conceal_run = 0
        return self._last

    def _conceal(self) -> bytes:
        self._conceal_run += 1
        if self._conceal_run > 3:
            return self._silence
        gain = (0.9, 0.6, 0.3)[self._conceal_run - 1]
        last = np.frombuffer(self._last, dtype="<i2")
        return (last.astype(np.float32) * gain).astype("<i2").tobytes()

    def _end_window(self) -> None:
        """Every ``WINDOW`` periods: decay the late-packet bump, and drop a frame when even
        the shallowest depth of the window stayed above the target (drift)."""
        self._late_decay += 1
        if self._late_decay >= 10 and self._late_bump:  # ~5 s without late packets
            self._late_bump -= 1
            self._late_decay = 0
        low = self._window_min
        if low is not None and low > self.target_frames + 1 and self._cursor is not None:
            self._frames.pop(self._cursor, None)
            self._cursor = (self._cursor + self.period) & 0xFFFFFFFF
            self._stats["dropped_for_drift"] += 1
        self._window_min = None
        self._window_n = 0

    def _discard_old(self) -> None:
        cur = self._cursor
        if cur is None:
            return
        frames = self._frames
        if not frames:
            return
        # ts_delta(t, cur) < 0, inlined (every period, for each queued frame)
        cur -= 0x80000000
        for ts in [t for t in frames if ((t - cur) & 0xFFFFFFFF) < 0x80000000]:
            del frames[ts]

    # ------------------------------------------------------------------ stats

    @property
    def jitter_ms(self) -> float:
        return 1000.0 * self._jitter / self.rate

    @property
    def delay_ms(self) -> float:
        """Audio queued ahead of the playout cursor."""
        return 1000.0 * self._depth() / self.rate

    def stats(self) -> JitterStats:
        return JitterStats(
            **self._stats,
            jitter_ms=round(self.jitter_ms, 3),
            target_ms=1000.0 * self.target_frames * self.period / self.rate,
            depth_ms=self.delay_ms,
        )
