"""Two "hosts" joined by a cable, and a phone running as its own process on one of them.

Why: a phone that only works when everything shares one loopback proves
little about a LAN.  ``TwoHosts`` makes two network namespaces joined by a
veth pair, addressed from 198.18.0.0/15 (RFC 2544's benchmarking range: not
a private LAN range, and it never leaves the namespaces), each with its own
``lo`` and its own ``/etc/netns/NAME/resolv.conf`` so a program started
with ``ip netns exec`` reads that as its system resolver configuration.
``PhoneProcess`` runs ``python -m firmware run --hal mock`` inside one of
them and drives it through the control API, from inside too.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
import sys
import urllib.request
import uuid
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from peers_proc import PeerProcess, require, require_root, wait_until

NET = "198.18.43."


class Host:
    """One namespace: ``name``, its veth end ``dev`` and address ``ip``."""

    def __init__(self, name: str, dev: str, ip: str, ip_cmd: str) -> None:
        self.name = name
        self.dev = dev
        self.ip = ip
        self._ip_cmd = ip_cmd

    def run(self, *args: str) -> None:
        subprocess.run([self._ip_cmd, "-n", self.name, *args], check=True, capture_output=True,
                       timeout=10)

    def exec_argv(self, argv: Sequence[str]) -> list[str]:
        return [self._ip_cmd, "netns", "exec", self.name, *argv]

    def resolv_conf(self, text: str) -> None:
        """Write /etc/netns/NAME/resolv.conf (``ip netns exec`` mounts it on /etc/resolv.conf)."""
        d = Path("/etc/netns") / self.name
        d.mkdir(parents=True, exist_ok=True)
        (d / "resolv.conf").write_text(text)

    @contextlib.contextmanager
    def entered(self) -> Iterator[None]:
        from peers_netns import Netns

        ns = Netns.__new__(Netns)
        ns.name = self.name
        with Netns.entered(ns):
            yield


class TwoHosts:
    """``pbx`` (198.18.43.1) and ``desk`` (198.18.43.2) joined by a veth pair.

    ``net``: another /24 (its first three octets and the dot; pbx .1, desk .2);
    ``devs``: the names of the pbx's and the desk's veth ends; ``desk_mac``: the
    desk end's MAC address (a phone names its configuration file after it)."""

    def __init__(self, *, net: str = NET, devs: tuple[str, str] = ("vpbx", "vdesk"),
                 desk_mac: str | None = None) -> None:
        self.ip_cmd = require("ip")
        require_root()
        tag = f"{os.getpid()}-{uuid.uuid4().hex[:6]}"
        self.pbx = Host(f"pp-pbx-{tag}", devs[0], net + "1", self.ip_cmd)
        self.desk = Host(f"pp-desk-{tag}", devs[1], net + "2", self.ip_cmd)
        self.desk_mac = desk_mac
        self.created: list[Host] = []

    def _ip(self, *args: str) -> None:
        subprocess.run([self.ip_cmd, *args], check=True, capture_output=True, timeout=10)

    def create(self) -> TwoHosts:
        try:
            for h in (self.pbx, self.desk):
                self._ip("netns", "add", h.name)
                self.created.append(h)
                h.run("link", "set", "lo", "up")
            self._ip("-n", self.pbx.name, "link", "add", self.pbx.dev, "type", "veth",
                     "peer", "name", self.desk.dev, "netns", self.desk.name)
            if self.desk_mac is not None:
                self.desk.run("link", "set", self.desk.dev, "address", self.desk_mac)
            for h in (self.pbx, self.desk):
                h.run("addr", "add", f"{h.ip}/24", "dev", h.dev)
                h.run("link", "set", h.dev, "up")
        except BaseException:
            self.delete()
            raise
        return self

    def delete(self) -> None:
        for h in self.created:
            subprocess.run([self.ip_cmd, "netns", "del", h.name], capture_output=True, timeout=10)
            shutil.rmtree(Path("/etc/netns") / h.name, ignore_errors=True)
        self.created.clear()

    def __enter__(self) -> TwoHosts:
        return self.create()

    def __exit__(self, *exc: object) -> None:
        self.delete()


class PhoneProcess(PeerProcess):
    """``python -m firmware run --hal mock`` inside ``host``, with its control API on
    the namespace's loopback; ``api`` talks to it from inside."""

    def __init__(self, workdir: Path, host: Host, cnf: str, *, control_port: int = 8181,
                 name: str = "phone") -> None:
        work = Path(workdir) / f"{name}-{host.name}"
        work.mkdir(parents=True, exist_ok=True)
        (work / f"{name}.cnf").write_text(cnf)
        self.host = host
        self.control = ("127.0.0.1", control_port)
        argv = host.exec_argv([sys.executable, "-m", "firmware", "run", "--hal", "mock",
                               "--config", str(work / f"{name}.cnf"),
                               "--control", f"127.0.0.1:{control_port}",
                               "--state-dir", str(work / "state")])
        env = dict(os.environ)
        env["PYTHONPATH"] = str(Path(__file__).resolve().parent.parent)
        super().__init__(argv, cwd=work, log_name=f"{name}.log", env=env, grace=5.0)

    def api(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(f"http://{self.control[0]}:{self.control[1]}{path}",
                                     data=data, method=method,
                                     headers={"Content-Type": "application/json"})
        with self.host.entered(), urllib.request.urlopen(req, timeout=5) as resp:  # noqa: S310
            return json.loads(resp.read() or b"null")

    def status(self) -> dict[str, Any]:
        return self.api("GET", "/api/status")

    def ready(self) -> bool:
        try:
            self.status()
        except OSError:
            return False
        return True

    def start(self) -> PhoneProcess:
        super().start()
        self.await_ready(self.ready, 20, "the phone's control API", interval=0.1)
        return self

    def wait_status(self, predicate: Any, what: str, timeout: float = 15.0) -> dict[str, Any]:
        """Poll the status until ``predicate(status)``; fails naming ``what`` with the log."""
        last: dict[str, Any] = {}

        def check() -> bool:
            nonlocal last
            last = self.status()
            return bool(predicate(last))

        try:
            wait_until(check, timeout, what, interval=0.1)
        except AssertionError as exc:
            raise AssertionError(f"{exc}; status {last}\n{self.log_text()[-3000:]}") from None
        return last
