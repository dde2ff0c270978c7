"""Message waiting, intercom, UPDATE and INFO on a real phone, against a raw-socket proxy.

The phone (complete firmware, mock HAL) registers with a "proxy" that is a
plain UDP socket in this test, written byte by byte: it answers REGISTER and
SUBSCRIBE, sends NOTIFYs in the subscription's dialog and unsolicited ones
(as Asterisk does), pages the phone with an auto-answer INVITE, then sends
UPDATE with a new offer and INFO dtmf-relay inside that call. Everything the
user meets is read through the control API over HTTP.
"""

from __future__ import annotations

import asyncio
import json
import socket
from typing import Any

from test_control_api import _request

from firmware.control import ControlConfig, ControlServer
from firmware.demo.network import Network, handset_config, until
from firmware.media.sdp import LocalMedia, build_offer
from firmware.sip.message import parse_message

HOST = "127.0.0.1"


class RawProxy:
    """A UDP socket that speaks just enough SIP, by hand."""

    def __init__(self, host: str = HOST) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind((host, 0))
        self.sock.setblocking(False)
        self.port = self.sock.getsockname()[1]
        self.seen: list[str] = []

    async def expect(self, method: str, timeout: float = 5.0) -> tuple[Any, tuple[str, int]]:
        """The next request ``method`` (or response, when ``method`` is a status code);
        REGISTERs are answered 200 on the way."""
        loop = asyncio.get_running_loop()
        end = loop.time() + timeout
        while True:
            left = end - loop.time()
            if left <= 0:
                raise TimeoutError(f"no {method}; saw {self.seen}")
            try:
                data, addr = await asyncio.wait_for(loop.sock_recvfrom(self.sock, 65535), left)
            except TimeoutError:
                raise TimeoutError(f"no {method}; saw {self.seen}") from None
            msg = parse_message(data)
            label = getattr(msg, "method", None) or str(msg.status)
            self.seen.append(label)
            if label == "REGISTER" and method != "REGISTER":
                self.reply(msg, addr, 200, extra="Expires: 3600\r\n" + _contact(msg))
                continue
            if label == method:
                return msg, addr

    def send(self, text: str, addr: tuple[str, int], body: bytes = b"") -> None:
        self.sock.sendto(text.replace("\r\n", "\n").replace("\n", "\r\n").encode() + body, addr)

    def reply(self, req: Any, addr: tuple[str, int], status: int, *, extra: str = "",
              to_tag: str = "px1", body: bytes = b"") -> None:
        h = req.headers
        to = h.get("To") if ";tag=" in h.get("To") else f"{h.get('To')};tag={to_tag}"
        self.send(f"SIP/2.0 {status} Whatever\nVia: {h.get('Via')}\nFrom: {h.get('From')}\n"
                  f"To: {to}\nCall-ID: {h.get('Call-ID')}\nCSeq: {h.get('CSeq')}\n{extra}"
                  f"Content-Length: {len(body)}\n\n", addr, body)

    def close(self) -> None:
        self.sock.close()


def _contact(req: Any) -> str:
    return f"Contact: {req.headers.get('Contact')}\r\n"


def _notify(proxy: RawProxy, phone: tuple[str, int], body: bytes, *, call_id: str,
            from_tag: str, to: str, cseq: int, state: str = "active") -> None:
    proxy.send(
        f"NOTIFY sip:5550002@{phone[0]}:{phone[1]} SIP/2.0\n"
        f"Via: SIP/2.0/UDP {HOST}:{proxy.port};branch=z9hG4bKn{cseq}{call_id[:6]}\n"
        f"Max-Forwards: 70\nFrom: <sip:vm@{HOST}:{proxy.port}>;tag={from_tag}\nTo: {to}\n"
        f"Call-ID: {call_id}\nCSeq: {cseq} NOTIFY\nEvent: message-summary\n"
        f"Subscription-State: {state}\nContent-Type: application/simple-message-summary\n"
        f"Content-Length: {len(body)}\n\n", phone, body)


def _in_call(proxy: RawProxy, phone: tuple[str, int], method: str, cseq: int, dialog: dict[str, str],
             body: bytes, ctype: str) -> None:
    proxy.send(
        f"{method} {dialog['target']} SIP/2.0\n"
        f"Via: SIP/2.0/UDP {HOST}:{proxy.port};branch=z9hG4bKd{cseq}{method}\n"
        f"Max-Forwards: 70\nFrom: <sip:page@{HOST}:{proxy.port}>;tag=pg1\nTo: {dialog['to']}\n"
        f"Call-ID: {dialog['call_id']}\nCSeq: {cseq} {method}\nContent-Type: {ctype}\n"
        f"Content-Length: {len(body)}\n\n", phone, body)


def test_mwi_intercom_update_and_info_against_a_raw_proxy() -> None:
    got: dict[str, Any] = {}

    async def main() -> None:
        proxy = RawProxy()
        net = Network()
        try:
            b = await net.add("B", handset_config(
                "5550002", proxy=(HOST, proxy.port), mwi_subscribe=True, messages_uri="*97",
                stutter_msg_waiting=True, auto_answer=True))
            server = ControlServer(b.api, ControlConfig())
            await server.start()
            port = server.port

            async def status() -> dict[str, Any]:
                return json.loads((await _request(port, "GET", "/api/status"))[2])

            try:
                # -- message waiting: SUBSCRIBE, 200, NOTIFY in its dialog ----------
                sub, addr = await proxy.expect("SUBSCRIBE")
                got["subscribe"] = sub
                proxy.reply(sub, addr, 200, to_tag="vm7",
                            extra=f"Expires: 600\r\nContact: <sip:vm@{HOST}:{proxy.port}>\r\n")
                _notify(proxy, addr, b"Messages-Waiting: yes\r\nVoice-Message: 3/1 (1/0)\r\n",
                        call_id=sub.headers.get("Call-ID"), from_tag="vm7",
                        to=f"{sub.headers.get('From')}", cseq=1)
                got["notify_ok"], _ = await proxy.expect("200")
                got["waiting"] = await status()
                assert b.host.app is not None
                got["icons"] = b.host.app.screen.icons
                got["badge"] = b.host.app.screen.badge
                b.api.set_hook(True)
                got["tone"] = b.host.app.phone.tone
                b.api.set_hook(False)
                # -- unsolicited NOTIFY (no subscription dialog): from the proxy only --
                _notify(proxy, addr, b"Messages-Waiting: no\r\n", call_id="unsol-1",
                        from_tag="a1", to=f"<sip:5550002@{HOST}>", cseq=5)
                await proxy.expect("200")
                got["cleared"] = (await status())["mwi"]
                # anyone else's NOTIFY is refused and changes nothing (another address)
                stranger = RawProxy("127.0.0.2")
                try:
                    _notify(stranger, addr, b"Messages-Waiting: yes\r\n", call_id="evil-1",
                            from_tag="e1", to=f"<sip:5550002@{HOST}>", cseq=1)
                    got["stranger"], _ = await stranger.expect("403")
                finally:
                    stranger.close()
                got["still_clear"] = (await status())["mwi"]["waiting"]
                # -- the Messages key calls voicemail through the proxy -------------
                await _request(port, "POST", "/api/button", {"name": "messages"})
                invite, _ = await proxy.expect("INVITE")
                got["vm_invite"] = str(invite.uri)
                proxy.reply(invite, addr, 486)
                await proxy.expect("ACK")
                await _request(port, "POST", "/api/button", {"name": "speaker"})
                await until(lambda: b.states() == [], "the failed call to leave the screen",
                            timeout=8.0)
                # -- intercom: the proxy pages B with answer-after=0 ----------------
                offer = build_offer(LocalMedia(address=HOST, rtp_port=40000), session_id=1,
                                    version=1).to_bytes()
                proxy.send(
                    f"INVITE sip:5550002@{addr[0]}:{addr[1]} SIP/2.0\n"
                    f"Via: SIP/2.0/UDP {HOST}:{proxy.port};branch=z9hG4bKpage1\n"
                    f"Max-Forwards: 70\nFrom: <sip:page@{HOST}:{proxy.port}>;tag=pg1\n"
                    f"To: <sip:5550002@{HOST}>\nCall-ID: page-1\nCSeq: 1 INVITE\n"
                    f"Contact: <sip:page@{HOST}:{proxy.port}>\n"
                    f"Call-Info: <sip:{HOST}>;answer-after=0\nContent-Type: application/sdp\n"
                    f"Content-Length: {len(offer)}\n\n", addr, offer)
                ok, _ = await proxy.expect("200")
                got["answered_sdp"] = ok.body
                to = ok.headers.get("To")
                target = ok.headers.get("Contact").strip("<>").split(">")[0]
                dialog = {"to": to, "call_id": "page-1", "target": target}
                proxy.send(f"ACK {target} SIP/2.0\nVia: SIP/2.0/UDP {HOST}:{proxy.port};"
                           f"branch=z9hG4bKack1\nMax-Forwards: 70\n"
                           f"From: <sip:page@{HOST}:{proxy.port}>;tag=pg1\nTo: {to}\n"
                           f"Call-ID: page-1\nCSeq: 1 ACK\nContent-Length: 0\n\n", addr)
                await until(lambda: b.states() == ["connected"], "the page to connect")
                got["paged"] = await status()
                got["alert"] = b.host.app.phone.tone
                # -- UPDATE with a new offer (RFC 3311) and INFO dtmf-relay ---------
                new_offer = build_offer(LocalMedia(address=HOST, rtp_port=40010), session_id=1,
                                        version=2).to_bytes()
                _in_call(proxy, addr, "UPDATE", 2, dialog, new_offer, "application/sdp")
                got["update_ok"], _ = await proxy.expect("200")
                _in_call(proxy, addr, "INFO", 3, dialog, b"Signal=7\r\nDuration=160\r\n",
                         "application/dtmf-relay")
                got["info_ok"], _ = await proxy.expect("200")
                got["after_info"] = await status()
                got["unmute"] = json.loads((await _request(
                    port, "POST", "/api/button", {"name": "mute"}))[2])
                got["allow"] = got["update_ok"].headers.get("Allow") or ok.headers.get("Allow")
            finally:
                await server.close()
        finally:
            await net.close()
            proxy.close()

    asyncio.run(main())
    sub = got["subscribe"]
    assert sub.headers.get("Event") == "message-summary"
    assert str(sub.uri).startswith("sip:5550002@127.0.0.1")
    assert got["notify_ok"].headers.get("CSeq") == "1 NOTIFY"
    assert got["waiting"]["mwi"] == {"waiting": True, "new": 3, "old": 1}
    assert "mwi" in got["icons"] and got["badge"] == "3"
    assert any("3 new voice msgs" in row for row in got["waiting"]["display"])
    assert got["tone"] == "stutter"
    assert got["cleared"] == {"waiting": False, "new": None, "old": None}
    assert got["stranger"].status == 403 and got["still_clear"] is False
    assert got["vm_invite"].startswith("sip:*97@")
    paged = got["paged"]
    assert b"m=audio" in got["answered_sdp"]
    assert paged["muted"] is True and paged["speaker"] is True and paged["hook"] == "on"
    assert got["alert"] == "intercom"
    assert got["update_ok"].headers.get("CSeq") == "2 UPDATE"
    assert b"m=audio" in got["update_ok"].body  # the answer to the UPDATE's offer
    assert got["info_ok"].headers.get("CSeq") == "3 INFO"
    assert any("DTMF: 7" in row for row in got["after_info"]["display"])
    assert got["unmute"]["muted"] is False
