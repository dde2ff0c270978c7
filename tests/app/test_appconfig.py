"""The .cnf keys that reach call control through ``appconfig.phone_settings``."""

from __future__ import annotations

from firmware.app.config_map import endpoint_config, phone_settings
from firmware.provisioning.loader import config_from_files


def _settings(text: str):  # noqa: ANN202 - PhoneSettings
    cfg = config_from_files(None, f"line1_name: 1001\nproxy1_address: 127.0.0.1\n{text}".encode(), None,
                            mac_name="SIP00112233AABB.cnf", dialplan_name="dialplan.xml")
    return phone_settings(cfg, media_address="127.0.0.1")


def test_phone_label_and_dialling_keys_reach_call_control() -> None:
    s = _settings('phone_label: "Front desk"\ninterdigit_timeout: 4\ndial_pound_sends: 0\n')
    assert s.phone_label == "Front desk"
    assert s.interdigit_timeout == 4.0 and s.pound_sends is False


def test_defaults_when_the_keys_are_absent() -> None:
    s = _settings("")
    assert s.phone_label == "" and s.interdigit_timeout == 10.0 and s.pound_sends is True


def test_phone_answers_invite_with_trying_at_once() -> None:
    """The 7960 sends 100 Trying at once (seed Figure B-1 step 4); no .cnf key sets it."""
    cfg = config_from_files(None, b"line1_name: 1001\nproxy1_address: 127.0.0.1\n", None,
                            mac_name="SIP00112233AABB.cnf")
    assert endpoint_config(cfg, local_address=("127.0.0.1", 5060)).trying_delay == 0.0
