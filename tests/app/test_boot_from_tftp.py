"""Issue 6's must-show: ``python -m firmware run --hal mock --tftp ... --mac ...`` boots a
handset from a real tftpd-hpa to registered with a real Kamailio.

The 7960 boot sequence end to end, as separate processes on loopback: the phone
fetches SIPDefault.cnf, then SIP<MAC>.cnf (whose keys override the defaults),
then the dial plan named by ``dial_template``; it caches the set (mode 0600),
registers line 1 (401 challenge, digest, 200), and its idle screen shows
``phone_label``. Then the server goes away and the phone boots from its cache;
and a periodic resync (``resync_interval``) picks up a changed per-MAC file.
"""

from __future__ import annotations

import io
import json
import re
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from peers import Kamailio, Tftpd, free_port, wait_until
from runphone import RunPhone, get, post, status

MAC = "00112233AABB"

pytestmark = pytest.mark.interop

DIALPLAN = b"""<DIALTEMPLATE>
  <TEMPLATE MATCH="8.." Timeout="0" Rewrite="10.."/>
  <TEMPLATE MATCH="*" Timeout="5"/>
</DIALTEMPLATE>
"""


def _default_cnf(kam: Kamailio, resync: int) -> bytes:
    return (
        f"proxy1_address: {kam.host}\n"
        f"proxy1_port: {kam.port}\n"
        "proxy_register: 1\n"
        "timer_register_expires: 3600\n"
        'phone_label: "Lobby"\n'
        "dial_template: boot-plan\n"
        f"resync_interval: {resync}\n"
    ).encode()


def _mac_cnf(sip_port: int, label: str = "Front desk", extra: str = "") -> bytes:
    return (
        "line1_name: 1001\n"
        'line1_password: "secret1001"\n'
        f'phone_label: "{label}"\n'
        "timer_register_expires: 600\n"  # overrides SIPDefault.cnf's 3600
        f"voip_control_port: {sip_port}\n"
        "start_media_port: 27800\n"
        "end_media_port: 27900\n" + extra
    ).encode()


def Phone(tmp: Path, tftp: tuple[str, int], control: int, name: str) -> RunPhone:  # noqa: N802
    """The phone process booting from ``tftp`` as the handset with ``MAC``."""
    return RunPhone(tmp, ["--tftp", f"{tftp[0]}:{tftp[1]}", "--mac", MAC], control, name)


def _status(port: int) -> dict[str, Any]:
    st = status(port)
    assert st is not None, "the control API does not answer"
    return st


@pytest.fixture
def kam(tmp_path: Path) -> Iterator[Kamailio]:
    with Kamailio(tmp_path, users={"1001": "secret1001", "1002": "secret1002"}) as k:
        yield k


def _fetched(log: str) -> list[str]:
    return re.findall(r"TFTP (\S+) from 127\.0\.0\.1:\d+: \d+ bytes", log)


def _registers(kam: Kamailio, user: str) -> list[str]:
    """Kamailio's REGISTER lines for ``user``: 'challenge' or 'saved' in order."""
    out = []
    for line in kam.log_text().splitlines():
        if f"REGISTER sip:{user}@" not in line:
            continue
        out.append("challenge" if ": challenge" in line else "saved" if "expires=" in line else "?")
    return out


@pytest.mark.slow  # ~7 s: the cache boot first waits out the TFTP retries (6 x 1 s)
def test_boot_from_tftp_registers_shows_the_label_and_boots_again_from_cache(
        tmp_path: Path, kam: Kamailio) -> None:
    sip_port, control = free_port(), free_port()
    tftpd = Tftpd(tmp_path / "tftproot").start()
    try:
        tftpd.serve("SIPDefault.cnf", _default_cnf(kam, resync=0))
        tftpd.serve(f"SIP{MAC}.cnf", _mac_cnf(sip_port))
        tftpd.serve("boot-plan.xml", DIALPLAN)
        phone = Phone(tmp_path, tftpd.address, control, "boot1")
        try:
            st = phone.wait_for(lambda s: s["registered"], "line 1 to register")
            assert st["lines"] == [{"line": 1, "name": "1001", "registered": True, "error": None}]
            # The idle screen: phone_label from the per-MAC file (not SIPDefault's "Lobby").
            assert st["display"][0].startswith("Front desk"), st["display"]
            assert "Ready" in st["display"] and "Line: 1001" in st["display"]
            png = get(control, "/api/screen.png")
            from PIL import Image

            img = Image.open(io.BytesIO(png))
            img.load()
            assert img.format == "PNG" and img.size[0] >= 128
            # The dial plan is in effect: "802" is rewritten to 1002 and dialled at once.
            post(control, "/api/hook", {"state": "off"})
            post(control, "/api/keys", {"keys": "802"})
            wait_until(lambda: "INVITE to sip:1002@" in kam.log_text(), 15,
                       "the rewritten INVITE at Kamailio")
            calls = _status(control)["calls"]
            assert calls and "1002" in calls[0]["remote"], calls
            post(control, "/api/hook", {"state": "on"})
        finally:
            assert phone.stop() == 0, phone.text()
    finally:
        tftpd.stop()
    log = phone.text()
    assert _fetched(log) == ["SIPDefault.cnf", f"SIP{MAC}.cnf", "boot-plan.xml"], log
    # 401 first, then the digest REGISTER saved with the per-MAC expiry (600, not 3600).
    assert _registers(kam, "1001")[:2] == ["challenge", "saved"], kam.log_text()[-3000:]
    assert "expires=600" in kam.log_text()
    cache = tmp_path / "state" / "last-good-config.json"
    assert stat.S_IMODE(cache.stat().st_mode) == 0o600
    assert "secret1001" not in log  # the password is cached, never logged

    # Second boot: the TFTP server is gone; the phone comes up from its cache.
    before = len(_registers(kam, "1001"))
    phone = Phone(tmp_path, tftpd.address, control, "boot2")
    try:
        st = phone.wait_for(lambda s: s["registered"], "line 1 to register from the cache")
        assert st["display"][0].startswith("Front desk")
    finally:
        assert phone.stop() == 0, phone.text()
    log = phone.text()
    assert "using the last good configuration" in log and _fetched(log) == []
    assert "saved" in _registers(kam, "1001")[before:]


def test_resync_applies_a_changed_per_mac_file(tmp_path: Path, kam: Kamailio) -> None:
    sip_port, control = free_port(), free_port()
    with Tftpd(tmp_path / "tftproot") as tftpd:
        tftpd.serve("SIPDefault.cnf", _default_cnf(kam, resync=1))
        tftpd.serve(f"SIP{MAC}.cnf", _mac_cnf(sip_port))
        tftpd.serve("boot-plan.xml", DIALPLAN)
        phone = Phone(tmp_path, tftpd.address, control, "resync")
        try:
            phone.wait_for(lambda s: s["registered"], "line 1 to register")
            saved = _registers(kam, "1001").count("saved")
            # A new label only: applied in place, the registration left alone.
            tftpd.serve(f"SIP{MAC}.cnf", _mac_cnf(sip_port, label="Reception"))
            st = phone.wait_for(lambda s: s["display"][0].startswith("Reception"),
                                "the new label on the idle screen")
            assert st["registered"] and "applied to the running phone" in phone.text()
            assert _registers(kam, "1001").count("saved") == saved
            # Then a second line: the handset restarts with it and registers both.
            tftpd.serve(f"SIP{MAC}.cnf", _mac_cnf(
                sip_port, label="Reception",
                extra='line2_name: 1002\nline2_password: "secret1002"\n'))
            st = phone.wait_for(
                lambda s: len(s["lines"]) == 2 and all(ln["registered"] for ln in s["lines"]),
                "both lines registered after the resync")
            assert [ln["name"] for ln in st["lines"]] == ["1001", "1002"]
            assert st["display"][0].startswith("Reception"), st["display"]
        finally:
            assert phone.stop() == 0, phone.text()
    log = phone.text()
    assert "lines added [2]" in log and "restarting with the new configuration" in log, log
    assert _registers(kam, "1002")[:2] == ["challenge", "saved"], kam.log_text()[-3000:]
    cached = json.loads((tmp_path / "state" / "last-good-config.json").read_text())
    assert "line2_name: 1002" in cached["files"][f"SIP{MAC}.cnf"]


def _check_sync(sip_port: int, proxy: tuple[str, int]) -> str:
    """Send a NOTIFY check-sync as the proxy would (from 127.0.0.1) and return the answer's
    status line (the phone answers to the Via's address: our socket)."""
    import socket

    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        sock.settimeout(5)
        port = sock.getsockname()[1]
        sock.sendto((
            f"NOTIFY sip:1001@127.0.0.1:{sip_port} SIP/2.0\r\n"
            f"Via: SIP/2.0/UDP 127.0.0.1:{port};branch=z9hG4bKchecksync{port}\r\n"
            "Max-Forwards: 70\r\n"
            f"From: <sip:{proxy[0]}:{proxy[1]}>;tag=cs{port}\r\n"
            f"To: <sip:1001@127.0.0.1:{sip_port}>\r\n"
            f"Call-ID: checksync{port}@127.0.0.1\r\n"
            "CSeq: 1 NOTIFY\r\n"
            "Event: check-sync\r\n"
            "Subscription-State: terminated\r\n"
            "Content-Length: 0\r\n\r\n"
        ).encode(), ("127.0.0.1", sip_port))
        data, _ = sock.recvfrom(65535)
    return data.split(b"\r\n", 1)[0].decode()


def test_notify_check_sync_resyncs_at_once(tmp_path: Path, kam: Kamailio) -> None:
    """resync_interval 0 (no timer): the new label arrives only because of the NOTIFY."""
    sip_port, control = free_port(), free_port()
    with Tftpd(tmp_path / "tftproot") as tftpd:
        tftpd.serve("SIPDefault.cnf", _default_cnf(kam, resync=0))
        tftpd.serve(f"SIP{MAC}.cnf", _mac_cnf(sip_port))
        tftpd.serve("boot-plan.xml", DIALPLAN)
        phone = Phone(tmp_path, tftpd.address, control, "checksync")
        try:
            phone.wait_for(lambda s: s["registered"], "line 1 to register")
            tftpd.serve(f"SIP{MAC}.cnf", _mac_cnf(sip_port, label="Reception"))
            assert _status(control)["display"][0].startswith("Front desk")
            assert _check_sync(sip_port, (kam.host, kam.port)) == "SIP/2.0 200 OK"
            st = phone.wait_for(lambda s: s["display"][0].startswith("Reception"),
                                "the new label after the check-sync")
            assert st["registered"]
        finally:
            assert phone.stop() == 0, phone.text()
    log = phone.text()
    assert "check-sync NOTIFY from ('127.0.0.1'" in log and "resyncing now" in log, log
    assert "applied to the running phone" in log, log
