"""The user's remembered settings on disk: ``<state_dir>/prefs.json`` (volume levels, DND
and forward-all as the user last set them).

Why in the shell: call control keeps ``UserPrefs`` as a value and says
``PrefsChanged``; the app saves it here through ``firmware.durable.write_atomic``, so a
power cut while the volume key is pressed leaves the old or the new levels,
never a torn file. A missing, corrupt or oversized file means the factory
levels (logged), never a failed boot.
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path

from firmware.durable import write_atomic
from firmware.phone.audio_controls import UserPrefs

__all__ = ["FILE_NAME", "JsonPrefsFile"]

log = logging.getLogger(__name__)

FILE_NAME = "prefs.json"
MAX_FILE_BYTES = 64 * 1024


class JsonPrefsFile:
    """Load at boot, save after every change."""

    def __init__(self, state_dir: str | os.PathLike[str]) -> None:
        self.path = Path(state_dir) / FILE_NAME

    def load(self) -> UserPrefs:
        try:
            if self.path.stat().st_size > MAX_FILE_BYTES:
                log.warning("prefs: %s is too large, using the factory levels", self.path)
                return UserPrefs()
            return UserPrefs.from_json(json.loads(self.path.read_text(encoding="utf-8")))
        except FileNotFoundError:
            return UserPrefs()
        except (OSError, ValueError) as exc:
            log.warning("prefs: cannot read %s (%s), using the factory levels", self.path, exc)
            return UserPrefs()

    def save(self, prefs: UserPrefs) -> None:
        write_atomic(self.path, json.dumps(prefs.to_json()).encode("utf-8"))
