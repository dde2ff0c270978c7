"""The real-peer harness itself (tests/peers.py) against the real binaries.

Why: every interop test in the project stands on these helpers, so each one
is proven here once: sipp's statistics and message log are read correctly,
kamailio challenges and accepts digest REGISTERs (and refuses a wrong
password), forks serially with a ring timeout, in.tftpd serves files, and
baresip auto-answers inside its own network namespace.
"""

from __future__ import annotations

import hashlib
import os
import re
import socket
import uuid
from pathlib import Path

import pytest
from peers import (
    HOST,
    Baresip,
    Kamailio,
    Netns,
    Sipp,
    free_port,
    parse_sipp_messages,
    parse_sipp_stats,
    render_kamailio_config,
)

pytestmark = pytest.mark.interop


def test_free_port_is_bindable_for_udp_and_tcp_and_never_repeats() -> None:
    ports = [free_port(span=2) for _ in range(20)]
    flat = [p + i for p in ports for i in range(2)]
    assert len(set(flat)) == len(flat)
    for kind in (socket.SOCK_DGRAM, socket.SOCK_STREAM):
        with socket.socket(socket.AF_INET, kind) as s:
            s.bind((HOST, ports[0] + 1))


def test_message_log_and_stats_parsers() -> None:
    log = (
        "----------------------------------------------- 2026-11-24 19:28:21.164583\n"
        "UDP message sent (20 bytes):\n\nINVITE sip:a@b SIP/2.0\nCSeq: 1 INVITE\n\n"
        "----------------------------------------------- 2026-11-24 19:28:21.164603\n"
        "TCP message received [313] bytes :\n\nSIP/2.0 180 Ringing\nCSeq: 1 INVITE\n\n\n"
    )
    msgs = parse_sipp_messages(log)
    assert [(m.direction, m.transport, m.label) for m in msgs] == [
        ("sent", "UDP", "INVITE"),
        ("received", "TCP", "180"),
    ]
    stats = parse_sipp_stats("A;SuccessfulCall(C);FailedCall(C)\n1;0;0\n2;5;1\n")
    assert stats["SuccessfulCall(C)"] == "5" and stats["FailedCall(C)"] == "1"


def test_kamailio_config_rejects_values_that_could_inject_script() -> None:
    with pytest.raises(ValueError):
        render_kamailio_config(port=5060, users={"1001": 'x"; exit; "'})
    text = render_kamailio_config(port=5999, users={"1001": "pw"}, ring_timeout_ms=1500)
    assert "listen=udp:127.0.0.1:5999" in text and "t_set_fr(1500, 5000)" in text
    assert "@@" not in text


@pytest.mark.parametrize("transport", ["u1", "t1"])
def test_sipp_uac_calls_sipp_uas(sipp: Sipp, transport: str) -> None:
    port = free_port()
    with sipp.uas(port=port, calls=2, transport=transport) as uas:
        result = sipp.uac(f"{HOST}:{port}", calls=2, transport=transport)
        uas.wait(15)
    assert (result.returncode, result.successful, result.failed) == (0, 2, 0), result.output
    served = uas.result()
    # sipp's uas ends each call with a 4 s pause; when the uac closes the TCP
    # connection during it, sipp counts the call as FailedTcpClosed, so the
    # uas side is judged by what it received and answered.
    assert served.labels("received").count("BYE") == 2
    assert served.labels("sent").count("200") == 4  # INVITE and BYE, twice
    assert len(result.call_ids()) == 2
    first = result.labels(call_id=result.call_ids()[0])
    assert first == ["INVITE", "180", "200", "ACK", "BYE", "200"]
    assert {m.transport for m in result.messages} == {"UDP" if transport == "u1" else "TCP"}


@pytest.mark.parametrize("transport", ["u1", "t1"])
def test_kamailio_digest_register_from_sipp(kamailio: Kamailio, sipp: Sipp, transport: str) -> None:
    ok = sipp.run(
        "register_auth.xml", kamailio.domain, service="1001", transport=transport,
        extra=["-au", "1001", "-ap", kamailio.users["1001"]],
    )  # fmt: skip
    assert (ok.returncode, ok.successful) == (0, 1), ok.output
    assert ok.labels() == ["REGISTER", "401", "REGISTER", "200"]
    challenge = ok.messages[1].text
    assert re.search(r"WWW-Authenticate: Digest realm=\"127.0.0.1\".*qop=\"auth\"", challenge)
    assert "expires=120" in ok.messages[3].text  # the binding is listed in the 200

    bad = sipp.run(
        "register_wrong_password.xml", kamailio.domain, service="1001", transport=transport,
        extra=["-au", "1001", "-ap", "not-the-password"],
    )  # fmt: skip
    assert bad.labels() == ["REGISTER", "401", "REGISTER", "401"], bad.output


def _digest_register(
    kam: Kamailio, user: str, password: str, contact: str, *, expires: int = 60
) -> str:
    """REGISTER ``contact`` for ``user`` over UDP with an MD5 qop=auth digest; returns the 200.

    Deliberately independent of firmware/sip, so the harness is proven on its own.
    """
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind((HOST, 0))
        s.settimeout(3)
        lport = s.getsockname()[1]
        call_id = uuid.uuid4().hex
        auth = ""
        for cseq in (1, 2):
            req = (
                f"REGISTER sip:{kam.domain} SIP/2.0\r\n"
                f"Via: SIP/2.0/UDP {HOST}:{lport};branch=z9hG4bK{uuid.uuid4().hex}\r\n"
                f"From: <sip:{user}@{kam.domain}>;tag=t{cseq}\r\nTo: <sip:{user}@{kam.domain}>\r\n"
                f"Call-ID: {call_id}\r\nCSeq: {cseq} REGISTER\r\nContact: {contact}\r\n"
                f"{auth}Expires: {expires}\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n"
            )
            s.sendto(req.encode(), kam.address)
            reply = s.recv(65535).decode()
            if reply.startswith("SIP/2.0 200"):
                return reply
            assert reply.startswith("SIP/2.0 401"), reply
            realm = re.search(r'realm="([^"]+)"', reply).group(1)  # type: ignore[union-attr]
            nonce = re.search(r'nonce="([^"]+)"', reply).group(1)  # type: ignore[union-attr]
            uri = f"sip:{kam.domain}"

            def md5(text: str) -> str:
                return hashlib.md5(text.encode()).hexdigest()

            ha1 = md5(f"{user}:{realm}:{password}")
            ha2 = md5(f"REGISTER:{uri}")
            cnonce = uuid.uuid4().hex[:8]
            resp = md5(f"{ha1}:{nonce}:00000001:{cnonce}:auth:{ha2}")
            auth = (
                f'Authorization: Digest username="{user}", realm="{realm}", nonce="{nonce}", '
                f'uri="{uri}", response="{resp}", qop=auth, nc=00000001, cnonce="{cnonce}", '
                "algorithm=MD5\r\n"
            )
    raise AssertionError("REGISTER was not accepted after the challenge")


@pytest.mark.slow
def test_kamailio_serial_forking_moves_on_after_ring_timeout(tmp_path: Path, sipp: Sipp) -> None:
    """Two bindings (q=1.0 rings forever, q=0.5 answers): the call ends up at the second."""
    with Kamailio(tmp_path, users={"1003": "pw3"}, ring_timeout=1.5) as kam:
        ringer_port, answer_port = free_port(), free_port()
        with (
            sipp.start("uas_ring_forever.xml", port=ringer_port, calls=1) as ringer,
            sipp.uas(port=answer_port, calls=1) as answerer,
        ):
            sipp.wait_bound(ringer)
            _digest_register(kam, "1003", "pw3", f"<sip:1003@{HOST}:{ringer_port}>;q=1.0")
            ok = _digest_register(kam, "1003", "pw3", f"<sip:1003@{HOST}:{answer_port}>;q=0.5")
            assert ok.count("expires=") == 2  # both bindings listed in the 200
            result = sipp.run("uac_via_proxy.xml", kam.domain, calls=1, service="1003")
            answerer.wait(10)
            ringer.wait(10)
        assert (result.returncode, result.successful) == (0, 1), result.output
        assert ringer.result().labels() == ["INVITE", "180", "CANCEL", "200", "487", "ACK"]
        assert answerer.result().successful == 1
        assert result.labels("sent") == ["INVITE", "ACK", "BYE"]
        assert "next contact" in kam.log_text()


def test_kamailio_challenges_invite_from_local_user_with_407(kamailio: Kamailio) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind((HOST, 0))
        s.settimeout(3)
        lport = s.getsockname()[1]
        invite = (
            f"INVITE sip:1002@{kamailio.domain} SIP/2.0\r\n"
            f"Via: SIP/2.0/UDP {HOST}:{lport};branch=z9hG4bK{uuid.uuid4().hex}\r\n"
            f"From: <sip:1001@{kamailio.domain}>;tag=a\r\nTo: <sip:1002@{kamailio.domain}>\r\n"
            f"Call-ID: {uuid.uuid4().hex}\r\nCSeq: 1 INVITE\r\n"
            f"Contact: <sip:1001@{HOST}:{lport}>\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n"
        )
        s.sendto(invite.encode(), kamailio.address)
        reply = s.recv(65535).decode()
    assert reply.startswith("SIP/2.0 407"), reply
    assert "Proxy-Authenticate: Digest" in reply


def test_tftpd_serves_a_file(tftpd) -> None:
    data = os.urandom(700)  # two blocks: 512 + 188
    tftpd.serve("SEP001122334455.cnf.xml", data)
    got = b""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.settimeout(3)
        s.sendto(b"\x00\x01SEP001122334455.cnf.xml\x00octet\x00", tftpd.address)
        while True:
            pkt, server = s.recvfrom(1024)
            assert pkt[:2] == b"\x00\x03", pkt
            got += pkt[4:]
            s.sendto(b"\x00\x04" + pkt[2:4], server)
            if len(pkt) - 4 < 512:
                break
    assert got == data


@pytest.mark.slow
def test_baresip_in_netns_auto_answers_sipp(tmp_path: Path, netns: Netns) -> None:
    """baresip answers a call inside its namespace, and its SDP stays on 127.0.0.x."""
    with Baresip(tmp_path, netns, user="alice") as alice:
        sipp = Sipp(tmp_path / "sipp", netns=netns)
        result = sipp.uac(f"{HOST}:{alice.port}", calls=1, service="alice")
    assert (result.returncode, result.successful) == (0, 1), result.output
    ok = next(m for m in result.messages if m.label == "200" and "INVITE" in m.text)
    assert re.search(r"c=IN IP4 127\.0\.0\.\d+", ok.text), ok.text
    assert "192." not in ok.text.split("\n\n", 1)[-1]
    assert not netns.created or os.path.exists(f"/run/netns/{netns.name}")
