"""``python -m firmware run`` under a stand-in for systemd (sd_notify(3), ``Type=notify``).

The test binds the AF_UNIX datagram socket systemd would pass in
``$NOTIFY_SOCKET`` and runs the firmware as a real process against a real
registrar (Kamailio): READY must wait for the lines' first REGISTER answers
and say how they went in STATUS; WATCHDOG must keep coming from the loop at
half ``$WATCHDOG_USEC``; SIGTERM must bring STOPPING=1 and exit 0.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from peers import Kamailio, free_port

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.interop


@pytest.fixture
def systemd_socket(tmp_path: Path) -> Iterator[tuple[socket.socket, str]]:
    path = str(tmp_path / "notify")
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(path)
    try:
        yield sock, path
    finally:
        sock.close()


def _cnf(tmp_path: Path, kamailio: Kamailio, extra: str = "") -> Path:
    cnf = tmp_path / "SIP00112233AABB.cnf"
    cnf.write_text(
        "line1_name: 1001\n"
        'line1_password: "secret1001"\n'
        f"proxy1_address: {kamailio.host}\n"
        f"proxy1_port: {kamailio.port}\n"
        "proxy_register: 1\n"
        "timer_register_expires: 600\n"
        f"voip_control_port: {free_port()}\n"
        "start_media_port: 27200\n"
        "end_media_port: 27300\n" + extra
    )
    return cnf


def _start(tmp_path: Path, cnf: Path, notify_path: str) -> tuple[subprocess.Popen[bytes], Path]:
    env = dict(os.environ, NOTIFY_SOCKET=notify_path, WATCHDOG_USEC="1000000")
    env.pop("WATCHDOG_PID", None)  # unset: the watchdog is meant for the child (sd_watchdog_enabled)
    log = tmp_path / "phone.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "firmware", "run", "--hal", "mock", "--config", str(cnf)],
            cwd=ROOT, stdout=out, stderr=subprocess.STDOUT, env=env,
        )
    return proc, log


def _next(sock: socket.socket, proc: subprocess.Popen[bytes], log: Path, deadline: float) -> str:
    """The next datagram from the child (fails if the child died or the deadline passed)."""
    while True:
        left = deadline - time.monotonic()
        assert left > 0, f"no notification in time:\n{log.read_text()[-3000:]}"
        sock.settimeout(min(left, 1.0))
        try:
            return sock.recv(4096).decode()
        except TimeoutError:
            assert proc.poll() is None, f"the phone exited:\n{log.read_text()[-3000:]}"


def _until_ready(sock: socket.socket, proc: subprocess.Popen[bytes], log: Path,
                 within: float) -> tuple[str, list[str]]:
    """(the READY message, everything received before it)."""
    before: list[str] = []
    deadline = time.monotonic() + within
    while True:
        msg = _next(sock, proc, log, deadline)
        if msg.startswith("READY=1"):
            return msg, before
        before.append(msg)


def _stop(sock: socket.socket, proc: subprocess.Popen[bytes], log: Path) -> list[str]:
    proc.send_signal(signal.SIGTERM)
    seen: list[str] = []
    deadline = time.monotonic() + 15
    while "STOPPING=1" not in seen:
        seen.append(_next(sock, proc, log, deadline))
    assert proc.wait(15) == 0, log.read_text()[-3000:]
    return seen


def test_ready_follows_registration_watchdog_pings_stopping_on_sigterm(
        tmp_path: Path, kamailio: Kamailio, systemd_socket: tuple[socket.socket, str]) -> None:
    sock, path = systemd_socket
    proc, log = _start(tmp_path, _cnf(tmp_path, kamailio), path)
    try:
        ready, before = _until_ready(sock, proc, log, 20)
        # Kamailio logs the authenticated REGISTER just before save("location") and the 200.
        registrar = kamailio.log_text()
        assert "REGISTER sip:1001@" in registrar and "expires=600" in registrar, registrar[-2000:]
        assert ready == "READY=1\nSTATUS=1 line registered"
        assert set(before) <= {"WATCHDOG=1"}
        pings = before.count("WATCHDOG=1")
        deadline = time.monotonic() + 10
        while pings < 3:
            msg = _next(sock, proc, log, deadline)
            assert msg == "WATCHDOG=1", msg
            pings += 1
        after = _stop(sock, proc, log)
        assert after[-1] == "STOPPING=1" and set(after[:-1]) <= {"WATCHDOG=1"}, after
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(5)


@pytest.mark.slow
def test_ready_names_a_line_whose_registrar_never_answers(
        tmp_path: Path, kamailio: Kamailio, systemd_socket: tuple[socket.socket, str]) -> None:
    sock, path = systemd_socket
    dead = free_port()  # nothing listens there: the REGISTER times out (64*T1 = 6.4 s)
    cnf = _cnf(tmp_path, kamailio,
               f"line2_name: 1002\nline2_password: \"secret1002\"\nproxy2_address: 127.0.0.1\n"
               f"proxy2_port: {dead}\ntimer_t1: 100\n")
    proc, log = _start(tmp_path, cnf, path)
    try:
        ready, _ = _until_ready(sock, proc, log, 25)
        assert ready.startswith("READY=1\nSTATUS=1 line registered; line 2 failed: "), ready
        _stop(sock, proc, log)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(5)
