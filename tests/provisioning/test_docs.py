"""The key reference in docs/provisioning.md names every key the schema knows."""

from __future__ import annotations

from pathlib import Path

from firmware.provisioning.keys import KEYS, LINE_KEYS, PROXY_KEYS

DOC = (Path(__file__).resolve().parents[2] / "docs" / "provisioning.md").read_text()


def test_every_key_is_documented() -> None:
    missing = [k for k in KEYS if f"`{k}`" not in DOC]
    missing += [f"line{{n}}_{k}" for k in LINE_KEYS if f"`line{{n}}_{k}`" not in DOC]
    missing += [f"proxy{{n}}_{k}" for k in PROXY_KEYS if f"`proxy{{n}}_{k}`" not in DOC]
    assert missing == []
