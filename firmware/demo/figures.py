"""The seed's phone-to-phone figures (Appendix B) as scripts of user actions.

Why scripts of *user* actions: each figure of the Cisco 7960 guide is the
consequence of what people do (lift, dial, Hold, Transfer). Replaying those
actions on simulated handsets and logging what went on the wire checks that
our firmware produces the figure's message sequence by itself; nothing here
sends a SIP message directly.

The step tables and the rule that compares a recording with them live in
``firmware.demo.seed`` and ``firmware.demo.match``: the whole table, in the
seed's order, with only what each figure names sitting between steps.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from firmware.demo.match import FigureSpec, Step
from firmware.demo.match import compare as match_figure
from firmware.demo.network import Handset, Network, heard, settle, until
from firmware.demo.seed import FIGURES as SEED
from firmware.demo.seed import TITLES as ALL_TITLES

log = logging.getLogger(__name__)

#: The phone-to-phone figures the demo plays, and their titles.
DEMO_FIGURES = ("B-4", "B-5", "B-6", "B-7", "B-8", "B-15", "B-16")
SEED_STEPS: dict[str, list[Step]] = {f: list(SEED[f].steps) for f in DEMO_FIGURES}
TITLES = {f: ALL_TITLES[f] for f in DEMO_FIGURES}


def compare(recorded: Sequence[Any], figure: str | FigureSpec) -> str | None:
    """None when ``recorded`` (``LadderMessage``s) plays ``figure`` under ``match``'s rule."""
    return match_figure(recorded, SEED[figure] if isinstance(figure, str) else figure)


@dataclass
class FigureRun:
    """What a figure script observed: screens to save and media checks made on the way."""

    figure: str
    screens: dict[str, bytes] = field(default_factory=dict)
    media: list[tuple[str, str, float | None]] = field(default_factory=list)
    #: what each ``media`` check expected (Hz, None = silence), for the tests
    expected: list[float | None] = field(default_factory=list)

    def snap(self, label: str, handset: Handset) -> None:
        self.screens[f"{handset.name}-{label}"] = handset.screen_png(scale=3)

    async def hear(self, what: str, handset: Handset, expect: float | None,
                   timeout: float = 3.0) -> float | None:
        """What ``handset``'s earpiece hears (dominant Hz, None = silence), waiting up to
        ``timeout`` for ``expect`` (within 5 %) so a slow machine is not a failure;
        the value finally heard is recorded, right or wrong."""

        hz = await heard(handset, expect, timeout)
        self.media.append((what, handset.name, hz))
        self.expected.append(expect)
        return hz


def _state(h: Handset, *states: str) -> Callable[[], bool]:
    return lambda: sorted(h.states()) == sorted(states)


def _talking(x: Handset, y: Handset) -> Callable[[], bool]:
    """Both ends see a connected call (the callee's 200 and the caller's ACK are through)."""
    return lambda: "connected" in x.states() and "connected" in y.states()


def _no_live(h: Handset) -> Callable[[], bool]:
    return lambda: all(s == "ended" for s in h.states())


async def _connect(run: FigureRun, a: Handset, b: Handset) -> None:
    """A calls B from the directory; B lifts the handset when it rings."""
    a.api.dial(b.uri())
    await until(_state(b, "incoming"), f"{b.name} ringing")
    run.snap("ringing", b)
    b.api.set_hook(True)
    await until(_talking(a, b), "A-B connected")


TONE = {"A": 1000.0, "B": 600.0, "C": 1500.0}


async def _tones(*handsets: Handset) -> None:
    """Each microphone plays its own tone (``TONE``), so each earpiece tells who it hears."""
    for h in handsets:
        if h.audio is not None:
            h.api.set_mock_tone(TONE[h.name])


async def fig_b4(net: Network) -> FigureRun:
    run = FigureRun("B-4")
    a, b = net.handsets["A"], net.handsets["B"]
    await _tones(a, b)
    await _connect(run, a, b)
    await run.hear("connected", b, TONE["A"])
    run.snap("connected", b)
    b.api.press_softkey("hold")
    await until(lambda: b.states() == ["holding"] and a.states() == ["held"], "hold")
    await settle(0.6)  # longer than the 0.5 s the earpiece analysis looks back
    await run.hear("held", b, None)
    run.snap("holding", b)
    b.api.press_softkey("resume")
    await until(lambda: b.states() == ["connected"] and a.states() == ["connected"], "resume")
    await run.hear("resumed", b, TONE["A"])
    a.api.press_softkey("endcall")
    await until(_no_live(b), "B idle")
    return run


async def fig_b5(net: Network) -> FigureRun:
    run = FigureRun("B-5")
    a, b, c = net.handsets["A"], net.handsets["B"], net.handsets["C"]
    await _tones(a, b, c)
    await _connect(run, a, b)
    await run.hear("connected", b, TONE["A"])
    b.api.press_softkey("hold")
    # both ends: A is "held" on the re-INVITE, B "holding" only once A's 200 is in
    await until(lambda: a.states() == ["held"] and b.states() == ["holding"], "A held")
    b.api.press_softkey("newcall")
    b.api.dial(c.uri())
    await until(_state(c, "incoming"), "C ringing")
    c.api.set_hook(True)
    await until(_talking(b, c), "B-C connected")
    await run.hear("consulting", b, TONE["C"])
    await run.hear("consulting", c, TONE["B"])
    await settle(0.6)  # longer than the 0.5 s the earpiece analysis looks back
    await run.hear("held", a, None)
    run.snap("consulting", b)
    b.api.press_softkey("endcall")
    await until(_no_live(c), "C idle")
    await until(lambda: "holding" in b.states(), "B back to the held call")
    b.api.press_softkey("resume")
    await until(lambda: a.states() == ["connected"], "A resumed")
    await run.hear("resumed", b, TONE["A"])
    a.api.press_softkey("endcall")
    await until(_no_live(b), "B idle")
    return run


async def fig_b6(net: Network) -> FigureRun:
    run = FigureRun("B-6")
    a, b, c = net.handsets["A"], net.handsets["B"], net.handsets["C"]
    await _tones(a, b, c)
    await _connect(run, a, b)
    await run.hear("connected", b, TONE["A"])
    await run.hear("connected", a, TONE["B"])
    c.api.dial(b.uri())
    await until(lambda: "incoming" in b.states(), "call waiting at B")
    run.snap("call-waiting", b)
    b.api.press_softkey("answer")
    await until(lambda: a.states() == ["held"] and _talking(b, c)(), "B with C, A held")
    await run.hear("with C", b, TONE["C"])
    await settle(0.6)  # longer than the 0.5 s the earpiece analysis looks back
    await run.hear("held", a, None)
    b.api.press_softkey("swap")
    await until(lambda: a.states() == ["connected"] and c.states() == ["held"], "B back with A")
    await run.hear("swapped to A", b, TONE["A"])
    b.api.press_softkey("endcall")
    await until(_no_live(a), "A idle")
    await until(lambda: "holding" in b.states(), "B left with C on hold")
    b.api.press_softkey("resume")
    # B too (it ACKs C's 200 before it shows connected): C's BYE must not overtake that ACK
    await until(_talking(b, c), "B with C")
    run.snap("with-c", b)
    c.api.press_softkey("endcall")
    await until(_no_live(b), "B idle")
    return run


async def fig_b7(net: Network) -> FigureRun:
    run = FigureRun("B-7")
    a, b, c = net.handsets["A"], net.handsets["B"], net.handsets["C"]
    await _connect(run, a, b)
    await _tones(a, b, c)
    b.api.transfer(c.uri())  # blind: the 7960 sends BYE with Also: C
    await until(_state(c, "incoming"), "C ringing")
    c.api.set_hook(True)
    await until(_talking(a, c), "A-C connected")
    await run.hear("transferred", a, TONE["C"])
    run.snap("transferred", a)
    a.api.press_softkey("endcall")
    await until(_no_live(c), "C idle")
    return run


async def fig_b8(net: Network) -> FigureRun:
    run = FigureRun("B-8")
    a, b, c = net.handsets["A"], net.handsets["B"], net.handsets["C"]
    await _connect(run, a, b)
    b.api.press_softkey("hold")
    # both ends: A is "held" on the re-INVITE, B "holding" only once A's 200 is in
    await until(lambda: a.states() == ["held"] and b.states() == ["holding"], "A held")
    b.api.press_softkey("newcall")
    b.api.dial(c.uri())
    await until(_state(c, "incoming"), "C ringing")
    c.api.set_hook(True)
    await until(_talking(b, c), "B-C connected")
    b.api.press_softkey("transfer")  # BYE to C, BYE with Also: C to A; A then calls C
    await until(lambda: "incoming" in c.states(), "C ringing again, now from A")
    c.api.press_softkey("answer")
    await until(lambda: _talking(a, c)() and _no_live(b)(), "A-C connected, B out")
    await _tones(a, c)
    await run.hear("transferred", c, TONE["A"])
    run.snap("after-transfer", c)
    a.api.press_softkey("endcall")
    await until(_no_live(c), "C idle")
    return run


async def fig_b15(net: Network) -> FigureRun:
    run = FigureRun("B-15")
    a, b = net.handsets["A"], net.handsets["B"]
    b.api.press_softkey("dnd")
    a.api.dial(b.uri())
    await until(lambda: any(c.reason == "busy" for c in a.calls()), "A told busy")
    run.snap("busy", a)
    return run


async def fig_b16(net: Network) -> FigureRun:
    run = FigureRun("B-16")
    a, b = net.handsets["A"], net.handsets["B"]
    a.api.dial(b.uri())
    await until(_state(b, "incoming"), "B ringing")
    await until(lambda: any(c.state == "ended" for c in a.calls()), "A gave up", timeout=15)
    await until(_no_live(b), "B stopped ringing")
    run.snap("no-answer", a)
    return run


FIGURES: dict[str, Callable[[Network], Awaitable[FigureRun]]] = {
    "B-4": fig_b4, "B-5": fig_b5, "B-6": fig_b6, "B-7": fig_b7, "B-8": fig_b8,
    "B-15": fig_b15, "B-16": fig_b16,
}

#: Per-figure config keys (B-7 and B-8 transfer the 7960 way: BYE with Also; B-16 gives up fast).
FIGURE_KEYS: dict[str, dict[str, object]] = {
    "B-7": {"transfer_method": "also"},
    "B-8": {"transfer_method": "also"},
    "B-16": {"ring_timeout": 2},
}
