"""Phones over real sans-IO SIP endpoints on the in-memory network (tests/sip/helpers.py).

``Handset`` sits on the ``MemoryNetwork`` where an endpoint would: datagrams go
to its ``Endpoint``, every endpoint event goes straight to its ``Phone``, and
its timer is the earlier of the two cores' deadlines. Media commands are
recorded, not run (``actions``). ``flow()`` turns the network log into the
seed's step tables: (from, to, "INVITE" | "180 Ringing" | ...).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sip.helpers import MemoryNetwork

from firmware.demo.match import FigureSpec, compare, trying
from firmware.media.sdp import LocalMedia, build_answer, parse_sdp
from firmware.phone.actions import Action
from firmware.phone.phone import Phone
from firmware.phone.settings import LineSettings, PhoneSettings
from firmware.sip.endpoint import Endpoint, EndpointConfig
from firmware.sip.events import Address
from firmware.sip.message import parse_message
from firmware.sip.timers import TimerConfig
from hal.base import HookEvent
from hal.clock import VirtualClock


class Handset:
    """One phone (``Phone`` + ``Endpoint``) attached to a ``MemoryNetwork``."""

    def __init__(self, name: str, net: MemoryNetwork, address: Address, number: str, *,
                 display: str | None = None, credentials: tuple[Any, ...] = (),
                 outbound_proxy: Address | None = None, **settings: Any) -> None:
        self.name, self.net, self.address, self.number = name, net, address, number
        host = f"{address[0]}:{address[1]}"
        settings.setdefault("lines", (LineSettings(number=number, display_name=display or "",
                                                   domain=host),))
        settings.setdefault("media_address", address[0])
        self.settings = PhoneSettings(**settings)
        self.endpoint = Endpoint(EndpointConfig(local_address=address, user=number,
                                                display_name=display, timers=TimerConfig(),
                                                credentials=credentials,
                                                outbound_proxy=outbound_proxy))
        self.phone = Phone(self.settings, self.endpoint)
        self.actions: list[Action] = []
        self.events: list[Any] = []
        net.attach(address, self)

    @property
    def uri(self) -> str:
        return f"sip:{self.number}@{self.address[0]}:{self.address[1]}"

    @property
    def now(self) -> float:
        return self.net.clock.time()

    # -- what MemoryNetwork calls -----------------------------------------
    def receive_datagram(self, data: bytes, source: Address, transport: str, now: float) -> None:
        self.endpoint.receive_datagram(data, source, transport, now)
        self._settle(now)

    def datagrams_to_send(self) -> list[Any]:
        self._settle(self.now)
        return self.endpoint.datagrams_to_send()

    def next_event(self) -> None:
        return None

    def get_timer(self) -> float | None:
        timers = [t for t in (self.endpoint.get_timer(), self.phone.get_timer()) if t is not None]
        return min(timers) if timers else None

    def handle_timer(self, now: float) -> None:
        t = self.endpoint.get_timer()
        if t is not None and t <= now:
            self.endpoint.handle_timer(now)
        t = self.phone.get_timer()
        if t is not None and t <= now:
            self.phone.handle_timer(now)
        self._settle(now)

    def _settle(self, now: float) -> None:
        while (event := self.endpoint.next_event()) is not None:
            self.events.append(event)
            self.phone.receive_sip_event(event, now)
        while (action := self.phone.next_action()) is not None:
            self.actions.append(action)

    # -- the user ---------------------------------------------------------
    def do(self, verb: str, *args: Any) -> Any:
        """Call a Phone verb now (``do("press_softkey", "hold")``), then let the network run."""
        result = getattr(self.phone, verb)(*args, self.now)
        self._settle(self.now)
        self.net.pump()
        return result

    def lift(self) -> None:
        self.do("receive_input", HookEvent(off_hook=True, at=self.now))

    def hang_up(self) -> None:
        self.do("receive_input", HookEvent(off_hook=False, at=self.now))

    def states(self) -> list[str]:
        return [str(c.state) for c in self.phone.calls()]

    def of(self, kind: type) -> list[Any]:
        return [a for a in self.actions if isinstance(a, kind)]


class Rig:
    """Two or three handsets (and any extra nodes) on one network and virtual clock."""

    def __init__(self, **per_phone: dict[str, Any]) -> None:
        self.clock = VirtualClock()
        self.net = MemoryNetwork(self.clock, delay=0.005)
        self.phones: dict[str, Handset] = {}
        for i, (name, kw) in enumerate(per_phone.items()):
            kw = dict(kw)
            number = kw.pop("number", f"555000{i + 1}")
            self.phones[name] = Handset(name, self.net, ("127.0.0.1", 5061 + i), number, **kw)
        self.names = {h.address: name for name, h in self.phones.items()}

    def __getitem__(self, name: str) -> Handset:
        return self.phones[name]

    def run(self, seconds: float = 1.0) -> None:
        self.net.run(seconds)

    def name_node(self, address: Address, name: str) -> None:
        self.names[address] = name

    def flow(self, *, since: int = 0, retransmissions: bool = False) -> list[tuple[str, str, str]]:
        """The SIP messages on the wire as (from, to, label); retransmissions folded."""
        out: list[tuple[str, str, str]] = []
        seen: set[bytes] = set()
        for d in self.net.log[since:]:
            if d.dropped:
                continue
            if not retransmissions:
                if d.data in seen:
                    continue
                seen.add(d.data)
            msg = parse_message(d.data)
            label = (msg.method if hasattr(msg, "method") else f"{msg.status} {msg.reason}")
            out.append((self.names.get(d.src, str(d.src)), self.names.get(d.dest, str(d.dest)),
                        label))
        return out

    def messages(self, label: str, src: str | None = None) -> list[Any]:
        """Parsed messages whose label (method, or 'status reason') starts with ``label``."""
        found = []
        for d in self.net.log:
            if d.dropped or (src is not None and self.names.get(d.src) != src):
                continue
            msg = parse_message(d.data)
            text = msg.method if hasattr(msg, "method") else f"{msg.status} {msg.reason}"
            if text.startswith(label):
                found.append(msg)
        return found

    @property
    def mark(self) -> int:
        return len(self.net.log)


def answer_for(offer: bytes | None) -> bytes | None:
    """What a plain gateway answers to an SDP offer (PCMU/PCMA at 127.0.0.1:30000)."""
    if not offer:
        return None
    result = build_answer(parse_sdp(offer), LocalMedia(address="127.0.0.1", rtp_port=30000),
                          session_id=9, version=9)
    return result.sdp.to_bytes() if hasattr(result, "sdp") else None


def assert_steps(actual: Iterable[tuple[str, str, str]], expected: list[tuple[str, str, str]],
                 *, after: tuple[tuple[str, str, str], ...] = (),
                 floats: dict[int, tuple[int, int]] | None = None) -> None:
    """``actual`` (the flow between ``expected``'s parties, retransmissions folded by
    ``Rig.flow``) is ``expected`` then ``after``, in order, under the strict rule of
    ``firmware.demo.match``: the only message allowed between steps is the 100 Trying
    an INVITE may get (the endpoint sends it when the phone has not answered within
    200 ms, RFC 3261 §17.2.1); labels compare by status code or method.
    """
    actual = list(actual)
    expected = [step for step in expected if step[2] != "100"]  # allowed, never required
    invites = {(s, d) for s, d, label in [*expected, *after] if label == "INVITE"}
    spec = FigureSpec(steps=tuple(expected), after=after, extras=trying(*invites),
                      floats=floats or {})
    diff = compare(actual, spec)
    if diff is not None:
        raise AssertionError(f"{diff}; wire was:\n"
                             + "\n".join(f"  {a} -> {b}: {m}" for a, b, m in actual))


class Server:
    """A plain endpoint playing a gateway or a redirect server, driven by the test.

    ``on_invite`` (session, IncomingCall) -> None runs for every new INVITE.
    """

    def __init__(self, name: str, rig: Rig, address: Address, *, user: str = "gw",
                 display: str | None = None, on_invite: Any = None) -> None:
        self.name, self.rig, self.address, self.user = name, rig, address, user
        self.endpoint = Endpoint(EndpointConfig(local_address=address, user=user,
                                                display_name=display, timers=TimerConfig()))
        self.on_invite = on_invite
        #: status to answer in-dialog requests with, by method (default 200)
        self.refuse: dict[str, int] = {}
        self.events: list[Any] = []
        rig.net.attach(address, self)
        rig.name_node(address, name)

    @property
    def uri(self) -> str:
        return f"sip:{self.user}@{self.address[0]}:{self.address[1]}"

    def receive_datagram(self, data: bytes, source: Address, transport: str, now: float) -> None:
        self.endpoint.receive_datagram(data, source, transport, now)
        self._settle(now)

    def datagrams_to_send(self) -> list[Any]:
        self._settle(self.rig.clock.time())
        return self.endpoint.datagrams_to_send()

    def next_event(self) -> None:
        return None

    def get_timer(self) -> float | None:
        return self.endpoint.get_timer()

    def handle_timer(self, now: float) -> None:
        self.endpoint.handle_timer(now)
        self._settle(now)

    def _settle(self, now: float) -> None:
        while (event := self.endpoint.next_event()) is not None:
            self.events.append(event)
            kind = type(event).__name__
            if kind == "IncomingCall" and self.on_invite is not None:
                self.on_invite(self, event, now)
            elif kind == "ReInviteReceived":  # a gateway accepts hold and resume
                self.endpoint.answer(event.session, answer_for(event.sdp), now=now)
            elif kind in ("InDialogRequest", "OutOfDialogRequest"):
                status = self.refuse.get(event.method, 200)
                self.endpoint.respond(event.request_id, status, now=now)

    def do(self, verb: str, *args: Any, **kw: Any) -> Any:
        result = getattr(self.endpoint, verb)(*args, now=self.rig.clock.time(), **kw)
        self.rig.net.pump()
        return result

    def last(self, kind: str) -> Any:
        return next(e for e in reversed(self.events) if type(e).__name__ == kind)
