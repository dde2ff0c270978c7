"""Carry out what the fixed keys set: ``SetAudio`` (mute, volume, ring level on the
devices) and ``PrefsChanged`` (the levels written to the state directory).

Why a module of its own: the media engine, the ringer and the prefs file are
the app's; call control only says what the keys set (``firmware.phone.panel``),
and this is the one place that turns it into sample gain, a ring level and a
saved file.
"""

from __future__ import annotations

from typing import Any


def apply_panel(action: Any, app: Any) -> None:
    """One ``SetAudio`` or ``PrefsChanged`` for ``app`` (a ``firmware.app.core.App``)."""
    if type(action).__name__ == "PrefsChanged":
        if app.prefs_file is not None:
            app.prefs_file.save(app.phone.prefs())
        return
    apply_audio(action, app.engine, app.hal.ringer)


def apply_audio(action: Any, engine: Any, ringer: Any) -> None:
    """Microphone mute and earpiece/speaker gain on the engine, the level on the ringer."""
    if engine is not None:
        engine.muted = bool(action.muted)
        engine.gain = float(action.gain)
    if ringer is not None:
        ringer.set_volume(int(action.ringer))
