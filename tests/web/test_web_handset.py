"""The handset page in a real Chromium: dial by clicking the keypad, answer on the other page.

Two complete handsets run on loopback (each with its control API and web
page); A's line uses B as its proxy, so digits dialled on A's keypad reach
B. Everything a person does is a click in the browser; what they see (the
LCD image and its text, the lamps, the calls table) arrives by the server's
push (Server-Sent Events), never by reloading the page.
"""

from __future__ import annotations

import base64
import dataclasses
import logging
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from webharness import PhoneLoop, chromium, need, shot, submit_settings, wait_for

from firmware.control import ControlConfig
from firmware.demo.network import Network, handset_config
from firmware.provisioning.directory import Directory, DirectoryEntry

BOOK = Directory(entries=(DirectoryEntry(name="Bob Desk", number="5550002"),
                          DirectoryEntry(name="Carol Lab", number="5550003")))


@dataclasses.dataclass
class Rig:
    loop: PhoneLoop
    net: Network
    a: Any
    b: Any
    driver: Any
    downloads: Path
    tabs: dict[str, str]

    def url(self, who: str, path: str = "/") -> str:
        h = self.a if who == "A" else self.b
        return f"http://127.0.0.1:{h.host.control_port}{path}"

    def tab(self, who: str) -> Any:
        self.driver.switch_to.window(self.tabs[who])
        return self.driver

    def states(self, who: str) -> list[str]:
        h = self.a if who == "A" else self.b
        return self.loop.call(h.states)


@pytest.fixture(scope="module")
def rig(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Rig]:
    downloads = tmp_path_factory.mktemp("downloads")
    fw_log = logging.getLogger("firmware")
    level = fw_log.level
    fw_log.setLevel(logging.INFO)  # as `python -m firmware run` logs: the admin page's tail
    request_cleanup = lambda: fw_log.setLevel(level)  # noqa: E731
    with PhoneLoop() as loop:
        net = Network()

        async def start() -> tuple[Any, Any]:
            b = await net.add("B", handset_config("5550002"), control=ControlConfig(port=0))
            base = handset_config("5550001", proxy=b.address, password="s3cret-A")
            cfg = dataclasses.replace(base, proxy_register=False, directory=BOOK)
            a = await net.add("A", cfg, control=ControlConfig(port=0))
            return a, b

        a, b = loop.run(start())
        try:
            with chromium(download_dir=downloads) as driver:
                r = Rig(loop, net, a, b, driver, downloads, {})
                driver.get(r.url("A"))
                r.tabs["A"] = driver.current_window_handle
                driver.switch_to.new_window("tab")
                driver.get(r.url("B"))
                r.tabs["B"] = driver.current_window_handle
                yield r
        finally:
            loop.run(net.close())
            request_cleanup()


def _body_state(d: Any) -> str:
    return d.find_element("tag name", "body").get_attribute("data-state") or ""


def _lcd(d: Any) -> tuple[str, str]:
    img = d.find_element("id", "lcd")
    return img.get_attribute("alt") or "", img.get_attribute("src") or ""


def _click(d: Any, css: str) -> None:
    d.find_element("css selector", css).click()


def test_dial_by_keypad_ringback_answer_on_the_other_page_hang_up(rig: Rig) -> None:
    a = rig.tab("A")
    wait_for(a, lambda d: _body_state(d) == "idle", "A's page to get its first push")
    idle_alt, idle_src = _lcd(a)
    assert "5550001" in idle_alt or "User 1" in idle_alt
    _click(a, "#hook")
    wait_for(a, lambda d: d.find_element("id", "hook").get_attribute("data-hook") == "on",
             "the hook button to offer Hang up")
    for key in "5550002#":
        _click(a, f'button[data-key="{key}"]')
    wait_for(a, lambda d: _body_state(d) == "ringback", "A's page to show ringback")
    alt, src = _lcd(a)
    assert "Ringing" in alt and ("5550002" in alt or "Bob Desk" in alt)  # (A's directory name)
    assert src.startswith("data:image/png;base64,") and src != idle_src
    assert base64.b64decode(src.split(",", 1)[1]).startswith(b"\x89PNG")
    shot(a, "handset-ringback")

    b = rig.tab("B")
    wait_for(b, lambda d: "on" in (d.find_element("id", "ring").get_attribute("class") or ""),
             "B's ringing lamp")
    assert _body_state(b) == "incoming"
    shot(b, "handset-ringing")
    _click(b, 'button[data-softkey="Answer"]')
    wait_for(b, lambda d: _body_state(d) == "connected", "B's page to show the call connected")
    assert "on" not in (b.find_element("id", "ring").get_attribute("class") or "")
    assert rig.states("A") == ["connected"]

    a = rig.tab("A")
    wait_for(a, lambda d: _body_state(d) == "connected", "A's page to show connected")
    assert "Connected" in _lcd(a)[0]
    rows = a.find_elements("css selector", "#calls tr")
    assert len(rows) == 1 and "connected" in rows[0].text and "5550002" in rows[0].text
    _click(a, 'button[data-button="mute"]')  # the fixed keys: POST /api/button
    wait_for(a, lambda d: "on" in (d.find_element("id", "muted").get_attribute("class") or ""),
             "the Muted lamp")
    assert rig.loop.call(lambda: rig.a.status().muted) is True
    shot(a, "handset-connected")
    _click(a, 'button[data-button="mute"]')
    wait_for(a, lambda d: "on" not in (d.find_element("id", "muted").get_attribute("class")
                                       or ""), "the Muted lamp off")
    _click(a, "#hook")  # hang up
    wait_for(a, lambda d: _body_state(d) == "idle", "A's page back to idle")
    b = rig.tab("B")
    wait_for(b, lambda d: _body_state(d) in ("idle", "ended"), "B to see the hang-up")
    wire = rig.net.log.sequence()
    assert ("A", "B", "INVITE") in wire and ("A", "B", "BYE") in wire


def test_lists_show_the_call_and_dial_from_them(rig: Rig) -> None:
    a = rig.tab("A")
    a.get(rig.url("A", "/lists"))
    placed = wait_for(a, lambda d: d.find_element("id", "placed"), "the placed list")
    assert "5550002" in placed.text and "Bob Desk" in placed.text  # named from the directory
    shot(a, "lists")
    placed.find_element("css selector", "button[data-dial]").click()
    wait_for(a, lambda d: d.current_url.rstrip("/").endswith(str(rig.a.host.control_port)),
             "the handset page after Dial")
    wait_for(a, lambda d: "incoming" in rig.states("B"), "B to ring from the list's Dial")
    rig.loop.call(lambda: rig.b.api.set_hook(True))
    wait_for(a, lambda d: rig.states("B") == ["connected"], "B to answer")
    rig.loop.call(lambda: rig.b.api.set_hook(False))
    wait_for(a, lambda d: rig.states("B") == [], "B idle after hanging up")
    b = rig.tab("B")
    b.get(rig.url("B", "/lists"))
    assert "5550001" in b.find_element("id", "received").text


def test_settings_set_dnd_and_forward_all(rig: Rig) -> None:
    b = rig.tab("B")
    b.get(rig.url("B", "/settings"))
    assert not b.find_element("css selector", "input[name=dnd]").is_selected()
    submit_settings(b, toggle_dnd=True, forward_all="5550009", volume_ringer=3)
    dnd, fwd = rig.loop.call(lambda: (rig.b.host.app.phone.dnd, rig.b.host.app.phone.cfwd_to))
    assert dnd is True and fwd is not None and fwd.startswith("sip:5550009@")
    assert rig.loop.call(lambda: rig.b.status().volume["ringer"]) == 3
    shot(b, "settings")
    b.get(rig.url("B"))
    wait_for(b, lambda d: "Fwd all: 5550009" in _lcd(d)[0], "the LCD to show forwarding")
    # and back off, so later tests find B as it was
    b.get(rig.url("B", "/settings"))
    submit_settings(b, toggle_dnd=True, forward_all="")
    assert rig.loop.call(lambda: (rig.b.host.app.phone.dnd, rig.b.host.app.phone.cfwd_to)) == (
        False, None)


def test_admin_page_masks_secrets_and_the_pcap_reads_in_tshark(rig: Rig) -> None:
    tshark = need("/usr/bin/tshark", "tshark")
    a = rig.tab("A")
    a.get(rig.url("A", "/admin"))
    config = a.find_element("id", "config").text
    assert "line1_password" in config and "s3cret-A" not in a.page_source
    assert "line1_name 5550001" in config
    assert a.find_element("id", "log").text.strip()
    shot(a, "admin")
    minutes = a.find_element("css selector", "input[name=minutes]")
    minutes.clear()
    minutes.send_keys("5")
    a.find_element("id", "trace").click()

    def downloaded(_d: Any) -> Path | None:
        done = [p for p in rig.downloads.glob("piphone-sip-*.pcap")]
        return done[0] if done and done[0].stat().st_size > 24 else None

    pcap = wait_for(a, downloaded, "the pcap download")
    time.sleep(0.2)  # let Chromium finish renaming the file
    out = subprocess.run(
        [tshark, "-r", str(pcap), "-Y", "sip", "-T", "fields", "-e", "ip.src", "-e", "udp.srcport",
         "-e", "sip.Method", "-e", "sip.Status-Code", "-e", "sip.CSeq.method"],
        capture_output=True, text=True, timeout=60, check=True).stdout
    rows = [line.split("\t") for line in out.splitlines()]
    methods = [r[2] for r in rows if r[2]]
    codes = {(r[3], r[4]) for r in rows if r[3]}
    b_port = str(rig.b.address[1])
    assert {"INVITE", "ACK", "BYE"} <= set(methods)
    assert ("180", "INVITE") in codes and ("200", "INVITE") in codes and ("200", "BYE") in codes
    assert any(r[1] == b_port and r[3] == "180" for r in rows)  # B's answer, from B's port


def test_message_waiting_shows_on_the_page(rig: Rig) -> None:
    """An unsolicited NOTIFY (RFC 3842) from A's proxy address lights A's page's lamp."""
    a = rig.tab("A")
    a.get(rig.url("A"))
    wait_for(a, lambda d: _body_state(d) in ("idle", "ended"), "A's page")
    assert "on" not in (a.find_element("id", "mwi").get_attribute("class") or "")
    body = b"Messages-Waiting: yes\r\nVoice-Message: 2/8 (0/1)\r\n"
    host, port = rig.a.address
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind((host, 0))
        me = s.getsockname()[1]
        s.sendto((
            f"NOTIFY sip:5550001@{host}:{port} SIP/2.0\r\n"
            f"Via: SIP/2.0/UDP {host}:{me};branch=z9hG4bK-mwi-web-1\r\n"
            "Max-Forwards: 70\r\n"
            f"From: <sip:voicemail@{host}>;tag=vm1\r\nTo: <sip:5550001@{host}>\r\n"
            f"Call-ID: mwi-web-1@{host}\r\nCSeq: 1 NOTIFY\r\nEvent: message-summary\r\n"
            "Subscription-State: active\r\n"
            "Content-Type: application/simple-message-summary\r\n"
            f"Content-Length: {len(body)}\r\n\r\n").encode() + body, (host, port))
        s.settimeout(10)
        answer = s.recv(4096)
    assert answer.startswith(b"SIP/2.0 200")
    lamp = wait_for(a, lambda d: d.find_element("id", "mwi") if "on" in (
        d.find_element("id", "mwi").get_attribute("class") or "") else None, "the MWI lamp")
    assert lamp.text == "Messages: 2"
    shot(a, "handset-message-waiting")


def test_directory_lists_the_entries_and_dials_one(rig: Rig) -> None:
    a = rig.tab("A")
    a.get(rig.url("A", "/directory"))
    rows = [r.text for r in a.find_elements("css selector", "#directory tr")]
    assert rows[0].startswith("Bob Desk 5550002") and rows[1].startswith("Carol Lab 5550003")
    shot(a, "directory")
    a.find_element("css selector", '#directory button[data-dial="5550002"]').click()
    wait_for(a, lambda d: "incoming" in rig.states("B"), "B to ring from the directory's Dial")
    wait_for(a, lambda d: _body_state(d) == "ringback", "A's handset page in ringback")
    rig.loop.call(lambda: rig.a.api.press_softkey("endcall"))
    wait_for(a, lambda d: "incoming" not in rig.states("B"), "B to stop ringing")
