"""Call history model (values only; the file is the shell's: tests/app/test_history_file.py)."""

from __future__ import annotations

import pytest

from firmware.phone.history import CallHistory, HistoryEntry


def _e(kind: str, at: float, remote: str = "sip:1@h") -> HistoryEntry:
    return HistoryEntry(kind=kind, remote=remote, display=None, at=at)  # type: ignore[arg-type]


def test_newest_first_and_bounded() -> None:
    h = CallHistory(size=3)
    for i in range(5):
        h.add(_e("placed", float(i), f"sip:{i}@h"))
    assert [e.remote for e in h.entries("placed")] == ["sip:4@h", "sip:3@h", "sip:2@h"]
    assert h.last_placed() is not None and h.last_placed().remote == "sip:4@h"  # type: ignore[union-attr]


def test_merged_view_and_missed_counter() -> None:
    h = CallHistory()
    h.add(_e("received", 2.0))
    h.add(_e("missed", 3.0))
    h.add(_e("placed", 1.0))
    assert [e.kind for e in h.entries()] == ["missed", "received", "placed"]
    assert h.unseen_missed == 1
    h.mark_seen()
    assert h.unseen_missed == 0


def test_size_must_be_positive() -> None:
    with pytest.raises(ValueError):
        CallHistory(size=0)


def test_entries_are_bounded() -> None:
    e = HistoryEntry(kind="missed", remote="sip:" + "a" * 5000, display="b" * 5000, at=1.0)
    assert len(e.remote) == 200 and len(e.display or "") == 200
