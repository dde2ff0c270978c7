"""CallBack's clocks, on call control over real SIP endpoints and a virtual clock.

Three phones (``firmware.demo.screens.Bench``: the real ``Phone`` over the
real sans-IO ``Endpoint``, an in-memory network, virtual time) so an hour
can pass in a test: an alert nobody takes gives up after ``ALERT_S`` and
unsubscribes; a callback nobody redials ends when the subscription runs out
(the callee's NOTIFY ``terminated;reason=timeout``); Exit cancels the alert, and
CallBack at dial tone cancels a callback that waits.
"""

from __future__ import annotations

from firmware.demo.screens import Bench, Handset
from firmware.phone.callback import ALERT_S, EXPIRES


def _busy_then_callback(bench: Bench) -> tuple[Handset, Handset, Handset]:
    f = bench.add("F", "5550006", "Fay", call_waiting=False)
    g = bench.add("G", "5550007", "Gil")
    h = bench.add("H", "5550008", "Hal")
    bench.do(g, "dial", f.uri)
    bench.hook(f, True)
    bench.do(h, "dial", f.uri)
    bench.run(1.0)
    assert "CallBack" in h.phone.softkeys(bench.clock.time())
    bench.do(h, "press_softkey", "callback")
    bench.run(1.0)
    assert h.phone.callback is not None and h.phone.callback.phase == "waiting"
    assert len(f.phone._watchers) == 1
    return f, g, h


def test_an_alert_nobody_takes_gives_up_and_unsubscribes() -> None:
    bench = Bench()
    f, _g, h = _busy_then_callback(bench)
    bench.hook(f, False)
    bench.run(1.0)
    assert h.phone.callback is not None and h.phone.callback.phase == "alerting"
    assert h.phone.ringing
    bench.run(ALERT_S + 1.0)
    assert h.phone.callback is None and not h.phone.ringing
    assert "CallBack not taken" in h.phone.screen(bench.clock.time()).lines
    assert f.phone._watchers == {}  # the unsubscribe reached Fay's phone


def test_exit_cancels_the_alert() -> None:
    bench = Bench()
    f, _g, h = _busy_then_callback(bench)
    bench.hook(f, False)
    bench.run(1.0)
    assert h.phone.softkeys(bench.clock.time()) == ("Dial", "Exit")
    bench.do(h, "press_softkey", "exit")
    bench.run(1.0)
    assert h.phone.callback is None and not h.phone.ringing
    assert f.phone._watchers == {}


def test_callback_key_at_dial_tone_cancels_a_waiting_callback() -> None:
    bench = Bench()
    f, _g, h = _busy_then_callback(bench)
    bench.hook(h, False)
    bench.hook(h, True)  # dial tone
    assert h.phone.softkeys(bench.clock.time()) == ("Redial", "CallBack", "EndCall")
    bench.do(h, "press_softkey", "callback")
    bench.run(1.0)
    assert h.phone.callback is None and f.phone._watchers == {}
    assert "CallBack cancelled" in h.phone.screen(bench.clock.time()).lines
    assert h.phone.softkeys(bench.clock.time()) == ("Redial", "EndCall")


def test_a_callback_nobody_redials_ends_with_the_subscription() -> None:
    bench = Bench()
    f, _g, h = _busy_then_callback(bench)
    bench.run(EXPIRES + 5.0)  # Fay is still on the phone an hour later
    assert h.phone.callback is None
    assert f.phone._watchers == {}
    assert "CallBack ended" in h.phone.screen(bench.clock.time()).lines
