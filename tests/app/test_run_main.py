"""``python -m firmware run`` as a real process against a real registrar (Kamailio).

Checks the life cycle a desk phone has under systemd: it reads its .cnf,
registers every line (digest against Kamailio), serves the control API on
loopback, and on SIGTERM un-REGISTERs (Expires: 0) and exits 0.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import urllib.request
from pathlib import Path
from typing import Any

import pytest
from peers import Kamailio, free_port, wait_until
from peers_proc import require_module

from firmware.demo.network import Network, handset_config, until

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.interop


def _status(port: int) -> dict:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/status", timeout=2) as resp:
        return json.loads(resp.read())


def _reachable(port: int) -> bool:
    try:
        _status(port)
        return True
    except OSError:
        return False


def test_run_registers_serves_the_api_and_leaves_cleanly(tmp_path: Path, kamailio: Kamailio) -> None:
    sip_port, control_port = free_port(), free_port()
    cnf = tmp_path / "SIP00112233AABB.cnf"
    cnf.write_text(
        "line1_name: 1001\n"
        'line1_password: "secret1001"\n'
        f"proxy1_address: {kamailio.host}\n"
        f"proxy1_port: {kamailio.port}\n"
        "proxy_register: 1\n"
        "timer_register_expires: 600\n"
        f"voip_control_port: {sip_port}\n"
        "start_media_port: 27000\n"
        "end_media_port: 27100\n"
    )
    log = tmp_path / "phone.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "firmware", "run", "--hal", "mock", "--config", str(cnf),
             "--control", f"127.0.0.1:{control_port}"],
            cwd=ROOT, stdout=out, stderr=subprocess.STDOUT,
        )
    try:
        wait_until(lambda: proc.poll() is not None or _reachable(control_port), 20,
                   "the control API")
        assert proc.poll() is None, log.read_text()
        wait_until(lambda: _status(control_port)["registered"], 10, "registration")
        status = _status(control_port)
        assert status["lines"] == [{"line": 1, "name": "1001", "registered": True, "error": None}]
        assert status["hook"] == "on" and status["display"]
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(15) == 0, log.read_text()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(5)
    registrar = kamailio.log_text()
    assert "REGISTER sip:1001@" in registrar and "expires=600" in registrar
    assert "expires=0" in registrar, registrar[-2000:]  # the un-REGISTER on SIGTERM


def test_run_skips_a_bad_value_naming_the_key_and_runs(tmp_path: Path) -> None:
    cnf = tmp_path / "SIP00112233AABB.cnf"
    cnf.write_text(f"timer_t1: banana\nline1_name: 1001\nvoip_control_port: {free_port()}\n")
    log = tmp_path / "run.log"
    proc = _start(["--config", str(cnf), "--control", f"127.0.0.1:{free_port()}"], log)
    try:
        wait_until(lambda: b"SIP on" in log.read_bytes() or proc.poll() is not None, 20,
                   "the phone to start")
        assert proc.poll() is None, log.read_text()
        # names file, line and key, like every provisioning warning
        assert "SIP00112233AABB.cnf:1: timer_t1: bad value ('banana')" in log.read_text()
    finally:
        proc.terminate()
        assert proc.wait(15) == 0


def test_run_refuses_a_config_file_that_is_not_text(tmp_path: Path) -> None:
    cnf = tmp_path / "SIP00112233AABB.cnf"
    cnf.write_bytes(b"line1_name: 1001\n\x00\x01binary")
    proc = subprocess.run(
        [sys.executable, "-m", "firmware", "run", "--hal", "mock", "--config", str(cnf)],
        cwd=ROOT, capture_output=True, timeout=30,
    )
    assert proc.returncode == 1
    assert b"SIP00112233AABB.cnf: contains NUL bytes" in proc.stderr


def _start(argv: list[str], log: Path, env: dict[str, str] | None = None,
           hal: str = "mock") -> subprocess.Popen:
    with open(log, "wb") as out:
        return subprocess.Popen([sys.executable, "-m", "firmware", "run", "--hal", hal, *argv],
                                cwd=ROOT, stdout=out, stderr=subprocess.STDOUT, env=env)


def test_run_provisions_over_tftp(tmp_path: Path, tftpd: Any) -> None:
    control_port, sip_port = free_port(), free_port()
    tftpd.serve("SIP00112233AABB.cnf",
                f"line1_name: 5550042\nproxy1_address: 127.0.0.1\nproxy1_port: {free_port()}\n"
                f"voip_control_port: {sip_port}\n".encode())
    env = {**os.environ, "STATE_DIRECTORY": str(tmp_path / "state")}
    host, port = tftpd.address
    proc = _start(["--tftp", f"{host}:{port}", "--mac", "00:11:22:33:aa:bb",
                   "--control", f"127.0.0.1:{control_port}"], tmp_path / "phone.log", env)
    try:
        wait_until(lambda: proc.poll() is not None or _reachable(control_port), 20, "the API")
        assert proc.poll() is None, (tmp_path / "phone.log").read_text()
        assert _status(control_port)["lines"][0]["name"] == "5550042"
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(15) == 0
    assert (tmp_path / "state").exists()  # the fetched set is cached for a boot without server


def test_sigterm_ends_the_call_in_progress(tmp_path: Path) -> None:
    control_port, sip_port = free_port(), free_port()
    cnf = tmp_path / "SIP00112233AABB.cnf"
    cnf.write_text(f"line1_name: 5550002\nproxy1_address: 127.0.0.1\nproxy1_port: {free_port()}\n"
                   f"voip_control_port: {sip_port}\n"
                   "start_media_port: 27200\nend_media_port: 27300\n")
    proc = _start(["--config", str(cnf), "--control", f"127.0.0.1:{control_port}"],
                  tmp_path / "phone.log")

    async def main() -> list[tuple[str, str, str]]:
        async with Network() as net:
            a = await net.add("A", handset_config("5550001"))
            net.log.name(("127.0.0.1", sip_port), "B")
            await until(lambda: _reachable(control_port), "the phone's API", timeout=20)
            a.api.dial(f"sip:5550002@127.0.0.1:{sip_port}")
            await until(lambda: [c["state"] for c in _status(control_port)["calls"]] == ["incoming"],
                        "B to ring")
            req = urllib.request.Request(f"http://127.0.0.1:{control_port}/api/hook",
                                         data=b'{"state": "off"}', method="POST",
                                         headers={"Content-Type": "application/json"})
            urllib.request.urlopen(req, timeout=2).read()
            await until(lambda: a.states() == ["connected"], "connected")
            proc.send_signal(signal.SIGTERM)
            await until(lambda: a.states() in ([], ["ended"]), "the BYE from B")
        return net.log.sequence()

    try:
        seq = asyncio.run(main())
        assert proc.wait(15) == 0, (tmp_path / "phone.log").read_text()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(5)
    assert ("B", "A", "BYE") in seq and ("A", "B", "200 OK") in seq


def test_run_on_the_pi_hal_headless(tmp_path: Path) -> None:
    """The Pi backends (gpiozero on its mock pin factory, ALSA null) under ``run --hal pi``."""
    require_module("alsaaudio")
    require_module("gpiozero")
    control_port, sip_port = free_port(), free_port()
    cnf = tmp_path / "SIP00112233AABB.cnf"
    cnf.write_text(f"line1_name: 5550001\nproxy1_address: 127.0.0.1\nproxy1_port: {free_port()}\n"
                   f"voip_control_port: {sip_port}\npin_factory: mock\ndisplay_type: none\n"
                   "audio_capture_device: null\naudio_playback_device: null\n"
                   "start_media_port: 27600\nend_media_port: 27700\n")
    env = {**os.environ, "STATE_DIRECTORY": str(tmp_path / "state")}
    proc = _start(["--config", str(cnf), "--control", f"127.0.0.1:{control_port}"],
                  tmp_path / "phone.log", env, hal="pi")
    try:
        wait_until(lambda: proc.poll() is not None or _reachable(control_port), 20, "the API")
        assert proc.poll() is None, (tmp_path / "phone.log").read_text()
        req = urllib.request.Request(f"http://127.0.0.1:{control_port}/api/dial",
                                     data=b'{"target": "sip:5550009@127.0.0.1:9"}', method="POST",
                                         headers={"Content-Type": "application/json"})
        calls = json.loads(urllib.request.urlopen(req, timeout=2).read())["calls"]
        assert [c["state"] for c in calls] == ["calling"]
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(15) == 0, (tmp_path / "phone.log").read_text()
    assert "hal.pi" in (tmp_path / "phone.log").read_text()


def test_control_bind_from_the_config(tmp_path: Path) -> None:
    control_port = free_port()
    cnf = tmp_path / "SIP00112233AABB.cnf"
    base = (f"line1_name: 5550001\nproxy1_address: 127.0.0.1\nproxy1_port: {free_port()}\n"
            f"voip_control_port: {free_port()}\n")
    cnf.write_text(base + f"control_bind: 127.0.0.1:{control_port}\n")
    proc = _start(["--config", str(cnf)], tmp_path / "phone.log")
    try:
        wait_until(lambda: proc.poll() is not None or _reachable(control_port), 20, "the API")
        assert _status(control_port)["lines"][0]["name"] == "5550001"
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(15) == 0
    # Off loopback without a token the phone refuses to serve the API at all (and to start).
    cnf.write_text(base + f"control_bind: 0.0.0.0:{control_port}\n")
    done = subprocess.run([sys.executable, "-m", "firmware", "run", "--hal", "mock",
                           "--config", str(cnf)], cwd=ROOT, capture_output=True, timeout=30)
    assert done.returncode == 1 and b"token" in done.stderr
