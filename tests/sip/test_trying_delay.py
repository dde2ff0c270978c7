"""When an incoming INVITE gets its 100 Trying (RFC 3261 §17.2.1; ``EndpointConfig.trying_delay``).

The RFC lets a server INVITE transaction send 100 at once or only when the TU
is slow (200 ms). The Cisco 7960 sends it at once (seed Figure B-1 step 2), so
the phone app sets ``trying_delay=0.0``; the library default stays the RFC one.
"""

from __future__ import annotations

import pytest

from firmware.sip.endpoint import Endpoint, EndpointConfig
from firmware.sip.timers import TimerConfig
from hal.clock import VirtualClock

from .helpers import MemoryNetwork
from .test_endpoint import LOCAL, PEER, invite

pytestmark = [pytest.mark.timeout(30)]


def _trying_times(config: EndpointConfig) -> list[tuple[float, str]]:
    """Deliver an INVITE the TU never answers; the time and first line of each response."""
    clock = VirtualClock()
    net = MemoryNetwork(clock)
    net.attach(LOCAL, Endpoint(config))
    net.inject(PEER, LOCAL, invite())
    net.run(1.0)
    return [(d.time, d.first_line) for d in net.log if d.src == LOCAL]


def test_trying_at_once_when_delay_is_zero() -> None:
    got = _trying_times(EndpointConfig(local_address=LOCAL, user="bob", trying_delay=0.0))
    assert got == [(0.0, "SIP/2.0 100 Trying")]


def test_trying_after_200_ms_by_default() -> None:
    got = _trying_times(EndpointConfig(local_address=LOCAL, user="bob"))
    assert got == [(pytest.approx(0.2), "SIP/2.0 100 Trying")]


def test_trying_delay_overrides_the_timer_config() -> None:
    cfg = EndpointConfig(local_address=LOCAL, user="bob", timers=TimerConfig(t1=0.1),
                         trying_delay=0.05)
    assert cfg.effective_timers().trying_delay == 0.05
    assert cfg.effective_timers().t1 == 0.1
    assert _trying_times(cfg) == [(pytest.approx(0.05), "SIP/2.0 100 Trying")]


def test_negative_trying_delay_is_refused() -> None:
    with pytest.raises(ValueError):
        Endpoint(EndpointConfig(local_address=LOCAL, trying_delay=-1.0))


def test_trying_at_once_then_ringing_when_the_tu_answers_at_once() -> None:
    e = Endpoint(EndpointConfig(local_address=LOCAL, user="bob", trying_delay=0.0))
    e.receive_datagram(invite(), PEER, "udp", 0.0)
    lines = [o.data.split(b"\r\n", 1)[0] for o in e.datagrams_to_send()]
    assert lines == [b"SIP/2.0 100 Trying"]  # before the TU has even seen the INVITE

