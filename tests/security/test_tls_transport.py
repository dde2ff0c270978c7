"""The TLS side of the SIP transport against a plain Python TLS server (no SIP peer needed).

A proxy configured by name is reached at the address its DNS records give:
the certificate must then carry the configured *name* (RFC 5922 §4), which
the router hands the transport as ``server_name``.
"""

from __future__ import annotations

import asyncio
import ssl
from typing import Any

import trustme

from firmware.net.tls import TlsSettings, client_context
from firmware.net.transport import open_sip_transport

MSG = (b"OPTIONS sip:x@sip.test SIP/2.0\r\nVia: SIP/2.0/TLS 127.0.0.1:5061;branch=z9hG4bKt\r\n"
       b"Call-ID: t\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n")


async def _exchange(server_name: str | None, tmp_ca: Any) -> tuple[list[bytes], Any]:
    ca, cert = tmp_ca
    server_ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    cert.configure_cert(server_ctx)
    got: list[bytes] = []
    arrived = asyncio.Event()

    async def on_conn(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            got.append(await reader.readuntil(b"\r\n\r\n"))
            arrived.set()
        except (asyncio.IncompleteReadError, ConnectionError, ssl.SSLError):
            pass
        writer.close()

    server = await asyncio.start_server(on_conn, "127.0.0.1", 0, ssl=server_ctx)
    port = server.sockets[0].getsockname()[1]
    t = await open_sip_transport("127.0.0.1", 0)
    failures: list[tuple[Any, str]] = []
    with_ca = TlsSettings()
    ctx = client_context(with_ca)
    ca.configure_trust(ctx)
    t.streams.tls_context = ctx
    t.streams.on_tls_failure = lambda dest, why: failures.append((dest, why))
    try:
        t.send(MSG, ("127.0.0.1", port), "tls", server_name=server_name)
        for _ in range(500):
            if got or failures:
                break
            await asyncio.sleep(0.01)
    finally:
        await t.close()
        server.close()
    return got, (failures, t.stats)


def test_certificate_checked_against_the_configured_name() -> None:
    ca = trustme.CA()
    pair = (ca, ca.issue_cert("sip.test"))
    got, (failures, stats) = asyncio.run(_exchange("sip.test", pair))
    assert got == [MSG] and failures == [] and stats.tls_failures == 0
    got, (failures, stats) = asyncio.run(_exchange(None, pair))  # checked against 127.0.0.1
    assert got == [] and stats.tls_failures == 1
    assert [why for _dest, why in failures] == ["TLS: certificate is for another host"]


def test_tls_1_1_is_refused() -> None:
    ctx = client_context(TlsSettings(verify=False))
    assert ctx.minimum_version >= ssl.TLSVersion.TLSv1_2
    strict = client_context(TlsSettings())
    assert strict.verify_mode == ssl.CERT_REQUIRED and strict.check_hostname
