"""Hostile input through the whole shell: sockets -> SipTransport -> SipDriver -> Endpoint.

Every RFC 4475 torture message, plus garbage, oversize datagrams, header
bombs and keep-alive floods, is thrown at a live stack over UDP and TCP.
Nothing may raise out of the loop (the driver and transport count anything
that did), and afterwards the stack still answers an ordinary OPTIONS on
both transports.  A guard on the transport keeps every answer on loopback:
torture messages carry Via maddr/hosts the stack would otherwise honour.
"""

from __future__ import annotations

import asyncio
import random
import socket
import uuid
from pathlib import Path

from peers import HOST

from firmware.demo.driver import SipDriver
from firmware.net.transport import SipTransport, open_sip_transport
from firmware.sip.admission import AdmissionConfig
from firmware.sip.endpoint import Endpoint, EndpointConfig

TORTURE = Path(__file__).resolve().parents[1] / "data" / "rfc4475"
TORTURE_FILES = sorted(TORTURE.glob("*.dat"))


def hostile_inputs() -> list[bytes]:
    rng = random.Random(4475)
    out = [p.read_bytes() for p in TORTURE_FILES]
    out += [
        b"",
        b"\r\n\r\n",
        bytes(rng.randrange(256) for _ in range(1500)),
        b"INVITE sip:a@b SIP/2.0\r\n" + b"X-H: y\r\n" * 5000 + b"\r\n",
        b"INVITE sip:a@b SIP/2.0\r\nVia: " + b"SIP/2.0/UDP h;branch=z9hG4bK1," * 2000 + b"\r\n\r\n",
        b"SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP 127.0.0.1;branch=z9hG4bKstray\r\n\r\n",
        b"OPTIONS sip:x SIP/2.0\r\nContent-Length: 99999999999999999999\r\n\r\n",
        b"\x00" * 60000,
    ]
    return out


def options(local: tuple[str, int], transport: str) -> bytes:
    tag = uuid.uuid4().hex[:8]
    return (
        f"OPTIONS sip:piphone@{HOST} SIP/2.0\r\n"
        f"Via: SIP/2.0/{transport.upper()} {local[0]}:{local[1]};branch=z9hG4bK{tag};rport\r\n"
        f"From: <sip:probe@{HOST}>;tag={tag}\r\nTo: <sip:piphone@{HOST}>\r\n"
        f"Call-ID: {tag}\r\nCSeq: 1 OPTIONS\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n"
    ).encode()


def loopback_only(transport: SipTransport, refused: list) -> None:
    send = transport.send

    def guarded(data: bytes, dest: tuple[str, int], kind: str = "udp") -> None:
        if not str(dest[0]).startswith("127."):
            refused.append(dest)
            return
        send(data, dest, kind)

    transport.send = guarded  # type: ignore[method-assign]


async def test_hostile_input_never_escapes_and_the_stack_still_answers() -> None:
    assert len(TORTURE_FILES) == 49, TORTURE  # the repository's copy, never skipped
    net = await open_sip_transport(HOST, 0)
    refused: list = []
    loopback_only(net, refused)
    # Robustness, not flood limits: every message comes from 127.0.0.1, which the
    # per-source admission (tests/sip/test_flood.py) would otherwise throttle.
    unlimited = AdmissionConfig(rate=1e6, burst=1e6)
    driver = SipDriver(Endpoint(EndpointConfig(local_address=net.local_address, admission=unlimited)), net)
    probe_in: asyncio.Queue = asyncio.Queue()
    probe: SipTransport | None = None
    raw = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        inputs = hostile_inputs()
        for data in inputs:
            raw.sendto(data, net.local_address)  # as one datagram
            reader, writer = await asyncio.open_connection(*net.local_address)
            for i in range(0, len(data), 977):  # and as a stream, in pieces
                writer.write(data[i : i + 977])
            writer.write(b"\r\n" * 5000)  # keep-alive flood after it
            await writer.drain()
            writer.close()
        await asyncio.sleep(0.3)  # let the loop take everything in
        assert driver.errors == 0
        # answers that could not be delivered (no listener at a Via address) are
        # counted in send_errors; what must never happen is an exception escaping
        assert net.stats.receiver_errors == 0

        # a fresh, well-behaved client
        probe = await open_sip_transport(
            HOST, 0, on_receive=lambda d, s, t: probe_in.put_nowait((d, t))
        )
        for kind in ("udp", "tcp"):
            probe.send(options(probe.local_address, kind), net.local_address, kind)
            async with asyncio.timeout(5):
                while True:
                    data, via = await probe_in.get()
                    if b"CSeq: 1 OPTIONS" in data and via == kind:
                        break
            assert data.startswith(b"SIP/2.0 200 "), data[:200]
        assert driver.errors == 0
        assert net.stats.framing_errors >= 1 and driver.endpoint.stats.answered_400 >= 1
    finally:
        raw.close()
        if probe is not None:
            await probe.close()
        await driver.close()
