"""CallBack (RFC 5359 §2.17 automatic redial) through the control API, between our phones.

Alice's phone (A) is pressed over HTTP only; Bob (B) is kept busy by Dave
(D). A's call gets 486, A presses CallBack, hangs up and waits; when Bob's
call ends A rings "5550002 is free"; Bob busy again stops it; free again, A
presses Dial and talks to Bob (tones both ways), and the subscription ends.
A second test has a raw socket for a callee that refuses the subscription.
"""

from __future__ import annotations

import asyncio
import json
import socket
from typing import Any

from test_control_api import _request

from firmware.control import ControlConfig, ControlServer
from firmware.demo.figures import TONE, _no_live, _state, _talking
from firmware.demo.network import Network, handset_config, heard, until
from firmware.sip.message import parse_message

HOST = "127.0.0.1"


def test_callback_rings_when_the_busy_callee_is_free_and_redials() -> None:
    got: dict[str, Any] = {}

    async def main() -> None:
        net = Network()
        try:
            a = await net.add("A", handset_config("5550001"))
            b = await net.add("B", handset_config("5550002", call_waiting=False))
            d = await net.add("D", handset_config("5550004"))
            server = ControlServer(a.api, ControlConfig())
            await server.start()

            async def post(path: str, body: dict[str, Any]) -> int:
                return (await _request(server.port, "POST", path, body))[0]

            async def status() -> dict[str, Any]:
                return json.loads((await _request(server.port, "GET", "/api/status"))[2])

            async def busy_b() -> None:
                d.api.dial(b.uri())
                await until(_state(b, "incoming"), "B rings")
                b.api.set_hook(True)
                await until(_talking(d, b), "B with D")

            try:
                b.api.set_mock_tone(TONE["B"])
                await post("/api/mock/audio", {"tone_hz": TONE["A"]})
                await busy_b()
                await post("/api/hook", {"state": "off"})
                await post("/api/dial", {"target": b.uri()})
                await until(lambda: any(c.reason == "busy" for c in a.calls()), "A: busy")
                got["busy"] = await status()
                got["press"] = await post("/api/softkey", {"name": "callback"})
                await post("/api/hook", {"state": "on"})
                await until(lambda: (a.status().callback or {}).get("state") == "waiting", "wait")
                got["waiting"] = await status()
                b.api.set_hook(False)  # B's call with D ends
                await until(lambda: a.status().ringer, "A rings: B is free")
                got["free"] = await status()
                await until(_no_live(d), "D idle")
                await busy_b()  # B busy again before A redials: the ringing stops
                await until(lambda: not a.status().ringer, "A stops ringing")
                got["again"] = await status()
                b.api.set_hook(False)
                await until(lambda: a.status().ringer, "A rings again")
                got["dial"] = await post("/api/softkey", {"name": "dial"})
                await until(lambda: "incoming" in b.states(), "B rings for A")
                b.api.set_hook(True)
                await until(_talking(a, b), "A with B")
                await until(lambda: a.status().callback is None, "A unsubscribed")
                got["a_hears"] = await heard(a, TONE["B"])
                got["b_hears"] = await heard(b, TONE["A"])
                got["talking"] = await status()
                assert b.host.app is not None
                await until(lambda: not b.host.app.phone._watchers, "B forgot the watcher")
                await post("/api/softkey", {"name": "endcall"})
                await until(_no_live(b), "B idle")
            finally:
                await server.close()
        finally:
            await net.close()

    asyncio.run(main())
    assert "CallBack" in got["busy"]["softkeys"]
    assert got["press"] == 200
    assert got["waiting"]["callback"]["state"] == "waiting"
    assert "CallBack: 5550002" in got["waiting"]["display"]
    free = got["free"]
    assert free["callback"]["state"] == "alerting" and free["ringer"]
    assert "5550002 is free" in free["display"] and free["softkeys"] == ["Dial", "Exit"]
    assert got["again"]["callback"]["state"] == "waiting" and not got["again"]["ringer"]
    assert got["dial"] == 200
    assert got["a_hears"] is not None and abs(got["a_hears"] - TONE["B"]) < 0.04 * TONE["B"]
    assert got["b_hears"] is not None and abs(got["b_hears"] - TONE["A"]) < 0.04 * TONE["A"]
    assert got["talking"]["callback"] is None
    assert [c["state"] for c in got["talking"]["calls"]] == ["connected"]


def test_callback_refused_by_the_callee_says_so() -> None:
    """A callee that answers 486 and then refuses the SUBSCRIBE (489): nothing waits."""
    got: dict[str, Any] = {}

    async def main() -> None:
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        sock.bind((HOST, 0))
        sock.setblocking(False)
        callee = f"sip:bob@{HOST}:{sock.getsockname()[1]}"
        loop = asyncio.get_running_loop()

        async def expect(method: str) -> tuple[Any, Any]:
            while True:
                data, addr = await asyncio.wait_for(loop.sock_recvfrom(sock, 65535), 5)
                msg = parse_message(data)
                if getattr(msg, "method", None) == method:
                    return msg, addr

        def reply(req: Any, addr: Any, status: int, reason: str) -> None:
            h = req.headers
            text = (f"SIP/2.0 {status} {reason}\nVia: {h.get('Via')}\nFrom: {h.get('From')}\n"
                    f"To: {h.get('To')};tag=bb1\nCall-ID: {h.get('Call-ID')}\n"
                    f"CSeq: {h.get('CSeq')}\nContent-Length: 0\n\n")
            sock.sendto(text.replace("\n", "\r\n").encode(), addr)

        net = Network()
        try:
            a = await net.add("A", handset_config("5550001"))
            server = ControlServer(a.api, ControlConfig())
            await server.start()
            try:
                await _request(server.port, "POST", "/api/dial", {"target": callee})
                invite, addr = await expect("INVITE")
                reply(invite, addr, 486, "Busy Here")
                await until(lambda: any(c.reason == "busy" for c in a.calls()), "A: busy")
                await _request(server.port, "POST", "/api/softkey", {"name": "autoredial"})
                sub, addr = await expect("SUBSCRIBE")
                got["sub"] = sub
                reply(sub, addr, 489, "Bad Event")
                await until(lambda: any("refused" in r for r in a.status().display),
                            "A says so")
                got["status"] = json.loads((await _request(server.port, "GET", "/api/status"))[2])
            finally:
                await server.close()
        finally:
            await net.close()
            sock.close()

    asyncio.run(main())
    sub = got["sub"]
    assert sub.headers.get("Event") == "dialog"
    assert sub.headers.get("Accept") == "application/dialog-info+xml"
    assert sub.uri.user == "bob"
    assert got["status"]["callback"] is None
    assert "CallBack refused: 489" in got["status"]["display"]
