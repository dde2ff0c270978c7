"""Volume levels and the user's preferences that survive a restart (7960 volume rocker,
DND and CFwdAll as the user last set them).

Why values here and the file apart: call control decides which volume a key
press changes (the one in use: handset, speaker, or the ringer while ringing
or idle, as on a 7960) and what the earpiece gain is; the app only applies
``SetAudio`` and writes ``UserPrefs`` to the state directory
(``firmware.app.prefs_file``, atomically). A missing or corrupt file means
the factory levels, logged, never a failed boot.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from typing import Any, Literal

log = logging.getLogger(__name__)

VolumeMode = Literal["handset", "speaker", "ringer"]
MODES: tuple[VolumeMode, ...] = ("handset", "speaker", "ringer")
MAX_VOLUME = 15
DEFAULT_VOLUME = 8
#: dB per volume step; level 8 is unity gain (what the far end sent, unchanged)
STEP_DB = 2.0
_FORMAT = 1
#: longest forward-all target kept (the web form's limit too)
MAX_URI = 256


def gain_db(level: int) -> float:
    """Earpiece/speaker gain of a volume level: 0 is -16 dB, 8 unity, 15 +14 dB."""
    return (max(0, min(MAX_VOLUME, level)) - DEFAULT_VOLUME) * STEP_DB


def gain(level: int) -> float:
    """Linear sample factor of ``level`` (what the media engine multiplies by)."""
    return float(10.0 ** (gain_db(level) / 20.0))


def volume_bar(level: int, width: int = 15) -> str:
    """``Volume ########.......``-style bar for the LCD (one mark per level)."""
    level = max(0, min(MAX_VOLUME, level))
    return "#" * level + "." * (width - level)


@dataclass(frozen=True, slots=True, kw_only=True)
class Volumes:
    """The three volume levels (0..15) a 7960 remembers."""

    handset: int = DEFAULT_VOLUME
    speaker: int = DEFAULT_VOLUME
    ringer: int = DEFAULT_VOLUME

    def __post_init__(self) -> None:
        for mode in MODES:
            value = getattr(self, mode)
            if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= MAX_VOLUME:
                raise ValueError(f"{mode} volume must be 0..{MAX_VOLUME}, not {value!r}")

    def level(self, mode: VolumeMode) -> int:
        return int(getattr(self, mode))

    def stepped(self, mode: VolumeMode, delta: int) -> Volumes:
        """One press of the rocker: clamped at 0 and 15 (a 7960 does not wrap)."""
        return replace(self, **{mode: max(0, min(MAX_VOLUME, self.level(mode) + delta))})

    def to_json(self) -> dict[str, int]:
        return {m: self.level(m) for m in MODES}


@dataclass(frozen=True, slots=True, kw_only=True)
class UserPrefs:
    """What the user set on the handset itself and expects back after a restart.

    ``dnd`` and ``cfwd_all`` are None until the user sets them (softkey, Settings,
    web page): the provisioned value applies. ``cfwd_all`` "" means the user turned
    forwarding off; otherwise it is the target URI."""

    volumes: Volumes = Volumes()
    dnd: bool | None = None
    cfwd_all: str | None = None

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"format": _FORMAT, "volume": self.volumes.to_json()}
        if self.dnd is not None:
            out["dnd"] = self.dnd
        if self.cfwd_all is not None:
            out["cfwd_all"] = self.cfwd_all
        return out

    @classmethod
    def from_json(cls, raw: Any) -> UserPrefs:
        """Read what ``to_json`` wrote; a bad field keeps its default (logged)."""
        if not isinstance(raw, dict) or raw.get("format") != _FORMAT:
            raise ValueError("not a piphone prefs file")
        vol = raw.get("volume")
        levels: dict[str, int] = {}
        if isinstance(vol, dict):
            for mode in MODES:
                value = vol.get(mode)
                if isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= MAX_VOLUME:
                    levels[mode] = value
                elif value is not None:
                    log.warning("prefs: %s volume %r ignored", mode, value)
        dnd = raw.get("dnd")
        if dnd is not None and not isinstance(dnd, bool):
            log.warning("prefs: dnd %r ignored", dnd)
            dnd = None
        cfwd = raw.get("cfwd_all")
        if cfwd is not None and not (isinstance(cfwd, str) and len(cfwd) <= MAX_URI
                                     and (cfwd == "" or ":" in cfwd)):
            log.warning("prefs: cfwd_all %r ignored", cfwd)
            cfwd = None
        return cls(volumes=Volumes(**levels), dnd=dnd, cfwd_all=cfwd)
