"""SIP over TLS with real Kamailio (its TLS module) and a CA the test makes.

Two complete phones register over TLS (``proxy1_transport: tls``, the
test CA in ``tls_ca_file``), call each other through the proxy both ways and
hear each other's tone; every SIP message goes over the one verified TLS
connection each phone keeps to the proxy (the proxy's INVITE for us comes
back down it: connection reuse). A phone given another CA, or a proxy whose
certificate names another host, refuses the connection: nothing is
registered, and the screen and the log say why.
"""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from typing import Any

import pytest
from peers_tls import KamailioTls, make_pki
from talk import talk_and_hang_up

from firmware.demo.network import Network, handset_config, until

pytestmark = [pytest.mark.interop, pytest.mark.slow]

USERS = {"5550001": "secret5550001", "5550002": "secret5550002"}


def tls_phone(number: str, kam: KamailioTls, ca_file: Path | None, **keys: Any) -> Any:
    """``ca_file`` None: no ``tls_ca_file``, the system CA store is trusted."""
    return handset_config(number, proxy=kam.tls_address, transport="tls",
                          password=USERS[number], tls_ca_file=str(ca_file or ""), **keys)


async def call(caller: Any, callee: Any) -> None:
    await talk_and_hang_up(caller, callee)
    callee.api.set_hook(False)
    await until(lambda: callee.states() == [] and caller.states() == [], "both idle")


def test_register_and_call_both_ways_over_tls(tmp_path: Path) -> None:
    pki = make_pki(tmp_path / "pki")

    async def main() -> None:
        async with Network() as net:
            with KamailioTls(tmp_path, pki=pki, users=USERS) as kam:
                a = await net.add("A", tls_phone("5550001", kam, pki.ca_file))
                b = await net.add("B", tls_phone("5550002", kam, pki.ca_file))
                await until(lambda: a.status().registered and b.status().registered,
                            "registered over TLS", timeout=15)
                await call(a, b)
                await call(b, a)
                for h in (a, b):
                    stats = h.host.transport.stats
                    assert stats.udp_sent == 0 and stats.tls_failures == 0  # all SIP over TLS
                    assert stats.tcp_connects == 1  # one connection, reused for everything
                    assert stats.tcp_accepted == 0  # the proxy never had to connect to us
                assert "proto=tls" in kam.log_text()  # Kamailio saw the REGISTERs come over TLS
                await net.close()

    asyncio.run(main())


@pytest.mark.parametrize(("case", "sentence"), [
    ("foreign_ca", "TLS: certificate not trusted"),
    ("wrong_host", "TLS: certificate is for another host"),
    # no tls_ca_file: the system store, loaded at the first connect (not at boot), does
    # not hold the test CA
    ("system_store", "TLS: certificate not trusted"),
])
def test_a_wrong_ca_or_host_name_is_refused_with_a_clear_message(
        tmp_path: Path, caplog: pytest.LogCaptureFixture, case: str, sentence: str) -> None:
    caplog.set_level(logging.INFO)
    trusted: Path | None
    if case == "foreign_ca":
        pki = make_pki(tmp_path / "pki")
        trusted = make_pki(tmp_path / "other", tag="other").ca_file  # the phone trusts another CA
    elif case == "system_store":
        pki = make_pki(tmp_path / "pki")
        trusted = None
    else:
        pki = make_pki(tmp_path / "pki", names=("sip.elsewhere.test",))
        trusted = pki.ca_file  # right CA, but the certificate names another host

    async def main() -> Any:
        async with Network() as net:
            with KamailioTls(tmp_path, pki=pki, users=USERS) as kam:
                a = await net.add("A", tls_phone("5550001", kam, trusted))
                await until(lambda: "TLS" in " ".join(a.status().display), "the screen to say why",
                            timeout=15)
                status = a.status()
                assert not status.registered
                assert "REGISTER" not in kam.log_text()  # nothing reached the proxy
                return status, a.host.transport.stats.tls_failures

    status, failures = asyncio.run(main())
    assert failures >= 1
    screen = " ".join(status.display)
    assert " ".join(sentence.split()) in " ".join(screen.split()), screen
    errors = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    assert any("SIP over TLS" in m and sentence in m for m in errors), errors


def test_client_certificate_when_the_proxy_requires_one(tmp_path: Path) -> None:
    """Kamailio asks for a client certificate: a phone with ``tls_cert_file`` registers,
    one without is refused."""
    pki = make_pki(tmp_path / "pki")
    clients = make_pki(tmp_path / "clients", names=("phone-a.test",), tag="clients")

    async def main() -> tuple[bool, bool]:
        async with Network() as net:
            with KamailioTls(tmp_path, pki=pki, users=USERS, client_ca=clients.ca_file) as kam:
                a = await net.add("A", tls_phone("5550001", kam, pki.ca_file,
                                                 tls_cert_file=str(clients.cert_file),
                                                 tls_key_file=str(clients.key_file)))
                b = await net.add("B", tls_phone("5550002", kam, pki.ca_file))
                await until(lambda: a.status().registered, "A registered with its certificate",
                            timeout=15)
                await until(lambda: "TLS" in " ".join(b.status().display), "B refused",
                            timeout=15)
                return a.status().registered, b.status().registered

    assert asyncio.run(main()) == (True, False)
