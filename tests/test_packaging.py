"""What a handset gets: the product packages, not the demo and test tooling (issue 10)."""

from __future__ import annotations

import importlib.util
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

from setuptools import find_packages

ROOT = Path(__file__).resolve().parents[1]


def _packaged() -> set[str]:
    """The packages ``pip install .`` puts in the wheel, by the pyproject's own rule."""
    find = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"]
    rule = find["find"]
    return set(find_packages(str(ROOT), include=rule["include"], exclude=rule.get("exclude", ())))


def _source_packages() -> set[str]:
    return {
        ".".join(p.parent.relative_to(ROOT).parts)
        for top in ("firmware", "hal")
        for p in (ROOT / top).rglob("__init__.py")
        if "__pycache__" not in p.parts
    }


def test_the_handset_wheel_leaves_out_the_tooling_and_keeps_everything_else() -> None:
    packaged = _packaged()
    tooling = {p for p in _source_packages() if p == "firmware.demo" or p.startswith("firmware.demo.")}
    assert tooling and not tooling & packaged
    assert packaged == _source_packages() - tooling


def test_the_dev_install_still_has_the_tooling() -> None:
    assert importlib.util.find_spec("firmware.demo.runner") is not None


def test_demo_without_the_tooling_says_how_to_get_it(tmp_path: Path) -> None:
    """A handset-like tree (no firmware/demo): ``piphone demo`` explains, exit 2, no traceback."""
    shutil.copytree(ROOT / "firmware", tmp_path / "firmware",
                    ignore=shutil.ignore_patterns("demo", "__pycache__"))
    # -S: no site-packages, so the dev venv's editable install cannot supply the tooling
    res = subprocess.run([sys.executable, "-S", "-m", "firmware", "demo"], cwd=tmp_path,
                         env={"PYTHONPATH": str(tmp_path)}, capture_output=True, text=True,
                         timeout=60)
    assert res.returncode == 2, res.stderr
    assert "not installed" in res.stderr and "make demo" in res.stderr
    assert "Traceback" not in res.stderr
