"""The web page over HTTPS in Chromium: a configured certificate, a login, the pushed LCD.

The phone is the real program in a network namespace, its page bound off
loopback (192.0.2.10, so a login is required) with ``control_cert_file`` and
``control_key_file`` from a CA the test makes (trustme). Chromium is told to
accept exactly that certificate's key (``--ignore-certificate-errors-spki-list``,
the SHA-256 of its SubjectPublicKeyInfo): it still checks everything else, and a
Chromium without the switch shows its certificate error instead of the page, so
the page really is served over TLS with that certificate. With it, the user logs
in, the handset page gets its first push over the TLS connection (SSE), a press
goes through, and the session cookie is Secure and HttpOnly.
"""

from __future__ import annotations

import base64
import hashlib
import os
import sys
from pathlib import Path
from typing import Any

from peers_netns import Netns
from peers_proc import PeerProcess, require_module
from test_web_login import _login, _serving  # same address and port, in this test's namespace
from webharness import chromium, wait_for

ADDR = "192.0.2.10"
PORT = 8080  # the port test_web_login's helpers reach (inside this test's own namespace)
BASE = f"https://{ADDR}:{PORT}"
MAC = "00112233AABB"


def _pki(root: Path) -> str:
    """Write a certificate for ``ADDR`` and its key; returns the base64 SHA-256 of the
    certificate's SubjectPublicKeyInfo (what Chromium's switch names)."""
    require_module("trustme")
    import trustme
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization

    cert = trustme.CA().issue_cert(ADDR)
    cert.private_key_and_cert_chain_pem.write_to_path(str(root / "web.pem"))
    cert.private_key_pem.write_to_path(str(root / "web.key"))
    leaf = x509.load_pem_x509_certificate(cert.cert_chain_pems[0].bytes())
    spki = leaf.public_key().public_bytes(serialization.Encoding.DER,
                                          serialization.PublicFormat.SubjectPublicKeyInfo)
    return base64.b64encode(hashlib.sha256(spki).digest()).decode()


def _configs(root: Path) -> None:
    (root / f"SIP{MAC}.cnf").write_text(
        "proxy1_address: 127.0.0.1\n"
        "proxy1_port: 5070\n"
        "proxy_register: 0\n"
        "line1_name: 5550001\n"
        "voip_control_port: 5062\n"
        "web_user_password: user-pass\n"
        f"control_cert_file: {root / 'web.pem'}\n"
        f"control_key_file: {root / 'web.key'}\n")


def test_the_page_over_https_with_the_configured_certificate(tmp_path: Path) -> None:
    spki = _pki(tmp_path)
    _configs(tmp_path)
    with Netns(addr=ADDR) as ns:
        env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
        phone = PeerProcess(
            ns.exec_argv([sys.executable, "-m", "firmware", "run", "--hal", "mock", "--config",
                          str(tmp_path), "--mac", MAC, "--control", f"{ADDR}:{PORT}"]),
            cwd=tmp_path, log_name="phone.log", env=env).start()
        try:
            with ns.entered():
                assert _serving(), phone.log_text()
                with chromium() as d:  # the certificate is not trusted: Chromium's error
                    d.get(BASE + "/")
                    assert d.find_elements("css selector", "#login") == []
                    assert d.find_elements("id", "lcd") == []
                with chromium(extra_args=(f"--ignore-certificate-errors-spki-list={spki}",)) as d:
                    _browse(d)
        finally:
            phone.stop()


def _browse(d: Any) -> None:
    d.get(BASE + "/")
    wait_for(d, lambda d: d.current_url == BASE + "/login", "the login page over HTTPS")
    _login(d, "user", "user-pass")
    wait_for(d, lambda d: d.current_url == BASE + "/", "the handset page after login")
    wait_for(d, lambda d: d.find_element("tag name", "body").get_attribute("data-state") == "idle",
             "the first push over TLS")
    assert d.execute_script("return location.protocol") == "https:"
    d.find_element("id", "hook").click()  # a POST over TLS with the session's CSRF token
    wait_for(d, lambda d: d.find_element("tag name", "body").get_attribute("data-state")
             == "dialing", "the phone to go off hook")
    d.find_element("id", "hook").click()
    cookies = d.get_cookies()
    assert cookies, "no session cookie"
    assert all(c.get("secure") and c.get("httpOnly") for c in cookies), cookies
