"""``python -m firmware run`` as a child process for provisioning tests: any
provisioning arguments, its log in a file, its control API polled."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import urllib.request
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from peers import wait_until

ROOT = Path(__file__).resolve().parents[2]


def get(port: int, path: str) -> bytes:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=2) as resp:
        return resp.read()


def status(port: int) -> dict[str, Any] | None:
    try:
        return json.loads(get(port, "/api/status"))
    except OSError:
        return None


def post(port: int, path: str, body: dict[str, Any]) -> dict[str, Any]:
    req = urllib.request.Request(f"http://127.0.0.1:{port}{path}", method="POST",
                                 data=json.dumps(body).encode(),
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=2) as resp:
        return json.loads(resp.read())


class RunPhone:
    """The phone process; ``args`` are the provisioning arguments (--tftp, --provision...)."""

    def __init__(self, tmp: Path, args: Sequence[str], control: int, name: str,
                 env: dict[str, str] | None = None, cli_control: bool = True) -> None:
        self.control = control
        self.log = tmp / f"{name}.log"
        full_env = {**os.environ, "STATE_DIRECTORY": str(tmp / "state"), **(env or {})}
        argv = [sys.executable, "-m", "firmware", "run", "--hal", "mock",
                *(["--control", f"127.0.0.1:{control}"] if cli_control else []), *args]
        with open(self.log, "wb") as out:
            self.proc = subprocess.Popen(argv, cwd=ROOT, env=full_env, stdout=out,
                                         stderr=subprocess.STDOUT)

    def text(self) -> str:
        return self.log.read_text(errors="replace")

    def alive(self) -> bool:
        return self.proc.poll() is None

    def wait_for(self, pred: Any, what: str, timeout: float = 40) -> dict[str, Any]:
        """Poll /api/status until ``pred(status)``; the process ending fails at once."""
        seen: dict[str, Any] = {}

        def check() -> bool:
            if self.proc.poll() is not None:
                return True
            st = status(self.control)
            if st is not None:
                seen.clear()
                seen.update(st)
            return st is not None and bool(pred(st))

        wait_until(check, timeout, what)
        assert self.proc.poll() is None, "the phone process ended:\n" + self.text()
        return dict(seen)

    def wait_log(self, fragment: str, what: str, timeout: float = 40) -> None:
        wait_until(lambda: fragment in self.text() or self.proc.poll() is not None,
                   timeout, what)
        assert self.proc.poll() is None, "the phone process ended:\n" + self.text()
        assert fragment in self.text()

    def stop(self) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(5)
            raise
