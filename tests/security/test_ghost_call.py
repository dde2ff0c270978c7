"""Ghost calls: a registered phone rings only for its proxy (docs/security.md).

Phones on the internet get nightly "friendly-scanner" INVITEs sent straight
to port 5060. Here phone B is registered with real Kamailio on 127.0.0.1; a
scanner on 127.0.0.2 (another loopback address, so another source) sends B
an INVITE directly: B answers 403 and does not ring. The same call placed
through Kamailio rings B. A phone without a proxy still takes direct calls.
"""

from __future__ import annotations

import asyncio
import socket
from pathlib import Path

import pytest
from peers import Kamailio

from firmware.app.config_map import endpoint_config
from firmware.demo.network import Network, handset_config, settle, until

pytestmark = [pytest.mark.interop]

SCANNER = "127.0.0.2"


def _ghost_invite(target: tuple[str, int], port: int, user: str = "5550002") -> bytes:
    return (f"INVITE sip:{user}@{target[0]}:{target[1]} SIP/2.0\r\n"
            f"Via: SIP/2.0/UDP {SCANNER}:{port};branch=z9hG4bKghost{port};rport\r\n"
            "Max-Forwards: 70\r\n"
            f'From: "friendly-scanner" <sip:100@{SCANNER}>;tag=gh0st\r\n'
            f"To: <sip:{user}@{target[0]}>\r\nCall-ID: ghost-{port}@{SCANNER}\r\n"
            f"CSeq: 1 INVITE\r\nContact: <sip:100@{SCANNER}:{port}>\r\n"
            "User-Agent: friendly-scanner\r\nContent-Length: 0\r\n\r\n").encode()


async def _scan(target: tuple[str, int]) -> bytes:
    """Send one ghost INVITE from the scanner address; the first line of the answer."""
    loop = asyncio.get_running_loop()
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind((SCANNER, 0))
        sock.setblocking(False)
        await loop.sock_sendto(sock, _ghost_invite(target, sock.getsockname()[1]), target)
        data = await asyncio.wait_for(loop.sock_recv(sock, 65535), 10)
    return data.split(b"\r\n", 1)[0]


def test_ghost_invite_does_not_ring_a_registered_phone_the_proxy_does(tmp_path: Path) -> None:
    users = {"5550001": "secret5550001", "5550002": "secret5550002"}

    async def main() -> None:
        async with Network() as net:
            with Kamailio(tmp_path, users=users) as kam:
                a = await net.add("A", handset_config("5550001", proxy=kam.address,
                                                      password=users["5550001"]))
                b = await net.add("B", handset_config("5550002", proxy=kam.address,
                                                      password=users["5550002"]))
                await until(lambda: a.status().registered and b.status().registered, "registered")
                answer = await _scan(b.address)
                assert answer == b"SIP/2.0 403 Forbidden"
                await settle(0.3)
                assert b.states() == [] and not b.status().ringer  # no ghost call
                assert b.host.app.endpoint.stats.extra["untrusted_refused"] == 1
                a.api.dial("5550002")  # the same phone, through its proxy: rings
                await until(lambda: b.states() == ["incoming"], "B to ring via the proxy")
                a.api.press_softkey("endcall")
                await until(lambda: b.states() in ([], ["ended"]), "B idle")
                await net.close()  # un-REGISTER while Kamailio still answers

    asyncio.run(main())


def test_a_phone_without_a_proxy_takes_direct_calls() -> None:
    assert endpoint_config(handset_config("5550002"),
                           local_address=("127.0.0.1", 5062)).trust_proxy_only == "off"

    async def main() -> None:
        async with Network() as net:
            b = await net.add("B", handset_config("5550002"))
            answer = await _scan(b.address)
            assert answer.startswith(b"SIP/2.0 1") or answer.startswith(b"SIP/2.0 180")
            await until(lambda: b.states() == ["incoming"], "B to ring")

    asyncio.run(main())
