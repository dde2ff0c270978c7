"""HTTP(S) provisioning against a real web server the test starts (Python's
http.server in a subprocess; for HTTPS wrapped in TLS with a certificate from a
trustme CA): ``--provision http://...`` and ``https://...`` fetch the same 7960
files; the HTTPS certificate is checked (a server the CA did not sign is
refused and the phone runs line-less, retrying); DHCP option 66 may name the URL."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import trustme
from peers import free_port, wait_until
from peers_ports import tcp_listening
from runphone import RunPhone

pytestmark = pytest.mark.interop

MAC = "00112233AABB"

SERVER = """
import http.server, ssl, sys, functools
port, root = int(sys.argv[1]), sys.argv[2]
handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=root)
httpd = http.server.ThreadingHTTPServer(("127.0.0.1", port), handler)
if len(sys.argv) > 3:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(sys.argv[3])
    httpd.socket = ctx.wrap_socket(httpd.socket, server_side=True)
httpd.serve_forever()
"""


class WebServer:
    """http.server (TLS with ``cert``) serving ``root`` on 127.0.0.1; stopped by PID."""

    def __init__(self, root: Path, cert: Path | None = None) -> None:
        self.port = free_port()
        argv = [sys.executable, "-c", SERVER, str(self.port), str(root)]
        if cert is not None:
            argv.append(str(cert))
        self.log = root.parent / f"http-{self.port}.log"
        with open(self.log, "wb") as out:
            self.proc = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT)
        wait_until(lambda: tcp_listening(self.port) or self.proc.poll() is not None, 10,
                   "the web server to listen")
        assert self.proc.poll() is None, self.log.read_text()

    def requests(self) -> list[str]:
        return [ln for ln in self.log.read_text().splitlines() if '"GET ' in ln]

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(5)


def _files(root: Path) -> Path:
    root.mkdir(parents=True)
    (root / "SIPDefault.cnf").write_text(
        'proxy1_address: "" ; peer-to-peer\nproxy_register: 0\nphone_label: "Web set"\n'
        f"voip_control_port: {free_port()}\n")
    (root / f"SIP{MAC}.cnf").write_text("line1_name: 6001 ; from the web\n")
    (root / "dialplan.xml").write_text(
        "<DIALTEMPLATE><TEMPLATE MATCH='6...' Timeout='0'/></DIALTEMPLATE>")
    return root


@pytest.fixture
def ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture
def https(tmp_path: Path, ca: trustme.CA) -> Iterator[WebServer]:
    cert = tmp_path / "server.pem"
    ca.issue_cert("127.0.0.1", "localhost").private_key_and_cert_chain_pem.write_to_path(
        str(cert))
    server = WebServer(_files(tmp_path / "www"), cert)
    yield server
    server.stop()


def _ready(st: dict) -> bool:
    return st["display"][0].startswith("Web set") and "Line: 6001" in st["display"]


def _boot_until_ready(tmp_path: Path, args: list[str], name: str, what: str,
                     env: dict[str, str] | None = None) -> RunPhone:
    """Run the phone with ``args`` until its line from the server is up, then stop it."""
    phone = RunPhone(tmp_path, [*args, "--mac", MAC], free_port(), name, env=env)
    try:
        phone.wait_for(_ready, what)
    finally:
        assert phone.stop() == 0, phone.text()
    return phone


def test_http_provisioning_fetches_the_7960_files(tmp_path: Path) -> None:
    server = WebServer(_files(tmp_path / "www"))
    try:
        _boot_until_ready(tmp_path, ["--provision", f"http://127.0.0.1:{server.port}/"], "http",
                          "the line from the web server")
    finally:
        server.stop()
    got = " ".join(server.requests())
    assert "GET /SIPDefault.cnf" in got and f"GET /SIP{MAC}.cnf" in got
    assert "GET /dialplan.xml" in got


def test_https_provisioning_checks_the_certificate(
        tmp_path: Path, ca: trustme.CA, https: WebServer) -> None:
    ca_file = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(ca_file))
    _boot_until_ready(tmp_path, ["--provision", f"https://127.0.0.1:{https.port}",
                                 "--ca-file", str(ca_file)], "https",
                      "the line from the HTTPS server")
    assert f"GET /SIP{MAC}.cnf" in " ".join(https.requests())


def test_https_from_an_unknown_ca_is_refused_and_the_phone_keeps_running(
        tmp_path: Path, https: WebServer) -> None:
    other = tmp_path / "other-ca.pem"
    trustme.CA().cert_pem.write_to_path(str(other))
    control = free_port()
    phone = RunPhone(tmp_path, ["--provision", f"https://127.0.0.1:{https.port}/",
                                "--ca-file", str(other), "--mac", MAC,
                                "--provision-retry", "0.5"], control, "badca")
    try:
        st = phone.wait_for(lambda s: "No line configured" in s["display"],
                            "the line-less phone")
        assert not _ready(st)
        phone.wait_log("CERTIFICATE_VERIFY_FAILED", "the refusal in the log")
    finally:
        assert phone.stop() == 0, phone.text()
    assert https.requests() == []  # no file was ever handed over


def test_dhcp_option_66_url_names_the_http_server(tmp_path: Path) -> None:
    server = WebServer(_files(tmp_path / "www"))
    lease = tmp_path / "dhclient.eth0.leases"
    lease.write_text("lease {\n  interface \"eth0\";\n  fixed-address 192.0.2.50;\n"
                     f"  option tftp-server-name \"http://127.0.0.1:{server.port}/\";\n}}\n")
    try:
        phone = _boot_until_ready(tmp_path, [], "opt66", "the line from the server option 66 named",
                                  env={"PIPHONE_DHCP_LEASES": str(lease)})
    finally:
        server.stop()
    assert "DHCP option 66 names http://127.0.0.1" in phone.text()
