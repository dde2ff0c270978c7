"""Real SIP peers for tests: SIPp, Kamailio, baresip and in.tftpd on loopback.

Why: interop is only believable against the programs a phone meets in the
field, so tests start the real binaries (Debian packages sip-tester,
kamailio, baresip, tftpd-hpa) on 127.0.0.1, on ports picked here, and always
stop them (SIGTERM, then SIGKILL after a grace period) in ``finally`` blocks
or fixture teardown.  A missing binary skips the test with the reason;
CI installs them (scripts/install-deps.sh), so there they always run.

Usage, as plain helpers (context managers) or through the fixtures at the end::

    with Kamailio(tmp_path, users={"1001": "pw1001"}) as kam:
        ...  # kam.port, kam.address, kam.log_text()

    sipp = Sipp(tmp_path)
    with sipp.uas(port=p, calls=1) as uas:
        result = sipp.uac(f"127.0.0.1:{p}", calls=1)
    assert result.successful == 1 and uas.result().successful == 1

tests/ is on sys.path under pytest (rootdir conftest, no __init__.py), so a
test does ``from peers import Sipp, Kamailio``; the fixtures at the end
(``sipp``, ``kamailio``, ``tftpd``, ``netns``) are registered by
tests/conftest.py.

The peers live in sibling modules by concern (peers_ports, peers_proc,
peers_sipp, peers_kamailio, peers_tftp, peers_netns, peers_baresip); this
module re-exports them so ``from peers import X`` stays the one way in.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from peers_baresip import Baresip
from peers_kamailio import PEERS_DIR, Kamailio, render_kamailio_config
from peers_netns import Netns
from peers_ports import (
    HOST,
    free_port,
    free_ports,
    sip_options_answered,
    tcp_listening,
    udp_bound,
)
from peers_proc import PeerProcess, require, wait_until
from peers_sipp import (
    SIPP_DIR,
    Sipp,
    SippMessage,
    SippResult,
    SippRun,
    parse_sipp_messages,
    parse_sipp_stats,
)
from peers_tftp import Tftpd

__all__ = [
    "HOST",
    "PEERS_DIR",
    "SIPP_DIR",
    "Baresip",
    "Kamailio",
    "Netns",
    "PeerProcess",
    "Sipp",
    "SippMessage",
    "SippResult",
    "SippRun",
    "Tftpd",
    "free_port",
    "free_ports",
    "kamailio",
    "kamailio_users",
    "netns",
    "parse_sipp_messages",
    "parse_sipp_stats",
    "render_kamailio_config",
    "require",
    "sip_options_answered",
    "sipp",
    "tcp_listening",
    "tftpd",
    "udp_bound",
    "wait_until",
]


# ---------------------------------------------------------------------------
# fixtures


@pytest.fixture
def sipp(tmp_path: Path) -> Sipp:
    return Sipp(tmp_path / "sipp")


@pytest.fixture
def kamailio_users() -> dict[str, str]:
    return {"1001": "secret1001", "1002": "secret1002", "1003": "secret1003"}


@pytest.fixture
def kamailio(tmp_path: Path, kamailio_users: dict[str, str]) -> Iterator[Kamailio]:
    kam = Kamailio(tmp_path, users=kamailio_users)
    with kam:
        yield kam


@pytest.fixture
def tftpd(tmp_path: Path) -> Iterator[Tftpd]:
    with Tftpd(tmp_path / "tftproot") as server:
        yield server


@pytest.fixture
def netns() -> Iterator[Netns]:
    with Netns() as ns:
        yield ns
