"""A test that cannot find its peer skips on a developer's machine and FAILS in CI.

CI (``.ci/run``) sets ``PIPHONE_CI=1``: there a missing sipp, kamailio, baresip,
in.tftpd, chromium, a missing dependency or no root for namespaces means the
machine was not provisioned, and every claim that peer checks would pass unseen.
"""

from __future__ import annotations

import textwrap

import pytest

INNER = textwrap.dedent("""
    from peers_proc import require, require_module, require_root, missing
    import os

    def test_binary():
        require("piphone-no-such-peer-binary")

    def test_module():
        require_module("piphone_no_such_module")

    def test_root():
        if os.geteuid() == 0:
            missing("network namespaces need root")  # as if unprivileged
        require_root()
""")


@pytest.mark.parametrize(("ci", "outcome"), [("1", {"failed": 3}), (None, {"skipped": 3})])
def test_a_missing_peer_fails_in_ci_and_skips_elsewhere(
        pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, ci: str | None,
        outcome: dict[str, int]) -> None:
    if ci is None:
        monkeypatch.delenv("PIPHONE_CI", raising=False)
    else:
        monkeypatch.setenv("PIPHONE_CI", ci)
    pytester.makepyfile(INNER)
    result = pytester.runpytest_inprocess("-p", "no:cacheprovider", "-rfs")
    result.assert_outcomes(**outcome)
    if ci:
        result.stdout.fnmatch_lines(["*piphone-no-such-peer-binary not installed*PIPHONE_CI=1*"])
