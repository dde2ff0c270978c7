"""The call history on disk (``firmware.app.history_file``): restart, bad files, power cuts."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from firmware import durable as atomic
from firmware.app.history_file import JsonHistoryFile
from firmware.durable import temp_path
from firmware.phone.history import CallHistory, HistoryEntry

ROOT = Path(__file__).resolve().parents[2]


def _history(*remotes: str) -> CallHistory:
    h = CallHistory()
    for i, remote in enumerate(remotes):
        h.add(HistoryEntry(kind="placed", remote=remote, display=None, at=float(i)))
    return h


def _remotes(store: JsonHistoryFile) -> list[str]:
    return [e.remote for e in store.load().entries()]


def test_survives_a_restart(tmp_path: Path) -> None:
    store = JsonHistoryFile(tmp_path / "state")
    h = CallHistory()
    h.add(HistoryEntry(kind="missed", remote="sip:5550003@h", display="Carol", at=5.0, line=2))
    h.add(HistoryEntry(kind="placed", remote="sip:1@h", display=None, at=6.0))
    store.save(h)
    assert JsonHistoryFile(tmp_path / "state").load().entries() == h.entries()
    assert not temp_path(store.path).exists()


def test_corrupt_or_hostile_file_starts_empty(tmp_path: Path) -> None:
    store = JsonHistoryFile(tmp_path)
    store.path.write_text("{not json")
    assert store.load().entries() == []
    store.path.write_text(json.dumps({"format": 1, "placed": [
        {"kind": "placed", "remote": "sip:ok@h", "display": None, "at": 1},
        {"kind": "placed", "remote": 5, "display": None, "at": 1},
        {"kind": "nope", "remote": "x", "at": 1},
        "garbage",
    ], "missed": "not a list"}))
    assert [e.remote for e in store.load().entries()] == ["sip:ok@h"]


@pytest.mark.parametrize("failing", ["write", "fsync", "replace"])
def test_a_save_that_fails_midway_leaves_the_old_history(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, failing: str
) -> None:
    """The disk fills up or the card errors at any step: the old file is intact, no litter."""
    store = JsonHistoryFile(tmp_path)
    store.save(_history("sip:old@h"))

    def boom(*_args: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(atomic.os, failing, boom)
    with pytest.raises(OSError):
        store.save(_history("sip:old@h", "sip:new@h"))
    monkeypatch.undo()
    assert _remotes(store) == ["sip:old@h"]
    if failing != "replace":
        assert not temp_path(store.path).exists()


# A child process that saves a longer history and is killed (SIGKILL: no
# cleanup, no buffered writes) at the instant between the fsync'ed temp file
# and the rename: what a power cut at that moment leaves on disk.
_KILLED_MID_SAVE = """
import os, signal, sys
from firmware import durable as atomic
from firmware.app.history_file import JsonHistoryFile
from firmware.phone.history import CallHistory, HistoryEntry

def killed(src, dst):
    os.kill(os.getpid(), signal.SIGKILL)

atomic.os.replace = killed
h = CallHistory()
for i in range(40):
    h.add(HistoryEntry(kind="placed", remote=f"sip:new{i}@h", display=None, at=float(i)))
JsonHistoryFile(sys.argv[1]).save(h)
"""


def test_power_cut_between_temp_write_and_rename_keeps_the_old_file(tmp_path: Path) -> None:
    store = JsonHistoryFile(tmp_path)
    store.save(_history("sip:old@h"))
    before = store.path.read_bytes()
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    child = subprocess.run([sys.executable, "-c", _KILLED_MID_SAVE, str(tmp_path)], env=env,
                           capture_output=True, timeout=60)
    assert child.returncode == -9, child.stderr.decode()
    # the new history reached the temp file in full, the old file was not touched
    staged = json.loads(temp_path(store.path).read_text())
    assert len(staged["placed"]) == 40
    assert store.path.read_bytes() == before
    # after the "reboot" the phone loads the old history, and the next save wins
    assert _remotes(JsonHistoryFile(tmp_path)) == ["sip:old@h"]
    store.save(_history("sip:old@h", "sip:after@h"))
    assert _remotes(store) == ["sip:after@h", "sip:old@h"]
    assert not temp_path(store.path).exists()
