"""Fixtures for provisioning tests: a real tftpd-hpa on a free loopback port.

Kept local to this directory (the shared ``tests/peers.py`` is written on
another branch). ``in.tftpd -L`` stays in the foreground; it drops to user
``nobody``, so the served tree is made world-readable.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from peers_proc import missing

IN_TFTPD = shutil.which("in.tftpd") or "/usr/sbin/in.tftpd"


def free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class TftpServer:
    root: Path
    port: int
    proc: subprocess.Popen[bytes] | None = None

    @property
    def address(self) -> tuple[str, int]:
        return ("127.0.0.1", self.port)

    def put(self, name: str, data: bytes | str) -> Path:
        path = self.root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        os.chmod(path.parent, 0o755)
        path.write_bytes(data.encode() if isinstance(data, str) else data)
        os.chmod(path, 0o644)
        return path

    def remove(self, name: str) -> None:
        (self.root / name).unlink(missing_ok=True)

    def start(self) -> None:
        assert self.proc is None
        self.proc = subprocess.Popen(
            [IN_TFTPD, "-L", "-a", f"127.0.0.1:{self.port}", "-s", str(self.root)],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
        )
        # Wait until the port is bound (no timing assertion: just readiness).
        for _ in range(200):
            if self.proc.poll() is not None:
                err = self.proc.stderr.read().decode() if self.proc.stderr else ""
                raise RuntimeError(f"in.tftpd exited: {err}")
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
                try:
                    probe.bind(("127.0.0.1", self.port))
                except OSError:
                    return
            time.sleep(0.01)
        raise RuntimeError("in.tftpd did not bind its port")

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
            if self.proc.stderr:
                self.proc.stderr.close()
            self.proc = None


@pytest.fixture
def tftpd(tmp_path: Path) -> Iterator[TftpServer]:
    if not os.path.exists(IN_TFTPD):
        missing("tftpd-hpa (in.tftpd) is not installed; run make deps")
    root = tmp_path / "tftproot"
    root.mkdir()
    os.chmod(tmp_path, 0o755)
    os.chmod(root, 0o755)
    server = TftpServer(root=root, port=free_udp_port())
    server.start()
    try:
        yield server
    finally:
        server.stop()
