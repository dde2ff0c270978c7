"""HalSettings: the wiring from config, refused at boot with the key named when it cannot work."""

from __future__ import annotations

import pytest

from hal.settings import KEYPAD_4X4, HalConfigError, HalSettings, valid_key_name

pytestmark = pytest.mark.arm64  # part of the subset run in the emulated arm64 userland


def refused(**kw: object) -> HalConfigError:
    with pytest.raises(HalConfigError) as err:
        HalSettings(**kw)  # type: ignore[arg-type]
    return err.value


def test_defaults_are_a_valid_wiring_with_no_pin_twice() -> None:
    s = HalSettings()
    pins = [p for _, p in s.pin_uses()]
    assert len(pins) == len(set(pins)) == 13
    assert not set(pins) & {0, 1, 2, 3, 7, 8, 9, 10, 11, 14, 15, 18, 19, 20, 21}, "bus, UART and I2S pins stay free"


def test_pin_off_the_header_is_refused_naming_the_key() -> None:
    err = refused(softkey_pins=(17, 24, 40, 26))
    assert err.key == "softkey_pins[2]"
    assert "hal setting softkey_pins[2]: GPIO 40 is not a header pin" in str(err)
    assert refused(hook_pin=-1).key == "hook_pin"
    assert refused(buzzer_pin="18").key == "buzzer_pin"  # type: ignore[arg-type]


def test_duplicated_pin_is_refused_naming_both_keys() -> None:
    err = refused(hook_pin=17)
    assert err.key == "hook_pin"
    assert "GPIO 17 is also used by softkey_pins[0]" in str(err)
    err = refused(keypad_cols=(22, 23, 22))
    assert err.key == "keypad_cols[2]" and "keypad_cols[0]" in str(err)


def test_pins_of_the_display_bus_are_refused() -> None:
    err = refused(hook_pin=2)
    assert err.key == "hook_pin" and "I2C1 SDA" in str(err)
    err = refused(bus="spi", line_pins=(10,))
    assert err.key == "line_pins[0]" and "SPI0 MOSI" in str(err)
    # Without a panel the I2C pins are free for keys.
    assert HalSettings(panel="none", hook_pin=2).hook_pin == 2
    # On SPI the DC and reset pins count too.
    assert refused(bus="spi", spi_dc_pin=27).key == "spi_dc_pin"


def test_keypad_shape_and_key_names_are_checked() -> None:
    assert refused(keypad_keys=KEYPAD_4X4).key == "keypad_keys[0]"
    assert refused(keypad_cols=(22, 23, 27, 21), keypad_keys=tuple(r[:3] + ("1",) for r in KEYPAD_4X4)).key == "keypad_keys[0][3]"
    err = refused(feature_pins=(("launch_missiles", 21),))
    assert err.key == "feature_pins.launch_missiles"
    assert HalSettings(keypad_cols=(22, 23, 27, 21), keypad_keys=KEYPAD_4X4).keypad_key_names()[:4] == ["1", "2", "3", "redial"]


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("panel", "st7735"), ("bus", "uart"), ("hook_polarity", "open"), ("rotate", 1),
        ("i2c_address", 0x80), ("i2c_port", 3), ("hook_debounce", 5.0), ("pin_factory", "pigpio"),
        ("ring_cadence", ((0.0, 1.0),)), ("ring_cadence", ()), ("width", 96), ("alsa_capture", ""),
        ("buzzer_tone_hz", 1.0), ("keypad_rows", 5),
    ],
)
def test_bad_values_are_refused_naming_the_key(key: str, value: object) -> None:
    assert refused(**{key: value}).key == key


def test_from_mapping_accepts_config_shapes() -> None:
    s = HalSettings.from_mapping({
        "keypad_rows": [5, 6, 13, 16],
        "i2c_address": "0x3D",
        "feature_pins": {"hold": 21},
        "ring_cadence": [[1, 2], [0.5, 0.5]],
        "hook_polarity": "NC",
    })
    assert s.keypad_rows == (5, 6, 13, 16) and s.i2c_address == 0x3D
    assert s.feature_pins == (("hold", 21),)
    assert s.ring_cadence == ((1.0, 2.0), (0.5, 0.5))
    assert s.keypad_key_names()[-1] == "hold"


def test_from_mapping_refuses_unknown_keys_and_bad_shapes() -> None:
    with pytest.raises(HalConfigError) as err:
        HalSettings.from_mapping({"hook_pn": 4})
    assert err.value.key == "hook_pn"
    with pytest.raises(HalConfigError) as err:
        HalSettings.from_mapping({"i2c_address": "3c-ish"})
    assert err.value.key == "i2c_address"
    with pytest.raises(HalConfigError) as err:
        HalSettings.from_mapping({"ring_cadence": [[1]]})
    assert err.value.key == "ring_cadence"
    with pytest.raises(HalConfigError) as err:
        HalSettings.from_mapping({"feature_pins": [["hold"]]})
    assert err.value.key == "feature_pins[0]"


def test_key_names() -> None:
    for name in ("0", "#", "*", "softkey1", "softkey4", "line2", "hold", "speaker"):
        assert valid_key_name(name)
    for name in ("", "10", "softkey0", "softkey", "line99", "Hold", "a"):
        assert not valid_key_name(name)


def test_from_cnf_translates_the_provisioning_keys() -> None:
    cnf = {
        "keypad_rows": (5, 6, 12, 13), "keypad_cols": (), "softkey_pins": (17, 24, 25, 26),
        "hook_pin": None, "hook_polarity": "nc", "hook_debounce_ms": 30, "buzzer_pin": 18,
        "display_type": "sh1106", "display_bus": "spi", "display_port": 1, "display_address": 0x3C,
        "display_spi_device": 0, "display_dc_pin": 20, "display_rst_pin": 21,
        "display_width": 128, "display_height": 64, "display_rotate": 2,
        "audio_capture_device": "plughw:1", "audio_playback_device": "plughw:1",
    }
    with pytest.raises(HalConfigError) as err:
        HalSettings.from_cnf(cnf)  # SPI1 needs GPIO 16-21: the buzzer on 18 collides
    assert err.value.key == "buzzer_pin" and "SPI1 CE0" in str(err.value)
    s = HalSettings.from_cnf({**cnf, "display_port": 0})
    assert (s.panel, s.bus, s.spi_port, s.rotate, s.hook_polarity) == ("sh1106", "spi", 0, 2, "NC")
    assert s.hook_debounce == pytest.approx(0.03) and s.alsa_capture == "plughw:1"
    assert s.hook_pin == 4 and s.keypad_cols == (22, 23, 27), "unset keys keep the defaults"


def test_from_cnf_errors_name_the_cnf_key() -> None:
    with pytest.raises(HalConfigError) as err:
        HalSettings.from_cnf({"display_rotate": 1})
    assert err.value.key == "display_rotate"
    with pytest.raises(HalConfigError) as err:
        HalSettings.from_cnf({"display_port": 7})
    assert err.value.key == "display_port"
    with pytest.raises(HalConfigError) as err:
        HalSettings.from_cnf({"hook_debounce_ms": 5000})
    assert err.value.key == "hook_debounce_ms"


def test_only_the_chip_select_of_the_chosen_spi_device_is_reserved() -> None:
    spi0 = {"bus": "spi", "spi_dc_pin": 20, "spi_rst_pin": 21, "line_pins": (8,)}
    with pytest.raises(HalConfigError) as err:
        HalSettings(**spi0)  # type: ignore[arg-type]
    assert err.value.key == "line_pins[0]" and "SPI0 CE0" in str(err.value)
    assert HalSettings(**spi0, spi_device=1).line_pins == (8,)  # type: ignore[arg-type]
    assert refused(**spi0, spi_device=1, hook_pin=7).key == "hook_pin"
