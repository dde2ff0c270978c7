"""Replace a file so that a power cut leaves either the old or the new one, never half.

Why every step: a handset loses power whenever someone pulls the cord.
``os.replace`` alone is atomic for the name, but without ``fsync`` the new
name can reach the disk before the new data (ext4 and f2fs on an SD card
may order them so), which leaves an empty or torn file after a cut. So the
data is written to a temporary file in the same directory (a rename is only
atomic within one file system), the file is fsync'ed, renamed over the old
one, and the directory is fsync'ed so the rename itself is durable.

Shared by the shell (call history, user preferences) and provisioning (the
last good configuration), hence its place at the top of the package.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

__all__ = ["temp_path", "write_atomic"]


def temp_path(path: Path) -> Path:
    """Where ``write_atomic`` stages the new contents of ``path`` (same directory)."""
    return path.with_name(f".{path.name}.tmp")


def write_atomic(path: Path, data: bytes, *, mode: int = 0o600) -> None:
    """Durably replace ``path`` with ``data``; on any error the old file is untouched."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = temp_path(path)
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    try:
        os.fchmod(fd, mode)  # a stale temp file keeps its old mode otherwise (secrets: 0600)
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view):]
        os.fsync(fd)
    except BaseException:
        os.close(fd)
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise
    os.close(fd)
    os.replace(tmp, path)
    _fsync_dir(path.parent)


def _fsync_dir(directory: Path) -> None:
    """Make a rename in ``directory`` durable (a no-op where directories cannot be opened)."""
    try:
        fd = os.open(directory, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass  # some file systems refuse fsync on a directory; the data is already safe
    finally:
        os.close(fd)
