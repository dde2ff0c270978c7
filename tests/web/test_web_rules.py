"""The web front's rules over a real socket, without a browser: login, roles, CSRF, origin.

A fake phone stands behind the server; each test checks one rule of
docs/web.md (refused without login, the Bearer token still works, a POST
without the session's CSRF token or from another origin is refused, the
user role cannot open admin pages, failed logins lock out for a while).
"""

from __future__ import annotations

import asyncio
import json
import re
import subprocess
import time
from collections.abc import Awaitable, Callable
from typing import Any

from webharness import need

from firmware.control import ControlConfig, ControlServer, LineInfo, PhoneStatus
from firmware.control.web.auth import COOKIE, MAX_FAILURES, PasswordHash, hash_password
from firmware.control.web.front import WebFront
from firmware.control.web.pcap import WirePacket, write_pcap

Reply = tuple[int, dict[str, str], bytes]


class Fake:
    """Just enough phone: hook, keys, a screen, no history."""

    def __init__(self) -> None:
        self.keys = ""

    def status(self) -> PhoneStatus:
        return PhoneStatus(hook="on", ringer=False,
                           lines=(LineInfo(line=1, name="5550001", registered=True),),
                           display=("5550001", self.keys), softkeys=("Redial",))

    def press_keys(self, keys: str) -> None:
        self.keys += keys

    def screen_png(self) -> bytes:
        return b"\x89PNG\r\n\x1a\n" + self.keys.encode()

    def history(self) -> list[Any]:
        return []


async def _req(port: int, method: str, path: str, body: Any = None,
               headers: dict[str, str] | None = None) -> Reply:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    data = b"" if body is None else json.dumps(body).encode()
    hdrs = {"Host": f"127.0.0.1:{port}", "Connection": "close", **(headers or {})}
    if body is not None:
        hdrs["Content-Type"] = "application/json"
        hdrs["Content-Length"] = str(len(data))
    writer.write((f"{method} {path} HTTP/1.1\r\n" + "".join(f"{k}: {v}\r\n" for k, v in
                                                            hdrs.items()) + "\r\n").encode() + data)
    await writer.drain()
    raw = await reader.read()
    writer.close()
    head, _, payload = raw.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    got = {}
    for line in lines[1:]:
        k, _, v = line.partition(":")
        got[k.lower()] = (got[k.lower()] + "\n" if k.lower() in got else "") + v.strip()
    return int(lines[0].split()[1]), got, payload


def _serve(test: Callable[[int, Fake], Awaitable[None]], *, login: bool,
           passwords: dict[str, str] | None = None) -> None:
    async def main() -> None:
        phone = Fake()
        front = WebFront(phone, None, passwords=passwords or {},  # type: ignore[arg-type]
                         login_required=login)
        server = ControlServer(phone, ControlConfig(token="tok", require_token=login),  # type: ignore[arg-type]
                               front=front)
        await server.start()
        try:
            await test(server.port, phone)
        finally:
            await server.close()

    asyncio.run(main())


def _cookie(reply: Reply) -> str:
    m = re.search(rf"{COOKIE}=([^;]+)", reply[1].get("set-cookie", ""))
    assert m, reply[1]
    return f"{COOKIE}={m.group(1)}"


def _csrf(page: bytes) -> str:
    m = re.search(rb'<meta name=csrf content="([^"]+)"', page)
    assert m
    return m.group(1).decode()


def test_loopback_needs_no_login_but_page_posts_need_the_csrf_token() -> None:
    async def t(port: int, phone: Fake) -> None:
        page = await _req(port, "GET", "/")
        assert page[0] == 200 and b'data-key="5"' in page[2]
        cookie = page[1]["set-cookie"]
        assert "HttpOnly" in cookie and "SameSite=Strict" in cookie
        assert "default-src 'self'" in page[1]["content-security-policy"]
        jar = {"Cookie": _cookie(page)}
        assert (await _req(port, "POST", "/settings", {"dnd": True}, jar))[0] == 403
        ok = await _req(port, "POST", "/settings", {"dnd": True},
                        {**jar, "X-CSRF-Token": _csrf(page[2])})
        assert ok[0] == 409  # the token is right; this fake phone has no settings
        foreign = await _req(port, "POST", "/settings", {"dnd": True},
                             {**jar, "X-CSRF-Token": _csrf(page[2]), "Origin": "http://evil.test"})
        assert foreign[0] == 403 and b"cross-origin" in foreign[2]

    _serve(t, login=False)


def test_off_loopback_everything_needs_a_login_or_the_bearer_token() -> None:
    async def t(port: int, phone: Fake) -> None:
        page = await _req(port, "GET", "/")
        assert page[0] == 303 and page[1]["location"] == "/login"
        assert (await _req(port, "GET", "/admin"))[0] == 303
        assert (await _req(port, "GET", "/events"))[0] == 401
        assert (await _req(port, "GET", "/api/status"))[0] == 401
        assert (await _req(port, "POST", "/api/keys", {"keys": "1"}))[0] == 401
        assert (await _req(port, "GET", "/admin/trace.pcap"))[0] == 303
        assert phone.keys == ""
        bearer = await _req(port, "POST", "/api/keys", {"keys": "7"},
                            {"Authorization": "Bearer tok"})
        assert bearer[0] == 200 and phone.keys == "7"
        login_page = await _req(port, "GET", "/login")
        assert login_page[0] == 200 and b"<option>user</option>" in login_page[2]
        bad = await _req(port, "POST", "/login", {"user": "user", "password": "nope"})
        assert bad[0] == 401 and "set-cookie" not in bad[1]
        cross = await _req(port, "POST", "/login", {"user": "user", "password": "u-pass"},
                           {"Origin": "http://evil.test"})
        assert cross[0] == 403
        user = await _req(port, "POST", "/login", {"user": "user", "password": "u-pass"})
        assert user[0] == 200 and json.loads(user[2]) == {"next": "/"}
        jar = {"Cookie": _cookie(user)}
        page = await _req(port, "GET", "/", headers=jar)
        assert page[0] == 200 and b'href="/admin"' not in page[2]
        assert (await _req(port, "GET", "/admin", headers=jar))[0] == 403
        assert (await _req(port, "POST", "/api/keys", {"keys": "8"}, jar))[0] == 403  # no CSRF
        csrf = {**jar, "X-CSRF-Token": _csrf(page[2])}
        assert (await _req(port, "POST", "/api/keys", {"keys": "8"}, csrf))[0] == 200
        assert phone.keys == "78"
        out = await _req(port, "POST", "/logout", {}, csrf)
        assert out[0] == 200 and "Max-Age=0" in out[1]["set-cookie"]
        assert (await _req(port, "GET", "/", headers=jar))[0] == 303  # the session is gone
        admin = await _req(port, "POST", "/login", {"user": "admin", "password": "a-pass"})
        admin_jar = {"Cookie": _cookie(admin)}
        page = await _req(port, "GET", "/admin", headers=admin_jar)
        assert page[0] == 200 and b"Administration" in page[2]

    _serve(t, login=True, passwords={"user": "u-pass", "admin": hash_password("a-pass")})


def test_failed_logins_lock_out() -> None:
    async def t(port: int, phone: Fake) -> None:
        for _ in range(MAX_FAILURES):
            assert (await _req(port, "POST", "/login", {"user": "admin", "password": "x"}))[0] == 401
        locked = await _req(port, "POST", "/login", {"user": "admin", "password": "a-pass"})
        assert locked[0] == 429

    _serve(t, login=True, passwords={"admin": "a-pass"})


def test_passwords_are_kept_hashed() -> None:
    stored = hash_password("secret", salt=b"0123456789abcdef", iterations=1000)
    assert "secret" not in stored and stored.startswith("pbkdf2_sha256$1000$")
    parsed = PasswordHash.parse(stored)
    assert parsed.check("secret") and not parsed.check("Secret")
    plain = PasswordHash.parse("secret")  # a plain password from the config is hashed too
    assert plain.check("secret") and b"secret" not in plain.digest


def test_events_push_the_screen_when_it_changes() -> None:
    async def t(port: int, phone: Fake) -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(f"GET /events HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\r\n".encode())
        head = await reader.readuntil(b"\r\n\r\n")
        assert b"text/event-stream" in head

        async def event() -> dict[str, Any]:
            while True:
                line = await asyncio.wait_for(reader.readline(), 30)
                if line.startswith(b"data: "):
                    return dict(json.loads(line[6:]))

        first = await event()
        phone.press_keys("55")
        second = await event()
        writer.close()
        assert first["display"] == ["5550001", ""] and second["display"] == ["5550001", "55"]
        assert second["version"] == first["version"] + 1 and second["png"] != first["png"]

    _serve(t, login=False)


def test_pcap_of_udp_tcp_and_ipv6_reads_in_tshark(tmp_path: Any) -> None:
    tshark = need("/usr/bin/tshark", "tshark")
    msg = (b"OPTIONS sip:b@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:5061;branch=z9hG4bK1\r\n"
           b"From: <sip:a@127.0.0.1>;tag=1\r\nTo: <sip:b@127.0.0.1>\r\nCall-ID: c1\r\n"
           b"CSeq: 1 OPTIONS\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n")
    now = time.time()
    packets = [WirePacket(wall=now, src=("127.0.0.1", 5061), dst=("127.0.0.2", 5062),
                          transport="udp", data=msg),
               WirePacket(wall=now + 1, src=("127.0.0.1", 5061), dst=("127.0.0.2", 5062),
                          transport="tcp", data=msg),
               WirePacket(wall=now + 2, src=("::1", 5061), dst=("::1", 5062),
                          transport="udp", data=msg)]
    path = tmp_path / "t.pcap"
    path.write_bytes(write_pcap(packets))
    out = subprocess.run(
        [tshark, "-r", str(path), "-o", "ip.check_checksum:TRUE", "-o", "udp.check_checksum:TRUE",
         "-o", "tcp.check_checksum:TRUE", "-T", "fields", "-e", "sip.Method", "-e", "ip.dst",
         "-e", "ipv6.dst", "-e", "udp.checksum.status", "-e", "tcp.checksum.status",
         "-e", "ip.checksum.status"], capture_output=True, text=True, timeout=60, check=True)
    rows = [r.split("\t") for r in out.stdout.splitlines()]
    assert [r[0] for r in rows] == ["OPTIONS"] * 3
    assert rows[0][1] == "127.0.0.2" and rows[2][2] == "::1"
    assert rows[0][3] == "1" and rows[1][4] == "1" and rows[2][3] == "1"  # checksums good
    assert rows[0][5] == "1" and rows[1][5] == "1"


def test_over_https_the_session_cookie_is_secure(tmp_path: Any) -> None:
    import ssl

    from peers_tls import make_pki

    pki = make_pki(tmp_path, tag="web")
    client = ssl.create_default_context(cafile=str(pki.ca_file))
    got: list[bytes] = []

    async def main() -> None:
        phone = Fake()
        config = ControlConfig(cert_file=str(pki.cert_file), key_file=str(pki.key_file), token="tok",
                               require_token=True)
        front = WebFront(phone, None, passwords={"user": "u-pass"},  # type: ignore[arg-type]
                         login_required=True, secure=config.scheme == "https")
        server = ControlServer(phone, config, front=front)  # type: ignore[arg-type]
        await server.start()
        try:
            port = server.port
            body = json.dumps({"user": "user", "password": "u-pass"}).encode()
            reader, writer = await asyncio.open_connection("127.0.0.1", port, ssl=client)
            writer.write((f"POST /login HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
                          f"Origin: https://127.0.0.1:{port}\r\nConnection: close\r\n"
                          "Content-Type: application/json\r\n"
                          f"Content-Length: {len(body)}\r\n\r\n").encode() + body)
            got.append(await reader.read())
            writer.close()
            await writer.wait_closed()
        finally:
            await server.close()

    asyncio.run(main())
    head = got[0].split(b"\r\n\r\n", 1)[0].decode()
    assert head.startswith("HTTP/1.1 200")
    cookie = next(line for line in head.split("\r\n") if line.lower().startswith("set-cookie"))
    assert "Secure" in cookie and "HttpOnly" in cookie and "SameSite=Strict" in cookie


def test_sngrep_reads_the_pcap_as_sip_dialogs(tmp_path: Any) -> None:
    """sngrep (no interface) parses the trace into dialogs and re-writes their messages."""
    sngrep = need("/usr/bin/sngrep", "sngrep")
    tshark = need("/usr/bin/tshark", "tshark")
    now = time.time()

    def msg(first: str, call_id: str, to_tag: str = "") -> bytes:
        return (f"{first}\r\nVia: SIP/2.0/UDP 127.0.0.1:5061;branch=z9hG4bK{call_id}\r\n"
                f"From: <sip:a@127.0.0.1>;tag=1\r\nTo: <sip:b@127.0.0.1>{to_tag}\r\n"
                f"Call-ID: {call_id}\r\nCSeq: 1 INVITE\r\nMax-Forwards: 70\r\n"
                "Content-Length: 0\r\n\r\n").encode()

    a, b = ("127.0.0.1", 5061), ("127.0.0.1", 5062)
    packets = [
        WirePacket(wall=now, src=a, dst=b, transport="udp",
                   data=msg("INVITE sip:b@127.0.0.1:5062 SIP/2.0", "c1")),
        WirePacket(wall=now + 0.1, src=b, dst=a, transport="udp",
                   data=msg("SIP/2.0 200 OK", "c1", ";tag=2")),
        WirePacket(wall=now + 0.2, src=a, dst=b, transport="tcp",
                   data=msg("INVITE sip:b@127.0.0.1:5062;transport=tcp SIP/2.0", "c2")),
    ]
    src, out = tmp_path / "in.pcap", tmp_path / "out.pcap"
    src.write_bytes(write_pcap(packets))
    run = subprocess.run([sngrep, "-N", "-I", str(src), "-O", str(out)], capture_output=True,
                         text=True, timeout=60, check=True)
    assert "Dialog count: 2" in run.stdout
    read = subprocess.run([tshark, "-r", str(out), "-T", "fields", "-e", "sip.Call-ID"],
                          capture_output=True, text=True, timeout=60, check=True).stdout
    assert read.split() == ["c1", "c1", "c2"]
