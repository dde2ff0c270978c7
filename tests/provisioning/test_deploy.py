"""The systemd unit passes ``systemd-analyze verify`` and install-pi.sh does what it says."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

from peers_proc import missing

REPO = Path(__file__).resolve().parents[2]
UNIT = REPO / "systemd" / "piphone.service"
EXEC = "/opt/piphone/venv/bin/piphone"


def unit_settings(text: str) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith(("#", "[")) and "=" in line:
            k, _, v = line.partition("=")
            out.setdefault(k, []).append(v)
    return out


def verify(tmp_path: Path, unit_text: str) -> subprocess.CompletedProcess[str]:
    """Verify inside a scratch root that holds the stock units and our ExecStart path,
    so the unit is checked exactly as installed (ExecStart unchanged)."""
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        missing("systemd-analyze is not installed; run make deps")
    root = tmp_path / "root"
    shutil.copytree("/usr/lib/systemd/system", root / "usr/lib/systemd/system", symlinks=True)
    exe = root / EXEC.lstrip("/")
    exe.parent.mkdir(parents=True)
    exe.write_text("#!/bin/sh\nexit 0\n")
    exe.chmod(0o755)
    unit = root / "etc/systemd/system/piphone.service"
    unit.parent.mkdir(parents=True)
    unit.write_text(unit_text)
    return subprocess.run([analyze, "verify", f"--root={root}", str(unit)],
                          capture_output=True, text=True, timeout=60)


def test_unit_passes_systemd_analyze_verify_without_warnings(tmp_path: Path) -> None:
    res = verify(tmp_path, UNIT.read_text())
    assert res.returncode == 0, res.stderr
    assert res.stderr.strip() == "", res.stderr


def test_verify_catches_a_broken_unit(tmp_path: Path) -> None:
    broken = UNIT.read_text().replace("Type=notify", "Type=notifyy").replace(
        EXEC, "/opt/nowhere/piphone")
    res = verify(tmp_path, broken)
    assert "notifyy" in res.stderr and "/opt/nowhere/piphone" in res.stderr


def test_unit_has_the_required_settings() -> None:
    s = unit_settings(UNIT.read_text())
    assert s["Type"] == ["notify"] and s["Restart"] == ["on-failure"]
    assert s["WatchdogSec"] and s["ProtectSystem"] == ["strict"]
    assert s["NoNewPrivileges"] == ["yes"] and s["StateDirectory"] == ["piphone"]
    assert s["SupplementaryGroups"][0].split() == ["gpio", "i2c", "spi", "audio"]
    assert s["User"] == ["piphone"]
    assert s["ExecStart"][0].startswith(f"{EXEC} run --hal pi --config ")


def test_install_script_dry_run_lists_every_step(tmp_path: Path) -> None:
    env = dict(os.environ, DRY_RUN="1", ETC_DIR=str(tmp_path / "etc-piphone"))
    res = subprocess.run(["bash", str(REPO / "scripts/install-pi.sh")], env=env,
                         capture_output=True, text=True, timeout=60)
    assert res.returncode == 0, res.stderr
    out = res.stdout
    assert "-m venv /opt/piphone/venv" in out
    assert f"/opt/piphone/venv/bin/pip install --upgrade --quiet {REPO}[pi]" in out
    assert "/opt/piphone/venv/bin/python -m firmware.app.codecache" in out
    assert f"install -d -m 0750 -o root -g piphone {tmp_path}/etc-piphone" in out
    assert "piphone.service /etc/systemd/system/piphone.service" in out
    assert "systemctl enable piphone.service" in out
    assert "useradd --system" in out or "usermod" in out
    for group in ("gpio", "i2c", "spi", "audio"):
        assert f"-G {group} piphone" in out or f"group {group} does not exist" in res.stderr


def test_install_script_refuses_to_run_unprivileged_for_real() -> None:
    cmd = ["bash", str(REPO / "scripts/install-pi.sh")]
    if os.geteuid() == 0:  # drop to an unprivileged user to exercise the guard
        runuser = shutil.which("runuser")
        if runuser is None:
            missing("runuser is not available")
        cmd = [runuser, "-u", "nobody", "--", *cmd]
    res = subprocess.run(cmd, capture_output=True, text=True, timeout=60,
                         env={k: v for k, v in os.environ.items() if k != "DRY_RUN"})
    assert res.returncode == 1 and "run as root" in res.stderr
