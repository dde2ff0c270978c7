"""RFC 3261 §18.1.1 against real peers: a large request moves to TCP, or falls back to UDP.

Kamailio listens on UDP and TCP: a 1.4 kB OPTIONS addressed over UDP must
reach it over TCP with the top Via saying TCP, and its 200 comes back on
that connection.  SIPp's uas in UDP mode has no TCP listener: the same
request must fall back to UDP, unchanged.
"""

from __future__ import annotations

import asyncio
import re
import uuid

import pytest
from peers import HOST, Kamailio, Sipp, free_port

from firmware.net.transport import open_sip_transport

pytestmark = pytest.mark.interop


def big_options(target: tuple[str, int], local: tuple[str, int], pad: int = 1400) -> bytes:
    branch = "z9hG4bK" + uuid.uuid4().hex
    return (
        f"OPTIONS sip:{target[0]}:{target[1]} SIP/2.0\r\n"
        f"Via: SIP/2.0/UDP {local[0]}:{local[1]};branch={branch};rport\r\n"
        f"From: <sip:probe@{local[0]}:{local[1]}>;tag={uuid.uuid4().hex[:8]}\r\n"
        f"To: <sip:{target[0]}:{target[1]}>\r\nCall-ID: {uuid.uuid4().hex}\r\n"
        "CSeq: 1 OPTIONS\r\nMax-Forwards: 70\r\n"
        f"X-Padding: {'p' * pad}\r\nContent-Length: 0\r\n\r\n"
    ).encode()


async def test_large_request_reaches_kamailio_over_tcp(kamailio: Kamailio) -> None:
    got: asyncio.Queue = asyncio.Queue()
    ours = await open_sip_transport(HOST, 0, on_receive=lambda d, s, t: got.put_nowait((d, s, t)))
    try:
        msg = big_options(kamailio.address, ours.local_address)
        assert len(msg) > 1300
        ours.send(msg, kamailio.address, "udp")
        async with asyncio.timeout(10):
            data, source, transport = await got.get()
        assert transport == "tcp" and source == kamailio.address
        assert data.startswith(b"SIP/2.0 200 ")
        assert re.search(rb"^Via: SIP/2\.0/TCP ", data, re.M)  # the rewritten Via, echoed
        assert ours.stats.switched_to_tcp == 1 and ours.stats.udp_sent == 0
    finally:
        await ours.close()


async def test_large_request_falls_back_to_udp_when_the_peer_has_no_tcp(sipp: Sipp) -> None:
    port = free_port()
    ours = await open_sip_transport(HOST, 0)
    msg = big_options((HOST, port), ours.local_address)
    try:
        # sipp's uas ignores the OPTIONS (its scenario waits for INVITE), but logs it
        with sipp.start("uas", port=port, calls=1) as uas:
            sipp.wait_bound(uas)
            ours.send(msg, (HOST, port), "udp")
            async with asyncio.timeout(10):
                while ours.stats.fell_back_to_udp == 0:
                    await asyncio.sleep(0.01)
            await asyncio.sleep(0.2)
        log = (uas.cwd / next(p.name for p in uas.cwd.glob("*_errors.log"))).read_text()
    finally:
        await ours.close()
    assert ours.stats.tcp_connect_failures == 1 and ours.stats.udp_sent == 1
    assert "OPTIONS sip:" in log and "SIP/2.0/UDP" in log and "SIP/2.0/TCP" not in log
