"""A power cut while the last good configuration is being replaced leaves the old one.

Why: the cache is what a handset boots from when the provisioning server is
down; if a cut during a resync left it empty or torn, the phone would come
up with no line at all. It is written like the history (``firmware.durable``):
temp file, fsync, rename, fsync of the directory.
"""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from firmware import durable
from firmware.durable import temp_path
from firmware.provisioning.cache import ConfigCache

ROOT = Path(__file__).resolve().parents[2]
OLD = {"SIPDefault.cnf": b"proxy1_address: 192.0.2.10\n", "SIP001122334455.cnf": b"line1_name: 100\n"}

_KILLED_MID_SAVE = """
import os, signal, sys
from firmware import durable
from firmware.provisioning.cache import ConfigCache

durable.os.replace = lambda src, dst: os.kill(os.getpid(), signal.SIGKILL)
ConfigCache(sys.argv[1]).save({"SIPDefault.cnf": b"proxy1_address: 192.0.2.99\\n" * 200})
"""


def test_power_cut_between_temp_write_and_rename_keeps_the_old_set(tmp_path: Path) -> None:
    cache = ConfigCache(tmp_path)
    cache.save(OLD, server="192.0.2.1")
    before = cache.path.read_bytes()
    child = subprocess.run([sys.executable, "-c", _KILLED_MID_SAVE, str(tmp_path)],
                           env={**os.environ, "PYTHONPATH": str(ROOT)}, capture_output=True, timeout=60)
    assert child.returncode == -9, child.stderr.decode()
    assert temp_path(cache.path).exists()  # the new set got as far as the temp file
    assert cache.path.read_bytes() == before
    assert ConfigCache(tmp_path).load() == OLD  # what the phone boots from after the cut
    cache.save({"SIPDefault.cnf": b"x: 1\n"})
    assert cache.load() == {"SIPDefault.cnf": b"x: 1\n"} and not temp_path(cache.path).exists()


@pytest.mark.parametrize("failing", ["write", "fsync", "replace"])
def test_a_save_that_fails_midway_keeps_the_old_set(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                     failing: str) -> None:
    cache = ConfigCache(tmp_path)
    cache.save(OLD)

    def boom(*_args: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(durable.os, failing, boom)
    with pytest.raises(OSError):
        cache.save({"SIPDefault.cnf": b"new\n"})
    monkeypatch.undo()
    assert cache.load() == OLD


def test_the_cache_holding_passwords_is_owner_only_even_over_a_stale_temp_file(tmp_path: Path) -> None:
    cache = ConfigCache(tmp_path)
    stale = temp_path(cache.path)
    stale.write_bytes(b"junk")
    stale.chmod(0o644)
    cache.save(OLD)
    assert stat.S_IMODE(cache.path.stat().st_mode) == 0o600
