"""Digest-authenticated registration against Kamailio (RFC 3261 §10, §22; RFC 7616).

Our stack REGISTERs, is challenged with 401, answers with credentials, and
sees its binding in the 200's Contact; it refreshes before expiry and
un-REGISTERs (Expires: 0) at the end, after which Kamailio lists no binding.
A wrong password ends in RegistrationFailed, never in a loop of attempts.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from interop_ua import InteropUA, call_id_of, wire_label, without_trying_labels
from peers import Kamailio

from firmware.sip import events as ev
from firmware.sip.auth import Credentials

pytestmark = pytest.mark.interop

USER, PASSWORD = "1001", "s3cret-1001"


def contact_values(data: bytes) -> list[str]:
    return re.findall(rb"^(?:Contact|m)[ \t]*:[ \t]*([^\r\n]*)", data, re.I | re.M)  # type: ignore[return-value]


@pytest.mark.parametrize("transport", ["udp", "tcp"])
async def test_register_refresh_unregister(tmp_path: Path, transport: str) -> None:
    with Kamailio(tmp_path, users={USER: PASSWORD}, min_expires=2) as kam:
        ua = await InteropUA.start(
            user=USER, transport=transport, domain=kam.domain,
            credentials=(Credentials(username=USER, password=PASSWORD),),
        )  # fmt: skip
        try:
            registrar = f"sip:{kam.domain};transport={transport}"
            aor = f"sip:{USER}@{kam.domain}"
            ua.driver.command(ua.endpoint.register, registrar, aor, expires=6)
            first = await ua.wait_for(
                lambda e: isinstance(e, ev.Registered | ev.RegistrationFailed)
            )
            assert isinstance(first, ev.Registered), first
            assert first.expires == 6
            # refreshed before expiry: min(0.9 * 6, 6 - 5) = 1 s later
            await ua.wait_count(ev.Registered, 2, timeout=10)
            ua.driver.command(ua.endpoint.unregister, first.registration)
            await ua.wait_for(lambda e: isinstance(e, ev.Unregistered))
        finally:
            await ua.close()
        log = kam.log_text()

    register_wire = [r for r in ua.wire if call_id_of(r.data) == call_id_of(ua.wire[0].data)]
    labels = [("> " if r.direction == "out" else "< ") + wire_label(r.data) for r in register_wire]
    assert labels[:4] == ["> REGISTER", "< 401", "> REGISTER", "< 200"], labels
    challenged, answered, ok = register_wire[1].data, register_wire[2].data, register_wire[3].data
    assert b"WWW-Authenticate: Digest" in challenged
    assert re.search(rb"^Authorization: Digest .*username=\"1001\"", answered, re.M)
    assert PASSWORD.encode() not in answered
    ours = f"{ua.address[0]}:{ua.address[1]}".encode()
    assert any(ours in c for c in contact_values(ok)), contact_values(ok)  # the binding

    # every later REGISTER (refreshes, then the un-REGISTER) was accepted
    assert labels[-2:] == ["> REGISTER", "< 200"]
    assert labels.count("< 200") >= 3
    last_request, last_ok = register_wire[-2].data, register_wire[-1].data
    assert re.search(rb"^Expires:[ \t]*0\r$", last_request, re.M) or b"expires=0" in last_request
    assert not any(ours in c for c in contact_values(last_ok))  # binding gone
    assert {r.transport for r in register_wire} == {transport}
    assert f"proto={transport}" in log


async def test_wrong_password_fails_cleanly(tmp_path: Path) -> None:
    with Kamailio(tmp_path, users={USER: PASSWORD}) as kam:
        ua = await InteropUA.start(
            user=USER, domain=kam.domain,
            credentials=(Credentials(username=USER, password="wrong"),),
        )  # fmt: skip
        try:
            ua.driver.command(
                ua.endpoint.register, f"sip:{kam.domain}", f"sip:{USER}@{kam.domain}", expires=60
            )
            failed = await ua.wait_for(
                lambda e: isinstance(e, ev.RegistrationFailed | ev.Registered)
            )
        finally:
            await ua.close()
    assert isinstance(failed, ev.RegistrationFailed)
    assert failed.status in (401, 403)
    sent = [r for r in ua.wire if r.direction == "out"]
    assert 1 < len(sent) <= 3  # one try with credentials, no tight retry loop


async def test_call_through_kamailio_with_407_and_record_route(tmp_path: Path) -> None:
    """1001 calls 1002 through the proxy: INVITE challenged (407), relayed, BYE via Record-Route."""
    users = {"1001": "pw-1001", "1002": "pw-1002"}
    with Kamailio(tmp_path, users=users) as kam:
        uas: list[InteropUA] = []
        try:
            for user in ("1001", "1002"):
                ua = await InteropUA.start(
                    user=user, domain=kam.host, outbound_proxy=kam.address,
                    credentials=(Credentials(username=user, password=users[user]),),
                    auto_answer=user == "1002",
                )  # fmt: skip
                uas.append(ua)
                ua.driver.command(
                    ua.endpoint.register, f"sip:{kam.domain}", f"sip:{user}@{kam.domain}",
                    expires=60,
                )  # fmt: skip
                reg = await ua.wait_for(
                    lambda e: isinstance(e, ev.Registered | ev.RegistrationFailed)
                )
                assert isinstance(reg, ev.Registered), reg
            caller, callee = uas
            session = await caller.call(f"sip:1002@{kam.domain}")
            await callee.wait_for(lambda e: isinstance(e, ev.CallEnded))
            await caller.wait_for(lambda e: isinstance(e, ev.CallEnded) and e.session == session)
            await caller.wait_wire(lambda labels: labels[-1:] == ["< 200"])
        finally:
            for ua in uas:
                await ua.close()

    invite_call = next(call_id_of(r.data) for r in caller.wire if wire_label(r.data) == "INVITE")
    labels = without_trying_labels(caller.wire_labels(invite_call))
    # The callee sends 180 and 200 back to back; Kamailio relays them from
    # different worker processes, so the 180 may be overtaken by the 200 and
    # dropped or arrive late (provisional responses are not reliable): the
    # sequence is checked without it, and it may appear at most once.
    assert labels.count("< 180") <= 1, labels
    assert [label for label in labels if label != "< 180"] == [
        "> INVITE", "< 407", "> ACK", "> INVITE", "< 200", "> ACK", "> BYE", "< 200",
    ]  # fmt: skip
    sent = [
        r.data for r in caller.wire if call_id_of(r.data) == invite_call and r.direction == "out"
    ]
    assert b"Proxy-Authorization: Digest" in sent[2] and b"pw-1001" not in sent[2]
    bye = sent[-1]
    assert re.search(rb"^Route: <sip:127\.0\.0\.1:%d;lr" % kam.port, bye, re.M | re.I), bye
    assert [e.session for e in caller.of(ev.CallAnswered)] == [session]
    assert [(e.by, e.reason) for e in callee.of(ev.CallEnded)] == [("remote", "bye")]
    assert [(e.by, e.reason) for e in caller.of(ev.CallEnded)] == [("local", "bye")]
