"""In-memory network for sans-IO SIP endpoints on a VirtualClock (PJSIP's loop transport idea).

``MemoryNetwork`` carries ``Outgoing`` datagrams between endpoints attached by
address, with an optional per-datagram drop rule and a fixed delay, and keeps
each endpoint's single timer armed on the clock the way the asyncio shell
does. ``EndpointPair`` wires two endpoints ("a" and "b") and collects their
events. Everything runs on virtual time, so 32 s of Timer B pass instantly.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from firmware.sip.endpoint import Endpoint, EndpointConfig
from firmware.sip.events import Address, Event, Outgoing
from firmware.sip.timers import TimerConfig
from hal.clock import VirtualClock

#: (index of datagram on the network, sender address, datagram) -> drop it?
DropRule = Callable[[int, Address, Outgoing], bool]


@dataclass
class Delivery:
    """One datagram seen on the network (delivered or dropped)."""

    time: float
    src: Address
    dest: Address
    data: bytes
    dropped: bool

    @property
    def first_line(self) -> str:
        return self.data.split(b"\r\n", 1)[0].decode("utf-8", "replace")


def drop_first(predicate: Callable[[str], bool], count: int = 1) -> DropRule:
    """Drop the first ``count`` datagrams whose first line satisfies ``predicate``."""
    left = [count]

    def rule(index: int, src: Address, out: Outgoing) -> bool:
        line = out.data.split(b"\r\n", 1)[0].decode("utf-8", "replace")
        if left[0] > 0 and predicate(line):
            left[0] -= 1
            return True
        return False

    return rule


@dataclass
class _Node:
    endpoint: Any
    events: list[Event] = field(default_factory=list)
    handle: Any = None
    armed_for: float | None = None


class MemoryNetwork:
    """Datagrams between endpoints by address, on a ``VirtualClock``."""

    def __init__(self, clock: VirtualClock, *, delay: float = 0.01,
                 drop: DropRule | None = None) -> None:
        self.clock = clock
        self.delay = delay
        self.drop: DropRule | None = drop
        self.nodes: dict[Address, _Node] = {}
        self.log: list[Delivery] = []
        self._count = 0

    def attach(self, address: Address, endpoint: Any) -> None:
        self.nodes[address] = _Node(endpoint)

    def inject(self, src: Address, dest: Address, data: bytes, transport: str = "udp") -> None:
        """Deliver raw bytes to ``dest`` now, as if sent by ``src`` (which need not be attached)."""
        self.log.append(Delivery(self.clock.time(), src, dest, data, False))
        node = self.nodes[dest]
        node.endpoint.receive_datagram(data, src, transport, self.clock.time())
        self.pump()

    def pump(self) -> None:
        """Flush every endpoint's output and events, and re-arm its timer."""
        busy = True
        while busy:
            busy = False
            for addr, node in self.nodes.items():
                for out in node.endpoint.datagrams_to_send():
                    busy = True
                    self._send(addr, out)
                while (ev := node.endpoint.next_event()) is not None:
                    node.events.append(ev)
                self._arm(node)

    def _send(self, src: Address, out: Outgoing) -> None:
        index = self._count
        self._count += 1
        dropped = bool(self.drop and self.drop(index, src, out))
        self.log.append(Delivery(self.clock.time(), src, out.dest, out.data, dropped))
        if dropped or out.dest not in self.nodes:
            return
        node = self.nodes[out.dest]

        def deliver() -> None:
            node.endpoint.receive_datagram(out.data, src, out.transport, self.clock.time())
            self.pump()

        self.clock.call_later(self.delay, deliver)

    def _arm(self, node: _Node) -> None:
        when = node.endpoint.get_timer()
        if when == node.armed_for:
            return
        if node.handle is not None:
            node.handle.cancel()
        node.armed_for = when
        node.handle = None
        if when is None:
            return

        def fire() -> None:
            node.armed_for = None
            node.handle = None
            node.endpoint.handle_timer(self.clock.time())
            self.pump()

        node.handle = self.clock.call_at(when, fire)

    def run(self, seconds: float) -> None:
        self.pump()
        self.clock.advance(seconds)

    def lines(self, src: Address | None = None, *, delivered_only: bool = False) -> list[str]:
        return [
            d.first_line for d in self.log
            if (src is None or d.src == src) and not (delivered_only and d.dropped)
        ]


A_ADDR: Address = ("127.0.0.1", 5061)
B_ADDR: Address = ("127.0.0.1", 5062)


class EndpointPair:
    """Two endpoints, 'a' (alice) and 'b' (bob), on one MemoryNetwork."""

    def __init__(self, clock: VirtualClock | None = None, *, timers: TimerConfig | None = None,
                 delay: float = 0.01, drop: DropRule | None = None, **config: Any) -> None:
        self.clock = clock or VirtualClock()
        self.net = MemoryNetwork(self.clock, delay=delay, drop=drop)
        timers = timers or TimerConfig()
        self.a = Endpoint(EndpointConfig(local_address=A_ADDR, user="alice", timers=timers,
                                         **config))
        self.b = Endpoint(EndpointConfig(local_address=B_ADDR, user="bob", timers=timers,
                                         **config))
        self.net.attach(A_ADDR, self.a)
        self.net.attach(B_ADDR, self.b)

    @property
    def now(self) -> float:
        return self.clock.time()

    @property
    def b_uri(self) -> str:
        return f"sip:bob@{B_ADDR[0]}:{B_ADDR[1]}"

    @property
    def a_uri(self) -> str:
        return f"sip:alice@{A_ADDR[0]}:{A_ADDR[1]}"

    def events(self, who: str) -> list[Event]:
        return self.net.nodes[A_ADDR if who == "a" else B_ADDR].events

    def take(self, who: str) -> list[Event]:
        evs = list(self.events(who))
        self.events(who).clear()
        return evs

    def run(self, seconds: float = 1.0) -> None:
        self.net.run(seconds)


class ScriptedPeer:
    """A peer whose answers a test scripts: ``handler(request, peer) -> list[Response]``.

    Used for what a second ``Endpoint`` would never do (challenge with 401/407,
    act as a registrar, answer 3xx). It speaks on the same ``MemoryNetwork``.
    """

    def __init__(self, net: MemoryNetwork, address: Address,
                 handler: Callable[[Any, ScriptedPeer], list[Any]]) -> None:
        self.net = net
        self.address = address
        self.handler = handler
        self.received: list[tuple[float, Any]] = []
        self._out: list[Outgoing] = []
        net.attach(address, self)

    def receive_datagram(self, data: bytes, source: Address, transport: str, now: float) -> None:
        from firmware.sip.message import parse_message

        msg = parse_message(data)
        self.received.append((now, msg))
        for reply in self.handler(msg, self) or []:
            self._out.append(Outgoing(data=bytes(reply), dest=source, transport=transport))

    def send(self, data: bytes, dest: Address) -> None:
        self._out.append(Outgoing(data=data, dest=dest))
        self.net.pump()

    def datagrams_to_send(self) -> list[Outgoing]:
        out, self._out = self._out, []
        return out

    def next_event(self) -> None:
        return None

    def get_timer(self) -> None:
        return None

    def handle_timer(self, now: float) -> None:
        return None

    def requests(self, method: str | None = None) -> list[tuple[float, Any]]:
        from firmware.sip.message import Request

        return [(t, m) for t, m in self.received
                if isinstance(m, Request) and (method is None or m.method == method)]
