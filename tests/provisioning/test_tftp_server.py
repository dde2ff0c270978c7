"""Against a real tftpd-hpa on loopback: options, boot order, overrides, cache, resync."""

from __future__ import annotations

import asyncio
import logging
import os
import stat
from pathlib import Path

import pytest

from firmware.provisioning import boot
from firmware.provisioning.boot import provision, provision_result, resync
from firmware.provisioning.cache import ConfigCache
from firmware.provisioning.tftp import TftpError, TftpSettings, tftp_get
from firmware.provisioning.tftp_proto import FailureKind

from .conftest import TftpServer, free_udp_port

pytestmark = pytest.mark.interop

MAC = "00112233AABB"
FAST = TftpSettings(timeout=1.0, retries=1)
#: For a server that is down: give up quickly (0.2 s x 2 tries).
DOWN = TftpSettings(timeout=0.2, retries=1)

DEFAULT = """\
# shared
proxy1_address: 127.0.0.1
proxy1_port: 5060
proxy_register: 1
phone_label: "Default label"
timer_register_expires: 3600
dial_template: dialplan
"""
PER_MAC = """\
phone_label: "Front desk"
line1_name: 5550001
line1_password: s3cret-pw
"""
DIALPLAN = "<DIALTEMPLATE><TEMPLATE MATCH='2...' Timeout='0'/></DIALTEMPLATE>"


def serve_all(tftpd: TftpServer, prefix: str = "") -> None:
    tftpd.put("SIPDefault.cnf", DEFAULT + (f"tftp_cfg_dir: {prefix}\n" if prefix else ""))
    tftpd.put(f"{prefix}SIP{MAC}.cnf", PER_MAC)
    tftpd.put(f"{prefix}dialplan.xml", DIALPLAN)


def run(coro):  # noqa: ANN001, ANN201 - small helper
    return asyncio.run(coro)


def test_options_are_negotiated_with_tftpd_hpa(tftpd: TftpServer) -> None:
    body = os.urandom(100_000)
    tftpd.put("blob.bin", body)
    big = run(tftp_get(tftpd.address, "blob.bin", TftpSettings(blksize=1428)))
    assert big.data == body
    assert big.options == {"blksize": 1428, "tsize": 100_000, "timeout": 1}
    small = run(tftp_get(tftpd.address, "blob.bin", TftpSettings(blksize=512,
                                                                  request_tsize=False)))
    assert small.data == body and small.options == {"blksize": 512, "timeout": 1}
    plain = run(tftp_get(tftpd.address, "blob.bin",
                         TftpSettings(blksize=None, request_tsize=False, timeout=0.5)))
    assert plain.data == body and plain.options == {}


def test_size_cap_refuses_a_large_file_from_its_tsize(tftpd: TftpServer) -> None:
    tftpd.put("big.cnf", b"x" * 5000)
    with pytest.raises(TftpError) as exc:
        run(tftp_get(tftpd.address, "big.cnf", TftpSettings(max_size=4096)))
    assert exc.value.kind is FailureKind.TOO_LARGE
    with pytest.raises(TftpError) as exc2:  # no tsize asked: the byte count catches it
        run(tftp_get(tftpd.address, "big.cnf", TftpSettings(max_size=4096,
                                                             request_tsize=False)))
    assert exc2.value.kind is FailureKind.TOO_LARGE


def test_missing_file_is_not_found(tftpd: TftpServer) -> None:
    with pytest.raises(TftpError) as exc:
        run(tftp_get(tftpd.address, "nope.cnf", FAST))
    assert exc.value.kind is FailureKind.NOT_FOUND


@pytest.mark.parametrize("prefix", ["", "sip_phone/"])
def test_boot_fetch_order_and_per_mac_override(
        tftpd: TftpServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, prefix: str) -> None:
    serve_all(tftpd, prefix)
    asked: list[str] = []
    real = boot.tftp_get

    async def recording(server, name, settings=None):  # noqa: ANN001, ANN202
        asked.append(name)
        return await real(server, name, settings)

    monkeypatch.setattr(boot, "tftp_get", recording)
    result = run(provision_result(f"127.0.0.1:{tftpd.port}", "00:11:22:33:aa:bb",
                                  tmp_path / "state", settings=FAST))
    assert asked == ["SIPDefault.cnf", f"{prefix}SIP{MAC}.cnf", f"{prefix}dialplan.xml"]
    cfg = result.config
    assert result.origin == "tftp" and result.problem is None
    assert cfg.phone_label == "Front desk"          # SIP<MAC>.cnf overrides SIPDefault.cnf
    assert cfg.timer_register_expires == 3600       # inherited from SIPDefault.cnf
    assert [ln.name for ln in cfg.lines] == ["5550001"]
    assert cfg.lines[0].proxy is not None and cfg.lines[0].proxy.address == "127.0.0.1"
    assert cfg.dialplan is not None and cfg.dialplan.templates[0].match == "2..."
    assert cfg.sources == ("SIPDefault.cnf", f"SIP{MAC}.cnf")


def test_cache_is_written_0600_and_passwords_are_not_logged(
        tftpd: TftpServer, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    serve_all(tftpd)
    with caplog.at_level(logging.DEBUG):
        run(provision(tftpd.address, MAC, tmp_path / "state", settings=FAST))
    cache = ConfigCache(tmp_path / "state")
    assert stat.S_IMODE(cache.path.stat().st_mode) == 0o600
    assert stat.S_IMODE(cache.directory.stat().st_mode) == 0o700
    assert "s3cret-pw" not in caplog.text


def test_server_down_boots_from_the_cache(tftpd: TftpServer, tmp_path: Path) -> None:
    serve_all(tftpd)
    state = tmp_path / "state"
    first = run(provision(tftpd.address, MAC, state, settings=FAST))
    tftpd.stop()
    result = run(provision_result(tftpd.address, MAC, state, settings=DOWN))
    assert result.origin == "cache" and "no answer" in (result.problem or "")
    assert result.config == first
    assert result.config.lines[0].password == "s3cret-pw"


def test_server_down_and_no_cache_runs_line_less_with_the_reason(tmp_path: Path) -> None:
    result = run(provision_result(("127.0.0.1", free_udp_port()), MAC, tmp_path / "state",
                                  settings=DOWN))
    assert result.origin == "none" and result.config.lines == ()
    assert "no answer" in (result.problem or "")


@pytest.mark.parametrize(
    ("name", "content", "fragment"),
    [
        ("SIPDefault.cnf", DEFAULT + "timer_t1: 5\n", "SIPDefault.cnf:8: timer_t1: bad value"),
        (f"SIP{MAC}.cnf", PER_MAC + "proxy_register: perhaps\n",
         f"SIP{MAC}.cnf:4: proxy_register: bad value"),
        ("dialplan.xml", "<DIALTEMPLATE><TEMPLATE", "dialplan.xml: not well-formed"),
    ],
)
def test_a_bad_value_is_skipped_and_the_rest_of_the_set_used(
        tftpd: TftpServer, tmp_path: Path, name: str, content: str, fragment: str) -> None:
    serve_all(tftpd)
    state = tmp_path / "state"
    tftpd.put(name, content)
    result = run(provision_result(tftpd.address, MAC, state, settings=FAST))
    assert result.origin == "tftp" and result.problem is None
    assert result.config.lines[0].name == "5550001"
    assert [w for w in result.config.warnings if fragment in w], result.config.warnings


@pytest.mark.parametrize(
    ("name", "content", "fragment"),
    [
        (f"SIP{MAC}.cnf", "this is not a cnf file\n", "no usable line"),
        (f"SIP{MAC}.cnf", "line1_name: has space\n", "line1_name: bad value"),
        (f"SIP{MAC}.cnf", b"line1_name: 1\x00\n", "configuration refused"),
    ],
)
def test_a_set_without_a_usable_line_never_replaces_the_last_good(
        tftpd: TftpServer, tmp_path: Path, name: str, content: str | bytes,
        fragment: str) -> None:
    serve_all(tftpd)
    state = tmp_path / "state"
    good = run(provision(tftpd.address, MAC, state, settings=FAST))
    cached_before = ConfigCache(state).path.read_bytes()
    tftpd.put(name, content)
    result = run(provision_result(tftpd.address, MAC, state, settings=FAST))
    assert result.origin == "cache"
    assert fragment in (result.problem or "")
    assert result.config == good
    assert ConfigCache(state).path.read_bytes() == cached_before


def test_resync_applies_changes_and_reports_the_diff(tftpd: TftpServer, tmp_path: Path) -> None:
    serve_all(tftpd)
    state = tmp_path / "state"
    current = run(provision(tftpd.address, MAC, state, settings=FAST))
    same = run(resync(current, tftpd.address, MAC, state, settings=FAST))
    assert same.diff.empty and not same.diff.reregister and same.problem is None

    tftpd.put(f"SIP{MAC}.cnf", PER_MAC.replace("Front desk", "Lobby")
              + "line2_name: 5550002\nline2_password: other-pw\n")
    changed = run(resync(current, tftpd.address, MAC, state, settings=FAST))
    assert changed.config.phone_label == "Lobby"
    assert changed.diff.lines_added == (2,) and changed.diff.reregister
    assert "phone_label" in changed.diff.changed_keys
    assert "line2_password" in changed.diff.changed_keys
    assert "other-pw" not in changed.diff.summary()

    tftpd.put(f"SIP{MAC}.cnf", "phone_label: Lobby\nline2_name: 5550002\n")
    removed = run(resync(changed.config, tftpd.address, MAC, state, settings=FAST))
    assert removed.diff.lines_removed == (1,) and removed.diff.reregister

    tftpd.put(f"SIP{MAC}.cnf", "phone_label: Lobby\n")  # no line left: never applied
    kept = run(resync(removed.config, tftpd.address, MAC, state, settings=FAST))
    assert kept.config is removed.config and "no usable line" in (kept.problem or "")

    tftpd.put("SIPDefault.cnf", DEFAULT.replace("Default label", "New default"))
    label_only = run(resync(removed.config, tftpd.address, MAC, state, settings=FAST))
    assert not label_only.diff.reregister  # a label change only redraws the idle screen


def test_resync_with_a_broken_file_keeps_the_current_config(
        tftpd: TftpServer, tmp_path: Path) -> None:
    serve_all(tftpd)
    state = tmp_path / "state"
    current = run(provision(tftpd.address, MAC, state, settings=FAST))
    tftpd.put(f"SIP{MAC}.cnf", "line1_name: has space\n")
    result = run(resync(current, tftpd.address, MAC, state, settings=FAST))
    assert result.config is current and result.diff.empty
    assert "line1_name" in (result.problem or "")


def test_only_the_per_mac_file_is_enough(tftpd: TftpServer, tmp_path: Path) -> None:
    tftpd.put(f"SIP{MAC}.cnf", "proxy1_address: 127.0.0.1\n" + PER_MAC)
    cfg = run(provision(tftpd.address, MAC, tmp_path / "s", settings=FAST))
    assert cfg.lines[0].name == "5550001" and cfg.dialplan is None


def test_an_unwritable_cache_does_not_stop_the_boot(tftpd: TftpServer, tmp_path: Path) -> None:
    serve_all(tftpd)
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("")
    result = run(provision_result(tftpd.address, MAC, blocker / "state", settings=FAST))
    assert result.origin == "tftp" and result.config.phone_label == "Front desk"
