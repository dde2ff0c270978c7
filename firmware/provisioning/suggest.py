"""'Did you mean ...?' for a mistyped key or value.

Why: a typo in a provisioning file (``line1_pasword``, ``g711ulw``) used to
mean a phone that silently did something else; the warning now names the
nearest key or word a 7960 file could have meant.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import cache

from firmware.provisioning.keys import KEYS, KNOWN_UNUSED, LINE_KEYS, MAX_LINES, PROXY_KEYS


@cache
def known_key_names() -> tuple[str, ...]:
    """Every key name a file may set (indexed keys expanded for lines 1..MAX_LINES)."""
    names = set(KEYS) | set(KNOWN_UNUSED)
    for n in range(1, MAX_LINES + 1):
        names |= {f"line{n}_{f}" for f in LINE_KEYS}
        names |= {f"proxy{n}_{f}" for f in PROXY_KEYS}
    return tuple(sorted(names))


def did_you_mean(word: str, candidates: Iterable[str]) -> str:
    """``"; did you mean 'x'?"`` for the closest candidate, or ``""``."""
    import difflib  # only a file with a typo needs it: not on every boot

    close = difflib.get_close_matches(word, list(candidates), n=1, cutoff=0.75)
    return f"; did you mean {close[0]!r}?" if close else ""
