"""Identifiers from the OS CSPRNG by default, from a seeded generator when a test injects one.

Why it matters: RFC 3261 §26.1.4 (and §8.1.1.4/§19.3) need Call-IDs, tags and
branches an off-path attacker cannot guess, or a forged BYE/CANCEL ends a
call; RFC 3550 §5.1 wants random SSRC, first sequence number and timestamp.
"""

from __future__ import annotations

import random

from firmware.sip.build import MAGIC_COOKIE, IdSource
from firmware.sip.endpoint import Endpoint, EndpointConfig


def test_default_source_is_the_os_csprng() -> None:
    assert isinstance(IdSource().rng, random.SystemRandom)
    e = Endpoint(EndpointConfig(local_address=("127.0.0.1", 5060), user="bob"))
    assert isinstance(e.ids.rng, random.SystemRandom)


def test_default_ids_are_long_and_do_not_repeat() -> None:
    ids = IdSource()
    calls = {ids.call_id("h") for _ in range(200)}
    tags = {ids.tag() for _ in range(200)}
    branches = {ids.branch() for _ in range(200)}
    assert len(calls) == len(tags) == len(branches) == 200
    assert all(b.startswith(MAGIC_COOKIE) and len(b) == len(MAGIC_COOKIE) + 16 for b in branches)
    assert all(len(c.split("@")[0]) == 24 for c in calls)  # 96 bits
    # two fresh sources share nothing (a seeded MT from the same seed would)
    assert IdSource().call_id("h") != IdSource().call_id("h")


def test_injected_generator_is_deterministic() -> None:
    a, b = IdSource(random.Random(7)), IdSource(random.Random(7))
    assert [a.call_id("h"), a.tag(), a.branch(), a.bits(32)] == \
           [b.call_id("h"), b.tag(), b.branch(), b.bits(32)]
