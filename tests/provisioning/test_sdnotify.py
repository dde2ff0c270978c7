"""sd_notify over a real AF_UNIX datagram socket standing in for systemd."""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from firmware.app import sdnotify
from firmware.app.sdnotify import Notifier, watchdog_interval


@pytest.fixture
def systemd_socket(tmp_path: Path) -> Iterator[tuple[socket.socket, str]]:
    path = str(tmp_path / "notify")
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(path)
    sock.settimeout(5)
    try:
        yield sock, path
    finally:
        sock.close()


def test_ready_status_watchdog_and_stopping_arrive(
        systemd_socket: tuple[socket.socket, str], monkeypatch: pytest.MonkeyPatch) -> None:
    sock, path = systemd_socket
    monkeypatch.setenv("NOTIFY_SOCKET", path)
    n = Notifier()
    assert n.enabled
    assert n.ready("1 of 1 lines\nregistered")
    assert sock.recv(4096) == b"READY=1\nSTATUS=1 of 1 lines registered"
    assert n.watchdog() and sock.recv(4096) == b"WATCHDOG=1"
    assert n.status("line 1 failed: 403") and sock.recv(4096) == b"STATUS=line 1 failed: 403"
    assert n.stopping() and sock.recv(4096) == b"STOPPING=1"
    n.close()
    assert not n.enabled and not n.watchdog()


def test_abstract_socket_names_are_supported() -> None:
    name = f"piphone-test-{os.getpid()}"
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind("\0" + name)
    sock.settimeout(5)
    try:
        n = Notifier("@" + name)
        assert n.ready() and sock.recv(100) == b"READY=1"
        n.close()
    finally:
        sock.close()


def test_without_systemd_everything_is_a_quiet_no_op(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NOTIFY_SOCKET", raising=False)
    n = Notifier()
    assert not n.enabled and not n.ready() and not n.watchdog()


def test_a_vanished_socket_does_not_raise(tmp_path: Path) -> None:
    n = Notifier(str(tmp_path / "gone"))
    assert n.enabled and n.ready() is False


def test_watchdog_interval_is_half_the_period_for_this_process(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WATCHDOG_USEC", "30000000")
    monkeypatch.delenv("WATCHDOG_PID", raising=False)
    assert watchdog_interval() == 15.0
    monkeypatch.setenv("WATCHDOG_PID", str(os.getpid()))
    assert watchdog_interval() == 15.0
    monkeypatch.setenv("WATCHDOG_PID", str(os.getpid() + 1))
    assert watchdog_interval() is None
    monkeypatch.setenv("WATCHDOG_USEC", "0")
    assert watchdog_interval(7.0) == 7.0


def test_module_level_notify_uses_the_environment(
        systemd_socket: tuple[socket.socket, str], monkeypatch: pytest.MonkeyPatch) -> None:
    sock, path = systemd_socket
    monkeypatch.setenv("NOTIFY_SOCKET", path)
    monkeypatch.setattr(sdnotify, "_default", None)
    assert sdnotify.notify("READY=1") and sock.recv(100) == b"READY=1"
    assert sdnotify.notify("WATCHDOG=1") and sock.recv(100) == b"WATCHDOG=1"
