"""docs/provisioning.md's key reference is ONE table naming every key the schema
knows, and the 7960/sister-model keys it accepts and ignores, each with its
status: ``acts`` or ``accepted, ignored: why``."""

from __future__ import annotations

import re
from pathlib import Path

from firmware.provisioning.keys import KEYS, KNOWN_UNUSED, LINE_KEYS, PROXY_KEYS

DOC = (Path(__file__).resolve().parents[2] / "docs" / "provisioning.md").read_text()


def _table() -> dict[str, str]:
    """key -> status, from the single table under '## Key reference'."""
    section = DOC.split("## Key reference", 1)[1].split("\n## ", 1)[0]
    assert "\n### " not in section  # one table, not one per area
    out: dict[str, str] = {}
    for row in section.splitlines():
        if not row.startswith("| `"):
            continue
        cells = [c.strip() for c in row.strip().strip("|").split("|")]
        status = cells[4]
        for name in re.findall(r"`([a-z0-9_{}]+)`", cells[0]):
            out[name] = status
        rng = re.fullmatch(r"`([a-z_]+)1`\.\.`\1(\d)`", cells[0])
        if rng:
            for n in range(1, int(rng.group(2)) + 1):
                out[f"{rng.group(1)}{n}"] = status
    return out


def test_every_key_is_in_the_one_table_with_its_status() -> None:
    table = _table()
    wanted = (list(KEYS) + [f"line{{n}}_{k}" for k in LINE_KEYS]
              + [f"proxy{{n}}_{k}" for k in PROXY_KEYS])
    assert [k for k in wanted if k not in table] == []
    assert [k for k in KNOWN_UNUSED if k not in table] == []
    bad = {k: s for k, s in table.items()
           if s != "acts" and not re.fullmatch(r"accepted, ignored: \S.+", s)}
    assert bad == {}
    assert all(table[k].startswith("accepted, ignored: ") for k in KNOWN_UNUSED)
