"""Call history: placed, received and missed calls, kept across restarts.

Why split model and storage: ``CallHistory`` is pure (tests feed it values);
``JsonHistoryFile`` is the one tiny adapter that touches the disk, in the
state directory the app gives it. Writes go to a temporary file then
``os.replace`` so a power cut never leaves half a JSON file. A corrupt or
foreign file is ignored (logged), never fatal: history is a convenience.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Literal

log = logging.getLogger(__name__)

Kind = Literal["placed", "received", "missed"]
KINDS: tuple[Kind, ...] = ("placed", "received", "missed")
FILE_NAME = "history.json"
_FORMAT = 1
#: Bound on what a file may make us load (entries per kind, bytes).
MAX_FILE_BYTES = 1 << 20
_MAX_TEXT = 200


@dataclass(frozen=True, slots=True, kw_only=True)
class HistoryEntry:
    """One call in the directory's lists. ``at`` is wall-clock seconds (epoch)."""

    kind: Kind
    remote: str
    display: str | None
    at: float
    duration: float = 0.0
    line: int = 1

    def __post_init__(self) -> None:
        # a peer chooses From: keep what we store (and write to flash) bounded
        object.__setattr__(self, "remote", self.remote[:_MAX_TEXT])
        if self.display is not None:
            object.__setattr__(self, "display", self.display[:_MAX_TEXT])

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, raw: Any) -> HistoryEntry:
        """Validate one stored entry; raises ValueError on anything odd."""
        if not isinstance(raw, dict):
            raise ValueError("entry is not an object")
        kind = raw.get("kind")
        if kind not in KINDS:
            raise ValueError(f"bad kind {kind!r}")
        remote, display = raw.get("remote"), raw.get("display")
        if not isinstance(remote, str) or not (display is None or isinstance(display, str)):
            raise ValueError("bad remote/display")
        at, duration, line = raw.get("at"), raw.get("duration", 0.0), raw.get("line", 1)
        if not all(isinstance(v, (int, float)) and not isinstance(v, bool)
                   for v in (at, duration, line)):
            raise ValueError("bad number")
        return cls(kind=kind, remote=remote[:_MAX_TEXT],
                   display=display[:_MAX_TEXT] if display else display,
                   at=float(at), duration=float(duration), line=int(line))


class CallHistory:
    """Newest-first lists per kind, each bounded to ``size`` entries."""

    def __init__(self, size: int = 50, entries: Iterable[HistoryEntry] = ()) -> None:
        if size < 1:
            raise ValueError("history size must be positive")
        self.size = size
        self._lists: dict[Kind, list[HistoryEntry]] = {k: [] for k in KINDS}
        self.unseen_missed = 0
        for e in sorted(entries, key=lambda e: e.at):
            self._push(e)

    def _push(self, entry: HistoryEntry) -> None:
        lst = self._lists[entry.kind]
        lst.insert(0, entry)
        del lst[self.size:]

    def add(self, entry: HistoryEntry) -> None:
        self._push(entry)
        if entry.kind == "missed":
            self.unseen_missed += 1

    def entries(self, kind: Kind | None = None) -> list[HistoryEntry]:
        """Newest first; all kinds merged when ``kind`` is None."""
        if kind is not None:
            return list(self._lists[kind])
        merged = [e for k in KINDS for e in self._lists[k]]
        return sorted(merged, key=lambda e: e.at, reverse=True)

    def last_placed(self) -> HistoryEntry | None:
        """What Redial calls."""
        placed = self._lists["placed"]
        return placed[0] if placed else None

    def mark_seen(self) -> None:
        self.unseen_missed = 0

    def to_json(self) -> dict[str, Any]:
        return {"format": _FORMAT, **{k: [e.to_json() for e in self._lists[k]] for k in KINDS}}

    @classmethod
    def from_json(cls, raw: Any, size: int = 50) -> CallHistory:
        """Load what ``to_json`` wrote, skipping entries that do not validate."""
        entries: list[HistoryEntry] = []
        if isinstance(raw, dict) and raw.get("format") == _FORMAT:
            for k in KINDS:
                items = raw.get(k)
                if not isinstance(items, list):
                    continue
                for item in items[:size]:
                    try:
                        entries.append(HistoryEntry.from_json(item))
                    except ValueError as exc:
                        log.warning("history: skipped a stored entry (%s)", exc)
        return cls(size=size, entries=entries)


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
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps(history.to_json(), indent=1), encoding="utf-8")
        os.replace(tmp, self.path)
