"""Discovery as documented, through the CLI: no --tftp and no --mac. In two
network namespaces the test creates (a phone side and a server side joined by a
veth pair), the DHCP lease names the TFTP server by option 150 (a real
tftpd-hpa on port 69 of the server side), and the phone names its file after
the MAC of the interface that routes to that server."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import urllib.request
from pathlib import Path
from typing import Any

import pytest
from peers import free_port, wait_until
from peers_hosts import TwoHosts
from peers_proc import require

pytestmark = pytest.mark.interop

ROOT = Path(__file__).resolve().parents[2]
PHONE_MAC = "02:5e:11:22:33:44"
FILE_MAC = "025E11223344"
NET = "10.77.0."  # the server side .1 (the lease's option 150 names it), the phone .2
SERVER_IP, PHONE_IP = NET + "1", NET + "2"


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
    # the phone's side of the cable is its eth0, with the MAC its file is named after
    with TwoHosts(net=NET, devs=("srv0", "eth0"), desk_mac=PHONE_MAC) as hosts:
        server, desk = hosts.pbx, hosts.desk
        tftpd = subprocess.Popen(server.exec_argv([
            require("in.tftpd"), "-L", "-a", f"{SERVER_IP}:69", "-s", str(root)]),
            stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
        env = {**os.environ, "STATE_DIRECTORY": str(tmp_path / "state"),
               "PIPHONE_DHCP_LEASES": str(lease)}
        with open(log, "wb") as out:
            phone = subprocess.Popen(desk.exec_argv([
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
                with desk.entered():
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
