"""``python -m firmware demo`` writes ladders, screens and a summary for each figure."""

from __future__ import annotations

import argparse
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from firmware.demo.runner import demo_main


def test_demo_writes_its_outputs(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "demo"
    assert demo_main(argparse.Namespace(out=str(out), figure="B-15")) == 0
    text = (out / "B-15.txt").read_text()
    assert "INVITE" in text and "486 Busy Here" in text and "ACK" in text
    ET.fromstring((out / "B-15.svg").read_text())
    assert (out / "B-15-A-busy.png").read_bytes().startswith(b"\x89PNG")
    assert "| B-15 | 4 | yes |" in (out / "index.md").read_text()
    assert "B-15.svg" in (out / "index.html").read_text()
    assert "1 of 1 figures match" in capsys.readouterr().out
