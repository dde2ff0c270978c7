"""Config cache robustness and loading a config from local files (--config)."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest

from firmware.provisioning.boot import (
    default_cache_dir,
    default_mac,
    load_local,
    parse_server,
)
from firmware.provisioning.cache import ConfigCache
from firmware.provisioning.loader import cfg_dir, mac_file, normalize_mac

pytestmark = pytest.mark.arm64  # part of the subset run in the emulated arm64 userland

CONFIG = Path(__file__).resolve().parents[2] / "config"


def test_cache_round_trip_replaces_the_whole_set_atomically(tmp_path: Path) -> None:
    cache = ConfigCache(tmp_path / "state")
    assert cache.load() is None
    cache.save({"SIPDefault.cnf": b"sync: 1\n", "dialplan.xml": b"<DIALTEMPLATE/>"})
    cache.save({"SIPDefault.cnf": b"sync: 2\n"})
    assert cache.load() == {"SIPDefault.cnf": b"sync: 2\n"}
    assert stat.S_IMODE(cache.path.stat().st_mode) == 0o600
    assert [p.name for p in cache.directory.iterdir()] == [cache.path.name]


@pytest.mark.parametrize("content", [b"{not json", b'{"version": 2, "files": {}}',
                                     b'{"version": 1, "files": []}', b"[]",
                                     b"x" * (600 * 1024)])
def test_damaged_cache_is_ignored(tmp_path: Path, content: bytes) -> None:
    cache = ConfigCache(tmp_path)
    cache.path.write_bytes(content)
    assert cache.load() is None


def test_the_shipped_examples_load_as_a_directory() -> None:
    cfg = load_local(CONFIG, mac="00:11:22:33:AA:BB")
    assert cfg.phone_label == "Front desk" and cfg.proxy_register is True
    assert [(ln.index, ln.name, ln.displayname) for ln in cfg.lines] == [
        (1, "5550001", "Front Desk")]
    assert cfg.hal.keypad_rows == (5, 6, 13, 16) and cfg.hal.display_address == 0x3C
    assert cfg.hal_settings.feature_pins == (("hold", 20), ("transfer", 21))
    assert cfg.dialplan is not None and cfg.warnings == ()
    assert cfg.sources == ("SIPDefault.cnf", "SIP00112233AABB.cnf")


def test_a_single_file_picks_up_sipdefault_and_dialplan_beside_it() -> None:
    cfg = load_local(CONFIG / "SIP00112233AABB.cnf")
    assert cfg.sources == ("SIPDefault.cnf", "SIP00112233AABB.cnf")
    assert cfg.dialplan is not None
    with_mac = load_local(CONFIG / "SIPDefault.cnf", mac="00112233aabb")
    assert with_mac.sources == ("SIPDefault.cnf", "SIP00112233AABB.cnf")
    assert with_mac.lines[0].name == "5550001"
    only_default = load_local(CONFIG / "SIPDefault.cnf")
    assert only_default.sources == ("SIPDefault.cnf",) and only_default.lines == ()


def test_a_standalone_file_with_any_name(tmp_path: Path) -> None:
    f = tmp_path / "phone.cnf"
    f.write_text("proxy1_address: 127.0.0.1\nline1_name: 1001\n")
    cfg = load_local(f)
    assert cfg.lines[0].name == "1001" and cfg.dialplan is None


def test_local_bad_value_warns_with_location(tmp_path: Path) -> None:
    f = tmp_path / "phone.cnf"
    f.write_text("proxy1_address: 127.0.0.1\nvoip_control_port: 0\n")
    cfg = load_local(f)
    assert cfg.voip_control_port == 5060
    assert ":2: voip_control_port: bad value" in cfg.warnings[0]


def test_dial_template_cannot_escape_the_config_directory(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    (tmp_path / "SIPDefault.cnf").write_text("tftp_cfg_dir: ../\n")
    (tmp_path.parent / "SIP001122334455.cnf").write_text("line1_name: outside\n")
    cfg = load_local(tmp_path, mac="001122334455")
    assert cfg.lines == () and "may not contain '..'" in caplog.text


def test_the_example_cnf_files_are_valid_json_free_and_secret_free_in_repr() -> None:
    cfg = load_local(CONFIG, mac="00112233AABB")
    assert "change-me" not in repr(cfg)
    json.dumps(cfg.sources)  # plain strings


@pytest.mark.parametrize(("text", "expected"), [
    ("00:11:22:33:aa:bb", "00112233AABB"), ("0011.2233.aabb", "00112233AABB"),
    ("00-11-22-33-AA-BB", "00112233AABB")])
def test_mac_forms(text: str, expected: str) -> None:
    assert normalize_mac(text) == expected and mac_file(text) == f"SIP{expected}.cnf"


def test_bad_mac_and_paths_are_refused() -> None:
    with pytest.raises(ValueError):
        normalize_mac("00:11:22:33:aa")
    with pytest.raises(ValueError):
        cfg_dir("a/../../etc")
    assert cfg_dir("./sip_phone/") == "sip_phone/" and cfg_dir("") == "" and cfg_dir("/") == ""


@pytest.mark.parametrize(("text", "expected"), [
    ("192.0.2.5", ("192.0.2.5", 69)), ("tftp.lan:6969", ("tftp.lan", 6969)),
    ("[2001:db8::1]:69", ("2001:db8::1", 69)), ("2001:db8::1", ("2001:db8::1", 69)),
    (None, None), ("", None)])
def test_server_forms(text: str | None, expected: tuple[str, int] | None) -> None:
    assert parse_server(text) == expected


@pytest.mark.parametrize("text", ["host:0", "host:x", ":69", "host:70000"])
def test_bad_server_forms(text: str) -> None:
    with pytest.raises(ValueError):
        parse_server(text)


def test_default_mac_prefers_eth0_and_skips_loopback(tmp_path: Path) -> None:
    for name, addr in [("lo", "00:00:00:00:00:00"), ("wlan0", "b8:27:eb:00:00:02"),
                       ("eth0", "b8:27:eb:00:00:01"), ("bogus", "not-a-mac")]:
        (tmp_path / name).mkdir()
        (tmp_path / name / "address").write_text(addr + "\n")
    assert default_mac(tmp_path) == "B827EB000001"
    (tmp_path / "eth0" / "address").unlink()
    assert default_mac(tmp_path) == "B827EB000002"
    assert default_mac(tmp_path / "missing") is None


def test_default_cache_dir_follows_systemd(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STATE_DIRECTORY", "/var/lib/piphone:/var/lib/other")
    assert default_cache_dir() == Path("/var/lib/piphone")
    monkeypatch.setenv("STATE_DIRECTORY", "/tmp/x")
    assert default_cache_dir() == Path("/tmp/x")
    monkeypatch.delenv("STATE_DIRECTORY")
    assert default_cache_dir() == Path("/var/lib/piphone")
