"""Where ``run`` keeps its TFTP cache: --state-dir, systemd's, or a user's own for the mock HAL."""

from __future__ import annotations

from pathlib import Path

import pytest

from firmware.__main__ import build_parser
from firmware.app_main import state_path


def test_mock_hal_defaults_to_the_users_state_home(monkeypatch: pytest.MonkeyPatch,
                                                   tmp_path: Path) -> None:
    monkeypatch.delenv("STATE_DIRECTORY", raising=False)
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "xdg"))
    assert state_path("mock") == tmp_path / "xdg" / "piphone"
    monkeypatch.delenv("XDG_STATE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert state_path("mock") == tmp_path / "home" / ".local" / "state" / "piphone"


def test_pi_and_systemd_keep_their_directory(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("STATE_DIRECTORY", raising=False)
    assert state_path("pi") == Path("/var/lib/piphone")
    monkeypatch.setenv("STATE_DIRECTORY", str(tmp_path / "sd"))
    assert state_path("mock") == tmp_path / "sd" and state_path("pi") == tmp_path / "sd"


def test_state_dir_option_wins(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("STATE_DIRECTORY", str(tmp_path / "sd"))
    args = build_parser().parse_args(["run", "--state-dir", str(tmp_path / "mine")])
    assert state_path(args.hal, args.state_dir) == tmp_path / "mine"
