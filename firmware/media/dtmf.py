"""DTMF as RFC 4733 telephone-events (§2.3 payload, §2.5 sender, §2.6 receiver).

Why a small state machine: keypad digits pressed during a call go out as
events instead of audio: the first packet carries the marker bit, the RTP
timestamp stays at the event start while ``duration`` grows every packet,
and the end is sent three times with the E bit so one loss does not lose it.
The receiver reports each event once, keyed by its start timestamp, so
retransmitted end packets and repeats are not new digits.
"""

from __future__ import annotations

import struct
from collections import deque
from dataclasses import dataclass

EVENTS = "0123456789*#ABCD"
_PAYLOAD = struct.Struct("!BBH")
END_REPEATS = 3


def event_code(digit: str) -> int | None:
    """RFC 4733 §3.2 event code for a keypad digit ('0'-'9', '*', '#', 'A'-'D')."""
    i = EVENTS.find(digit.upper()) if len(digit) == 1 else -1
    return i if i >= 0 else None


@dataclass(frozen=True, slots=True, kw_only=True)
class TelephoneEvent:
    event: int
    end: bool
    volume: int  # 0..63, -dBm0
    duration: int  # timestamp units

    @property
    def digit(self) -> str | None:
        return EVENTS[self.event] if self.event < len(EVENTS) else None

    def to_bytes(self) -> bytes:
        return _PAYLOAD.pack(self.event, (0x80 if self.end else 0) | (self.volume & 0x3F),
                             min(self.duration, 0xFFFF))


def parse_event(payload: bytes) -> TelephoneEvent | None:
    """The first (only) event of a telephone-event payload; None when malformed."""
    if len(payload) < 4 or len(payload) % 4:
        return None
    ev, flags, duration = _PAYLOAD.unpack_from(payload)
    return TelephoneEvent(event=ev, end=bool(flags & 0x80), volume=flags & 0x3F, duration=duration)


@dataclass(frozen=True, slots=True, kw_only=True)
class DtmfPacket:
    """One event packet the stream puts on the wire at the next send tick."""

    payload: bytes
    marker: bool
    timestamp: int


class DtmfSender:
    """Queues digits and yields one event packet per packetization tick.

    ``duration_samples`` is how long each digit lasts (default 100 ms at 8 kHz,
    enough for any receiver); digits typed faster queue up.
    """

    def __init__(self, *, samples_per_packet: int = 160, duration_samples: int = 800,
                 volume: int = 10, max_queue: int = 32) -> None:
        self.samples_per_packet = samples_per_packet
        self.duration_samples = max(duration_samples, samples_per_packet)
        self.volume = volume
        self._queue: deque[int] = deque(maxlen=max_queue)
        self._event: int | None = None
        self._start_ts = 0
        self._elapsed = 0
        self._ends_left = 0
        self.sent_digits = 0

    def queue(self, digit: str) -> bool:
        """Queue a keypad digit; False when it has no RFC 4733 code."""
        code = event_code(digit)
        if code is None:
            return False
        self._queue.append(code)
        return True

    @property
    def active(self) -> bool:
        return self._event is not None or bool(self._queue)

    def next_packet(self, timestamp: int) -> DtmfPacket | None:
        """The event packet for the tick whose audio would start at ``timestamp``."""
        if self._event is None:
            if not self._queue:
                return None
            self._event = self._queue.popleft()
            self._start_ts = timestamp
            self._elapsed = 0
            self._ends_left = END_REPEATS
            first = True
        else:
            first = False
        if self._elapsed < self.duration_samples:
            self._elapsed = min(self._elapsed + self.samples_per_packet, self.duration_samples)
        end = self._elapsed >= self.duration_samples
        ev = TelephoneEvent(event=self._event, end=end, volume=self.volume, duration=self._elapsed)
        pkt = DtmfPacket(payload=ev.to_bytes(), marker=first, timestamp=self._start_ts)
        if end:
            self._ends_left -= 1
            if self._ends_left <= 0:
                self._event = None
                self.sent_digits += 1
        return pkt


@dataclass(frozen=True, slots=True, kw_only=True)
class DtmfDigit:
    """A digit the peer sent (reported once per event, at its first packet)."""

    digit: str
    at: float
    timestamp: int


class DtmfReceiver:
    """Turns telephone-event packets into one ``DtmfDigit`` per event."""

    def __init__(self, *, remember: int = 16) -> None:
        self._seen: deque[tuple[int, int]] = deque(maxlen=remember)
        self.malformed = 0

    def receive(self, payload: bytes, timestamp: int, ssrc: int, now: float) -> DtmfDigit | None:
        ev = parse_event(payload)
        if ev is None or ev.digit is None:
            self.malformed += 1
            return None
        key = (ssrc, timestamp)
        if key in self._seen:
            return None
        self._seen.append(key)
        return DtmfDigit(digit=ev.digit, at=now, timestamp=timestamp)


#: DTMF frequency pairs (ITU-T Q.23): row (low) and column (high) tones in Hz.
_ROWS = (697, 770, 852, 941)
_COLS = (1209, 1336, 1477, 1633)
_KEYPAD = ("123A", "456B", "789C", "*0#D")
INBAND_TONE_S = 0.1
INBAND_GAP_S = 0.06


def inband_pcm(digit: str, rate: int = 8000, amplitude: int = 7000) -> bytes:
    """A digit as audio (S16_LE at ``rate``): 100 ms of its tone pair, then 60 ms of
    silence, for a peer that takes no telephone-event (``dtmf_inband``). Each tone at
    ``amplitude`` (about -10 dBm0 each, well inside Q.24's receiver range)."""
    import math
    from array import array

    d = digit.upper()
    row = next((r for r, keys in enumerate(_KEYPAD) if d in keys), None)
    if len(d) != 1 or row is None:
        return b""
    lo, hi = _ROWS[row], _COLS[_KEYPAD[row].index(d)]
    n = int(rate * INBAND_TONE_S)
    w1, w2 = 2 * math.pi * lo / rate, 2 * math.pi * hi / rate
    samples = array("h", (int(amplitude * (math.sin(w1 * i) + math.sin(w2 * i)))
                          for i in range(n)))
    samples.extend([0] * int(rate * INBAND_GAP_S))
    return samples.tobytes()
