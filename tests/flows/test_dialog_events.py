"""A phone serving RFC 4235 dialog-state subscriptions, driven from a raw UDP socket.

The watcher here is a plain socket that writes its SUBSCRIBEs by hand, so
every answer of the phone (``firmware.phone.dialogstate``) is read byte by
byte: the refusals (``dialog_events: 0``, wrong event package, an Accept without dialog-info, an
unknown subscription), the 200 that makes the subscription, the full-state
NOTIFYs as the phone's call is answered and hung up (versions counting up,
ids and states only), and the unsubscribe with its final NOTIFY.
"""

from __future__ import annotations

import asyncio
import socket
from typing import Any

from firmware.demo.figures import FigureRun, _connect, _no_live, _talking
from firmware.demo.network import Network, handset_config, until
from firmware.phone.dialoginfo import parse_dialog_info
from firmware.sip.message import parse_message

HOST = "127.0.0.1"


class Watcher:
    """A UDP socket subscribing to a phone's dialog state, by hand."""

    def __init__(self) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind((HOST, 0))
        self.sock.setblocking(False)
        self.port = self.sock.getsockname()[1]
        self.cseq = 0

    def subscribe(self, phone: tuple[str, int], *, event: str = "dialog",
                  accept: str = "application/dialog-info+xml", expires: int = 600,
                  to_tag: str | None = None, call_id: str = "w1@127.0.0.1") -> None:
        self.cseq += 1
        to = f"<sip:5550002@{HOST}:{phone[1]}>" + (f";tag={to_tag}" if to_tag else "")
        self._send(
            f"SUBSCRIBE sip:5550002@{HOST}:{phone[1]} SIP/2.0\n"
            f"Via: SIP/2.0/UDP {HOST}:{self.port};branch=z9hG4bKw{self.cseq}x{call_id.split('@')[0]}\n"
            f"Max-Forwards: 70\nFrom: <sip:watcher@{HOST}:{self.port}>;tag=wt1\nTo: {to}\n"
            f"Call-ID: {call_id}\nCSeq: {self.cseq} SUBSCRIBE\n"
            f"Contact: <sip:watcher@{HOST}:{self.port}>\nEvent: {event}\nAccept: {accept}\n"
            f"Expires: {expires}\nContent-Length: 0\n\n", phone)

    def _send(self, text: str, addr: tuple[str, int]) -> None:
        self.sock.sendto(text.replace("\n", "\r\n").encode(), addr)

    async def next(self, timeout: float = 5.0) -> tuple[Any, tuple[str, int]]:
        loop = asyncio.get_running_loop()
        data, addr = await asyncio.wait_for(loop.sock_recvfrom(self.sock, 65535), timeout)
        return parse_message(data), addr

    def ok(self, req: Any, addr: tuple[str, int]) -> None:
        h = req.headers
        self._send(f"SIP/2.0 200 OK\nVia: {h.get('Via')}\nFrom: {h.get('From')}\n"
                   f"To: {h.get('To')}\nCall-ID: {h.get('Call-ID')}\nCSeq: {h.get('CSeq')}\n"
                   "Content-Length: 0\n\n", addr)

    async def notify(self) -> tuple[Any, Any]:
        """The next NOTIFY (answered 200) and its parsed body."""
        msg, addr = await self.next()
        assert getattr(msg, "method", None) == "NOTIFY", msg
        self.ok(msg, addr)
        return msg, parse_dialog_info(msg.body)


def test_phone_serves_dialog_state_to_a_watcher() -> None:
    got: dict[str, Any] = {}

    async def main() -> None:
        net, w = Network(), Watcher()
        try:
            b = await net.add("B", handset_config("5550002"))
            d = await net.add("D", handset_config("5550004"))
            shy = await net.add("E", handset_config("5550005", dialog_events=False))
            w.subscribe(shy.address, call_id="x0@h")  # dialog_events: 0
            got["403"] = (await w.next())[0]
            phone = b.address
            # refusals: another package, a body type we do not send, no such subscription
            w.subscribe(phone, event="presence", call_id="x1@h")
            got["489"] = (await w.next())[0]
            w.subscribe(phone, accept="text/plain", call_id="x2@h")
            got["406"] = (await w.next())[0]
            w.subscribe(phone, to_tag="nosuch", call_id="x3@h")
            got["481"] = (await w.next())[0]
            # the subscription, and the state at once (B idle: no dialog)
            w.subscribe(phone)
            got["200"] = ok = (await w.next())[0]
            got["first"] = await w.notify()
            # D calls B, B answers: the dialog is confirmed; B hangs up: terminated
            await _connect(FigureRun("t"), d, b)
            got["confirmed"] = await w.notify()
            b.api.set_hook(False)
            await until(_no_live(d), "D idle")
            got["terminated"] = await w.notify()
            # unsubscribe: 200 and a final NOTIFY; the dialog is gone afterwards
            tag = ok.to.tag
            w.subscribe(phone, expires=0, to_tag=tag)
            got["unsub"] = (await w.next())[0]
            got["final"] = await w.notify()
            w.subscribe(phone, to_tag=tag)
            got["gone"] = (await w.next())[0]
            assert not _talking(b, d)()
        finally:
            w.sock.close()
            await net.close()

    asyncio.run(main())
    assert got["403"].status == 403
    assert got["489"].status == 489 and got["489"].headers.get("Allow-Events") == "dialog"
    assert got["406"].status == 406
    assert got["481"].status == 481
    ok = got["200"]
    assert ok.status == 200 and ok.headers.get("Expires") == "600" and ok.to.tag
    assert ok.headers.get("Contact")
    first, info0 = got["first"]
    assert first.headers.get("Event") == "dialog"
    assert first.headers.get("Subscription-State").startswith("active;expires=")
    assert first.headers.get("Content-Type") == "application/dialog-info+xml"
    assert first.to.tag == "wt1" and first.from_.tag == ok.to.tag
    assert (info0.version, info0.full, info0.dialogs) == (0, True, ())
    _m, info1 = got["confirmed"]
    assert info1.version == 1 and [d.state for d in info1.dialogs] == ["confirmed"]
    _m, info2 = got["terminated"]
    assert info2.version == 2 and [d.state for d in info2.dialogs] == ["terminated"]
    assert info2.dialogs[0].id == info1.dialogs[0].id
    assert b"sip:5550004" not in _m.body  # who B talked to stays private
    assert got["unsub"].status == 200
    final, info3 = got["final"]
    assert final.headers.get("Subscription-State").startswith("terminated")
    assert info3.version == 3 and not info3.busy
    assert got["gone"].status == 481
