"""Kamailio with its TLS module, and the test CA that signs its certificate.

Why: SIP over TLS is only believable against a real TLS proxy. The tests
make their own CA (trustme), issue Kamailio a certificate for the names they
choose (127.0.0.1 by default: the host name check then matches the IP
address the phone dials), and write Kamailio's tls.cfg. Kamailio keeps its
UDP/TCP listeners and adds ``listen=tls`` on ``tls_port``; the phone
registers there with ``proxy1_transport: tls``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import trustme
from peers_kamailio import Kamailio
from peers_ports import HOST, free_port, tcp_listening


@dataclass(frozen=True)
class TestPki:
    """Files of one test CA: the CA certificate and a server certificate + key."""

    ca_file: Path
    cert_file: Path
    key_file: Path
    ca: trustme.CA


def make_pki(workdir: Path, names: tuple[str, ...] = (HOST,), tag: str = "ca") -> TestPki:
    """A fresh CA and a server certificate for ``names`` (host names or IP addresses)."""
    workdir.mkdir(parents=True, exist_ok=True)
    ca = trustme.CA(organization_name=f"piphone test {tag}")
    cert = ca.issue_cert(*names)
    pki = TestPki(ca_file=workdir / f"{tag}.pem", cert_file=workdir / f"{tag}-server.pem",
                  key_file=workdir / f"{tag}-server.key", ca=ca)
    ca.cert_pem.write_to_path(str(pki.ca_file))
    cert.cert_chain_pems[0].write_to_path(str(pki.cert_file))
    for extra in cert.cert_chain_pems[1:]:
        extra.write_to_path(str(pki.cert_file), append=True)
    cert.private_key_pem.write_to_path(str(pki.key_file))
    return pki


class KamailioTls(Kamailio):
    """``Kamailio`` plus ``listen=tls`` on ``tls_port`` with ``pki``'s certificate.

    ``client_ca``: require and verify a client certificate signed by it.
    """

    def __init__(self, workdir: Path, *, pki: TestPki, client_ca: Path | None = None,
                 tls_port: int | None = None, **kw: Any) -> None:
        super().__init__(workdir, **kw)
        self.tls_port = tls_port or free_port()
        self.pki = pki
        tls_cfg = self.config_path.with_name("tls.cfg")
        verify = "yes" if client_ca else "no"
        ca_line = f"ca_list = {client_ca}\n" if client_ca else ""
        tls_cfg.write_text(
            "[server:default]\nmethod = TLSv1.2+\n"
            f"verify_certificate = {verify}\nrequire_certificate = {verify}\n{ca_line}"
            f"private_key = {pki.key_file}\ncertificate = {pki.cert_file}\n\n"
            "[client:default]\nmethod = TLSv1.2+\nverify_certificate = no\n"
            "require_certificate = no\n")
        text = self.config_path.read_text()
        tcp_listen = f"listen=tcp:{self.host}:{self.port}\n"
        assert tcp_listen in text
        text = text.replace(tcp_listen, tcp_listen + "enable_tls=yes\n"
                            f"listen=tls:{self.host}:{self.tls_port}\n"
                            f'alias="{self.host}:{self.tls_port}"\n')
        text = text.replace('loadmodule "htable.so"\n',
                            'loadmodule "htable.so"\nloadmodule "tls.so"\n'
                            f'modparam("tls", "config", "{tls_cfg}")\n')
        self.config_path.write_text(text)

    def start(self) -> KamailioTls:
        super().start()
        self.await_ready(lambda: tcp_listening(self.tls_port, self.host), 15,
                         "kamailio to listen for TLS")
        return self

    @property
    def tls_address(self) -> tuple[str, int]:
        return (self.host, self.tls_port)
