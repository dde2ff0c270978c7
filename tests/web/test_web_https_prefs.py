"""The web page over HTTPS in a real Chromium, and what the user sets there survives a restart.

Why: off a lab bench the page is served with a certificate (``control_cert_file``)
and the browser must verify it; and a person who ticks DND or sets forward-all on
the page expects it still set after the phone reboots, as a 7960 keeps CFwdAll.
Chromium trusts exactly the test certificate (its public key pinned with
``--ignore-certificate-errors-spki-list``, as an admin would install the CA); a
second Chromium without the pin must refuse the page, so the HTTPS is real.
"""

from __future__ import annotations

import base64
import hashlib
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from peers_tls import make_pki
from webharness import PhoneLoop, chromium, submit_settings, wait_for

from firmware.control import ControlConfig
from firmware.demo.network import Network, handset_config


def _spki_pin(cert_file: Path) -> str:
    """base64(sha256(SubjectPublicKeyInfo)) of the server certificate, Chromium's pin form."""
    cert = x509.load_pem_x509_certificate(cert_file.read_bytes())
    der = cert.public_key().public_bytes(serialization.Encoding.DER,
                                         serialization.PublicFormat.SubjectPublicKeyInfo)
    return base64.b64encode(hashlib.sha256(der).digest()).decode()


def _lcd_text(d: Any) -> str:
    return d.find_element("id", "lcd").get_attribute("alt") or ""


def test_settings_over_https_survive_a_restart(tmp_path: Path) -> None:
    pki = make_pki(tmp_path / "pki", tag="web")
    control = ControlConfig(port=0, cert_file=str(pki.cert_file), key_file=str(pki.key_file))
    state = tmp_path / "state"
    with PhoneLoop() as loop:
        net = Network()
        try:
            b = loop.run(net.add("B", handset_config("5550002"), control=control, state_dir=state))
            base = f"https://127.0.0.1:{b.host.control_port}"
            with chromium(extra_args=(f"--ignore-certificate-errors-spki-list={_spki_pin(pki.cert_file)}",)) as d:
                d.get(base + "/settings")
                assert d.current_url.startswith("https://")
                assert not d.find_element("css selector", "input[name=dnd]").is_selected()
                submit_settings(d, toggle_dnd=True, forward_all="5550009")

                # the phone restarts on the same state directory (a reboot)
                loop.run(b.host.stop(grace=0.2))
                del net.handsets["B"]
                b2 = loop.run(net.add("B2", handset_config("5550002"), control=control,
                                      state_dir=state))
                again = f"https://127.0.0.1:{b2.host.control_port}"
                phone = loop.call(lambda: (b2.host.app.phone.dnd, b2.host.app.phone.cfwd_to))
                assert phone[0] is True and (phone[1] or "").startswith("sip:5550009@"), phone
                d.get(again + "/settings")
                assert d.find_element("css selector", "input[name=dnd]").is_selected()
                assert "5550009" in (d.find_element("css selector", "input[name=forward_all]")
                                     .get_attribute("value") or "")
                d.get(again + "/")
                wait_for(d, lambda x: "Fwd all: 5550009" in _lcd_text(x), "the LCD to show forwarding")
            with chromium() as stranger:  # no pin: the test CA is unknown to this browser
                stranger.get(again + "/settings")
                assert not stranger.find_elements("css selector", "input[name=dnd]")
                assert "privacy" in stranger.title.lower() or "not private" in stranger.page_source.lower()
        finally:
            loop.run(net.close())
