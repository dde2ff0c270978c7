"""The sans-IO cores never read a clock or do I/O (design rule 9.2.8)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
FORBIDDEN = re.compile(
    r"time\.(time|monotonic|sleep|perf_counter)\(|asyncio\.sleep\(|^\s*import (asyncio|socket|time)\b"
    r"|^\s*from (asyncio|socket|time) import",
    re.MULTILINE,
)


@pytest.mark.parametrize("package", ["firmware/sip", "firmware/media", "firmware/phone"])
def test_core_reads_no_clock_and_does_no_io(package: str) -> None:
    offenders = []
    for path in sorted((ROOT / package).rglob("*.py")):
        for match in FORBIDDEN.finditer(path.read_text()):
            offenders.append(f"{path.relative_to(ROOT)}: {match.group(0).strip()}")
    assert offenders == []


BARE_OPEN = re.compile(r"(?<![.\w])open\(")


@pytest.mark.parametrize("package", ["firmware/sip", "firmware/media", "firmware/phone"])
def test_core_opens_no_file(package: str) -> None:
    """Files (the call history, caches) are the shell's: a core never calls ``open()``.

    The import-linter contract keeps ``os``/``pathlib``/``io`` out; this
    catches the builtin, which needs no import.
    """
    offenders = [
        f"{path.relative_to(ROOT)}:{n}"
        for path in sorted((ROOT / package).rglob("*.py"))
        for n, line in enumerate(path.read_text().splitlines(), 1)
        if BARE_OPEN.search(line.split("#")[0])
    ]
    assert offenders == []


PRINT = re.compile(r"^\s*print\(", re.MULTILINE)


@pytest.mark.parametrize("package", ["firmware", "hal"])
def test_library_code_logs_instead_of_printing(package: str) -> None:
    """Library code reports through ``logging``; only ``__main__`` modules print."""
    offenders = [
        str(path.relative_to(ROOT))
        for path in sorted((ROOT / package).rglob("*.py"))
        if path.name != "__main__.py" and PRINT.search(path.read_text())
    ]
    assert offenders == []


#: House rule: a module over this many lines does more than one job; split it.
MAX_MODULE_LINES = 450


def test_no_module_over_the_line_limit() -> None:
    sizes = {
        str(path.relative_to(ROOT)): len(path.read_text().splitlines())
        for package in ("firmware", "hal")
        for path in (ROOT / package).rglob("*.py")
    }
    assert {p: n for p, n in sizes.items() if n > MAX_MODULE_LINES} == {}
