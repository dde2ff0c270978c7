"""What call control asks of the rest of the handset: commands, as values.

Why values: ``Phone`` is sans-IO. It drives the SIP ``Endpoint`` directly
(itself sans-IO), but media, ringer and display belong to the shell, which
drains ``Phone.next_action()`` after every input and carries them out. Tests
record them instead. Commands are imperatives (h11/aioquic naming).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from hal.base import RING_NORMAL, RingCadence, Screen

Tone = Literal["dial", "ringback", "busy", "reorder", "waiting", "stutter", "intercom"]


@dataclass(frozen=True, slots=True, kw_only=True)
class Action:
    """Base of every command."""


@dataclass(frozen=True, slots=True, kw_only=True)
class StartMedia(Action):
    """Open the RTP stream of ``call``: listen on ``local`` (a ``LocalMedia``) and
    send as ``negotiated`` (a ``Negotiated``) says."""

    call: str
    local: Any
    negotiated: Any


@dataclass(frozen=True, slots=True, kw_only=True)
class UpdateMedia(Action):
    """New offer/answer outcome for a running stream (hold, resume, new address or codec).
    ``negotiated.send`` False means no RTP goes out (seed B-2 step 13)."""

    call: str
    negotiated: Any


@dataclass(frozen=True, slots=True, kw_only=True)
class StopMedia(Action):
    """Close the stream of ``call`` (RTCP BYE, release the port)."""

    call: str


@dataclass(frozen=True, slots=True, kw_only=True)
class Conference(Action):
    """Mix ``calls`` together with the microphone (a 3-way conference this phone
    bridges); an empty tuple ends the mixing."""

    calls: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class SendDtmf(Action):
    """A keypad digit pressed in a call: RFC 4733 event on the stream."""

    call: str
    digit: str


@dataclass(frozen=True, slots=True, kw_only=True)
class PlayTone(Action):
    """Play ``tone`` in the earpiece (replacing any tone playing)."""

    tone: Tone


@dataclass(frozen=True, slots=True, kw_only=True)
class StopTone(Action):
    """Silence the earpiece tone generator."""


@dataclass(frozen=True, slots=True, kw_only=True)
class StartRinging(Action):
    cadence: RingCadence = RING_NORMAL


@dataclass(frozen=True, slots=True, kw_only=True)
class StopRinging(Action):
    pass


@dataclass(frozen=True, slots=True, kw_only=True)
class ShowScreen(Action):
    screen: Screen


@dataclass(frozen=True, slots=True, kw_only=True)
class HistoryChanged(Action):
    """The call history changed: the app persists it (``app.history_file.JsonHistoryFile``)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class WantCallStats(Action):
    """The call-info screen of ``call`` is up: the app answers with ``Phone.set_call_stats``."""

    call: str


@dataclass(frozen=True, slots=True, kw_only=True)
class SetAudio(Action):
    """The audio path as the user set it: microphone ``muted``, earpiece/speaker ``gain``
    (linear factor, ``audio_controls.gain``), ``route`` in use and the ``ringer`` level 0..15."""

    muted: bool
    gain: float
    route: Literal["handset", "speaker", "headset", "idle"]
    ringer: int


@dataclass(frozen=True, slots=True, kw_only=True)
class PrefsChanged(Action):
    """A remembered setting (volume levels) changed: the app saves ``Phone.prefs()``."""
