"""A stalled event loop stops the watchdog pings, and the supervisor restarts the phone.

Why: under systemd the unit's ``WatchdogSec=`` kills and restarts a phone
whose loop hangs (``Restart=on-failure``); the pings therefore must come
from the loop itself (``firmware.app.notify.LoopWatchdog``), not from a
thread that would keep pinging for a dead phone. This sandbox has no systemd
as PID 1, so the test plays systemd's part of the protocol itself, as
sd_notify(3) and systemd.service(5) describe it: a ``NOTIFY_SOCKET`` datagram
socket, ``WATCHDOG_USEC``/``WATCHDOG_PID`` in the environment, SIGABRT when
no ``WATCHDOG=1`` came within the interval, then a new process that must say
``READY=1`` and ping again. The loop is stalled by a test-only signal handler
(tests/faults/stall/sitecustomize.py) that blocks the main thread.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
STALL = Path(__file__).resolve().parent / "stall"
WATCHDOG_S = 2.0


class Supervisor:
    """The part of systemd a Type=notify unit with WatchdogSec talks to."""

    def __init__(self, tmp: Path) -> None:
        self.path = str(tmp / "notify.sock")
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(self.path)
        self.sock.settimeout(0.1)

    def start(self, cnf: Path) -> subprocess.Popen[bytes]:
        env = dict(os.environ, NOTIFY_SOCKET=self.path, WATCHDOG_USEC=str(int(WATCHDOG_S * 1e6)),
                   PYTHONPATH=f"{STALL}:{os.environ.get('PYTHONPATH', '')}".rstrip(":"))
        # exec keeps the shell's PID, so WATCHDOG_PID names the phone itself (as systemd sets it)
        cmd = (f'export WATCHDOG_PID=$$; exec "{sys.executable}" -m firmware run --hal mock '
               f'--config "{cnf}"')
        return subprocess.Popen(["sh", "-c", cmd], cwd=ROOT, env=env,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def wait_for(self, what: bytes, timeout: float) -> float | None:
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            try:
                data = self.sock.recv(4096)
            except TimeoutError:
                continue
            if what in data.split(b"\n"):
                return time.monotonic()
        return None

    def pings(self, n: int, timeout: float) -> bool:
        """``n`` watchdog pings arrive within ``timeout`` (a healthy, maybe slow, loop)."""
        end = time.monotonic() + timeout
        got = 0
        while got < n and time.monotonic() < end:
            if self.wait_for(b"WATCHDOG=1", end - time.monotonic()) is not None:
                got += 1
        return got >= n

    def watch(self, proc: subprocess.Popen[bytes], limit: float) -> bool:
        """Enforce the watchdog for ``limit`` seconds; True if it fired (and killed ``proc``)."""
        last = time.monotonic()
        end = last + limit
        while time.monotonic() < end:
            got = self.wait_for(b"WATCHDOG=1", 0.1)
            if got is not None:
                last = got
            elif time.monotonic() - last > WATCHDOG_S:
                proc.send_signal(signal.SIGABRT)  # systemd's watchdog signal
                try:
                    proc.wait(5)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait(5)
                return True
        return False

    def close(self) -> None:
        self.sock.close()


def test_stalled_loop_is_killed_by_the_watchdog_and_the_phone_comes_back(tmp_path: Path) -> None:
    cnf = tmp_path / "SIP001122334455.cnf"
    cnf.write_text("line1_name: 5550002\nproxy1_address: 127.0.0.1\nproxy1_port: 9\n"
                   "proxy_register: 0\nvoip_control_port: 5998\n")
    sup = Supervisor(tmp_path)
    procs: list[subprocess.Popen[bytes]] = []
    try:
        first = sup.start(cnf)
        procs.append(first)
        assert sup.wait_for(b"READY=1", 30) is not None
        assert sup.pings(3, 30)  # a healthy loop keeps pinging
        first.send_signal(signal.SIGUSR2)  # the loop hangs
        assert sup.watch(first, 30)  # ... so the pings stop and the watchdog fires
        assert first.returncode is not None
        second = sup.start(cnf)  # Restart=on-failure
        procs.append(second)
        assert sup.wait_for(b"READY=1", 30) is not None
        assert sup.pings(3, 30)
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.wait(5)
        sup.close()


def test_the_unit_asks_systemd_for_this_watchdog_and_a_restart() -> None:
    """What the test above plays is what the shipped unit asks systemd for."""
    unit = (ROOT / "systemd" / "piphone.service").read_text()
    keys = dict(line.split("=", 1) for line in unit.splitlines() if "=" in line and not line.startswith("#"))
    assert keys["Type"] == "notify" and keys["NotifyAccess"] in ("main", "all")
    assert keys["WatchdogSec"].rstrip("s").isdigit()
    assert keys["Restart"] in ("on-failure", "on-watchdog", "on-abnormal", "always")
