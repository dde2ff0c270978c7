"""Calls still set up, connect and end over a path that loses 10-30% of SIP datagrams.

Why: an office LAN with a bad switch port or a Wi-Fi bridge loses packets, and
UDP SIP relies on the transaction layer's retransmissions (Timers A/E, the
2xx retransmission of §13.3.1.4) to get through. This kernel has no
``sch_netem``, so the loss is applied where a lossy path would apply it: on
every datagram the phone's transport sends or receives, dropped by a seeded
random generator (the pattern is the same each run). T1 is shortened to 100 ms
so a retransmitted setup takes a fraction of a second instead of seconds; the
timers' ratios are the RFC's.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Callable
from typing import Any

import pytest

from firmware.demo.network import Handset, Network, call_and_answer, handset_config, heard, until


class LossyPath:
    """Drops datagrams both ways at one handset's SIP transport; counts what it dropped."""

    def __init__(self, handset: Handset, loss: float, seed: int) -> None:
        transport = handset.host.transport
        assert transport is not None
        self.rng = random.Random(seed)
        self.loss = loss
        self.dropped = 0
        self.passed = 0
        app = handset.host.app
        assert app is not None
        inner_send: Callable[..., Any] = app._send_sip  # type: ignore[attr-defined]
        inner_receive: Callable[..., Any] = transport.on_receive  # type: ignore[assignment]

        def send(*args: Any, **kwargs: Any) -> Any:
            if self._drop():
                return None
            return inner_send(*args, **kwargs)

        def receive(*args: Any, **kwargs: Any) -> Any:
            if self._drop():
                return None
            return inner_receive(*args, **kwargs)

        app._send_sip = send  # type: ignore[attr-defined]
        transport.on_receive = receive

    def _drop(self) -> bool:
        if self.rng.random() < self.loss:
            self.dropped += 1
            return True
        self.passed += 1
        return False


@pytest.mark.parametrize("loss", [0.1, 0.2, 0.3])
def test_call_sets_up_and_ends_through_retransmissions(loss: float) -> None:
    async def main() -> dict[str, Any]:
        async with Network() as net:
            keys = {"timer_t1": 100, "timer_t2": 800}
            a = await net.add("A", handset_config("5550001", **keys))
            b = await net.add("B", handset_config("5550002", **keys))
            paths = [LossyPath(a, loss, seed=11), LossyPath(b, loss, seed=23)]
            a.api.set_mock_tone(1000)
            await call_and_answer(a, b, timeout=20)
            tone = await heard(b, 1000.0)
            a.api.press_softkey("endcall")
            try:
                await until(lambda: not a.calls() and not b.calls(), "both idle after BYE", timeout=20)
            except TimeoutError:
                raise AssertionError(f"{a.calls()} {b.calls()}") from None
            return {"tone": tone, "dropped": sum(p.dropped for p in paths)}

    result = asyncio.run(main())
    assert result["tone"] is not None and abs(result["tone"] - 1000) < 40
    assert result["dropped"] > 0  # the path did lose datagrams, and the call got through anyway
