"""tftpd-hpa (in.tftpd) for the real-peer harness (tests/peers.py).

Why: provisioning fetches its configuration over TFTP, so boot tests serve
files from the real server.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from peers_ports import HOST, free_port, udp_bound
from peers_proc import PeerProcess, require, wait_until


class Tftpd(PeerProcess):
    """tftpd-hpa in the foreground (-L) serving ``root`` on 127.0.0.1:port.

    in.tftpd drops to user ``nobody``, so served files must be world-readable;
    ``serve()`` writes them that way.
    """

    def __init__(self, root: Path, *, port: int | None = None, extra: Sequence[str] = ()) -> None:
        binary = require("in.tftpd")
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)
        os.chmod(self.root, 0o755)
        self.port = port or free_port()
        argv = [binary, "-L", "-a", f"{HOST}:{self.port}", "-s", str(self.root), *extra]
        super().__init__(argv, cwd=self.root.parent, log_name=f"tftpd-{self.port}.log")

    @property
    def address(self) -> tuple[str, int]:
        return (HOST, self.port)

    def serve(self, name: str, data: bytes) -> Path:
        path = self.root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        os.chmod(path, 0o644)
        return path

    def start(self) -> Tftpd:
        super().start()
        wait_until(lambda: not self.running() or udp_bound(self.port), 5, "in.tftpd to bind")
        if not self.running():
            raise AssertionError(f"in.tftpd exited:\n{self.log_text()}")
        return self

    def __enter__(self) -> Tftpd:
        return self.start() if self.proc is None else self
