"""dnsmasq (Debian's dnsmasq-base) as the DNS server of a test network.

Why: RFC 3263 is only believable against a real DNS server answering NAPTR,
SRV and A queries over the wire; dnsmasq serves them from its command line
(``--srv-host``, ``--naptr-record``, ``--host-record``), reads no system
file (``--conf-file=/dev/null --no-resolv --no-hosts``) and forwards nothing.
"""

from __future__ import annotations

import socket
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from peers_proc import PeerProcess, require


class Dnsmasq(PeerProcess):
    """dnsmasq on ``address``:``port`` (inside ``netns`` when given) with ``records``:
    dnsmasq options such as ``--srv-host=...``."""

    def __init__(self, workdir: Path, address: str, records: Sequence[str], *, port: int = 53,
                 netns: Any = None) -> None:
        binary = require("dnsmasq")
        work = Path(workdir) / f"dnsmasq-{port}"
        work.mkdir(parents=True, exist_ok=True)
        self.address, self.port, self.netns = address, port, netns
        argv = [binary, "--no-daemon", "--conf-file=/dev/null", "--no-resolv", "--no-hosts",
                f"--port={port}", f"--listen-address={address}", "--bind-interfaces",
                f"--pid-file={work / 'dnsmasq.pid'}", "--user=root", "--log-queries",
                "--log-facility=-", "--local-ttl=300", *records]
        if netns is not None:
            argv = netns.exec_argv(argv)
        super().__init__(argv, cwd=work, log_name="dnsmasq.log", grace=3.0)

    def _answers(self) -> bool:
        """A query for a name nobody has gets an answer (NXDOMAIN): the server is up."""
        query = bytes.fromhex("abcd01000001000000000000") + b"\x05probe\x04test\x00\x00\x01\x00\x01"
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.settimeout(0.2)
            try:
                s.sendto(query, (self.address, self.port))
                return s.recv(512)[:2] == b"\xab\xcd"
            except OSError:
                return False

    def start(self) -> Dnsmasq:
        super().start()
        self.await_ready(self._answers, 10, "dnsmasq to answer")
        return self

    def __enter__(self) -> Dnsmasq:
        return self.start() if self.proc is None else self
