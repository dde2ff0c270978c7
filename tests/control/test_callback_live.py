"""CallBack (RFC 5359 §2.17 automatic redial) through the control API, between our phones.

Alice's phone (A) is pressed over HTTP only; Bob (B) is kept busy by Dave
(D). A's call gets 486, A presses CallBack, hangs up and waits; when Bob's
call ends A rings "5550002 is free"; Bob busy again stops it; free again, A
presses Dial and talks to Bob (tones both ways), and the subscription ends.
The other tests have a raw socket for Bob: one refuses the subscription, one
is a notifier written by hand (bad NOTIFYs refused, versions, its end).
"""

from __future__ import annotations

import asyncio
import json
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
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
        async with Network() as net:
            a = await net.add("A", handset_config("5550001"))
            b = await net.add("B", handset_config("5550002", call_waiting=False))
            d = await net.add("D", handset_config("5550004"))
            async with ControlServer(a.api, ControlConfig()) as server:

                async def post(path: str, body: dict[str, Any]) -> int:
                    return (await _request(server.port, "POST", path, body))[0]

                async def status() -> dict[str, Any]:
                    return json.loads((await _request(server.port, "GET", "/api/status"))[2])

                async def busy_b() -> None:
                    d.api.dial(b.uri())
                    await until(_state(b, "incoming"), "B rings")
                    b.api.set_hook(True)
                    await until(_talking(d, b), "B with D")

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


class RawCallee:
    """Bob as a UDP socket written by hand: busy, then a dialog-state notifier (or not)."""

    def __init__(self) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind((HOST, 0))
        self.sock.setblocking(False)
        self.uri = f"sip:bob@{HOST}:{self.sock.getsockname()[1]}"
        self.cseq = 0

    async def expect(self, label: str) -> tuple[Any, Any]:
        """The next request ``label`` (or response, when ``label`` is a status code)."""
        loop = asyncio.get_running_loop()
        while True:
            data, addr = await asyncio.wait_for(loop.sock_recvfrom(self.sock, 65535), 5)
            msg = parse_message(data)
            if (getattr(msg, "method", None) or str(getattr(msg, "status", ""))) == label:
                return msg, addr

    def send(self, text: str, addr: Any, body: bytes = b"") -> None:
        self.sock.sendto(text.replace("\n", "\r\n").encode() + body, addr)

    def reply(self, req: Any, addr: Any, status: int, reason: str, extra: str = "") -> None:
        h = req.headers
        self.send(f"SIP/2.0 {status} {reason}\nVia: {h.get('Via')}\nFrom: {h.get('From')}\n"
                  f"To: {h.get('To')};tag=bb1\nCall-ID: {h.get('Call-ID')}\n"
                  f"CSeq: {h.get('CSeq')}\n{extra}Content-Length: 0\n\n", addr)

    def notify(self, sub: Any, addr: Any, body: bytes, *, state: str = "active;expires=600",
               call_id: str | None = None) -> None:
        """A NOTIFY in the subscription ``sub`` made (Bob's tag bb1)."""
        self.cseq += 1
        h, port = sub.headers, self.sock.getsockname()[1]
        self.send(
            f"NOTIFY {sub.contacts[0].uri} SIP/2.0\n"
            f"Via: SIP/2.0/UDP {HOST}:{port};branch=z9hG4bKbob{self.cseq}\nMax-Forwards: 70\n"
            f"From: {h.get('To')};tag=bb1\nTo: {h.get('From')}\n"
            f"Call-ID: {call_id or h.get('Call-ID')}\nCSeq: {self.cseq} NOTIFY\n"
            f"Contact: <{self.uri}>\nEvent: dialog\nSubscription-State: {state}\n"
            f"Content-Type: application/dialog-info+xml\nContent-Length: {len(body)}\n\n",
            addr, body)

    def close(self) -> None:
        self.sock.close()


def _info(version: int, state: str | None) -> bytes:
    dialog = f'<dialog id="d1"><state>{state}</state></dialog>' if state else ""
    return (f'<?xml version="1.0"?><dialog-info xmlns="urn:ietf:params:xml:ns:dialog-info" '
            f'version="{version}" state="full" entity="sip:bob@{HOST}">{dialog}'
            f"</dialog-info>").encode()


async def _busy_then_callback(a: Any, bob: RawCallee, port: int) -> tuple[Any, Any]:
    """A calls Bob, who answers 486; A presses CallBack (its API name ``autoredial``)."""
    await _request(port, "POST", "/api/dial", {"target": bob.uri})
    invite, addr = await bob.expect("INVITE")
    bob.reply(invite, addr, 486, "Busy Here")
    await until(lambda: any(c.reason == "busy" for c in a.calls()), "A: busy")
    await _request(port, "POST", "/api/softkey", {"name": "autoredial"})
    return await bob.expect("SUBSCRIBE")


@asynccontextmanager
async def _busy_bob() -> AsyncIterator[tuple[Any, RawCallee, int, Any, Any]]:
    """Phone A behind its control API has called raw Bob, got 486 and pressed CallBack:
    yields A, Bob, the API port and Bob's SUBSCRIBE with its source address."""
    bob = RawCallee()
    try:
        async with Network() as net:
            a = await net.add("A", handset_config("5550001"))
            async with ControlServer(a.api, ControlConfig()) as server:
                sub, addr = await _busy_then_callback(a, bob, server.port)
                yield a, bob, server.port, sub, addr
    finally:
        bob.close()


def test_callback_refused_by_the_callee_says_so() -> None:
    """A callee that answers 486 and then refuses the SUBSCRIBE (489): nothing waits."""
    got: dict[str, Any] = {}

    async def main() -> None:
        async with _busy_bob() as (a, bob, port, sub, addr):
            got["sub"] = sub
            bob.reply(sub, addr, 489, "Bad Event")
            await until(lambda: any("refused" in r for r in a.status().display), "A says so")
            got["status"] = json.loads((await _request(port, "GET", "/api/status"))[2])

    asyncio.run(main())
    sub = got["sub"]
    assert sub.headers.get("Event") == "dialog"
    assert sub.headers.get("Accept") == "application/dialog-info+xml"
    assert sub.uri.user == "bob"
    assert got["status"]["callback"] is None
    assert "CallBack refused: 489" in got["status"]["display"]


def test_callback_reads_a_hand_written_notifier_and_refuses_bad_notifies() -> None:
    """Bob's NOTIFYs by hand: a DTD body gets 400, an unknown subscription 481, a stale
    version is ignored, "free" rings A, and Bob ending the subscription ends the callback."""
    got: dict[str, Any] = {}

    async def main() -> None:
        async with _busy_bob() as (a, bob, _port, sub, addr):
            bob.reply(sub, addr, 200, "OK", extra=f"Expires: 600\nContact: <{bob.uri}>\n")
            bomb = (b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaaaaaa">]>'
                    + _info(0, "confirmed"))
            bob.notify(sub, addr, bomb)
            got["dtd"] = (await bob.expect("400"))[0]
            bob.notify(sub, addr, _info(0, "confirmed"), call_id="other@127.0.0.1")
            got["unknown"] = (await bob.expect("481"))[0]
            bob.notify(sub, addr, _info(1, "confirmed"))
            await bob.expect("200")
            got["busy"] = a.status()
            bob.notify(sub, addr, _info(2, "terminated"))  # Bob hangs up
            await bob.expect("200")
            await until(lambda: a.status().ringer, "A rings")
            bob.notify(sub, addr, _info(1, "confirmed"))  # a late, older NOTIFY
            await bob.expect("200")
            got["stale"] = a.status()
            bob.notify(sub, addr, b"", state="terminated;reason=noresource")
            await bob.expect("200")
            await until(lambda: a.status().callback is None, "callback over")
            got["ended"] = a.status()

    asyncio.run(main())
    assert got["dtd"].status == 400 and got["unknown"].status == 481
    busy = got["busy"]
    assert busy.callback["state"] == "waiting" and busy.callback["target"].startswith("sip:bob@")
    assert not busy.ringer
    assert got["stale"].callback["state"] == "alerting" and got["stale"].ringer
    assert not got["ended"].ringer and "CallBack ended" in got["ended"].display
