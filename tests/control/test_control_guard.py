"""The control API's hardening (docs/security.md): Host/Origin, JSON POSTs, slow clients, HTTPS, logs.

The CSRF / DNS-rebinding cases are what a web page in a browser on the same
desktop can send to a loopback API: a cross-origin POST (it carries the
page's Origin), a "simple" form or fetch POST (text/plain or form-encoded,
no preflight), and a request under a rebound name (its Host is the
attacker's name). None may reach the phone; a same-origin client still may.
"""

from __future__ import annotations

import asyncio
import json
import logging
import ssl
from pathlib import Path
from typing import Any

import pytest
from fakephone import FakePhone, serve
from peers_tls import make_pki

from firmware.control import ControlConfig
from firmware.control.guard import Site, split_host

DIAL = json.dumps({"target": "sip:5550009@127.0.0.1:9"}).encode()


async def _send(port: int, head: str, body: bytes = b"", *,
                ssl_ctx: ssl.SSLContext | None = None) -> tuple[int, bytes]:
    reader, writer = await asyncio.open_connection(
        "127.0.0.1", port, ssl=ssl_ctx, server_hostname="127.0.0.1" if ssl_ctx else None)
    try:
        writer.write(head.replace("\n", "\r\n").encode() + b"\r\n" + body)
        await writer.drain()
        data = await reader.read()
    finally:
        writer.close()
    status = int(data.split(b" ", 2)[1])
    return status, data.split(b"\r\n\r\n", 1)[1]


def _post(port: int, extra: str = "", host: str | None = None,
          ctype: str = "application/json") -> str:
    host = host if host is not None else f"127.0.0.1:{port}"
    return (f"POST /api/dial HTTP/1.1\nHost: {host}\nConnection: close\n"
            f"Content-Type: {ctype}\nContent-Length: {len(DIAL)}\n{extra}")


def test_csrf_and_dns_rebinding_posts_are_refused() -> None:
    phone = FakePhone()
    got: dict[str, int] = {}

    async def scenario(port: int) -> None:
        cases = {
            "foreign_origin": _post(port, "Origin: http://evil.example\n"),
            "origin_other_port": _post(port, "Origin: http://127.0.0.1:1\n"),
            "origin_null": _post(port, "Origin: null\n"),
            "cross_site_fetch": _post(port, "Sec-Fetch-Site: cross-site\n"),
            "rebound_host": _post(port, host=f"evil.example:{port}"),
            "rebound_host_same_origin": _post(port, f"Origin: http://evil.example:{port}\n",
                                              host=f"evil.example:{port}"),
            "form_post": _post(port, ctype="application/x-www-form-urlencoded"),
            "text_plain": _post(port, ctype="text/plain"),
            "no_host": f"POST /api/dial HTTP/1.1\nConnection: close\nContent-Type: application/json\n"
                       f"Content-Length: {len(DIAL)}\n",
        }
        for name, head in cases.items():
            got[name] = (await _send(port, head, DIAL))[0]
        # a rebound name cannot read either
        got["rebound_get"] = (await _send(
            port, f"GET /api/status HTTP/1.1\nHost: evil.example:{port}\nConnection: close\n"))[0]

    server = serve(phone, scenario)
    assert got == {
        "foreign_origin": 403, "origin_other_port": 403, "origin_null": 403,
        "cross_site_fetch": 403, "rebound_host": 421, "rebound_host_same_origin": 421,
        "form_post": 415, "text_plain": 415, "no_host": 400, "rebound_get": 421,
    }
    assert phone.dialled == []  # nothing reached the phone
    assert server.refused_requests == len(got)  # each one counted


def test_same_origin_and_configured_names_still_work() -> None:
    phone = FakePhone()
    got: list[int] = []

    async def scenario(port: int) -> None:
        got.append((await _send(port, _post(port, f"Origin: http://127.0.0.1:{port}\n"
                                                  "Sec-Fetch-Site: same-origin\n"), DIAL))[0])
        got.append((await _send(port, _post(port, f"Origin: http://localhost:{port}\n",
                                            host=f"localhost:{port}"), DIAL))[0])
        got.append((await _send(port, _post(port, host=f"phone.lab:{port}"), DIAL))[0])
        got.append((await _send(port, _post(port, host="127.0.0.1"), DIAL))[0])  # port omitted

    serve(phone, scenario, ControlConfig(names=("Phone.Lab",)))
    assert got == [200, 200, 200, 200]
    assert len(phone.dialled) == 4


def test_site_rules() -> None:
    loop = Site(scheme="http", bind_host="127.0.0.1", port=8080)
    assert loop.accepts_host("127.0.0.1:8080") and loop.accepts_host("localhost")
    assert not loop.accepts_host("127.0.0.2:8080")  # another address than ours
    assert not loop.accepts_host("127.0.0.1:8081") and not loop.accepts_host("a.b:8080")
    assert loop.accepts_origin("http://127.0.0.1:8080")
    assert not loop.accepts_origin("https://127.0.0.1:8080")  # scheme is part of an origin
    assert not loop.accepts_origin("http://127.0.0.1")  # port 80 is another origin
    anywhere = Site(scheme="https", bind_host="::", port=443)
    assert anywhere.accepts_host("[2001:db8::1]") and anywhere.accepts_host("192.0.2.7:443")
    assert anywhere.accepts_origin("https://192.0.2.7") and not anywhere.accepts_host("x.test")
    assert split_host("[::1]:80") == ("::1", 80)
    for bad in ("::1", "[::1", "a:b", "a:99999", ":80"):
        with pytest.raises(ValueError):
            split_host(bad)


def test_stalled_connections_cannot_lock_the_owner_out() -> None:
    """Every slot held by a silent or dribbling socket: the owner still gets in."""
    cfg = ControlConfig(max_connections=3, token="owner-token", require_token=True)
    got: list[Any] = []

    async def scenario(port: int) -> None:
        stalled = []
        for i in range(6):  # twice the slots
            r, w = await asyncio.open_connection("127.0.0.1", port)
            if i % 2:
                w.write(b"GET /api/status HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ")  # never ends
            stalled.append((r, w))
        await asyncio.sleep(0)
        status, _ = await _send(port, f"GET /api/status HTTP/1.1\nHost: 127.0.0.1:{port}\n"
                                      "Authorization: Bearer owner-token\nConnection: close\n")
        got.append(status)
        for _r, w in stalled:
            w.close()

    server = serve(FakePhone(), scenario, cfg)
    assert got == [200]
    assert server.evicted_connections >= 4 and server.rejected_connections == 0


def test_a_silent_connection_is_closed_after_the_head_timeout() -> None:
    got: list[bytes] = []

    async def scenario(port: int) -> None:
        r, w = await asyncio.open_connection("127.0.0.1", port)
        w.write(b"GET /api/status HTTP/1.1\r\n")  # and nothing more
        got.append(await asyncio.wait_for(r.read(), 30))  # EOF: the server hung up
        w.close()

    serve(FakePhone(), scenario, ControlConfig(head_timeout=0.2))
    assert got == [b""]


def test_https_when_a_certificate_is_configured(tmp_path: Path) -> None:
    pki = make_pki(tmp_path, tag="api")
    client = ssl.create_default_context(cafile=str(pki.ca_file))
    phone = FakePhone()
    got: list[Any] = []

    async def scenario(port: int) -> None:
        got.append(await _send(port, _post(port, f"Origin: https://127.0.0.1:{port}\n"), DIAL,
                               ssl_ctx=client))
        got.append((await _send(port, _post(port, f"Origin: http://127.0.0.1:{port}\n"), DIAL,
                                ssl_ctx=client))[0])
        # plain HTTP to the HTTPS port gets no answer
        r, w = await asyncio.open_connection("127.0.0.1", port)
        w.write(f"GET /api/status HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\r\n".encode())
        got.append(await asyncio.wait_for(r.read(), 30))
        w.close()

    serve(phone, scenario, ControlConfig(cert_file=str(pki.cert_file), key_file=str(pki.key_file)))
    assert got[0][0] == 200 and json.loads(got[0][1])["calls"]
    assert got[1] == 403  # an http:// page is another origin than the https API
    assert not got[2].startswith(b"HTTP/1.1 200")
    assert phone.dialled == ["sip:5550009@127.0.0.1:9"]


@pytest.mark.internal_errors_expected  # the fake phone raises so a traceback is logged
def test_the_token_is_never_logged(caplog: pytest.LogCaptureFixture) -> None:
    token = "tok-never-in-logs-7f3a"
    cfg = ControlConfig(token=token, require_token=True)
    assert token not in repr(cfg)
    caplog.set_level(logging.DEBUG)

    async def scenario(port: int) -> None:
        for auth in (token, "wrong"):
            await _send(port, _post(port, f"Authorization: Bearer {auth}\n"), DIAL)
        await _send(port, _post(port, f"Authorization: Bearer {token}\nOrigin: http://evil\n"), DIAL)

    serve(FakePhone(explode=True), scenario, cfg)  # explode: the handler's bug is logged
    assert caplog.records and any("handler failed" in r.getMessage() for r in caplog.records)
    assert token not in caplog.text
