"""The call history on disk: ``<state_dir>/history.json``, for the phone's ``CallHistory``.

Why in the shell: call control (``firmware.phone``) is sans-IO; it keeps the
history as values and says ``HistoryChanged``; the app saves it here. Saving
goes through ``firmware.durable.write_atomic`` (temp file, fsync, rename, fsync of the
directory), so a power cut mid-save leaves the previous history. A corrupt,
foreign or oversized file is ignored (logged), never fatal: history is a
convenience.
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path

from firmware.durable import write_atomic
from firmware.phone.history import CallHistory

__all__ = ["FILE_NAME", "MAX_FILE_BYTES", "JsonHistoryFile"]

log = logging.getLogger(__name__)

FILE_NAME = "history.json"
#: Bound on what a file may make us load (bytes).
MAX_FILE_BYTES = 1 << 20


class JsonHistoryFile:
    """Load and save a ``CallHistory`` as ``<state_dir>/history.json``."""

    def __init__(self, state_dir: str | os.PathLike[str]) -> None:
        self.path = Path(state_dir) / FILE_NAME

    def load(self, size: int = 50) -> CallHistory:
        try:
            if self.path.stat().st_size > MAX_FILE_BYTES:
                log.warning("history: %s is too large, starting empty", self.path)
                return CallHistory(size)
            raw = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return CallHistory(size)
        except (OSError, ValueError) as exc:
            log.warning("history: cannot read %s (%s), starting empty", self.path, exc)
            return CallHistory(size)
        return CallHistory.from_json(raw, size)

    def save(self, history: CallHistory) -> None:
        write_atomic(self.path, json.dumps(history.to_json(), indent=1).encode("utf-8"))
