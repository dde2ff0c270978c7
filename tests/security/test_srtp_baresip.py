"""SRTP interop: our phone and baresip (its srtp module, ``mediaenc=srtp-mand``), both
registered with Kamailio over TLS, call each other; audio both ways is SRTP.

Everything runs in a private network namespace (tests/peers_netns.py): Kamailio with
its TLS module on 127.0.0.2 and a certificate from the test's CA, baresip registering
over TLS, and our phone (``proxy1_transport: tls``, ``srtp_mode: mandatory``), whose
event loop runs on the test thread switched into the namespace.

baresip runs as an echo (its microphone is its own earpiece): the 1000 Hz our phone
plays comes back to our earpiece only if baresip decrypted our SRTP, decoded it and
sent it back encrypted under its own key; baresip's RTP statistics count our packets
with no errors. A raw-socket capture of the namespace's loopback (tests/peers_sniff.py)
shows that what crossed it both ways, played as PCMU, holds no trace of the tone.
"""

from __future__ import annotations

import asyncio
import re
from pathlib import Path
from typing import Any

import pytest
from peers import Baresip, Netns
from peers_baresip import baresip_ctrl
from peers_sniff import UdpSniffer, pcmu_tone_share
from peers_tls import KamailioTls, make_pki

from firmware.demo.network import Handset, Network, handset_config, heard, until

pytestmark = [pytest.mark.interop, pytest.mark.slow]

USERS = {"5550001": "secret5550001", "alice": "secretalice"}
OUR_TONE = 1000.0
WAIT = 15.0
PACKETS = 60


def _stream(h: Handset) -> Any:
    assert h.host.app is not None
    streams = list(h.host.app.media_streams.values())
    assert len(streams) == 1, streams
    return streams[0]


async def _secure_echo(phone: Handset, sniffer: UdpSniffer) -> dict[str, Any]:
    """Once audio flowed both ways: what we heard, what the status said, what the wire held."""
    def flowing() -> bool:  # the callee's media starts with the ACK
        streams = list(phone.host.app.media_streams.values())  # type: ignore[union-attr]
        st = streams[0].stats() if streams else None
        return st is not None and st.packets_received >= PACKETS and st.packets_sent >= PACKETS

    await until(flowing, "SRTP both ways", timeout=WAIT)
    hz = await heard(phone, OUR_TONE, timeout=WAIT)
    stream = _stream(phone)
    neg = stream.neg
    local_port = next(iter(phone.host.app._media.values())).port  # noqa: SLF001
    status = phone.status()
    return {
        "hz": hz,
        "encrypted": [c.encrypted for c in status.calls],
        "screen": status.display,
        "suite": stream.srtp.suite if stream.srtp is not None else None,
        # RTP only: baresip's plain RTCP APP "PING" keep-alive fails SRTCP authentication
        # (dropped and counted in rtcp_auth_failures), as it must
        "auth_failures": stream.srtp.auth_failures if stream.srtp is not None else None,
        "to_baresip": pcmu_tone_share(sniffer.to_port(neg.remote_rtp_port)[10:], OUR_TONE),
        "to_us": pcmu_tone_share(sniffer.to_port(local_port)[10:], OUR_TONE),
        "packets": len(sniffer.to_port(local_port)),
    }


async def _both_ways(bs: Baresip, kam: KamailioTls, ca_file: Path, mode: str
                     ) -> list[dict[str, Any]]:
    net = Network()
    out = []
    try:
        phone = await net.add("phone", handset_config(
            "5550001", proxy=kam.tls_address, transport="tls", password=USERS["5550001"],
            tls_ca_file=str(ca_file), srtp_mode=mode), host=kam.host)
        phone.api.set_mock_tone(OUR_TONE)
        await until(lambda: phone.status().registered, "our phone registered over TLS",
                    timeout=WAIT)
        await until(lambda: re.search(r"200 OK .*binding", bs.log_text()) is not None,
                    "baresip registered over TLS", timeout=WAIT)
        with UdpSniffer() as sniffer:
            phone.api.dial("alice")  # baresip answers by itself
            await until(lambda: phone.states() == ["connected"], "baresip to answer",
                        timeout=WAIT)
            out.append(await _secure_echo(phone, sniffer))
            out[0]["488s"] = sum(1 for m in net.log.messages if m.label.startswith("488"))
            phone.api.press_softkey("endcall")
            await until(lambda: all(s == "ended" for s in phone.states()), "idle", timeout=WAIT)
            await until(lambda: phone.states() == [], "the call cleared", timeout=WAIT)
            await until(lambda: [(m.label, m.cseq.split()[-1]) for m in net.log.messages][-1:]
                        == [("200 OK", "BYE")], "200 to our BYE", timeout=WAIT)
        with UdpSniffer() as sniffer:
            answer = await baresip_ctrl(bs.ctrl_port, "dial",
                                        f"sip:5550001@{kam.host}:{kam.tls_port};transport=tls")
            assert answer.get("ok") is not False, answer
            await until(lambda: phone.states() == ["incoming"], "our phone to ring", timeout=WAIT)
            phone.api.set_hook(True)
            await until(lambda: phone.states() == ["connected"], "connected", timeout=WAIT)
            out.append(await _secure_echo(phone, sniffer))
            await baresip_ctrl(bs.ctrl_port, "hangup")
            await until(lambda: all(s == "ended" for s in phone.states()), "baresip's BYE",
                        timeout=WAIT)
            phone.api.set_hook(False)
        assert phone.host.transport.stats.udp_sent == 0  # every SIP message went over TLS
        await net.close()  # un-REGISTER while Kamailio answers
    finally:
        await net.close()
    return out


@pytest.mark.parametrize("mode", ["mandatory", "optional"])
def test_srtp_calls_with_baresip_srtp_mand_through_kamailio_tls(tmp_path: Path, netns: Netns,
                                                                 mode: str) -> None:
    """``optional`` (the default): baresip refuses our best-effort offer (RTP/AVP with
    keys) with 488 and the phone tries again at once with RTP/SAVP."""
    pki = make_pki(tmp_path / "pki", names=(netns.addr,))
    bs_cert = tmp_path / "baresip.pem"  # Kamailio opens a TLS connection to baresip for calls
    pki.ca.issue_cert(netns.addr).private_key_and_cert_chain_pem.write_to_path(str(bs_cert))
    with KamailioTls(tmp_path, pki=pki, users=USERS, host=netns.addr, netns=netns) as kam:
        registrar = f"{kam.host}:{kam.tls_port};transport=tls"
        with Baresip(tmp_path, netns, user="alice", registrar=registrar,
                     password=USERS["alice"], auto_answer=True, regint=60, echo=True,
                     mediaenc="srtp-mand", cafile=pki.ca_file, certificate=bs_cert) as bs:
            with netns.entered():
                calls = asyncio.run(_both_ways(bs, kam, pki.ca_file, mode))
            log = bs.log_text()
        kam_log = kam.log_text()
    assert "proto=tls" in kam_log or "tls" in kam_log.lower()
    for direction, seen in zip(("we call baresip", "baresip calls us"), calls, strict=True):
        assert seen["hz"] == pytest.approx(OUR_TONE, rel=0.04), (direction, seen, log[-2000:])
        assert seen["encrypted"] == [True], (direction, seen)
        assert "Secure call (SRTP)" in seen["screen"], (direction, seen)
        assert seen["suite"] in ("AES_CM_128_HMAC_SHA1_80", "AES_CM_128_HMAC_SHA1_32")
        assert seen["auth_failures"] == 0, (direction, seen)
        assert seen["packets"] >= PACKETS // 2  # a capture may miss a few on a loaded machine
        assert seen["to_baresip"] < 0.05 and seen["to_us"] < 0.05, (direction, seen)
    # optional: baresip refused the best-effort offer once; the RTP/SAVP retry connected
    assert calls[0]["488s"] == (1 if mode == "optional" else 0), calls[0]
    errors = re.findall(r"errors:\s+(\d+)\s+(\d+)", log)
    assert errors and all(int(rx) == 0 for _tx, rx in errors), log[-2000:]
