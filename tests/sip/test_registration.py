"""REGISTER on the virtual clock: digest, refresh timing, back-off, 423, un-REGISTER."""

from __future__ import annotations

from typing import Any

import pytest

from firmware.sip.auth import Credentials
from firmware.sip.build import make_response
from firmware.sip.endpoint import Endpoint, EndpointConfig
from firmware.sip.events import Registered, RegistrationFailed, Unregistered
from firmware.sip.registration import backoff_delay, refresh_delay
from hal.clock import VirtualClock

from .helpers import MemoryNetwork, ScriptedPeer

pytestmark = [pytest.mark.timeout(30), pytest.mark.arm64]  # arm64: the emulated subset

REG = ("127.0.0.1", 5080)
UA = ("127.0.0.1", 5061)
CHALLENGE = 'Digest realm="piphone.test", nonce="n1", qop="auth", algorithm=MD5'


def test_refresh_and_backoff_formulas() -> None:
    assert refresh_delay(3600) == 3240.0
    assert refresh_delay(30) == 25.0
    assert refresh_delay(4) == 2.0
    assert [backoff_delay(n) for n in range(1, 9)] == [30, 60, 120, 240, 480, 960, 1800, 1800]


class Registrar:
    """Challenges every REGISTER without Authorization, then grants ``grant`` seconds."""

    def __init__(self, grant: int = 120, fail: int | None = None) -> None:
        self.grant = grant
        self.fail = fail

    def __call__(self, req: Any, peer: ScriptedPeer) -> list[Any]:
        if self.fail is not None:
            return [make_response(req, self.fail, to_tag="r")]
        if "Authorization" not in req.headers:
            return [make_response(req, 401, to_tag="r",
                                  headers=[("WWW-Authenticate", CHALLENGE)])]
        contact = req.headers.get("Contact")
        expires = int(req.headers.get("Expires"))
        granted = min(expires, self.grant)
        c = contact.split(";expires=")[0] + f";expires={granted}"
        return [make_response(req, 200, to_tag="r", headers=[("Contact", c)])]


def setup(handler: Any, **cfg: Any) -> tuple[VirtualClock, MemoryNetwork, Endpoint, ScriptedPeer]:
    clock = VirtualClock()
    net = MemoryNetwork(clock, delay=0.01)
    cfg.setdefault("credentials", (Credentials(username="5550001", password="secret"),))
    e = Endpoint(EndpointConfig(local_address=UA, user="5550001", **cfg))
    net.attach(UA, e)
    peer = ScriptedPeer(net, REG, handler)
    return clock, net, e, peer


def events(net: MemoryNetwork) -> list[Any]:
    evs = list(net.nodes[UA].events)
    net.nodes[UA].events.clear()
    return evs


def test_register_with_digest_then_refresh_at_granted_times() -> None:
    clock, net, e, peer = setup(Registrar(grant=120))
    rid = e.register("sip:127.0.0.1:5080", "sip:5550001@piphone.test", now=0.0, expires=3600)
    net.run(0.1)
    assert events(net) == [Registered(registration=rid, aor="sip:5550001@piphone.test",
                                      expires=120)]
    regs = peer.requests("REGISTER")
    assert len(regs) == 2
    first, second = regs[0][1], regs[1][1]
    assert second.cseq.seq == first.cseq.seq + 1 and second.call_id == first.call_id
    auth = second.headers.get("Authorization")
    assert 'username="5550001"' in auth and "nc=00000001" in auth and "secret" not in auth
    net.run(250)
    times = [round(t, 6) for t, _ in peer.requests("REGISTER")]
    # refreshes at min(0.9*120, 115) = 108 s after each success; the 200 arrives at 0.04
    # and the registrar (10 ms away) logs arrival times.
    assert times[2] == pytest.approx(0.04 + 108 + 0.01)
    assert times[3] == pytest.approx(times[2] + 0.02 + 108)
    # refreshes reuse the cached challenge: nc=2, no second 401
    assert "nc=00000002" in peer.requests("REGISTER")[2][1].headers.get("Authorization")


def test_register_failure_backs_off_exponentially() -> None:
    clock, net, e, peer = setup(Registrar(fail=503), register_retry_base=10,
                                register_retry_max=50)
    e.register("sip:127.0.0.1:5080", "sip:5550001@piphone.test", now=0.0)
    net.run(200)
    evs = events(net)
    assert all(isinstance(ev, RegistrationFailed) and ev.status == 503 for ev in evs)
    assert [ev.retry_in for ev in evs[:6]] == [10, 20, 40, 50, 50, 50]
    sends = [t for t, _ in peer.requests("REGISTER")]
    gaps = [round(b - a, 6) for a, b in zip(sends, sends[1:], strict=False)]
    assert gaps[:4] == [10.02, 20.02, 40.02, 50.02]


def test_register_timeout_is_a_failure() -> None:
    clock, net, e, peer = setup(lambda req, p: [])
    e.register("sip:127.0.0.1:5080", "sip:5550001@piphone.test", now=0.0)
    net.run(33)
    [ev] = events(net)
    assert isinstance(ev, RegistrationFailed) and ev.status == 408 and ev.retry_in == 30
    assert len(peer.requests("REGISTER")) == 11  # Timer E retransmissions until Timer F


def test_wrong_password_fails_with_reason() -> None:
    def always_challenge(req: Any, p: ScriptedPeer) -> list[Any]:
        return [make_response(req, 401, to_tag="r", headers=[("WWW-Authenticate", CHALLENGE)])]

    clock, net, e, peer = setup(always_challenge)
    e.register("sip:127.0.0.1:5080", "sip:5550001@piphone.test", now=0.0)
    net.run(1)
    [ev] = events(net)
    assert isinstance(ev, RegistrationFailed) and ev.status == 401
    assert "rejected" in ev.reason
    assert len(peer.requests("REGISTER")) == 2


def test_423_min_expires_is_honoured() -> None:
    def handler(req: Any, p: ScriptedPeer) -> list[Any]:
        if int(req.headers.get("Expires")) < 600:
            return [make_response(req, 423, to_tag="r", headers=[("Min-Expires", "600")])]
        return [make_response(req, 200, to_tag="r")]

    clock, net, e, peer = setup(handler)
    rid = e.register("sip:127.0.0.1:5080", "sip:5550001@piphone.test", now=0.0, expires=60)
    net.run(1)
    assert events(net) == [Registered(registration=rid, aor="sip:5550001@piphone.test",
                                      expires=600)]


def test_unregister_sends_expires_zero() -> None:
    clock, net, e, peer = setup(Registrar(grant=120))
    rid = e.register("sip:127.0.0.1:5080", "sip:5550001@piphone.test", now=0.0)
    net.run(1)
    events(net)
    e.unregister(now=clock.time())
    net.run(1)
    assert events(net) == [Unregistered(registration=rid, aor="sip:5550001@piphone.test")]
    last = peer.requests("REGISTER")[-1][1]
    assert last.headers.get("Expires") == "0" and ";expires=0" in last.headers.get("Contact")
    assert "Authorization" in last.headers
    net.run(500)
    assert len(peer.requests("REGISTER")) == 3 and not e.registrations


def test_two_lines_in_one_realm_each_answer_with_their_own_credentials() -> None:
    """Lines 1001 and 1002 share the registrar's realm: each REGISTER uses its line's
    username (before the fix the last credentials answered for every line)."""
    clock, net, e, peer = setup(Registrar(), credentials=(
        Credentials(username="1001", password="pw1", user="1001"),
        Credentials(username="a1002", password="pw2", user="1002"),
    ))
    e.register("sip:127.0.0.1:5080", "sip:1001@piphone.test", now=0.0)
    e.register("sip:127.0.0.1:5080", "sip:1002@piphone.test", now=0.0)
    net.run(0.1)
    assert [type(ev).__name__ for ev in events(net)] == ["Registered", "Registered"]
    users = {str(r.from_.uri.user): r.headers.get("Authorization")
             for _, r in peer.requests("REGISTER") if "Authorization" in r.headers}
    assert 'username="1001"' in users["1001"] and 'username="a1002"' in users["1002"]
