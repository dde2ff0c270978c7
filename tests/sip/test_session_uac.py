"""UAC corner cases against a scripted peer: 407 auth retry, 3xx contacts, forked 2xx, late 2xx."""

from __future__ import annotations

from typing import Any

import pytest

from firmware.sip.auth import Credentials
from firmware.sip.build import make_response
from firmware.sip.endpoint import Endpoint, EndpointConfig
from firmware.sip.events import CallAnswered, CallFailed, CallProgress
from firmware.sip.message import Request
from hal.clock import VirtualClock

from .helpers import MemoryNetwork, ScriptedPeer

pytestmark = [pytest.mark.timeout(30), pytest.mark.arm64]  # arm64: the emulated subset

UA = ("127.0.0.1", 5061)
PEER = ("127.0.0.1", 5090)
TARGET = "sip:bob@127.0.0.1:5090"


def setup(handler: Any) -> tuple[MemoryNetwork, Endpoint, ScriptedPeer]:
    net = MemoryNetwork(VirtualClock(), delay=0.01)
    e = Endpoint(EndpointConfig(local_address=UA, user="alice",
                                credentials=(Credentials(username="alice", password="pw",
                                                         realm="proxy.test"),)))
    net.attach(UA, e)
    return net, e, ScriptedPeer(net, PEER, handler)


def evs(net: MemoryNetwork) -> list[Any]:
    out = list(net.nodes[UA].events)
    net.nodes[UA].events.clear()
    return out


def test_407_then_invite_with_proxy_authorization_and_cseq_plus_one() -> None:
    def proxy(req: Request, p: ScriptedPeer) -> list[Any]:
        if req.method == "ACK":
            return []
        if "Proxy-Authorization" not in req.headers:
            return [make_response(req, 407, to_tag="x", headers=[
                ("Proxy-Authenticate", 'Digest realm="proxy.test", nonce="abc", qop="auth"')])]
        return [make_response(req, 200, to_tag="y",
                              headers=[("Contact", "<sip:bob@127.0.0.1:5090>")])]

    net, e, peer = setup(proxy)
    sid = e.invite(TARGET, b"v=0\r\n", now=0.0)
    net.run(1)
    assert evs(net) == [CallAnswered(session=sid, status=200, sdp=None)]
    invites = [m for _, m in peer.requests("INVITE")]
    assert len(invites) == 2
    a, b = invites
    assert b.cseq.seq == a.cseq.seq + 1 and b.call_id == a.call_id
    assert b.from_.tag == a.from_.tag and b.top_via.branch != a.top_via.branch
    assert 'realm="proxy.test"' in b.headers.get("Proxy-Authorization")
    acks = [m for _, m in peer.requests("ACK")]
    assert [x.cseq.seq for x in acks] == [a.cseq.seq, b.cseq.seq]  # 407 ACK (tx), 2xx ACK (core)
    assert acks[0].top_via.branch == a.top_via.branch and acks[1].top_via.branch != b.top_via.branch
    # §13.2.2.4: the 2xx ACK repeats the INVITE's credentials
    assert acks[1].headers.get("Proxy-Authorization") == b.headers.get("Proxy-Authorization")


def test_auth_for_unknown_realm_fails_with_reason() -> None:
    def proxy(req: Request, p: ScriptedPeer) -> list[Any]:
        if req.method == "ACK":
            return []
        return [make_response(req, 401, to_tag="x", headers=[
            ("WWW-Authenticate", 'Digest realm="elsewhere", nonce="abc"')])]

    net, e, peer = setup(proxy)
    sid = e.invite(TARGET, None, now=0.0)
    net.run(1)
    [ev] = evs(net)
    assert ev == CallFailed(session=sid, status=401,
                            reason="Unauthorized (no credentials for realm 'elsewhere')")


def test_3xx_contacts_reported_best_q_first() -> None:
    def redirect(req: Request, p: ScriptedPeer) -> list[Any]:
        if req.method == "ACK":
            return []
        return [make_response(req, 302, to_tag="x", headers=[
            ("Contact", "<sip:low@10.0.0.1>;q=0.1, <sip:high@10.0.0.2>;q=0.9"),
            ("Contact", "<sip:mid@10.0.0.3>;q=0.5")])]

    net, e, peer = setup(redirect)
    sid = e.invite(TARGET, None, now=0.0)
    net.run(1)
    assert evs(net) == [CallFailed(session=sid, status=302, reason="Moved Temporarily",
                                   contacts=("sip:high@10.0.0.2", "sip:mid@10.0.0.3",
                                             "sip:low@10.0.0.1"))]


def test_second_fork_2xx_is_acked_and_byed() -> None:
    def forking(req: Request, p: ScriptedPeer) -> list[Any]:
        if req.method != "INVITE":
            return [make_response(req, 200)] if req.method == "BYE" else []
        c = [("Contact", "<sip:bob@127.0.0.1:5090>")]
        return [make_response(req, 200, to_tag="fork1", headers=c),
                make_response(req, 200, to_tag="fork2", headers=c)]

    net, e, peer = setup(forking)
    sid = e.invite(TARGET, None, now=0.0)
    net.run(1)
    assert evs(net) == [CallAnswered(session=sid, status=200, sdp=None)]
    assert [m.to.tag for _, m in peer.requests("ACK")] == ["fork1", "fork2"]
    assert [m.to.tag for _, m in peer.requests("BYE")] == ["fork2"]


def test_2xx_retransmission_is_reacked_by_the_core() -> None:
    sent_ok: list[Any] = []

    def uas(req: Request, p: ScriptedPeer) -> list[Any]:
        if req.method != "INVITE":
            return []
        ok = make_response(req, 200, to_tag="t", headers=[("Contact", "<sip:bob@127.0.0.1:5090>")])
        sent_ok.append(ok)
        return [ok]

    net, e, peer = setup(uas)
    e.invite(TARGET, None, now=0.0)
    net.run(1)
    peer.send(bytes(sent_ok[0]), UA)  # the UAS retransmits its 200 (our ACK "was lost")
    net.run(1)
    net.run(40)  # after Timer M the transaction is gone; the core still re-ACKs
    peer.send(bytes(sent_ok[0]), UA)
    net.run(1)
    acks = [m for _, m in peer.requests("ACK")]
    assert len(acks) == 3 and len({bytes(a) for a in acks}) == 1


def test_ringing_too_long_is_cancelled_and_cancel_without_answer_gives_up() -> None:
    """A UAS that rings for ever, then ignores CANCEL: CANCEL at 300 s, give up 64*T1 later."""
    def silent_ringer(req: Request, p: ScriptedPeer) -> list[Any]:
        if req.method == "INVITE":
            return [make_response(req, 180, to_tag="r")]
        return []  # CANCEL unanswered, INVITE never finished

    net, e, peer = setup(silent_ringer)
    sid = e.invite(TARGET, None, now=0.0)
    net.run(400)
    [cancel_t] = [t for t, _ in peer.requests("CANCEL")][:1]
    assert cancel_t == pytest.approx(0.02 + 300 + 0.01)  # 180 arrived at 0.02
    evs_ = evs(net)
    assert [type(x) for x in evs_] == [CallProgress, CallFailed]
    assert evs_[-1] == CallFailed(session=sid, status=487, reason="Request Terminated")
    assert len(e.layer) == 0 and e.get_timer() is None and not e.sessions


def test_in_dialog_requests_answer_407_with_credentials() -> None:
    """INFO, re-INVITE and BYE challenged by a proxy whose nonces live for one request:
    the first is answered after a 407, the later ones go pre-emptively with the cached
    (now stale) nonce, get 407 stale=true and are resent with the fresh one (§22.2)."""
    from firmware.sip.events import ReInviteAnswered, RequestAnswered

    def proxy_uas(req: Request, p: ScriptedPeer) -> list[Any]:
        c = [("Contact", "<sip:bob@127.0.0.1:5090>")]
        if req.method == "ACK":
            return []
        if req.method == "INVITE" and req.to.tag is None:
            return [make_response(req, 200, to_tag="t", headers=c)]
        auth = req.headers.get("Proxy-Authorization") or ""
        if f'nonce="n{req.cseq.seq - 1}"' not in auth:
            stale = ", stale=true" if auth else ""
            return [make_response(req, 407, headers=[(
                "Proxy-Authenticate", f'Digest realm="proxy.test", nonce="n{req.cseq.seq}"{stale}',
            )])]
        return [make_response(req, 200, headers=c)]

    net, e, peer = setup(proxy_uas)
    sid = e.invite(TARGET, b"v=0\r\n", now=0.0)
    net.run(1)
    rid = e.send_in_dialog(sid, "INFO", now=1.0)
    net.run(1)
    e.reinvite(sid, b"v=0\r\n", now=2.0)
    net.run(1)
    e.bye(sid, now=3.0)
    net.run(1)
    got = evs(net)
    assert RequestAnswered(request_id=rid, session=sid, method="INFO", status=200,
                           reason="OK") in got
    assert ReInviteAnswered(session=sid, sdp=None) in got
    sent = [(m.method, "Proxy-Authorization" in m.headers) for _, m in peer.received
            if isinstance(m, Request) and m.method != "ACK"]
    assert sent == [("INVITE", False), ("INFO", False), ("INFO", True), ("INVITE", True),
                    ("INVITE", True), ("BYE", True), ("BYE", True)]
    cseqs = [m.cseq.seq for _, m in peer.received if isinstance(m, Request)
             and m.method != "ACK"]
    assert cseqs == sorted(cseqs) and len(set(cseqs)) == len(cseqs)
