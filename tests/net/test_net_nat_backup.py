"""NAT headers, keep-alives, and the backup proxy (7960 ``proxy_backup``) with Kamailio.

Why: behind a NAT the phone must announce the public address (``nat_address``)
in Via, Contact and SDP and keep its bindings open; a phone whose proxy
dies must register with the backup and come back when the proxy returns.
"""

from __future__ import annotations

import asyncio
import re
import socket
import ssl
from pathlib import Path

import pytest
import trustme
from peers import Kamailio, free_port

from firmware.demo.network import Network, handset_config, until
from firmware.net.keepalive import PING, StreamKeepAlive
from firmware.net.tls import TlsSettings, client_context
from firmware.net.transport import open_sip_transport

REQUEST = (b"OPTIONS sip:x@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/TCP 127.0.0.1:1;branch=z9hG4bKk\r\n"
           b"Content-Length: 0\r\n\r\n")
PUBLIC = "203.0.113.7"  # TEST-NET-3: only ever written in headers, never sent to


def test_nat_address_in_via_contact_sdp_and_udp_keepalive() -> None:
    """With ``nat_enable`` the REGISTER's Via and Contact, and an INVITE's SDP, name
    ``nat_address``; an OPTIONS keep-alive reaches the registrar every interval."""

    async def main() -> list[bytes]:
        loop = asyncio.get_running_loop()
        got: list[bytes] = []
        registrar = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        registrar.bind(("127.0.0.1", 0))
        registrar.setblocking(False)
        loop.add_reader(registrar.fileno(), lambda: got.append(registrar.recv(65535)))
        net = Network()
        try:
            a = await net.add("A", handset_config(
                "5550001", proxy=registrar.getsockname(), nat_enable=True, nat_address=PUBLIC,
                keepalive_interval=1))
            await until(lambda: any(d.startswith(b"OPTIONS ") for d in got), "a keep-alive",
                        timeout=5)
            a.api.dial(f"sip:5550009@{registrar.getsockname()[0]}:{registrar.getsockname()[1]}")
            await until(lambda: any(d.startswith(b"INVITE ") for d in got), "the INVITE")
        finally:
            loop.remove_reader(registrar.fileno())
            registrar.close()
            await net.close()
        return got

    got = asyncio.run(main())
    register = next(d for d in got if d.startswith(b"REGISTER "))
    invite = next(d for d in got if d.startswith(b"INVITE "))
    via = re.search(rb"^Via: SIP/2.0/UDP ([^;\r\n]+);", register, re.M)
    contact = re.search(rb"^Contact: <sip:5550001@([^;>]+)", register, re.M)
    assert via and via.group(1).startswith(PUBLIC.encode() + b":"), register
    assert contact and contact.group(1).startswith(PUBLIC.encode() + b":"), register
    assert b";rport" in register  # RFC 3581: the proxy answers where the NAT mapped us
    assert f"c=IN IP4 {PUBLIC}".encode() in invite
    assert b"o=" in invite and b"127.0.0.1" not in invite.split(b"\r\n\r\n", 1)[1]


@pytest.mark.parametrize("kind", ["tcp", "tls"])
async def test_crlf_keepalive_on_a_stream_connection(kind: str) -> None:
    """RFC 5626 §4.4.1: a CRLFCRLF ping on the TCP (or TLS) connection the phone opened,
    and a CRLF pong from its listening side to a ping it receives."""
    seen = bytearray()
    arrived = asyncio.Event()

    async def on_connect(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                chunk = await reader.read(4096)
                if not chunk:
                    break
                seen.extend(chunk)
                if len(seen) > len(REQUEST) and seen.endswith(PING):  # the request ends in CRLFCRLF too
                    arrived.set()
        except asyncio.CancelledError:
            pass  # the loop ends first: returning spares 3.11's "Exception in callback" log
        writer.close()

    server_ctx = None
    transport = await open_sip_transport("127.0.0.1", 0)
    if kind == "tls":
        ca = trustme.CA()
        server_ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ca.issue_cert("127.0.0.1").configure_cert(server_ctx)
        client = client_context(TlsSettings())
        ca.configure_trust(client)
        transport.streams.tls_context = client
    server = await asyncio.start_server(on_connect, "127.0.0.1", 0, ssl=server_ctx)
    peer = server.sockets[0].getsockname()[:2]
    keepalive = StreamKeepAlive(transport.streams, 0.2)
    try:
        transport.send(REQUEST, peer, kind)
        keepalive.start()
        await asyncio.wait_for(arrived.wait(), 10)
        assert bytes(seen).startswith(REQUEST) and bytes(seen).endswith(PING)
        assert transport.stats.pings_sent >= 1
        # our listening side answers a ping with a pong
        reader, writer = await asyncio.open_connection(*transport.local_address)
        writer.write(PING)
        pong = await asyncio.wait_for(reader.readexactly(2), 10)
        assert pong == b"\r\n" and transport.stats.pongs_sent == 1
        writer.close()
    finally:
        keepalive.close()
        await transport.close()
        server.close()


def test_proxy_backup_fail_over_and_back(tmp_path: Path) -> None:
    """The proxy stops (ICMP port unreachable): the REGISTER goes to ``proxy_backup`` at
    once and registers there; the proxy comes back: after ``proxy_retry_interval`` the
    phone registers with it again."""
    users = {"5550001": "pw5550001"}
    primary_port = free_port()

    async def main() -> tuple[str, str, str]:
        net = Network()
        primary = Kamailio(tmp_path / "p1", users=users, port=primary_port, min_expires=4)
        primary.start()
        try:
            with Kamailio(tmp_path / "b", users=users, min_expires=4) as backup:
                a = await net.add("A", handset_config(
                    "5550001", proxy=primary.address, password=users["5550001"],
                    proxy_backup=backup.host, proxy_backup_port=backup.port,
                    proxy_retry_interval=3, timer_register_expires=4))
                await until(lambda: a.status().registered, "registered", timeout=10)
                assert _registers(primary.log_text()) >= 1 and _registers(backup.log_text()) == 0
                primary.stop()  # its port now answers with ICMP port unreachable
                await until(lambda: _registers(backup.log_text()) >= 1, "REGISTER at the backup",
                            timeout=15)
                await until(lambda: a.status().registered, "registered at the backup")
                first_log = primary.log_text()
                primary = Kamailio(tmp_path / "p2", users=users, port=primary_port, min_expires=4)
                primary.start()
                await until(lambda: _registers(primary.log_text()) >= 1,
                            "REGISTER at the returned proxy", timeout=15)
                await until(lambda: a.status().registered, "registered again")
                return first_log, backup.log_text(), primary.log_text()
        finally:
            await net.close()
            primary.stop()

    first, backup_log, back = asyncio.run(main())
    assert _registers(first) >= 1 and _registers(backup_log) >= 1 and _registers(back) >= 1


def _registers(log: str) -> int:
    """Authenticated REGISTERs a Kamailio log shows saved (challenges are not counted)."""
    return len(re.findall(r"REGISTER sip:5550001@\S+ from \S+ proto=", log))


pytestmark = pytest.mark.interop


MAPPED = ("203.0.113.9", 40000)  # what a NAT would have made of us (TEST-NET-3, never sent to)


def _ok_as_seen_through_a_nat(request: bytes) -> bytes:
    """200 OK to a REGISTER whose top Via says the registrar saw it from ``MAPPED``."""
    head = request.split(b"\r\n\r\n", 1)[0].split(b"\r\n")
    keep = [h for h in head[1:] if h.split(b":", 1)[0].lower() in
            (b"via", b"from", b"to", b"call-id", b"cseq", b"contact")]
    out = []
    for h in keep:
        if h.lower().startswith(b"via:") and not any(o.lower().startswith(b"via:") for o in out):
            h = re.sub(rb";rport(=\d+)?", b"", h) + (
                f";received={MAPPED[0]};rport={MAPPED[1]}".encode())
        if h.lower().startswith(b"to:"):
            h += b";tag=nat1"
        out.append(h)
    return b"\r\n".join([b"SIP/2.0 200 OK", *out, b"Expires: 600", b"Content-Length: 0", b"", b""])


def test_received_and_rport_of_the_register_answer_are_used() -> None:
    """``nat_enable`` without ``nat_address``: the registrar's 200 says (Via received/rport,
    RFC 3581) it saw us at 203.0.113.9:40000; the phone registers that address in Via and
    Contact, and offers media there."""

    async def main() -> tuple[list[bytes], str]:
        loop = asyncio.get_running_loop()
        got: list[bytes] = []
        registrar = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        registrar.bind(("127.0.0.1", 0))
        registrar.setblocking(False)

        def on_datagram() -> None:
            data, source = registrar.recvfrom(65535)
            got.append(data)
            if data.startswith(b"REGISTER "):
                registrar.sendto(_ok_as_seen_through_a_nat(data), source)

        loop.add_reader(registrar.fileno(), on_datagram)
        net = Network()
        try:
            a = await net.add("A", handset_config(
                "5550001", proxy=registrar.getsockname(), nat_enable=True, keepalive_interval=0))
            await until(lambda: sum(d.startswith(b"REGISTER ") for d in got) >= 2,
                        "a second REGISTER", timeout=5)
            await until(lambda: a.host._media_address == MAPPED[0], "media address", timeout=5)
            media = a.host._media_address
        finally:
            loop.remove_reader(registrar.fileno())
            registrar.close()
            await net.close()
        return got, media

    got, media = asyncio.run(main())
    first, second = [d for d in got if d.startswith(b"REGISTER ")][:2]
    public = f"{MAPPED[0]}:{MAPPED[1]}".encode()
    assert public not in first
    assert re.search(rb"^Via: SIP/2.0/UDP " + re.escape(public) + rb";", second, re.M), second
    assert re.search(rb"^Contact: <sip:5550001@" + re.escape(public), second, re.M), second
    assert media == MAPPED[0]
