"""The web page bound off loopback, in Chromium: refused without login, user and admin roles.

The phone is the real program (``python -m firmware run --hal mock``) in a
network namespace this test creates, its control API and page bound to
192.0.2.10 (TEST-NET-1, on a veth inside the namespace: not loopback, so
the login rules apply, and no packet can leave). Chromium and chromedriver
run inside the same namespace. The passwords come from the configuration
files, the admin's already hashed.
"""

from __future__ import annotations

import json
import os
import socket
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from peers_netns import Netns
from peers_proc import PeerProcess
from peers_tftp import Tftpd
from webharness import chromium, shot, wait_for

from firmware.control.web.auth import hash_password

ADDR = "192.0.2.10"
PORT = 8080
BASE = f"http://{ADDR}:{PORT}"
MAC = "00112233AABB"
LINE_PASSWORD = "hunter2-line-secret"
TOKEN = "tok-0123456789"


def _configs(root: Path, *, token: bool = True) -> None:
    (root / "SIPDefault.cnf").write_text(
        "# shared by every phone\n"
        "proxy1_address: 127.0.0.1\n"
        "proxy1_port: 5070\n"
        "proxy_register: 0\n"
        + (f"control_token: {TOKEN}\n" if token else "# no control_token: web logins only\n")
        + "web_user_password: user-pass\n"
        f"web_admin_password: \"{hash_password('admin-pass', iterations=20_000)}\"\n")
    (root / f"SIP{MAC}.cnf").write_text(
        "# this phone\n"
        "phone_label: \"Web login test\"\n"
        "line1_name: 5550001\n"
        f"line1_password: \"{LINE_PASSWORD}\"\n"
        "voip_control_port: 5062\n")


def _http(path: str, headers: dict[str, str] | None = None) -> int:
    req = urllib.request.Request(BASE + path, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=10) as r:  # noqa: S310 - our own namespace
            return int(r.status)
    except urllib.error.HTTPError as exc:
        return int(exc.code)


def _serving(timeout: float = 30.0) -> bool:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        try:
            socket.create_connection((ADDR, PORT), timeout=1).close()
            return True
        except OSError:
            time.sleep(0.1)
    return False


def _login(d: Any, user: str, password: str) -> None:
    wait_for(d, lambda d: d.current_url.endswith("/login"), "the login page")
    from selenium.webdriver.support.ui import Select

    Select(d.find_element("css selector", "select[name=user]")).select_by_visible_text(user)
    box = d.find_element("css selector", "input[name=password]")
    box.clear()
    box.send_keys(password)
    d.find_element("css selector", "#login button[type=submit]").click()


def test_off_loopback_login_user_and_admin_roles_and_restart(tmp_path: Path) -> None:
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
                # Tools: the Bearer token still works; nothing works without it or a login.
                assert _http("/api/status") == 401
                assert _http("/api/status", {"Authorization": f"Bearer {TOKEN}"}) == 200
                with chromium() as d:
                    _browse(d, phone)
        finally:
            phone.stop()
    log = phone.log_text()
    assert LINE_PASSWORD not in log and "admin-pass" not in log and "user-pass" not in log


def _browse(d: Any, phone: PeerProcess) -> None:
    d.get(BASE + "/")
    wait_for(d, lambda d: d.current_url == BASE + "/login", "the redirect to the login page")
    status = d.execute_async_script(
        "fetch('/api/status').then((r) => arguments[0](r.status))")
    assert status == 401  # refused without login, from the page's origin too
    d.get(BASE + "/admin")
    assert d.current_url == BASE + "/login"
    shot(d, "login")

    _login(d, "user", "wrong")
    wait_for(d, lambda d: "wrong user or password" in d.find_element("id", "msg").text,
             "the refusal")
    _login(d, "user", "user-pass")
    wait_for(d, lambda d: d.current_url == BASE + "/", "the handset page after login")
    wait_for(d, lambda d: d.find_element("tag name", "body").get_attribute("data-state") == "idle",
             "the first push")
    assert "Admin" not in d.find_element("tag name", "nav").text
    d.find_element("id", "hook").click()  # a POST with the session's CSRF token
    wait_for(d, lambda d: d.find_element("tag name", "body").get_attribute("data-state")
             == "dialing", "the phone to go off hook")
    d.find_element("id", "hook").click()
    d.get(BASE + "/admin")
    assert "needs the admin login" in d.find_element("tag name", "main").text
    d.find_element("css selector", "nav button[data-post='/logout']").click()

    _login(d, "admin", "admin-pass")
    wait_for(d, lambda d: d.current_url == BASE + "/", "the handset page")
    d.get(BASE + "/admin")
    rows = {r.find_elements("tag name", "td")[0].text: r for r in
            d.find_elements("css selector", "#config tbody tr")}
    name = [c.text for c in rows["line1_name"].find_elements("tag name", "td")]
    assert name == ["line1_name", "5550001", f"SIP{MAC}.cnf:3"]
    pw = [c.text for c in rows["line1_password"].find_elements("tag name", "td")]
    assert pw[1] != LINE_PASSWORD and set(pw[1]) == {"•"} and pw[2] == f"SIP{MAC}.cnf:4"
    assert [c.text for c in rows["web_admin_password"].find_elements("tag name", "td")][2] == (
        "SIPDefault.cnf:7")
    assert [c.text for c in rows["timer_t1"].find_elements("tag name", "td")][2] == "(default)"
    source = d.page_source
    assert LINE_PASSWORD not in source and TOKEN not in source and "pbkdf2" not in source
    assert "Web login test" in source  # phone_label, not a secret
    d.execute_script("document.getElementById('config').scrollIntoView()")
    shot(d, "admin-config")

    d.find_element("css selector", "button[data-post='/admin/resync']").click()
    wait_for(d, lambda d: "no provisioning server to resync from" in d.find_element(
        "id", "msg").text, "the resync refusal (this phone was started with --config)")
    d.find_element("css selector", "button[data-post='/admin/restart']").click()
    d.switch_to.alert.accept()
    wait_for(d, lambda d: "Restarting" in d.find_element("id", "msg").text, "Restarting")
    wait_for(d, lambda d: "restarting with the new configuration (restart requested)"
             in phone.log_text(), "the run loop to restart the phone")
    assert _serving()

    def login_again(d: Any) -> bool:
        d.get(BASE + "/")  # sessions do not survive a restart: log in again
        return d.current_url == BASE + "/login"

    wait_for(d, login_again, "the restarted phone's login page")
    assert json.loads(json.dumps(_http("/api/status"))) == 401


def test_admin_resync_fetches_the_new_configuration_over_tftp(tmp_path: Path) -> None:
    """Resync on the admin page: the phone asks tftpd-hpa again and shows the new label."""
    root = tmp_path / "tftproot"
    root.mkdir()
    _configs(root, token=False)  # off loopback with web passwords and no API token
    for f in root.iterdir():
        f.chmod(0o644)
    with Netns(addr=ADDR) as ns, ns.entered():
        tftpd = Tftpd(root, port=6969).start()  # started in the namespace (this thread's)
        env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
        phone = PeerProcess(
            [sys.executable, "-m", "firmware", "run", "--hal", "mock", "--tftp", "127.0.0.1:6969",
             "--mac", MAC, "--state-dir", str(tmp_path / "state"), "--control", f"{ADDR}:{PORT}"],
            cwd=tmp_path, log_name="phone.log", env=env).start()
        try:
            assert _serving(), phone.log_text()
            assert _http("/api/status", {"Authorization": f"Bearer {TOKEN}"}) == 401  # no token
            with chromium() as d:
                d.get(BASE + "/")
                _login(d, "admin", "admin-pass")
                wait_for(d, lambda d: "Web login test" in d.find_element("id", "lcd").get_attribute(
                    "alt"), "the label from the TFTP files on the LCD")
                per_mac = root / f"SIP{MAC}.cnf"
                per_mac.write_text(per_mac.read_text().replace("Web login test", "After resync"))
                d.get(BASE + "/admin")
                d.find_element("css selector", "button[data-post='/admin/resync']").click()
                wait_for(d, lambda d: "Checking the provisioning server" in d.find_element(
                    "id", "msg").text, "the resync to start")
                d.get(BASE + "/")
                wait_for(d, lambda d: "After resync" in d.find_element("id", "lcd").get_attribute(
                    "alt"), "the new label on the LCD, pushed after the resync")
                d.get(BASE + "/admin")
                rows = [[c.text for c in r.find_elements("tag name", "td")]
                        for r in d.find_elements("css selector", "#config tbody tr")]
                assert ["phone_label", "After resync", f"SIP{MAC}.cnf:2"] in rows
        finally:
            phone.stop()
            tftpd.stop()
    assert "resync: applied to the running phone" in phone.log_text()
