"""Discovery as documented, through the CLI: no --tftp and no --mac. In two
network namespaces the test creates (a phone side and a server side joined by a
veth pair), the DHCP lease names the TFTP server by option 150 (a real
tftpd-hpa on port 69 of the server side), and the phone names its file after
the MAC of the interface that routes to that server."""

from __future__ import annotations

import contextlib
import ctypes
import json
import os
import signal
import subprocess
import sys
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from peers import free_port, wait_until
from peers_proc import require

pytestmark = pytest.mark.interop

ROOT = Path(__file__).resolve().parents[2]
PHONE_MAC = "02:5e:11:22:33:44"
FILE_MAC = "025E11223344"
SERVER_IP, PHONE_IP = "10.77.0.1", "10.77.0.2"


class Pair:
    """Namespaces ``phone`` and ``server`` joined by veth (phone side has PHONE_MAC)."""

    def __init__(self) -> None:
        self.ip = require("ip")
        if os.geteuid() != 0:
            pytest.skip("network namespaces need root")
        tag = f"{os.getpid()}-{uuid.uuid4().hex[:6]}"
        self.phone, self.server = f"pp-ph-{tag}", f"pp-sv-{tag}"
        self.made: list[str] = []

    def _ip(self, *args: str) -> None:
        subprocess.run([self.ip, *args], check=True, capture_output=True, timeout=10)

    def __enter__(self) -> Pair:
        try:
            for ns in (self.phone, self.server):
                self._ip("netns", "add", ns)
                self.made.append(ns)
                self._ip("-n", ns, "link", "set", "lo", "up")
            self._ip("-n", self.phone, "link", "add", "eth0", "address", PHONE_MAC,
                     "type", "veth", "peer", "name", "srv0", "netns", self.server)
            self._ip("-n", self.phone, "addr", "add", f"{PHONE_IP}/24", "dev", "eth0")
            self._ip("-n", self.server, "addr", "add", f"{SERVER_IP}/24", "dev", "srv0")
            self._ip("-n", self.phone, "link", "set", "eth0", "up")
            self._ip("-n", self.server, "link", "set", "srv0", "up")
        except BaseException:
            self.__exit__()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        for ns in self.made:
            subprocess.run([self.ip, "netns", "del", ns], capture_output=True, timeout=10)
        self.made.clear()

    def argv(self, ns: str, argv: list[str]) -> list[str]:
        return [self.ip, "netns", "exec", ns, *argv]

    @contextlib.contextmanager
    def inside(self, ns: str) -> Iterator[None]:
        """This thread's new sockets live in ``ns`` (setns), then back."""
        libc = ctypes.CDLL(None, use_errno=True)
        own = os.open("/proc/thread-self/ns/net", os.O_RDONLY)
        target = os.open(f"/run/netns/{ns}", os.O_RDONLY)
        try:
            if libc.setns(target, 0x40000000) != 0:
                raise OSError(ctypes.get_errno(), "setns failed")
            try:
                yield
            finally:
                libc.setns(own, 0x40000000)
        finally:
            os.close(target)
            os.close(own)


def _stop(proc: subprocess.Popen[bytes]) -> int:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
    try:
        return proc.wait(15)
    except subprocess.TimeoutExpired:
        proc.kill()
        return proc.wait(5)


def test_dhcp_option_150_and_the_routing_interfaces_mac(tmp_path: Path) -> None:
    root = tmp_path / "tftproot"
    root.mkdir()
    os.chmod(root, 0o755)
    files = {
        "SIPDefault.cnf": "proxy_register: 0\nphone_label: \"Found by DHCP\"\n",
        f"SIP{FILE_MAC}.cnf": "line1_name: 7001 ; named after eth0's MAC\n",
    }
    for name, text in files.items():
        (root / name).write_text(text)
        os.chmod(root / name, 0o644)
    lease = tmp_path / "eth0.lease"  # networkd style: option 150 as hex bytes
    lease.write_text(f"ADDRESS={PHONE_IP}\nOPTION_150=0a4d0001\nSERVER_ADDRESS={SERVER_IP}\n")
    control = free_port()
    log = tmp_path / "phone.log"
    with Pair() as pair:
        tftpd = subprocess.Popen(pair.argv(pair.server, [
            require("in.tftpd"), "-L", "-a", f"{SERVER_IP}:69", "-s", str(root)]),
            stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
        env = {**os.environ, "STATE_DIRECTORY": str(tmp_path / "state"),
               "PIPHONE_DHCP_LEASES": str(lease)}
        with open(log, "wb") as out:
            phone = subprocess.Popen(pair.argv(pair.phone, [
                sys.executable, "-m", "firmware", "run", "--hal", "mock",
                # as the service runs it: --config always, here a file not there
                "--config", str(tmp_path / "etc" / "SIPDefault.cnf"),
                "--control", f"127.0.0.1:{control}"]),
                cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
        seen: dict[str, Any] = {}

        def ready() -> bool:
            if phone.poll() is not None:
                return True
            try:
                with pair.inside(pair.phone):
                    with urllib.request.urlopen(
                            f"http://127.0.0.1:{control}/api/status", timeout=2) as resp:
                        seen.update(json.loads(resp.read()))
            except OSError:
                return False
            return "Line: 7001" in seen.get("display", [])

        try:
            wait_until(ready, 40, "the phone provisioned by DHCP and its MAC")
            assert phone.poll() is None, log.read_text()
            assert seen["display"][0].startswith("Found by DHCP")
        finally:
            assert _stop(phone) == 0, log.read_text()
            _stop(tftpd)
    text = log.read_text()
    assert f"TFTP server {SERVER_IP} from DHCP option 150" in text
    assert f"MAC {FILE_MAC} names SIP{FILE_MAC}.cnf" in text
