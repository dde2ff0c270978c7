"""Typed schema: every key type, overrides, cross-key checks, secrets, bad input."""

from __future__ import annotations

import dataclasses
import logging

import pytest

from firmware.provisioning.cnf import ConfigError, parse_cnf
from firmware.provisioning.keys import IGNORED_KEYS, KEYS, LINE_KEYS, PROXY_KEYS
from firmware.provisioning.schema import HalConfig, PhoneConfig, build_config, is_secret
from hal.settings import HalSettings

pytestmark = pytest.mark.arm64  # part of the subset run in the emulated arm64 userland

BASE = "proxy1_address: 192.0.2.10\n"


def cfg(*texts: str) -> PhoneConfig:
    files = [parse_cnf(t, filename=f"f{i}.cnf") for i, t in enumerate(texts)]
    return build_config(files)


def refused(text: str) -> ConfigError:
    with pytest.raises(ConfigError) as exc:
        cfg(text)
    return exc.value


def test_defaults_are_the_7960s() -> None:
    c = cfg("")
    assert (c.timer_t1, c.timer_t2, c.t1, c.t2) == (500, 4000, 0.5, 4.0)
    assert c.voip_control_port == 5060 and c.proxy_register is False
    assert (c.start_media_port, c.end_media_port) == (16384, 32766)
    assert c.preferred_codec == "g711ulaw" and c.dtmf_avt_payload == 101
    assert c.timer_register_expires == 3600 and c.call_waiting is True
    assert c.hold_method == "c0" and c.transfer_method == "refer" and c.dnd_response == 480
    assert c.lines == () and c.dialplan is None and c.dial_template == "dialplan"


def test_every_scalar_key_is_a_field_of_its_dataclass() -> None:
    phone = {f.name for f in dataclasses.fields(PhoneConfig)}
    hal = {f.name for f in dataclasses.fields(HalConfig)}
    for key, spec in KEYS.items():
        assert key in (hal if spec.group == "hal" else phone), key
    assert not set(KEYS) & IGNORED_KEYS


@pytest.mark.parametrize(
    ("line", "field", "expected"),
    [
        ("timer_t1: 250", "timer_t1", 250),                    # integer
        ("timer_register_expires: +120", "timer_register_expires", 120),
        ("proxy_register: 1", "proxy_register", True),          # bool forms
        ("proxy_register: yes", "proxy_register", True),
        ("call_waiting: off", "call_waiting", False),
        ("nat_enable: FALSE", "nat_enable", False),
        ("preferred_codec: G711ALAW", "preferred_codec", "g711alaw"),  # choice
        ("preferred_codec: g722", "preferred_codec", "g722"),
        ("codec_order: G722, g711ulaw", "codec_order", ("g722", "g711ulaw")),  # choice list
        ("cnf_join_enable: 0", "cnf_join_enable", False),
        ("dnd_response: 486", "dnd_response", 486),             # int choice
        ("phone_label: \"Lobby 2\"", "phone_label", "Lobby 2"),  # text
        ("outbound_proxy: sip.example.net", "outbound_proxy", "sip.example.net"),  # host
        ("nat_address: 2001:db8::5", "nat_address", "2001:db8::5"),
        ("cfwd_url: sip:vm@192.0.2.9", "cfwd_url", "sip:vm@192.0.2.9"),  # uri
        ("cfwd_url: +15551234", "cfwd_url", "+15551234"),
        ("control_bind: 127.0.0.1:8080", "control_bind", ("127.0.0.1", 8080)),  # host:port
        ("control_bind: [::1]:8080", "control_bind", ("::1", 8080)),
        ("control_bind: \"\"", "control_bind", None),
        ("hold_method: sendonly", "hold_method", "sendonly"),
        ("transfer_method: also", "transfer_method", "also"),
        ("tftp_cfg_dir: ./sip_phone/", "tftp_cfg_dir", "./sip_phone/"),
    ],
)
def test_each_value_type_parses(line: str, field: str, expected: object) -> None:
    assert getattr(cfg(line + "\n"), field) == expected


@pytest.mark.parametrize(
    ("line", "field", "expected"),
    [
        ("hook_pin: 7", "hook_pin", 7),                         # pin
        ("buzzer_pin: none", "buzzer_pin", None),
        ("keypad_rows: 5, 6,13 ,16", "keypad_rows", (5, 6, 13, 16)),  # pin list
        ("keypad_cols: \"\"", "keypad_cols", ()),
        ("feature_pins: Hold:20, transfer:21", "feature_pins", (("hold", 20), ("transfer", 21))),
        ("display_address: 0x3D", "display_address", 0x3D),     # hex or int
        ("display_address: 60", "display_address", 60),
        ("hook_polarity: NC", "hook_polarity", "nc"),
        ("audio_playback_device: plughw:CARD=Headphones,DEV=0", "audio_playback_device",
         "plughw:CARD=Headphones,DEV=0"),
    ],
)
def test_hal_keys_land_in_halconfig(line: str, field: str, expected: object) -> None:
    assert getattr(cfg(line + "\n").hal, field) == expected


def test_hal_settings_keep_the_reference_wiring_for_unset_keys() -> None:
    ref = HalSettings()
    c = cfg("hook_debounce_ms: 250\ndisplay_type: sh1106\nhook_polarity: nc\n"
            "feature_pins: hold:20\naudio_capture_device: hw:1\n")
    hs = c.hal_settings
    assert (hs.hook_debounce, hs.panel, hs.hook_polarity) == (0.25, "sh1106", "NC")
    assert hs.feature_pins == (("hold", 20),) and hs.alsa_capture == "hw:1"
    assert (hs.keypad_rows, hs.hook_pin, hs.buzzer_pin) == (
        ref.keypad_rows, ref.hook_pin, ref.buzzer_pin)
    assert HalSettings.from_cnf(dataclasses.asdict(c.hal)) == hs  # the HAL's own contract


@pytest.mark.parametrize(
    ("line", "key", "accepted"),
    [
        ("timer_t1: 50", "timer_t1", "an integer 100..10000 ms"),
        ("timer_t1: fast", "timer_t1", "an integer 100..10000 ms"),
        ("voip_control_port: 70000", "voip_control_port", "1..65535"),
        ("proxy_register: maybe", "proxy_register", "0 or 1"),
        ("preferred_codec: opus", "preferred_codec", "one of g711ulaw, g711alaw"),
        ("dnd_response: 404", "dnd_response", "one of 480, 486"),
        ("codec_order: g722,opus", "codec_order", "comma-separated list of g711ulaw"),
        ("codec_order: g722,G722", "codec_order", "each at most once"),
        ("phone_label: " + "x" * 40, "phone_label", "at most 32 characters"),
        ("outbound_proxy: bad_host!", "outbound_proxy", "a host name or IP address"),
        ("cfwd_url: mailto:x@y", "cfwd_url", "a sip:/sips: URI"),
        ("control_bind: 127.0.0.1", "control_bind", "HOST:PORT"),
        ("control_bind: 127.0.0.1:99999", "control_bind", "HOST:PORT"),
        ("hook_pin: 40", "hook_pin", "BCM GPIO number 0..27"),
        ("keypad_rows: 5,5,6", "keypad_rows", "no repeats"),
        ("keypad_rows: 1,2,3,4,5,6,7,8,9", "keypad_rows", "up to 8"),
        ("display_address: 0x99", "display_address", "0x03..0x77"),
        ("display_rotate: 1", "display_rotate", "one of 0, 2"),
        ("display_height: 48", "display_height", "one of 64, 32"),
        ("feature_pins: hold=20", "feature_pins", "NAME:GPIO pairs"),
        ("pin_factory: pigpio", "pin_factory", "one of auto, rpigpio, lgpio, mock"),
        ("display_address: zz", "display_address", "0x03..0x77"),
        ("time_zone: Europe/Lon don", "time_zone", "a zone name"),
        ("line1_name: bob smith", "line1_name", "a SIP user part"),
        ("proxy2_port: 0", "proxy2_port", "1..65535"),
        ("dial_template: ../etc/passwd", "dial_template", "a file name"),
    ],
)
def test_bad_values_are_refused_with_file_line_key_and_range(
        line: str, key: str, accepted: str) -> None:
    err = refused("# first line\n" + line + "\n")
    assert (err.file, err.line, err.key) == ("f0.cnf", 2, key)
    assert f"accepted: {accepted}" in str(err) or accepted in str(err)
    assert str(err).startswith(f"f0.cnf:2: {key}:")


def test_later_file_overrides_earlier() -> None:
    c = cfg("proxy1_address: 192.0.2.1\nsync: 1\nphone_label: Default\n",
            "phone_label: Mine\nline1_name: 5550001\n")
    assert c.phone_label == "Mine" and c.sync == 1
    assert c.sources == ("f0.cnf", "f1.cnf")
    assert c.lines[0].proxy is not None and c.lines[0].proxy.address == "192.0.2.1"


def test_lines_use_their_own_proxy_or_proxy1_and_skip_unprovisioned() -> None:
    c = cfg(BASE + "proxy2_address: 192.0.2.20\nproxy2_port: 5070\n"
            "line1_name: 1001\nline2_name: 1002\nline2_authname: auth2\n"
            "line3_name: UNPROVISIONED\nline4_name: 1004\n")
    assert [ln.index for ln in c.lines] == [1, 2, 4]
    l1, l2, l4 = c.lines
    assert l2.proxy is not None and (l2.proxy.address, l2.proxy.port) == ("192.0.2.20", 5070)
    assert l4.proxy == l1.proxy and l1.proxy is not None and l1.proxy.port == 5060
    assert (l1.auth_user, l2.auth_user) == ("1001", "auth2")
    assert c.line(2) is l2 and c.line(3) is None


def test_a_line_without_any_proxy_is_refused() -> None:
    err = refused("line1_name: 1001\n")
    assert err.key == "line1_name" and "no proxy" in str(err)


def test_media_port_range_must_be_ordered() -> None:
    err = refused("start_media_port: 20000\nend_media_port: 20000\n")
    assert err.key == "end_media_port" and err.line == 2


def test_a_gpio_used_twice_is_refused_naming_both_keys() -> None:
    err = refused("keypad_rows: 5,6,13,19\nhook_pin: 6\n")
    assert (err.key, err.line) == ("hook_pin", 2)
    assert "GPIO 6 is also used by keypad_rows[1]" in str(err)


def test_wiring_refusals_from_the_hal_name_the_cnf_key_and_line() -> None:
    err = refused("# x\nsoftkey_pins: 2, 24\n")  # GPIO 2 is I2C1 SDA for the panel
    assert (err.key, err.line) == ("softkey_pins", 2) and "I2C1 SDA" in str(err)
    err2 = refused("feature_pins: frobnicate:20\n")
    assert err2.key == "feature_pins" and "unknown key name" in str(err2)


def test_unknown_key_warns_ignored_cisco_key_is_silent(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING):
        c = cfg("sntp_server: 192.0.2.1\nfrobnicate: 1\nline9_name: 9\n")
    assert c.warnings == ("f0.cnf:2: unknown key 'frobnicate' ignored",
                          "f0.cnf:3: unknown key 'line9_name' ignored")
    assert "frobnicate" in caplog.text and "sntp_server" not in caplog.text


def test_hold_method_follows_rfc_2543_hold_unless_set() -> None:
    assert cfg("rfc_2543_hold: 0\n").hold_method == "sendonly"
    assert cfg("rfc_2543_hold: 0\nhold_method: c0\n").hold_method == "c0"


def test_secrets_never_appear_in_repr_or_errors(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.DEBUG):
        c = cfg(BASE + "line1_name: 1001\nline1_password: hunter2-secret\n"
                "control_token: tok-secret-123\n")
    assert c.lines[0].password == "hunter2-secret" and c.control_token == "tok-secret-123"
    text = repr(c) + str(c) + repr(c.lines) + caplog.text
    assert "hunter2" not in text and "tok-secret" not in text
    err = refused("line1_password: " + "p" * 200 + "\n")
    assert "ppp" not in str(err) and err.key == "line1_password"
    assert is_secret("line3_password") and is_secret("control_token")
    assert is_secret("phone_password") and not is_secret("line1_name")


def test_indexed_key_tables_cover_the_7960_line_and_proxy_fields() -> None:
    assert set(LINE_KEYS) == {"name", "shortname", "displayname", "authname", "password"}
    assert set(PROXY_KEYS) == {"address", "port", "transport"}  # transport: ours (SIP over TLS)
