"""A call whose first server fails goes to the next one (RFC 3263 §4.3, RFC 3261 §16.7, §18.4).

Phone A dials B through "the proxy"; the first server the proxy stands for
is silent (the INVITE times out), refuses (ICMP port unreachable; over
TCP, a refused connect) or answers 503; Kamailio, the next server, puts the call through to B, which
registered with it directly.  "The proxy" is either a name published by
dnsmasq (NAPTR -> ``_sip._udp`` SRV: priority 10 the failing port, 20
Kamailio) or an address with ``proxy_backup`` naming Kamailio.

Timer B is 64*T1 (32 s); A sets the 7960's ``sip_invite_retx: 2`` so its
INVITE gives up after 3.5 s (T1 + 2T1 + 4T1), as a desk phone on a LAN
with a backup proxy is configured, and the silent case stays short.
"""

from __future__ import annotations

import asyncio
import dataclasses
import re
import socket
from pathlib import Path
from typing import Any

import dns.asyncresolver
import pytest
from peers import HOST, Kamailio, free_port
from peers_dns import Dnsmasq
from talk import talk_and_hang_up

from firmware.demo.network import Network, handset_config, until
from firmware.net.resolve import TargetResolver
from firmware.provisioning.schema import Proxy

pytestmark = pytest.mark.interop

USERS = {"5550001": "pw5550001", "5550002": "pw5550002"}


def _srv_records(first_port: int, second_port: int, transport: str = "udp") -> list[str]:
    service, owner = ("SIP+D2T", "_sip._tcp") if transport == "tcp" else ("SIP+D2U", "_sip._udp")
    return [
        f"--naptr-record=pbx.test,10,10,S,{service},,{owner}.pbx.test",
        f"--srv-host={owner}.pbx.test,sip1.pbx.test,{first_port},10,0",
        f"--srv-host={owner}.pbx.test,sip2.pbx.test,{second_port},20,0",
        f"--host-record=sip1.pbx.test,{HOST}",
        f"--host-record=sip2.pbx.test,{HOST}",
    ]


def _answer_503(request: bytes) -> bytes:
    """An overloaded server's 503 to ``request`` (its Via, From, Call-ID and CSeq)."""
    head = request.split(b"\r\n\r\n", 1)[0].split(b"\r\n")
    keep = [h for h in head[1:] if h.split(b":", 1)[0].strip().lower() in
            (b"via", b"from", b"to", b"call-id", b"cseq")]
    keep = [h + b";tag=busy1" if h.lower().startswith(b"to:") else h for h in keep]
    return b"\r\n".join([b"SIP/2.0 503 Service Unavailable", *keep, b"Retry-After: 60",
                         b"Content-Length: 0", b"", b""])


class FirstServer:
    """The failing first server: a UDP port that is ``silent`` (bound, never read),
    ``refuses`` (nothing bound: ICMP port unreachable) or answers ``503``.
    ``got`` keeps what reached it."""

    def __init__(self, kind: str) -> None:
        self.kind = kind.removeprefix("tcp-")  # tcp-refuses: a refused TCP connect
        self.port = free_port()
        self.got: list[bytes] = []
        self.sock: socket.socket | None = None

    def start(self, loop: asyncio.AbstractEventLoop) -> None:
        if self.kind == "refuses":
            return
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind((HOST, self.port))
        self.sock.setblocking(False)
        loop.add_reader(self.sock.fileno(), self._read)

    def _read(self) -> None:
        assert self.sock is not None
        data, source = self.sock.recvfrom(65535)
        self.got.append(data)
        if self.kind == "503" and data.startswith(b"INVITE "):
            self.sock.sendto(_answer_503(data), source)

    def stop(self, loop: asyncio.AbstractEventLoop) -> None:
        if self.sock is not None:
            loop.remove_reader(self.sock.fileno())
            self.sock.close()


def _caller_config(proxy: Proxy, **keys: Any) -> Any:
    cnf = handset_config("5550001", password=USERS["5550001"], sip_invite_retx=2, **keys)
    line = dataclasses.replace(cnf.lines[0], proxy=proxy)
    return dataclasses.replace(cnf, lines=(line,), proxy_register=False)


async def _call_goes_through(first: FirstServer, tmp_path: Path, via: str, tcp: bool = False
                             ) -> tuple[list[int], str]:
    """A calls B; returns (the CSeq of every INVITE A sent, Kamailio's log)."""
    loop = asyncio.get_running_loop()
    net = Network()
    first.start(loop)
    net.log.name((HOST, first.port), "First")
    try:
        with Kamailio(tmp_path, users=USERS, aliases=["pbx.test"]) as kam:
            net.log.name(kam.address, "Kamailio")
            b = await net.add("B", handset_config("5550002", proxy=kam.address,
                                                  password=USERS["5550002"]))
            await until(lambda: b.status().registered, "B registered")
            if via == "srv":
                transport = "tcp" if tcp else "udp"
                with Dnsmasq(tmp_path, HOST, _srv_records(first.port, kam.port, transport),
                             port=free_port()) as server:
                    a = await net.add("A", _caller_config(Proxy(
                        address="pbx.test", port_given=False, transport=transport)),
                        resolver=TargetResolver(resolver=_resolver(server.port)))
                    await _talk(a, b)
                    assert f"query[SRV] _sip._{transport}.pbx.test" in server.log_text()
            else:
                a = await net.add("A", _caller_config(
                    Proxy(address=HOST, port=first.port), proxy_backup=HOST,
                    proxy_backup_port=kam.port))
                await _talk(a, b)
            await net.close()  # B un-REGISTERs while Kamailio still answers
            assert a.host.router is not None and a.host.router.failovers >= 1
            invites = [_seq(m.cseq) for m in net.log.messages
                       if m.src == "A" and m.label.startswith("INVITE")]
            return invites, kam.log_text()
    finally:
        first.stop(loop)
        await net.close()


def _resolver(port: int) -> Any:
    """dnspython asking only the test's dnsmasq (never the machine's resolver)."""
    r = dns.asyncresolver.Resolver(configure=False)
    r.nameservers = [HOST]
    r.port = port
    return r


async def _talk(a: Any, b: Any) -> None:
    """A dials B: B rings, answers, each hears the other's tone; A hangs up."""
    await talk_and_hang_up(a, b, timeout=15)


@pytest.mark.parametrize(("via", "kind"), [("srv", "silent"), ("srv", "refuses"),
                                           ("srv", "tcp-refuses"), ("backup", "503")])
def test_invite_fails_over_to_the_next_server(tmp_path: Path, via: str, kind: str) -> None:
    """The INVITE that timed out / was refused (ICMP for UDP, a refused connect for TCP)
    / drew 503 at the first server goes to the next one (after a timeout or 503 as a
    new transaction, CSeq+1), and the call is put through with audio both ways."""
    first = FirstServer(kind)
    invites, kam_log = asyncio.run(_call_goes_through(first, tmp_path, via,
                                                      tcp=kind.startswith("tcp-")))
    assert re.search(r"INVITE to sip:5550002@\S+ -> sip:5550002@", kam_log), kam_log
    got = [_seq(re.search(rb"^CSeq: *(\d+ INVITE)", d, re.M | re.I).group(1).decode())
           for d in first.got if d.startswith(b"INVITE ")]
    if kind.endswith("refuses"):
        assert first.got == []  # nothing listens there: the kernel said so at once
        # the same transaction went on to Kamailio (RFC 3261 §18.4): one CSeq throughout
        assert len(set(invites)) == 1, invites
    else:
        # silent: the INVITE and its 2 retransmissions (sip_invite_retx); 503: once
        assert len(got) == (3 if kind == "silent" else 1), got
        # then a new transaction for the next server (Kamailio put it through): CSeq+1
        # (and +2 for the INVITE with credentials when Kamailio challenges A's domain)
        assert set(got) == {invites[0]}, (got, invites)
        assert sorted(set(invites))[:2] == [invites[0], invites[0] + 1], invites


def _seq(cseq: str) -> int:
    return int(cseq.split()[0])
