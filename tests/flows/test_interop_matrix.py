"""The interop matrix (docs/interop.md): our whole phone with independent peers
through Kamailio, over UDP, TCP and (baresip) TLS.

Everything runs inside a private network namespace (tests/peers.py ``Netns``):
Kamailio on 127.0.0.2, the peer, and our phone's event loop (the test thread
is switched into the namespace, so every socket the phone opens lives there).
Each row registers both sides with Kamailio (digest), calls both ways with
audio checked by tone, holds and resumes, sends RFC 4733 DTMF and (baresip) blind-transfers
the peer to a second handset with REFER.
"""

from __future__ import annotations

import asyncio
import json
import re
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from interop_row import (
    WAIT,
    answer_the_peer,
    call_the_peer,
    idle,
    in_states,
    our_handset,
    proxy_port,
    row_proxy,
    transfer_to_second_handset,
)
from peers import HOST, Baresip, Kamailio, Netns, Sipp

from firmware.demo.network import Handset, Network, handset_config, heard, until

if TYPE_CHECKING:
    from peers_tls import TestPki

pytestmark = [pytest.mark.interop, pytest.mark.slow]

USERS = {"5550001": "pw5550001", "5550002": "pw5550002", "alice": "pwalice"}
OUR_TONE = 1000.0
BARESIP_TONE = 440.0  # the tone tests/peers_baresip.py writes into baresip's aufile source


async def _events(port: int, into: list[dict]) -> None:
    """Collect the events baresip's ctrl_tcp pushes to a connected client (until cancelled)."""
    reader, writer = await asyncio.open_connection(HOST, port)
    try:
        while True:
            length = int((await reader.readuntil(b":"))[:-1])
            into.append(json.loads((await reader.readexactly(length + 1))[:-1]))
    except (asyncio.IncompleteReadError, ValueError, ConnectionError):
        return
    finally:
        writer.close()


async def _call_baresip(phone: Handset) -> dict[str, object]:
    """We call baresip: audio from it, hold (silence), resume (audio again), DTMF out;
    what was seen, and our stream's statistics a second later."""
    seen: dict[str, object] = dict(await call_the_peer(phone, "alice", "baresip", BARESIP_TONE))
    await asyncio.sleep(1.0)
    assert phone.host.app is not None
    [stream] = list(phone.host.app.media_streams.values())
    seen["stats"] = stream.stats()
    return seen


def _param(transport: str) -> str:
    return f";transport={transport}" if transport != "udp" else ""


async def _baresip_row(bs: Baresip, kam: Kamailio, transport: str,
                       **keys: object) -> list[dict[str, object]]:
    """``keys``: more handset config (``tls_ca_file``); over TLS the proxy is Kamailio's
    TLS port."""
    net = Network()
    out = []
    proxy = (kam.host, proxy_port(kam, transport))
    try:
        phone = await our_handset(net, "phone", "5550001", proxy, transport, **keys)
        phone.api.set_mock_tone(OUR_TONE)
        await until(lambda: "alice" in kam.log_text() and "REGISTER sip:alice" in kam.log_text(),
                    "baresip registered", timeout=WAIT)
        # we call baresip (auto answer) through Kamailio
        events: list[dict] = []
        watcher = asyncio.create_task(_events(bs.ctrl_port, events))
        await asyncio.sleep(0.1)
        out.append(await _call_baresip(phone))
        watcher.cancel()
        out[-1]["events"] = events
        # blind transfer (REFER): baresip calls our second handset through Kamailio
        out.append({"transferred": await transfer_to_second_handset(
            net, phone, proxy, transport, BARESIP_TONE, **keys)})
        # baresip calls us through Kamailio
        answer = await bs.ctrl("dial", f"sip:5550001@{proxy[0]}:{proxy[1]}{_param(transport)}")
        assert answer.get("ok") is not False, answer
        out.append({"heard": await answer_the_peer(phone, BARESIP_TONE)})
        await asyncio.sleep(1.0)  # a second of our audio for baresip's statistics
        await bs.ctrl("hangup")
        await until(idle(phone), "idle after baresip's BYE", timeout=WAIT)
        phone.api.set_hook(False)
        await net.close()  # un-REGISTER while Kamailio answers
    finally:
        await net.close()
    return out


@pytest.mark.parametrize("transport", ["udp", "tcp", "tls"])
def test_matrix_baresip(tmp_path: Path, netns: Netns, transport: str) -> None:
    """Over TLS: Kamailio's TLS port with a certificate from a test CA
    (tests/peers_tls.py) that both phones trust; baresip has its own certificate
    from that CA for the TLS connection Kamailio opens to deliver calls to it."""
    kam, pki = row_proxy(tmp_path, netns, transport, USERS)
    keys: dict[str, object] = {}
    baresip_tls = None
    if pki is not None:
        keys["tls_ca_file"] = str(pki.ca_file)
        baresip_tls = (_baresip_certificate(pki, tmp_path / "pki"), pki.ca_file)
    with kam:
        port = proxy_port(kam, transport)
        registrar = f"{kam.host}:{port}{_param(transport)}"
        with Baresip(tmp_path, netns, user="alice", registrar=registrar,
                     password=USERS["alice"], auto_answer=True, regint=60,
                     certificate=baresip_tls[0] if baresip_tls else None,
                     cafile=baresip_tls[1] if baresip_tls else None) as bs:
            with netns.entered():
                calls = asyncio.run(_baresip_row(bs, kam, transport, **keys))
            log = bs.log_text()
        kam_log = kam.log_text()
    ours, transferred, theirs = calls
    assert transferred["transferred"] == pytest.approx(BARESIP_TONE, rel=0.04), transferred
    assert ours["heard"] == pytest.approx(BARESIP_TONE, rel=0.04), (ours, log[-2000:])
    assert ours["held"] is None and ours["resumed"] == pytest.approx(BARESIP_TONE, rel=0.04)
    assert theirs["heard"] == pytest.approx(BARESIP_TONE, rel=0.04), (theirs, log[-2000:])
    assert re.search(rf"REGISTER sip:5550001@\S+ from \S+ proto={transport}", kam_log), \
        kam_log[-3000:]
    assert re.search(rf"REGISTER sip:alice@\S+ from \S+ proto={transport}", kam_log), \
        kam_log[-3000:]
    # us -> baresip: its end-of-call RTP statistics count what we sent
    rx = re.findall(r"packets:\s+(\d+)\s+(\d+)", log)
    assert len(rx) == 3 and int(rx[0][1]) > 40 and int(rx[2][1]) > 40, log[-3000:]
    dtmf = [e.get("param") for e in ours["events"]  # type: ignore[union-attr]
            if e.get("type") == "CALL_DTMF_START"]
    assert dtmf[:3] == ["1", "9", "#"], ours["events"]


def _baresip_certificate(pki: TestPki, where: Path) -> Path:
    """baresip's certificate and key in one PEM (its ``sip_certificate``), from ``pki``'s CA."""
    cert = pki.ca.issue_cert(HOST)
    path = where / "baresip.pem"
    cert.private_key_and_cert_chain_pem.write_to_path(str(path))
    return path


async def _sipp_row(sipp: Sipp, kam: Kamailio, transport: str, tmp_path: Path) -> dict[str, object]:
    net = Network()
    seen: dict[str, object] = {}
    try:
        # outbound_proxy: the call to SIPp's own address goes through Kamailio too (407 first)
        phone = await net.add("phone", handset_config(
            "5550001", proxy=kam.address, password=USERS["5550001"], transport=transport,
            outbound_proxy=kam.host, outbound_proxy_port=kam.port), host=kam.host)
        phone.api.set_mock_tone(OUR_TONE)
        await until(lambda: phone.status().registered, "our phone registered", timeout=WAIT)
        t = "t1" if transport == "tcp" else "u1"
        # we call SIPp's UAS (echoing our RTP) through Kamailio's relay
        uas = sipp.uas(calls=1, transport=t, extra=("-rtp_echo",), timeout=30)
        with uas:
            phone.api.dial(f"sip:service@{kam.host}:{uas.port}"
                           + (";transport=tcp" if transport == "tcp" else ""))
            await until(in_states(phone, "connected"), "SIPp to answer", timeout=WAIT)
            seen["echo"] = await heard(phone, OUR_TONE, timeout=WAIT)
            seen["via_proxy"] = [m.label for m in net.log.messages if m.label.startswith("407")]
            phone.api.press_softkey("endcall")
            await until(idle(phone), "idle", timeout=WAIT)
        # SIPp calls us through Kamailio
        run = sipp.start("uac_via_proxy.xml", f"{kam.host}:{kam.port}", service="5550001",
                         transport=t, timeout=20)
        with run:
            await until(in_states(phone, "incoming"), "our phone to ring", timeout=WAIT)
            phone.api.set_hook(True)
            loop = asyncio.get_running_loop()
            await loop.run_in_executor(None, run.wait, 25)
        seen["uac"] = run.result()
        await until(idle(phone), "idle after SIPp's BYE", timeout=WAIT)
        phone.api.set_hook(False)
        await net.close()
    finally:
        await net.close()
    return seen


@pytest.mark.parametrize("transport", ["udp", "tcp"])
def test_matrix_sipp(tmp_path: Path, netns: Netns, transport: str) -> None:
    with Kamailio(tmp_path, users=USERS, host=netns.addr, netns=netns) as kam:
        sipp = Sipp(tmp_path / "sipp", host=netns.addr, netns=netns)
        with netns.entered():
            seen = asyncio.run(_sipp_row(sipp, kam, transport, tmp_path))
    assert seen["echo"] == pytest.approx(OUR_TONE, rel=0.04), seen
    assert seen["via_proxy"], seen  # Kamailio challenged the INVITE: it went through it
    uac = seen["uac"]
    assert uac.successful == 1, uac.output[-2000:]  # type: ignore[attr-defined]

