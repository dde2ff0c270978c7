"""READY's STATUS text and its bounded wait (firmware.app.notify), on a real notify socket."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace

import pytest

from firmware.app import sdnotify
from firmware.app.notify import LoopWatchdog, announce_ready, readiness


@pytest.fixture
def notify_sock(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[socket.socket]:
    path = str(tmp_path / "notify")
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(path)
    sock.settimeout(5)
    notifier = sdnotify.Notifier(path)
    monkeypatch.setattr(sdnotify, "_default", notifier)
    try:
        yield sock
    finally:
        notifier.close()
        sock.close()


def test_readiness_names_registered_failed_and_pending_lines() -> None:
    assert readiness({}) == (True, "no lines to register")
    assert readiness({1: "registered", 2: "registered"}) == (True, "2 lines registered")
    assert readiness({1: "403 Forbidden"}) == (True, "line 1 failed: 403 Forbidden")
    assert readiness({2: None, 1: "registered", 3: "408 Request Timeout"}) == (
        False, "1 line registered; line 3 failed: 408 Request Timeout; line 2 pending")


def test_ready_waits_for_every_line_then_reports(notify_sock: socket.socket) -> None:
    app = SimpleNamespace(reg_outcome={1: None, 2: None}, on_registration=None)

    async def scenario() -> str:
        task = asyncio.ensure_future(announce_ready(app, wait=30))
        await asyncio.sleep(0)
        app.reg_outcome[1] = "registered"
        app.on_registration()
        await asyncio.sleep(0)
        assert not task.done()  # line 2 has not answered yet
        app.reg_outcome[2] = "403 Forbidden"
        app.on_registration()
        return await task

    status = asyncio.run(scenario())
    assert status == "1 line registered; line 2 failed: 403 Forbidden"
    assert notify_sock.recv(4096) == b"READY=1\nSTATUS=" + status.encode()
    assert app.on_registration is None


def test_ready_goes_out_anyway_after_the_bound(notify_sock: socket.socket) -> None:
    app = SimpleNamespace(reg_outcome={1: "registered", 2: None}, on_registration=None)
    status = asyncio.run(announce_ready(app, wait=0.05))
    assert status == "1 line registered; line 2 pending (no answer after 0.05 s)"
    assert notify_sock.recv(4096) == b"READY=1\nSTATUS=" + status.encode()


def test_no_lines_is_ready_at_once(notify_sock: socket.socket) -> None:
    app = SimpleNamespace(reg_outcome={}, on_registration=None)
    assert asyncio.run(announce_ready(app, wait=3600)) == "no lines to register"
    assert notify_sock.recv(4096) == b"READY=1\nSTATUS=no lines to register"


def test_watchdog_pings_from_the_loop_until_cancelled(notify_sock: socket.socket) -> None:
    async def scenario() -> None:
        dog = LoopWatchdog(asyncio.get_running_loop(), interval=0.01)
        dog.start()
        await asyncio.sleep(0.05)
        dog.cancel()

    asyncio.run(scenario())
    notify_sock.settimeout(0.5)
    pings = 0
    try:
        while True:
            assert notify_sock.recv(100) == b"WATCHDOG=1"
            pings += 1
    except TimeoutError:
        pass
    assert pings >= 2


def test_watchdog_is_off_without_watchdog_usec(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("WATCHDOG_USEC", raising=False)

    async def scenario() -> bool:
        dog = LoopWatchdog(asyncio.get_running_loop())
        dog.start()
        return dog.interval is None and dog._handle is None

    assert asyncio.run(scenario())
