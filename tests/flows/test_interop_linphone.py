"""The linphonec rows of the interop matrix (docs/interop.md): our phone and linphonec
(linphone-cli 5.1) through Kamailio over UDP and TCP, inside a private network
namespace like the baresip rows (tests/flows/test_interop_matrix.py).

Each row: both register (digest); we call it (it answers by itself), hear its
tone, hold (silence) and resume (its tone again), send RFC 4733 DTMF (it
prints each digit), transfer it blind (REFER) to our second handset, which
hears it; then it calls us, we hear it, and its recording of the call holds
our tone.  How linphonec runs headless: tests/peers_linphone.py."""

from __future__ import annotations

import asyncio
import re
import wave
from pathlib import Path

import pytest
from interop_row import (
    WAIT,
    answer_the_peer,
    call_the_peer,
    idle,
    our_handset,
    proxy_port,
    row_proxy,
    transfer_to_second_handset,
)
from peers import Kamailio, Netns
from peers_linphone import Linphonec

from firmware.demo.network import Network, until
from firmware.media.analysis import dominant_frequency

pytestmark = [pytest.mark.interop, pytest.mark.slow]

USERS = {"5550001": "pw5550001", "5550002": "pw5550002", "bob": "pwbob"}
OUR_TONE = 1000.0
THEIR_TONE = 440.0  # tests/peers_baresip.py's tone file, played by linphonec


async def _row(lp: Linphonec, kam: Kamailio, transport: str, port: int,
               **keys: object) -> dict[str, object]:
    """``port``: Kamailio's port for ``transport``; ``keys``: more handset config."""
    proxy = (kam.host, port)
    seen: dict[str, object] = {}
    async with Network() as net:
        phone = await our_handset(net, "phone", "5550001", proxy, transport, **keys)
        phone.api.set_mock_tone(OUR_TONE)
        await until(lambda: re.search(rf"REGISTER sip:bob@\S+ from \S+ proto={transport}",
                                      kam.log_text()) is not None,
                    "linphonec registered", timeout=WAIT)
        heard_here = await call_the_peer(phone, "bob", "linphonec", THEIR_TONE)
        seen["we_call"] = heard_here.pop("heard")
        seen.update(heard_here)
        await until(lambda: lp.log_text().count("Receiving tone") >= 3, "linphonec to hear DTMF",
                    timeout=WAIT)
        # blind transfer (REFER): linphonec calls our second handset through Kamailio
        seen["transferred"] = await transfer_to_second_handset(net, phone, proxy, transport,
                                                               THEIR_TONE, **keys)
        # its two calls (ours, then the transferred one) ended, so it takes a new one
        await until(lambda: lp.log_text().count(" ended (") >= 2, "linphonec to see the BYE",
                    timeout=WAIT)
        param = f";transport={transport}" if transport != "udp" else ""
        lp.command(f"call sip:5550001@{kam.host}:{port}{param}")
        seen["they_call"] = await answer_the_peer(phone, THEIR_TONE)
        await asyncio.sleep(1.5)  # our tone into linphonec's recording
        lp.command("terminate")
        await until(idle(phone), "idle after linphonec's BYE", timeout=WAIT)
        phone.api.set_hook(False)
        await net.close()
    return seen


@pytest.mark.parametrize("transport", ["udp", "tcp", "tls"])
def test_matrix_linphonec(tmp_path: Path, netns: Netns, transport: str) -> None:
    kam, pki = row_proxy(tmp_path, netns, transport, USERS)
    ca = pki.ca_file if pki is not None else None
    keys: dict[str, object] = {"tls_ca_file": ca} if ca is not None else {}
    with kam:
        port = proxy_port(kam, transport)
        with Linphonec(tmp_path, netns, user="bob", registrar=f"{kam.host}:{port}",
                       password=USERS["bob"], transport=transport, ca_file=ca) as lp:
            try:
                with netns.entered():
                    seen = asyncio.run(_row(lp, kam, transport, port, **keys))
            except Exception as exc:
                raise AssertionError(f"{exc}\n{lp.sip_log()[-4000:]}") from exc
    assert seen["we_call"] == pytest.approx(THEIR_TONE, rel=0.04), seen
    assert seen["held"] is None and seen["resumed"] == pytest.approx(THEIR_TONE, rel=0.04), seen
    assert seen["transferred"] == pytest.approx(THEIR_TONE, rel=0.04), seen
    assert seen["they_call"] == pytest.approx(THEIR_TONE, rel=0.04), seen
    assert re.search(rf"REGISTER sip:5550001@\S+ from \S+ proto={transport}", kam.log_text())
    out = lp.log_text()
    assert re.findall(r"Receiving tone (\S)", out)[:3] == ["1", "9", "#"], out
    # us -> linphonec: what it recorded of the call it placed is our tone
    with wave.open(str(lp.heard_file)) as w:
        pcm = w.readframes(w.getnframes())
        rate = w.getframerate()
    assert len(pcm) > rate  # over half a second of it
    assert dominant_frequency(pcm[-rate:], rate) == pytest.approx(OUR_TONE, rel=0.04)
