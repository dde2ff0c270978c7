"""Call history: placed, received and missed calls, kept across restarts.

Why values only: call control is sans-IO, so ``CallHistory`` is pure (tests
feed it values) and converts to and from JSON-able data; the shell stores it
(``firmware.app.history_file.JsonHistoryFile``, written atomically) when
call control says ``HistoryChanged``. Stored entries are validated on load:
a foreign one is skipped, never fatal.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from typing import Any, Literal

log = logging.getLogger(__name__)

Kind = Literal["placed", "received", "missed"]
KINDS: tuple[Kind, ...] = ("placed", "received", "missed")
_FORMAT = 1
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
