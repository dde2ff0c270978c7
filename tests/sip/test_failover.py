"""The core's half of RFC 3263 §4.3: a request that timed out or drew 503 waits for the
shell's word (``Endpoint.fail_over``) and is then sent again as a new transaction;
without that word it fails as before. (The shell's half, choosing the next
server, is ``firmware.net.router``; with real servers: tests/net/test_net_invite_failover.py.)"""

from __future__ import annotations

from typing import Any

import pytest

from firmware.sip.build import make_response
from firmware.sip.endpoint import Endpoint, EndpointConfig
from firmware.sip.events import CallAnswered, CallFailed, RequestAnswered, TargetFailed
from firmware.sip.message import Request
from firmware.sip.session_base import FAILOVER_WAIT
from hal.clock import VirtualClock

from .helpers import MemoryNetwork, ScriptedPeer

pytestmark = [pytest.mark.timeout(30)]

UA = ("127.0.0.1", 5061)
PROXY = ("127.0.0.1", 5090)
TARGET = "sip:bob@127.0.0.1:5090"


class Shell:
    """The endpoint as the app's shell drives it: on ``TargetFailed`` it says "there is
    another server" (``fail_over``) when ``has_next`` is True."""

    def __init__(self, endpoint: Endpoint, clock: VirtualClock, has_next: bool) -> None:
        self.endpoint = endpoint
        self.clock = clock
        self.has_next = has_next

    def next_event(self) -> Any:
        ev = self.endpoint.next_event()
        if isinstance(ev, TargetFailed) and self.has_next:
            self.endpoint.fail_over(ev.dest, now=self.clock.time())
        return ev

    def __getattr__(self, name: str) -> Any:
        return getattr(self.endpoint, name)


def setup(first_status: int, *, has_next: bool = True, retries: int = 2
          ) -> tuple[MemoryNetwork, Endpoint, ScriptedPeer]:
    """The proxy answers the first request of each method ``first_status`` (0: not at
    all), then 200."""
    clock = VirtualClock()
    net = MemoryNetwork(clock, delay=0.01)
    e = Endpoint(EndpointConfig(local_address=UA, user="alice", failover_retries=retries))
    net.attach(UA, Shell(e, clock, has_next))
    seen: dict[str, set[str]] = {}

    def proxy(req: Request, p: ScriptedPeer) -> list[Any]:
        if req.method == "ACK":
            return []
        branches = seen.setdefault(req.method, set())
        branches.add(req.top_via.branch or "")
        if len(branches) == 1:
            return [make_response(req, first_status, to_tag="t1")] if first_status else []
        return [make_response(req, 200, to_tag="t2",
                              headers=[("Contact", "<sip:bob@127.0.0.1:5090>")])]

    return net, e, ScriptedPeer(net, PROXY, proxy)


def events(net: MemoryNetwork, kind: type) -> list[Any]:
    return [ev for ev in net.nodes[UA].events if isinstance(ev, kind)]


@pytest.mark.parametrize("first_status", [503, 0])
def test_invite_sent_again_after_503_or_timeout(first_status: int) -> None:
    net, e, peer = setup(first_status)
    sid = e.invite(TARGET, b"v=0\r\n", now=0.0)
    net.run(40)  # Timer B (32 s) for the silent case
    assert events(net, CallFailed) == []
    assert events(net, CallAnswered) == [CallAnswered(session=sid, status=200, sdp=None)]
    invites = [m for _, m in peer.requests("INVITE")]
    first, again = invites[0], invites[-1]
    assert again.cseq.seq == first.cseq.seq + 1 and again.call_id == first.call_id
    assert again.from_.tag == first.from_.tag and again.top_via.branch != first.top_via.branch
    assert events(net, TargetFailed)[0].status == (first_status or 408)


def test_without_another_server_the_call_fails_as_before() -> None:
    net, e, peer = setup(503, has_next=False)
    sid = e.invite(TARGET, b"v=0\r\n", now=0.0)
    net.run(1)
    assert events(net, CallFailed) == [CallFailed(session=sid, status=503,
                                                  reason="Service Unavailable")]
    assert len(peer.requests("INVITE")) == 1
    assert FAILOVER_WAIT < 1


def test_no_failover_configured_fails_at_once_and_tells_no_shell() -> None:
    net, e, peer = setup(503, retries=0)
    sid = e.invite(TARGET, b"v=0\r\n", now=0.0)
    net.run(0.03)  # the 503's round trip, well before FAILOVER_WAIT
    assert events(net, CallFailed) == [CallFailed(session=sid, status=503,
                                                  reason="Service Unavailable")]
    assert events(net, TargetFailed) == []


def test_hanging_up_between_servers_ends_the_call() -> None:
    net, e, peer = setup(503, has_next=False)
    sid = e.invite(TARGET, b"v=0\r\n", now=0.0)
    net.run(0.03)  # the 503 arrived; the call waits for the shell's word
    assert events(net, CallFailed) == []
    e.hangup(sid, now=net.clock.time())
    net.run(1)
    assert events(net, CallFailed) == [CallFailed(session=sid, status=487,
                                                  reason="Request Terminated")]
    assert len(peer.requests("INVITE")) == 1 and peer.requests("CANCEL") == []


@pytest.mark.parametrize("first_status", [503, 0])
def test_out_of_dialog_request_sent_again(first_status: int) -> None:
    net, e, peer = setup(first_status)
    rid = e.send_request("MESSAGE", TARGET, now=0.0, body=b"hi", content_type="text/plain")
    net.run(40)
    answered = events(net, RequestAnswered)
    assert [(a.request_id, a.status) for a in answered] == [(rid, 200)]
    sent = [m for _, m in peer.requests("MESSAGE")]
    assert sent[-1].cseq.seq == sent[0].cseq.seq + 1
    assert sent[-1].top_via.branch != sent[0].top_via.branch and sent[-1].body == b"hi"
    assert e._ood.failovers == {} and e._ood.parked == {}


def test_out_of_dialog_request_without_another_server_gets_its_answer() -> None:
    net, e, peer = setup(503, has_next=False)
    rid = e.send_request("OPTIONS", TARGET, now=0.0)
    net.run(1)
    answered = events(net, RequestAnswered)
    assert [(a.request_id, a.status) for a in answered] == [(rid, 503)]
    assert answered[0].response is not None


def test_a_503_after_a_provisional_is_the_far_ends_and_no_failover() -> None:
    """A proxy that took the INVITE (180) and then relays the callee's 503 has not failed:
    the call fails with the 503 at once, the shell hears of no failed server."""
    clock = VirtualClock()
    net = MemoryNetwork(clock, delay=0.01)
    e = Endpoint(EndpointConfig(local_address=UA, user="alice", failover_retries=2))
    net.attach(UA, Shell(e, clock, True))

    def proxy(req: Request, p: ScriptedPeer) -> list[Any]:
        if req.method == "ACK":
            return []
        return [make_response(req, 180, to_tag="t1"), make_response(req, 503, to_tag="t1")]

    peer = ScriptedPeer(net, PROXY, proxy)
    sid = e.invite(TARGET, b"v=0\r\n", now=0.0)
    net.run(0.03)  # well before FAILOVER_WAIT
    assert events(net, CallFailed) == [CallFailed(session=sid, status=503,
                                                  reason="Service Unavailable")]
    assert events(net, TargetFailed) == [] and len(peer.requests("INVITE")) == 1
