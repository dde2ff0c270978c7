"""DND and forward-all as the user last set them survive a restart (issue 15).

A 7960 keeps CFwdAll over a power cycle. Here the phone says ``PrefsChanged``
whenever the user's choice changes (DND softkey, CFwdAll, Settings, the web
page) and ``prefs()`` carries it; a new ``Phone`` given those prefs starts
with that choice over the provisioned one, until a resync changes the
provisioned value itself.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from firmware.app.prefs_file import JsonPrefsFile
from firmware.phone.actions import PrefsChanged
from firmware.phone.audio_controls import UserPrefs
from firmware.phone.callops import PhoneError
from firmware.phone.phone import Phone

from .fakes import FakeEndpoint, Harness


def _restart(h: Harness, prefs: UserPrefs) -> Phone:
    return Phone(h.settings, FakeEndpoint(), prefs=prefs)


def test_dnd_softkey_is_remembered_and_wins_over_the_provisioned_value() -> None:
    h = Harness(dnd=False)
    assert h.phone.prefs().dnd is None  # never set by the user: the config speaks
    h.phone.press_softkey("dnd", h.now)
    h.drain()
    assert h.phone.dnd is True and h.of(PrefsChanged)
    again = _restart(h, h.phone.prefs())
    assert again.dnd is True
    screen = again.screen(0.0)
    assert "Do not disturb" in screen.text_rows() and "dnd" in screen.icons


def test_cfwdall_target_dialled_is_remembered_and_turned_off_too() -> None:
    h = Harness()
    h.phone.press_softkey("cfwdall", h.now)
    h.phone.press_keys("5550003#", h.now)
    h.advance(0.1)
    assert h.phone.cfwd_to == "sip:5550003@10.0.0.2"
    prefs = h.phone.prefs()
    assert prefs.cfwd_all == "sip:5550003@10.0.0.2"
    assert _restart(h, prefs).cfwd_to == "sip:5550003@10.0.0.2"
    h.phone.press_softkey("cfwdall", h.now)  # off again: remembered as off
    assert h.phone.prefs().cfwd_all == ""
    off = _restart(replace_settings(h, cfwd_all=True, cfwd_url="sip:9@10.0.0.2"), h.phone.prefs())
    assert off.cfwd_to is None  # the user's "off" beats the provisioned forward


def test_web_settings_are_remembered_and_a_resync_changing_the_key_speaks_again() -> None:
    h = Harness(dnd=False)
    h.phone.set_user_settings(True, "sip:5550004@10.0.0.2", now=h.now)
    prefs = h.phone.prefs()
    assert (prefs.dnd, prefs.cfwd_all) == (True, "sip:5550004@10.0.0.2")
    h.drain()
    before = len(h.of(PrefsChanged))
    h.phone.reconfigure(replace(h.settings, dnd=True), None, h.now)  # provisioned DND changed
    h.drain()
    assert h.phone.prefs().dnd is None and len(h.of(PrefsChanged)) > before
    assert h.phone.prefs().cfwd_all == "sip:5550004@10.0.0.2"  # forwarding untouched


def test_prefs_file_keeps_the_choice_and_rejects_a_bad_one(tmp_path: Path) -> None:
    store = JsonPrefsFile(tmp_path)
    store.save(UserPrefs(dnd=True, cfwd_all=""))
    got = store.load()
    assert (got.dnd, got.cfwd_all) == (True, "")
    (tmp_path / "prefs.json").write_text('{"format": 1, "dnd": "yes", "cfwd_all": 7}')
    got = store.load()
    assert (got.dnd, got.cfwd_all) == (None, None)  # bad fields: the config speaks


def replace_settings(h: Harness, **changes: object) -> Harness:
    h.settings = replace(h.settings, **changes)
    return h


def test_dnd_control_2_is_always_on_whatever_the_user_or_prefs_say() -> None:
    h = Harness(dnd=True, dnd_always=True)
    phone = Phone(h.settings, FakeEndpoint(), prefs=UserPrefs(dnd=False))
    assert phone.dnd is True  # a remembered "off" does not beat "always on"
    try:
        phone.press_softkey("dnd", 0.0)
    except PhoneError as exc:
        assert exc.status == 409 and "always on" in exc.message
    else:
        raise AssertionError("the DND softkey turned off an always-on DND")
    phone.set_user_settings(False, "sip:5550004@10.0.0.2", now=0.0)  # the web page's form
    assert phone.dnd is True and phone.cfwd_to == "sip:5550004@10.0.0.2"


def test_dnd_control_maps_off_on_at_boot_and_always_on() -> None:
    from firmware.app.config_map import phone_settings
    from firmware.provisioning.cnf import parse_cnf
    from firmware.provisioning.schema import build_config

    got = []
    for value in (0, 1, 2):
        cfg = build_config([parse_cnf(f"line1_name: 5550001\ndnd_control: {value}\n",
                                      filename="SIP0011.cnf")])
        s = phone_settings(cfg, media_address="127.0.0.1")
        got.append((s.dnd, s.dnd_always))
    assert got == [(False, False), (True, False), (True, True)]
