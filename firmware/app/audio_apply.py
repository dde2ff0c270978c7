"""Carry out call control's ``SetAudio``: mute, volume and ring level on the devices.

Why a function of its own: the media engine and the ringer are the app's
devices; call control only says what the keys set (``firmware.phone.panel``),
and this is the one place that turns it into sample gain and a ring level.
"""

from __future__ import annotations

from typing import Any


def apply_audio(action: Any, engine: Any, ringer: Any) -> None:
    """Microphone mute and earpiece/speaker gain on the engine, the level on the ringer."""
    if engine is not None:
        engine.muted = bool(action.muted)
        engine.gain = float(action.gain)
    if ringer is not None:
        ringer.set_volume(int(action.ringer))
