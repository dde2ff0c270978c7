"""A small test user agent: ``Endpoint`` + ``SipDriver`` on a loopback ``SipTransport``.

Why in tests/: interop needs something that answers and places calls with our
stack, but call control (firmware/phone) is a different layer with its own
tests.  This UA is only what SIPp's built-in scenarios need: auto-answer
(180 then 200) or call, hang up with BYE, register.  It records every event
and every message on the wire so tests can assert the exchange.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable
from typing import Any

from firmware.demo.driver import SipDriver, WireRecord
from firmware.net.transport import open_sip_transport
from firmware.sip import events as ev
from firmware.sip.auth import Credentials
from firmware.sip.endpoint import Endpoint, EndpointConfig
from firmware.sip.timers import DEFAULT_TIMERS, TimerConfig


def sdp(port: int, host: str = "127.0.0.1", session: int = 1) -> bytes:
    """A G.711 audio offer/answer; nothing listens on the port (no media here)."""
    return (
        f"v=0\r\no=piphone {session} 1 IN IP4 {host}\r\ns=-\r\nc=IN IP4 {host}\r\nt=0 0\r\n"
        f"m=audio {port} RTP/AVP 0 101\r\na=rtpmap:0 PCMU/8000\r\n"
        "a=rtpmap:101 telephone-event/8000\r\na=fmtp:101 0-15\r\na=sendrecv\r\n"
    ).encode()


def wire_label(data: bytes) -> str:
    """``INVITE`` for a request, ``200`` for a response."""
    first = data.split(b"\r\n", 1)[0].decode("utf-8", "replace")
    return first.split()[1] if first.startswith("SIP/2.0 ") else first.split(" ", 1)[0]


def without_trying_labels(labels: list[str]) -> list[str]:
    """The sequence without 100 Trying (a UAS may skip it when it answers within 200 ms,
    and a proxy repeats it for each retransmitted INVITE)."""
    return [label for label in labels if not label.endswith("100")]


def call_id_of(data: bytes) -> str:
    found = re.search(rb"^(?:Call-ID|i)[ \t]*:[ \t]*(\S+)", data, re.I | re.M)
    return found.group(1).decode() if found else ""


class InteropUA:
    """See the module docstring.  Build with ``await InteropUA.start(...)``; ``close()`` it."""

    def __init__(self) -> None:
        self.events: list[Any] = []
        self.wire: list[WireRecord] = []
        self.auto_answer = True
        self.driver: SipDriver
        self.endpoint: Endpoint
        self._changed = asyncio.Event()

    @classmethod
    async def start(
        cls,
        *,
        user: str = "piphone",
        transport: str = "udp",
        credentials: tuple[Credentials, ...] = (),
        outbound_proxy: tuple[str, int] | None = None,
        domain: str | None = None,
        auto_answer: bool = True,
        timers: TimerConfig = DEFAULT_TIMERS,
    ) -> InteropUA:
        ua = cls()
        ua.auto_answer = auto_answer
        net = await open_sip_transport("127.0.0.1", 0)
        config = EndpointConfig(
            local_address=net.local_address, transport=transport, user=user,
            credentials=credentials, outbound_proxy=outbound_proxy, domain=domain,
            timers=timers,
        )  # fmt: skip
        ua.endpoint = Endpoint(config)
        ua.driver = SipDriver(ua.endpoint, net, on_event=ua._on_event, on_wire=ua._on_wire)
        return ua

    @property
    def address(self) -> tuple[str, int]:
        return self.driver.transport.local_address

    @property
    def port(self) -> int:
        return self.address[1]

    # -- recording ------------------------------------------------------------
    def _on_wire(self, record: WireRecord) -> None:
        self.wire.append(record)

    def _on_event(self, event: Any) -> None:
        self.events.append(event)
        self._changed.set()
        if isinstance(event, ev.IncomingCall) and self.auto_answer:
            self.driver.command(self.endpoint.ringing, event.session)
            self.driver.command(self.endpoint.answer, event.session, sdp(self.port + 1000))

    async def wait_for(self, predicate: Callable[[Any], bool], timeout: float = 10.0) -> Any:
        """The first recorded event matching ``predicate`` (waiting for it if needed)."""
        async with asyncio.timeout(timeout):
            while True:
                for event in self.events:
                    if predicate(event):
                        return event
                self._changed.clear()
                await self._changed.wait()

    async def wait_count(self, kind: type, n: int, timeout: float = 10.0) -> list[Any]:
        async with asyncio.timeout(timeout):
            while True:
                found = [e for e in self.events if isinstance(e, kind)]
                if len(found) >= n:
                    return found
                self._changed.clear()
                await self._changed.wait()

    async def wait_wire(
        self, predicate: Callable[[list[str]], bool], timeout: float = 10.0
    ) -> None:
        """Wait until ``predicate(wire_labels())`` holds (e.g. the 200 to our BYE arrived)."""
        async with asyncio.timeout(timeout):
            while not predicate(self.wire_labels()):
                await asyncio.sleep(0.01)

    def of(self, kind: type) -> list[Any]:
        return [e for e in self.events if isinstance(e, kind)]

    def wire_labels(self, call_id: str | None = None) -> list[str]:
        """``"> INVITE"`` for what we sent, ``"< 200"`` for what we received, in order."""
        return [
            ("> " if r.direction == "out" else "< ") + wire_label(r.data)
            for r in self.wire
            if call_id in (None, call_id_of(r.data))
        ]

    def dump(self) -> str:
        """Every message on the wire, for assertion messages."""
        return "\n".join(
            f"--- {r.direction} {r.transport} {r.peer}\n{r.data.decode('utf-8', 'replace')}"
            for r in self.wire
        )

    def call_ids(self) -> list[str]:
        return list(dict.fromkeys(call_id_of(r.data) for r in self.wire if call_id_of(r.data)))

    # -- actions --------------------------------------------------------------
    async def call(self, target: str, *, talk: float = 0.1, timeout: float = 10.0) -> str:
        """INVITE ``target``, wait for the answer, talk a moment, BYE; returns the session id."""
        session = self.driver.command(self.endpoint.invite, target, sdp(self.port + 1000))
        outcome = await self.wait_for(
            lambda e: isinstance(e, ev.CallAnswered | ev.CallFailed) and e.session == session,
            timeout,
        )
        assert isinstance(outcome, ev.CallAnswered), (outcome, self.dump())
        await asyncio.sleep(talk)
        self.driver.command(self.endpoint.bye, session)
        await self.wait_for(lambda e: isinstance(e, ev.CallEnded) and e.session == session, timeout)
        return session

    async def close(self) -> None:
        await self.driver.close()
