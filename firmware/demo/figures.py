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

    async def hear_silence(self, what: str, handset: Handset) -> None:
        """A held or muted path: wait out the 0.5 s the earpiece analysis looks back
        first, or the tone heard just before would still count."""
        await settle(0.6)
        await self.hear(what, handset, None)


def _state(h: Handset, *states: str) -> Callable[[], bool]:
    return lambda: sorted(h.states()) == sorted(states)


def _talking(x: Handset, y: Handset) -> Callable[[], bool]:
    """Both ends see a connected call (the callee's 200 and the caller's ACK are through)."""
    return lambda: "connected" in x.states() and "connected" in y.states()


def _no_live(h: Handset) -> Callable[[], bool]:
    return lambda: all(s == "ended" for s in h.states())


async def _hang_up(who: Handset, *others: Handset) -> None:
    """``who`` presses EndCall; the calls of ``others`` end with it."""
    who.api.press_softkey("endcall")
    await until(lambda: all(_no_live(o)() for o in others), " and ".join(o.name for o in others) + " idle")


async def _connect(run: FigureRun, a: Handset, b: Handset) -> None:
    """A calls B from the directory; B lifts the handset when it rings."""
    a.api.dial(b.uri())
    await until(_state(b, "incoming"), f"{b.name} ringing")
    run.snap("ringing", b)
    b.api.set_hook(True)
    await until(_talking(a, b), "A-B connected")


async def _resume(run: FigureRun, holder: Handset, held: Handset, listener: Handset) -> None:
    """``holder`` presses Resume; once both talk again ``listener`` must hear the other
    end's tone."""
    holder.api.press_softkey("resume")
    await until(_talking(holder, held), f"{held.name} resumed")
    other = held if listener is holder else holder
    await run.hear("resumed", listener, TONE[other.name])


async def _hold_and_resume(run: FigureRun, holder: Handset, held: Handset,
                           listener: Handset) -> None:
    """``holder`` presses Hold (``listener`` hears silence), then Resume."""
    holder.api.press_softkey("hold")
    await until(lambda: holder.states() == ["holding"] and held.states() == ["held"],
                f"{held.name} held")
    await run.hear_silence("held", listener)
    run.snap("holding", holder)
    await _resume(run, holder, held, listener=listener)


async def _consult(holder: Handset, held: Handset, third: Handset) -> None:
    """``holder`` puts ``held`` on hold, opens a new line and calls ``third``, who answers."""
    holder.api.press_softkey("hold")
    # both ends: the held side is "held" on the re-INVITE, the holder "holding" only once
    # the 200 is in; a new line opened before that would race the re-INVITE
    await until(lambda: held.states() == ["held"] and holder.states() == ["holding"],
                f"{held.name} held")
    holder.api.press_softkey("newcall")
    holder.api.dial(third.uri())
    await until(_state(third, "incoming"), f"{third.name} ringing")
    third.api.set_hook(True)
    await until(_talking(holder, third), f"{holder.name}-{third.name} connected")


TONE = {"A": 1000.0, "B": 600.0, "C": 1500.0}


async def _tones(*handsets: Handset) -> None:
    """Each microphone plays its own tone (``TONE``), so each earpiece tells who it hears."""
    for h in handsets:
        if h.audio is not None:
            h.api.set_mock_tone(TONE[h.name])


async def join_conference(mixer: Handset, first: Handset, third: Handset,
                     before_join: Callable[[], None] | None = None) -> None:
    """The 7960's Confrn, as a person presses it: ``mixer`` is in a call with ``first``;
    Confrn (``first`` held), call ``third``, who answers, Confrn again: all three talk,
    ``mixer``'s phone mixing. ``before_join`` runs while ``third`` is still consulted."""
    mixer.api.press_softkey("confrn")
    # the mixer shows "holding" once the hold's 200 is in (and ACKed); dialling before
    # that would put the INVITE to ``third`` ahead of the ACK (as _consult says)
    await until(lambda: first.states() == ["held"] and "holding" in mixer.states(),
                f"{first.name} held")
    mixer.api.dial(third.uri())
    await until(_state(third, "incoming"), f"{third.name} ringing")
    third.api.set_hook(True)
    await until(lambda: sorted(mixer.states()) == ["connected", "holding"]
                and "connected" in third.states(), f"{mixer.name}-{third.name} connected")
    if before_join is not None:
        before_join()
    mixer.api.press_softkey("confrn")
    await until(lambda: mixer.states() == ["connected", "connected"]
                and first.states() == ["connected"], "conference")


async def _begin(net: Network, figure: str, names: str = "ABC", *, tones: bool = True,
                 listen: bool = False) -> tuple[FigureRun, list[Handset]]:
    """The usual opening: handsets ``names`` (each playing its ``TONE`` unless ``tones``
    is off), and the first calls the second, who answers (and with ``listen`` must hear
    the first's tone: the "connected" media check)."""
    handsets = [net.handsets[n] for n in names]
    run = FigureRun(figure)
    if tones:
        await _tones(*handsets)
    caller, callee = handsets[0], handsets[1]
    await _connect(run, caller, callee)
    if listen:
        await run.hear("connected", callee, TONE[caller.name])
    return run, handsets


async def fig_b4(net: Network) -> FigureRun:
    run, (a, b) = await _begin(net, "B-4", "AB", listen=True)
    run.snap("connected", b)
    await _hold_and_resume(run, b, a, listener=b)
    await _hang_up(a, b)
    return run


async def fig_b5(net: Network) -> FigureRun:
    run, (a, b, c) = await _begin(net, "B-5", "ABC", listen=True)
    await _consult(b, a, c)
    await run.hear("consulting", b, TONE["C"])
    await run.hear("consulting", c, TONE["B"])
    await run.hear_silence("held", a)
    run.snap("consulting", b)
    await _hang_up(b, c)
    await until(lambda: "holding" in b.states(), "B back to the held call")
    await _resume(run, b, a, listener=b)
    await _hang_up(a, b)
    return run


async def fig_b6(net: Network) -> FigureRun:
    run, (a, b, c) = await _begin(net, "B-6", "ABC", listen=True)
    await run.hear("connected", a, TONE["B"])
    c.api.dial(b.uri())
    await until(lambda: "incoming" in b.states(), "call waiting at B")
    run.snap("call-waiting", b)
    b.api.press_softkey("answer")
    await until(lambda: a.states() == ["held"] and _talking(b, c)(), "B with C, A held")
    await run.hear("with C", b, TONE["C"])
    await run.hear_silence("held", a)
    b.api.press_softkey("swap")
    await until(lambda: a.states() == ["connected"] and c.states() == ["held"], "B back with A")
    await run.hear("swapped to A", b, TONE["A"])
    await _hang_up(b, a)
    await until(lambda: "holding" in b.states(), "B left with C on hold")
    b.api.press_softkey("resume")
    # B too (it ACKs C's 200 before it shows connected): C's BYE must not overtake that ACK
    await until(_talking(b, c), "B with C")
    run.snap("with-c", b)
    await _hang_up(c, b)
    return run


async def fig_b7(net: Network) -> FigureRun:
    run, (a, b, c) = await _begin(net, "B-7", "ABC")
    b.api.transfer(c.uri())  # blind: the 7960 sends BYE with Also: C
    await until(_state(c, "incoming"), "C ringing")
    c.api.set_hook(True)
    await until(_talking(a, c), "A-C connected")
    await run.hear("transferred", a, TONE["C"])
    run.snap("transferred", a)
    await _hang_up(a, c)
    return run


async def fig_b8(net: Network) -> FigureRun:
    run, (a, b, c) = await _begin(net, "B-8", "ABC", tones=False)
    await _consult(b, a, c)
    b.api.press_softkey("transfer")  # BYE to C, BYE with Also: C to A; A then calls C
    await until(lambda: "incoming" in c.states(), "C ringing again, now from A")
    c.api.press_softkey("answer")
    await until(lambda: _talking(a, c)() and _no_live(b)(), "A-C connected, B out")
    await _tones(a, c)
    await run.hear("transferred", c, TONE["A"])
    run.snap("after-transfer", c)
    await _hang_up(a, c)
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
