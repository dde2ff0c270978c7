"""The control API over a real loopback socket, against a fake phone.

Each test checks one row or one rule of ../shared/spec/control-api.md:
the JSON shapes, 4xx-never-500, the token rule, and the limits.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from fakephone import FakePhone, serve

from firmware.control import ControlConfig, ControlServer, is_loopback, parse_hostport


async def _read_response(reader: asyncio.StreamReader) -> tuple[int, dict[str, str], bytes]:
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ")[1])
    headers = {}
    for line in lines[1:]:
        if line:
            k, _, v = line.partition(":")
            headers[k.lower()] = v.strip()
    body = await reader.readexactly(int(headers.get("content-length", "0")))
    return status, headers, body


async def _request(
    port: int,
    method: str,
    path: str,
    body: Any = None,
    headers: dict[str, str] | None = None,
    raw: bytes | None = None,
) -> tuple[int, dict[str, str], bytes]:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        if raw is None:
            data = b"" if body is None else json.dumps(body).encode()
            hdrs = {"Host": f"127.0.0.1:{port}", "Connection": "close"}
            if method == "POST":
                hdrs["Content-Type"] = "application/json"
            hdrs.update(headers or {})
            if body is not None:
                hdrs["Content-Length"] = str(len(data))
            raw = (
                f"{method} {path} HTTP/1.1\r\n"
                + "".join(f"{k}: {v}\r\n" for k, v in hdrs.items())
                + "\r\n"
            ).encode() + data
        writer.write(raw)
        await writer.drain()
        return await _read_response(reader)
    finally:
        writer.close()


def test_status_shape_matches_the_spec() -> None:
    got: dict[str, Any] = {}

    async def scenario(port: int) -> None:
        status, headers, body = await _request(port, "GET", "/api/status")
        got.update(status=status, ctype=headers["content-type"], body=json.loads(body))

    serve(FakePhone(), scenario)
    assert got["status"] == 200
    assert got["ctype"] == "application/json"
    body = got["body"]
    assert set(body) == {"hook", "ringer", "registered", "lines", "calls", "display", "softkeys",
                         "muted", "speaker", "volume", "mwi", "callback"}
    assert body["hook"] == "on" and body["registered"] is True
    assert body["muted"] is False and body["speaker"] is False
    assert body["volume"] == {"handset": 8, "speaker": 8, "ringer": 8}
    assert body["mwi"] == {"waiting": False, "new": None, "old": None}
    assert body["callback"] is None
    assert body["lines"] == [{"line": 1, "name": "5550001", "registered": True, "error": None}]


def test_hook_keys_softkey_dial_reach_the_phone() -> None:
    phone = FakePhone()
    answers: list[Any] = []

    async def scenario(port: int) -> None:
        answers.append(await _request(port, "POST", "/api/hook", {"state": "off"}))
        answers.append(await _request(port, "POST", "/api/keys", {"keys": "5550002#"}))
        answers.append(await _request(port, "POST", "/api/softkey", {"name": "DND"}))
        answers.append(await _request(port, "POST", "/api/dial", {"target": "sip:bob@127.0.0.1:5064"}))
        answers.append(await _request(port, "POST", "/api/button", {"name": "volup"}))

    serve(phone, scenario)
    assert [a[0] for a in answers] == [200, 200, 200, 200, 200]
    assert phone.buttons == ["volup"]
    answers.pop()
    assert phone.keys == "5550002#"
    assert phone.softkeys == ["dnd"]  # case-insensitive: lowered before the phone sees it
    assert phone.dialled == ["sip:bob@127.0.0.1:5064"]
    call = json.loads(answers[-1][2])["calls"][0]
    assert set(call) == {"id", "line", "direction", "state", "remote", "call_id", "reason", "media",
                         "conference", "encrypted"}
    assert call["state"] == "calling" and call["encrypted"] is False


@pytest.mark.parametrize(
    ("path", "body", "status", "fragment"),
    [
        ("/api/hook", {"state": "up"}, 400, "on"),
        ("/api/hook", {}, 400, "missing"),
        ("/api/keys", {"keys": "12a"}, 400, "keypad"),
        ("/api/keys", {"keys": "1" * 65}, 400, "keypad"),
        ("/api/keys", {"keys": 5}, 400, "str"),
        ("/api/softkey", {"name": "frobnicate"}, 400, "unknown softkey"),
        ("/api/softkey", {"name": "hold"}, 409, "no call"),
        ("/api/softkey", {"name": "<script>"}, 400, "short word"),
        ("/api/dial", {"target": "http://x"}, 400, "sip:"),
        ("/api/dial", {"target": "sip:" + "a" * 300}, 400, "sip:"),
        ("/api/button", {"name": "frobnicate"}, 400, "unknown button"),
        ("/api/button", {"name": "line7"}, 400, "unknown button"),
        ("/api/button", {"name": 3}, 400, "str"),
        ("/api/button", {"name": "mute"}, 409, "no call"),
        ("/api/mock/audio", {"tone_hz": -5}, 400, "tone_hz"),
        ("/api/mock/audio", {"tone_hz": True}, 400, "float"),
        ("/api/mock/audio", {"tone_hz": "1000"}, 400, "float"),
        ("/api/mock/audio", {"tone_hz": 7001}, 400, "7000 Hz"),  # G.722 carries up to 7 kHz
    ],
)
def test_bad_input_and_wrong_state_are_4xx_with_a_sentence(
    path: str, body: dict[str, Any], status: int, fragment: str
) -> None:
    got: list[Any] = []

    async def scenario(port: int) -> None:
        got.append(await _request(port, "POST", path, body))

    serve(FakePhone(), scenario)
    code, headers, raw = got[0]
    assert code == status
    assert headers["content-type"] == "application/json"
    assert fragment in json.loads(raw)["error"]


def test_protocol_errors_are_json_4xx() -> None:
    got: dict[str, int] = {}

    async def scenario(port: int) -> None:
        got["unknown"] = (await _request(port, "GET", "/api/nope"))[0]
        got["method"] = (await _request(port, "DELETE", "/api/status"))[0]
        got["notjson"] = (await _request(port, "POST", "/api/keys",
                                         raw=b"POST /api/keys HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                                             b"Content-Type: application/json\r\nContent-Length: 3\r\n\r\n{x}"))[0]
        got["array"] = (await _request(port, "POST", "/api/keys", ["1"]))[0]
        got["nobody"] = (await _request(port, "POST", "/api/keys"))[0]
        got["chunked"] = (await _request(port, "POST", "/api/keys",
                                         raw=b"POST /api/keys HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"))[0]
        got["huge"] = (await _request(port, "POST", "/api/keys",
                                      raw=b"POST /api/keys HTTP/1.1\r\nContent-Length: 999999\r\n\r\n"))[0]
        got["version"] = (await _request(port, "GET", "/", raw=b"GET /api/status HTTP/2.0\r\n\r\n"))[0]
        got["garbage"] = (await _request(port, "GET", "/", raw=b"\x00\x01 hello\r\n\r\n"))[0]
        got["longhead"] = (await _request(port, "GET", "/", raw=b"GET /api/status HTTP/1.1\r\nX: "
                                          + b"a" * 20000 + b"\r\n\r\n"))[0]

    serve(FakePhone(), scenario)
    assert got == {
        "unknown": 404, "method": 405, "notjson": 400, "array": 400, "nobody": 400,
        "chunked": 501, "huge": 413, "version": 505, "garbage": 400, "longhead": 431,
    }


@pytest.mark.internal_errors_expected  # the fake phone raises on purpose
def test_a_bug_in_the_phone_is_a_500_with_its_traceback_logged(
        caplog: pytest.LogCaptureFixture) -> None:
    """A bug is no "not now": 500 (a 409 would hide it from the client and the tests)."""
    got: list[Any] = []

    async def scenario(port: int) -> None:
        got.append(await _request(port, "GET", "/api/status"))
        got.append(await _request(port, "POST", "/api/softkey", {"name": "hold"}))

    server = serve(FakePhone(explode=True), scenario)
    assert server.internal_errors == 1  # counted: the end-to-end harness fails on it
    assert got[0][0] == 500
    assert "internal error" in json.loads(got[0][2])["error"]
    failed = [r for r in caplog.records if "control API handler failed" in r.message]
    assert failed and failed[0].exc_info is not None  # the traceback is in the log
    assert got[1][0] == 409  # a genuine "not now" is still a 409


def test_screen_history_and_mock_audio() -> None:
    phone = FakePhone()
    got: dict[str, Any] = {}

    async def scenario(port: int) -> None:
        got["png"] = await _request(port, "GET", "/api/screen.png")
        got["hist"] = await _request(port, "GET", "/api/history")
        got["set"] = await _request(port, "POST", "/api/mock/audio", {"tone_hz": 1000})
        got["get"] = await _request(port, "GET", "/api/mock/audio")

    serve(phone, scenario)
    assert got["png"][1]["content-type"] == "image/png"
    assert got["png"][2].startswith(b"\x89PNG")
    hist = json.loads(got["hist"][2])
    assert [h["kind"] for h in hist] == ["missed", "placed"]  # newest first, as the phone gave them
    assert phone.tone_hz == 1000.0
    assert json.loads(got["get"][2]) == {
        "tx_frames": 10, "rx_frames": 12, "rx_dominant_hz": 1000.0, "rx_level_dbfs": -12.5,
    }


def test_keep_alive_serves_several_requests_on_one_connection() -> None:
    got: list[int] = []

    async def scenario(port: int) -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        for _ in range(3):
            writer.write(f"GET /api/status HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\r\n".encode())
            status, headers, _ = await _read_response(reader)
            got.append(status)
            assert headers["connection"] == "keep-alive"
        writer.close()

    server = serve(FakePhone(), scenario)
    assert got == [200, 200, 200]
    assert server.requests_served == 3


def test_token_required_when_configured() -> None:
    cfg = ControlConfig(token="s3cret", require_token=True)
    got: dict[str, Any] = {}

    async def scenario(port: int) -> None:
        got["none"] = await _request(port, "GET", "/api/status")
        got["wrong"] = await _request(port, "GET", "/api/status",
                                      headers={"Authorization": "Bearer nope"})
        got["basic"] = await _request(port, "GET", "/api/status",
                                      headers={"Authorization": "Basic s3cret"})
        got["right"] = await _request(port, "GET", "/api/status",
                                      headers={"Authorization": "Bearer s3cret"})

    serve(FakePhone(), scenario, cfg)
    assert got["none"][0] == 401 and got["none"][1]["www-authenticate"] == "Bearer"
    assert got["wrong"][0] == 401 and got["basic"][0] == 401
    assert got["right"][0] == 200


def test_off_loopback_without_token_refuses_to_start() -> None:
    assert ControlConfig(host="192.0.2.1").token_required
    assert not ControlConfig(host="127.0.0.1").token_required
    with pytest.raises(ValueError, match="token"):
        ControlServer(FakePhone(), ControlConfig(host="0.0.0.0"))
    # With a token it builds (not started: tests never listen off loopback).
    ControlServer(FakePhone(), ControlConfig(host="0.0.0.0", token="t"))


def test_connection_limit_makes_room_by_closing_the_idle_connection() -> None:
    """Full house: the idle keep-alive connection is closed for the newcomer, not the newcomer."""
    cfg = ControlConfig(max_connections=1)
    got: list[Any] = []

    async def scenario(port: int) -> None:
        r1, w1 = await asyncio.open_connection("127.0.0.1", port)
        w1.write(f"GET /api/status HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\r\n".encode())
        await _read_response(r1)  # keep-alive: holds the slot, idle
        got.append((await _request(port, "GET", "/api/status"))[0])
        got.append(await r1.read())  # closed for the newcomer: EOF
        w1.close()

    server = serve(FakePhone(), scenario, cfg)
    assert got == [200, b""]
    assert server.evicted_connections == 1 and server.rejected_connections == 0


@pytest.mark.parametrize(
    ("host", "loop"),
    [("127.0.0.1", True), ("127.5.0.9", True), ("::1", True), ("localhost", True),
     ("0.0.0.0", False), ("10.0.0.1", False), ("example.com", False)],
)
def test_is_loopback(host: str, loop: bool) -> None:
    assert is_loopback(host) is loop


def test_parse_hostport() -> None:
    assert parse_hostport("127.0.0.1:8080") == ("127.0.0.1", 8080)
    assert parse_hostport("[::1]:80") == ("::1", 80)
    assert parse_hostport("9000") == ("127.0.0.1", 9000)
    for bad in ("x:y", "1.2.3.4:70000", "a:b:c"):
        with pytest.raises(ValueError):
            parse_hostport(bad)
