"""A wiring error caused by a key a file set is reported at that file's line,
even when the key the HAL names kept its default (found by the cnf fuzz test)."""

from __future__ import annotations

import pytest

from firmware.provisioning.cnf import ConfigError, parse_cnf
from firmware.provisioning.schema import build_config


@pytest.mark.parametrize(
    ("text", "key"),
    [("keypad_cols: 5\n", "keypad_cols"), ("keypad_rows: 5, 6\n", "keypad_rows")],
)
def test_wiring_error_names_the_file_line_that_caused_it(text: str, key: str) -> None:
    with pytest.raises(ConfigError) as info:
        build_config([parse_cnf(text, filename="f.cnf")])
    assert (info.value.file, info.value.line, info.value.key) == ("f.cnf", 1, key)
    assert "bad wiring" in str(info.value)
