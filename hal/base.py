"""The handset's hardware behind small interfaces (stdlib only).

Why: call control draws ``Screen`` values and reacts to ``KeyEvent`` /
``HookEvent``; it never learns whether a real GPIO matrix or a mock produced
them. Every backend delivers input events to ONE sink registered by the app,
on the event-loop thread (Pi backends marshal with ``call_soon_threadsafe``).

Subclasses MUST override the abstract methods; they MAY override ``close``.
"""

from __future__ import annotations

import abc
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

KEYPAD_KEYS = frozenset("0123456789*#")

#: The Cisco 7960's fixed keys besides keypad, softkeys and line keys (``line1``..``line6``):
#: what ``POST /api/button`` presses and what a Pi GPIO contact may be wired as
#: (``feature_pins``). ``volup``/``voldown`` are the volume rocker, ``info`` the i key.
FIXED_KEYS: tuple[str, ...] = (
    "mute", "speaker", "headset", "volup", "voldown", "messages", "directories",
    "settings", "services", "info",
)
#: Line keys a 7960 has (a line key beyond the configured lines is refused, not unknown).
MAX_LINE_KEYS = 6
#: Navigation of the list screens (the 7960's rocker and select key), for Pi wiring.
NAV_KEYS: tuple[str, ...] = ("nav_up", "nav_down", "select")


@dataclass(frozen=True, slots=True, kw_only=True)
class KeyEvent:
    """A key went down or up. ``key`` is '0'-'9', '*', '#', 'softkey1'..'softkey4',
    'line1'.., a fixed key of ``FIXED_KEYS`` ('mute', 'volup', 'speaker', ...), a
    navigation key of ``NAV_KEYS`` or a feature key ('hold', 'transfer', 'redial')."""

    key: str
    down: bool
    at: float


@dataclass(frozen=True, slots=True, kw_only=True)
class HookEvent:
    """The handset was lifted (``off_hook=True``) or replaced."""

    off_hook: bool
    at: float


InputEvent = KeyEvent | HookEvent
EventSink = Callable[[InputEvent], None]


@dataclass(frozen=True, slots=True, kw_only=True)
class Screen:
    """What the panel shows, as a value: drawn by any Display backend.

    ``status`` is the top bar (line, registration, clock); ``lines`` the main
    area; ``softkeys`` the labels on the bottom row (up to 4, like the 7960);
    ``icons`` small indicators ('registered', 'hold', 'waiting', 'dnd', 'cfwd',
    'muted', 'speaker', 'mwi', 'conference', 'hd'); ``badge`` a short text drawn after
    the icons (the number of new voice messages next to the envelope).
    """

    status: str = ""
    lines: tuple[str, ...] = ()
    softkeys: tuple[str, ...] = ()
    icons: frozenset[str] = field(default_factory=frozenset)
    inverted_line: int | None = None
    badge: str = ""
    clock: str = ""
    """Time of day, right-aligned in the status bar (formatted by the firmware: HAL reads no wall clock)."""

    def text_rows(self) -> list[str]:
        """The screen as plain text rows (status, main lines, softkey row).

        A tab in a line separates a left part from a right-aligned part
        (``"Connected\t01:23"``); here both are laid out in ``TEXT_COLUMNS``.
        """
        status = _align(f"{self.status}\t{self.clock}") if self.clock else self.status
        rows = [status, *(_align(line) for line in self.lines)]
        if self.softkeys:
            rows.append(" ".join(f"[{k}]" for k in self.softkeys))
        return rows


TEXT_COLUMNS = 21
"""Characters per main-area line on a 128-pixel panel (5x7 font, 6-pixel advance)."""


def _align(line: str) -> str:
    if "\t" not in line:
        return line
    left, _, right = line.partition("\t")
    right = right.replace("\t", " ")
    return left + " " * max(1, TEXT_COLUMNS - len(left) - len(right)) + right


@dataclass(frozen=True, slots=True, kw_only=True)
class AudioFormat:
    """PCM format of the audio device: signed 16-bit little-endian mono."""

    rate: int = 8000
    period_frames: int = 160  # 20 ms at 8 kHz

    @property
    def period_bytes(self) -> int:
        return self.period_frames * 2

    @property
    def period_seconds(self) -> float:
        return self.period_frames / self.rate


RingCadence = tuple[tuple[float, float], ...]
"""(on seconds, off seconds) pairs, repeated while ringing."""

RING_NORMAL: RingCadence = ((2.0, 4.0),)
RING_WAITING_BEEP: RingCadence = ((0.3, 9.7),)


class Keypad(abc.ABC):
    @abc.abstractmethod
    def set_sink(self, sink: EventSink) -> None:
        """Deliver KeyEvents to ``sink`` from now on."""

    def close(self) -> None:  # noqa: B027 - optional hook
        pass


class Hookswitch(abc.ABC):
    @abc.abstractmethod
    def set_sink(self, sink: EventSink) -> None:
        """Deliver HookEvents to ``sink`` from now on."""

    @property
    @abc.abstractmethod
    def off_hook(self) -> bool:
        """The current (debounced) state."""

    def close(self) -> None:  # noqa: B027
        pass


class Display(abc.ABC):
    width: int = 128
    height: int = 64

    @abc.abstractmethod
    def show(self, screen: Screen) -> None:
        """Draw ``screen``; backends redraw only what changed."""

    def close(self) -> None:  # noqa: B027
        pass


class Ringer(abc.ABC):
    #: Ring volume 0..15 (0: silent, the ringer still "rings" for call control).
    volume: int = 8

    def set_volume(self, level: int) -> None:
        """Ring volume 0..15; a backend that can only switch its sounder applies 0 as off."""
        self.volume = max(0, min(15, int(level)))

    @abc.abstractmethod
    def ring(self, cadence: RingCadence | None = None) -> None:
        """Start ringing with ``cadence`` until ``stop()``.

        ``None`` means the handset's configured ring cadence (``RING_NORMAL``
        unless provisioning says otherwise). A call-waiting chirp is
        ``ring(RING_WAITING_BEEP)``.
        """

    @abc.abstractmethod
    def stop(self) -> None:
        """Stop ringing."""

    @property
    @abc.abstractmethod
    def ringing(self) -> bool: ...

    def close(self) -> None:  # noqa: B027
        pass


class Audio(abc.ABC):
    """Capture and playback in periods of ``format.period_frames`` frames.

    The device paces the media engine: ``set_period_callback`` registers the
    function called once per period (on the loop thread) when a period can be
    read and written. Devices without a clock (mock, ALSA null/file) are paced
    by the loop clock instead.
    """

    format: AudioFormat

    @abc.abstractmethod
    def open(self) -> None:
        """Start capture and playback; raises OSError when the device is missing/busy."""

    @abc.abstractmethod
    def read_period(self) -> bytes | None:
        """One captured period (S16_LE), or None when none is ready."""

    @abc.abstractmethod
    def write_period(self, pcm: bytes) -> None:
        """Queue one period for the earpiece."""

    @abc.abstractmethod
    def close(self) -> None: ...

    @property
    @abc.abstractmethod
    def is_open(self) -> bool: ...

    @property
    def has_clock(self) -> bool:
        """True when the device itself paces periods (a real sound card): the shell then
        waits on ``poll_descriptors()``; False (mock, ALSA null/file): pace by the loop clock."""
        return False

    def poll_descriptors(self) -> list[tuple[int, int]]:
        """(fd, poll event mask) pairs that become ready once per period; [] when none."""
        return []

    def set_rate(self, rate: int) -> bool:
        """Run at ``rate`` Hz (8000, or 16000 for a wideband call) with the same period
        time; True when the device now runs at ``rate``. A device that cannot switch
        answers False and keeps its rate (the engine then converts). A device with a
        clock may hand out new ``poll_descriptors()`` after a switch."""
        return rate == self.format.rate


@dataclass(kw_only=True)
class Hal:
    """The bundle the firmware receives at boot. A device may be None when missing."""

    keypad: Keypad | None
    hook: Hookswitch | None
    display: Display | None
    ringer: Ringer | None
    audio: Audio | None
    name: Literal["pi", "mock"] | str = "mock"

    def set_sink(self, sink: EventSink) -> None:
        for dev in (self.keypad, self.hook):
            if dev is not None:
                dev.set_sink(sink)

    def close(self) -> None:
        for dev in (self.keypad, self.hook, self.display, self.ringer, self.audio):
            if dev is not None:
                dev.close()
