"""Where ``run`` keeps its TFTP cache: --state-dir, systemd's, or a user's own for the mock HAL."""

from __future__ import annotations

from pathlib import Path

import pytest

from firmware.__main__ import build_parser
from firmware.app.cli import state_path


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


def test_which_resync_changes_apply_without_a_restart() -> None:
    from firmware.app.runloop import applies_live
    from firmware.provisioning.diff import ConfigDiff

    assert applies_live(ConfigDiff(changed_keys=("phone_label", "dial_template"),
                                   dialplan_changed=True))
    assert not applies_live(ConfigDiff(changed_keys=("timer_t1",)))  # the endpoint's timers
    assert not applies_live(ConfigDiff(lines_added=(2,), reregister=True))


def test_a_pending_restart_is_not_downgraded_by_a_later_label_change() -> None:
    from types import SimpleNamespace

    from firmware.app.runloop import _Reload
    from firmware.provisioning.diff import ConfigDiff

    reload = _Reload()
    reload(SimpleNamespace(config="a", diff=ConfigDiff(lines_added=(2,), reregister=True)))
    reload(SimpleNamespace(config="b", diff=ConfigDiff(changed_keys=("phone_label",))))
    assert not reload.live and reload.take() == "b"
    assert reload.live and not reload.event.is_set()
    reload(SimpleNamespace(config="c", diff=ConfigDiff(changed_keys=("phone_label",))))
    assert reload.live
