"""Child processes for the real-peer harness (tests/peers.py).

Why: every peer binary is started, logged and stopped the same way (SIGTERM,
then SIGKILL after a grace period), and a missing binary skips the test
saying what to install, except in CI (``PIPHONE_CI=1``), where it fails it.
"""

from __future__ import annotations

import contextlib
import importlib
import os
import shutil
import signal
import subprocess
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, NoReturn

import pytest


def missing(what: str) -> NoReturn:
    """A test's peer is not here: skip on a developer's machine, FAIL in CI.

    Why fail: CI (``.ci/run`` sets ``PIPHONE_CI=1``) runs on a machine that
    ``make test`` provisioned; a peer missing there means the install is broken,
    and a skip would turn every claim that peer checks into a silent pass.
    """
    if os.environ.get("PIPHONE_CI"):
        pytest.fail(f"{what} (PIPHONE_CI=1: a test that cannot find its peer fails)",
                    pytrace=False)
    pytest.skip(what, allow_module_level=True)


def require_root(why: str = "network namespaces need root") -> None:
    if os.geteuid() != 0:
        missing(why)


def require_module(name: str) -> Any:
    """``import name``, or ``missing`` (a dependency ``make test`` installs)."""
    try:
        return importlib.import_module(name)
    except ImportError as exc:
        missing(f"python module {name} not importable ({exc}); make test installs it")


def require(binary: str) -> str:
    """The binary's path, or ``missing`` saying what to install."""
    path = shutil.which(binary) or next(
        (p for p in (f"/usr/sbin/{binary}", f"/sbin/{binary}") if os.access(p, os.X_OK)), None
    )
    if path is None:
        missing(f"{binary} not installed (scripts/install-deps.sh installs it)")
    return path


class PeerProcess:
    """One child process with its output in a log file; stopped politely, then firmly."""

    def __init__(
        self,
        argv: Sequence[str],
        *,
        cwd: Path,
        log_name: str,
        env: dict[str, str] | None = None,
        stop_signals: Sequence[int] = (signal.SIGTERM,),
        grace: float = 3.0,
    ) -> None:
        self.argv = list(argv)
        self.cwd = Path(cwd)
        self.log_path = self.cwd / log_name
        self.env = env
        self.stop_signals = tuple(stop_signals)
        self.grace = grace
        self.proc: subprocess.Popen[bytes] | None = None

    #: the child's stdin: a subclass that types commands (linphonec) takes a pipe
    stdin: int = subprocess.DEVNULL
    #: the network namespace the child runs in (a peers_netns.Netns-like), if any:
    #: ``await_ready`` looks from inside it, where the child's sockets are
    netns: Any = None

    def start(self) -> PeerProcess:
        self.cwd.mkdir(parents=True, exist_ok=True)
        log = open(self.log_path, "wb")  # noqa: SIM115 - owned by the child
        try:
            self.proc = subprocess.Popen(
                self.argv,
                cwd=self.cwd,
                env=self.env,
                stdin=self.stdin,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        finally:
            log.close()
        return self

    def await_ready(self, ready: Callable[[], bool], timeout: float, what: str, *,
                    interval: float = 0.02) -> None:
        """After ``start()``: wait (inside ``netns``, if any) until ``ready()`` or the
        process ends. A process that ended, or never got ready, is stopped and the test
        fails with the tail of its log: a peer half up is never used."""
        try:
            with self.netns.entered() if self.netns is not None else contextlib.nullcontext():
                wait_until(lambda: not self.running() or ready(), timeout, what, interval)
            if not self.running():
                raise AssertionError(f"{self.log_path.stem} exited:\n{self.log_text()[-3000:]}")
        except BaseException:
            self.stop()
            raise

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def wait(self, timeout: float) -> int:
        assert self.proc is not None
        return self.proc.wait(timeout)

    def stop(self) -> int | None:
        """Send each stop signal in turn (waiting ``grace`` after each), then SIGKILL."""
        if self.proc is None:
            return None
        for sig in self.stop_signals:
            if self.proc.poll() is not None:
                break
            with contextlib.suppress(ProcessLookupError):
                self.proc.send_signal(sig)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.proc.wait(self.grace)
        if self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                self.proc.kill()
            self.proc.wait(10)
        return self.proc.returncode

    def log_text(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def __enter__(self) -> PeerProcess:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def wait_until(
    predicate: Callable[[], bool], timeout: float, what: str, interval: float = 0.02
) -> None:
    """Poll ``predicate`` until true; fail the test naming ``what`` on timeout.

    A readiness wait for a peer starting up, not a timing assertion.
    """
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")
