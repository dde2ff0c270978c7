"""RFC 5359's service examples in which a phone acts, replayed on our handsets.

Why: RFC 5359 (SIP Service Examples, BCP 144) shows the desk-phone services
(hold, consultation, transfer, forwarding, conference) as message ladders,
like the 7960 guide's Appendix B figures (``figures.py``). Each script below
is what the people in the example do (Alice is handset A, Bob B, Carol C),
pressed through the control interface; the ladder is whatever our firmware
then put on the wire, and ``STEPS`` is the RFC figure's sequence, compared
under the same strict rule as the seed's (``firmware.demo.match``): the 100
Trying the figures omit, and only the hang-up after the last step (``AFTER``)
and independent dialogs' messages in the windows ``FLOATS`` names. Messages
with parties outside the figure (Bob's call with Dave in §2.8) are not compared.

Where our phones act without a server, the figure's proxy is left out: the
phone itself answers 302 for forwarding (as the 7960 does) and the caller
follows it, so the messages the RFC shows between proxy and UA run end to
end. §2.10 (third party added) is bridged by the phone itself, as on the
7960 (Confrn), not by a conference server with REFERs: ``STEPS`` there is the
local-mixing sequence and ``DIFFERS`` says so. Each script also checks the
audio by tone (``FigureRun.hear``), and snaps the LCD at the interesting
moments. §2.17 (automatic redial) runs as the RFC draws it: Alice's phone,
refused 486, subscribes to Bob's dialog state (RFC 4235), rings Alice when
Bob's call ends and redials (``firmware.phone.callback``, ``dialogstate``).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from firmware.demo.figures import (
    TONE,
    FigureRun,
    _begin,
    _connect,
    _consult,
    _hang_up,
    _hold_and_resume,
    _no_live,
    _resume,
    _state,
    _talking,
    _tones,
    join_conference,
)
from firmware.demo.match import FigureSpec, trying
from firmware.demo.network import Handset, Network, handset_config, settle, until
from hal.base import KeyEvent

Step = tuple[str, str, str]

_SETUP: list[Step] = [("A", "B", "INVITE"), ("B", "A", "180 Ringing"), ("B", "A", "200 OK"),
                      ("A", "B", "ACK")]


def _reinvite(src: str, dst: str) -> list[Step]:
    return [(src, dst, "INVITE"), (dst, src, "200 OK"), (src, dst, "ACK")]


def _call(src: str, dst: str) -> list[Step]:
    return [(src, dst, "INVITE"), (dst, src, "180 Ringing"), (dst, src, "200 OK"), (src, dst, "ACK")]


def _redirect(src: str, dst: str, ringing: bool = False) -> list[Step]:
    ring = [(dst, src, "180 Ringing")] if ringing else []
    return [(src, dst, "INVITE"), *ring, (dst, src, "302 Moved Temporarily"), (src, dst, "ACK")]


# fmt: off
STEPS: dict[str, list[Step]] = {
    # §2.1 Alice holds Bob (a=sendonly), then takes him off hold; Alice hangs up
    "5359-2.1": [*_SETUP, *_reinvite("A", "B"), *_reinvite("A", "B"),
                 ("A", "B", "BYE"), ("B", "A", "200 OK")],
    # §2.2 Alice holds Bob, calls Carol, hangs up on Carol, takes Bob off hold
    "5359-2.2": [*_SETUP, *_reinvite("A", "B"), *_call("A", "C"),
                 ("A", "C", "BYE"), ("C", "A", "200 OK"), *_reinvite("A", "B")],
    # §2.4 Bob transfers Alice to Carol without consulting (REFER, NOTIFY sipfrag)
    "5359-2.4": [*_SETUP, ("B", "A", "REFER"), ("A", "B", "202 Accepted"),
                 ("A", "B", "NOTIFY"), ("B", "A", "200 OK"), *_call("A", "C"),
                 ("A", "B", "NOTIFY"), ("B", "A", "200 OK"), ("A", "B", "NOTIFY"), ("B", "A", "200 OK"),
                 ("B", "A", "BYE"), ("A", "B", "200 OK")],
    # §2.5 Bob holds Alice, consults Carol, then REFERs Alice with Replaces
    "5359-2.5": [*_SETUP, *_reinvite("B", "A"), *_call("B", "C"),
                 ("B", "A", "REFER"), ("A", "B", "202 Accepted"), ("A", "B", "NOTIFY"),
                 ("B", "A", "200 OK"), ("A", "C", "INVITE"), ("C", "A", "200 OK"), ("A", "C", "ACK"),
                 ("C", "B", "BYE"), ("B", "C", "200 OK"),
                 ("A", "B", "NOTIFY"), ("B", "A", "200 OK"), ("B", "A", "BYE"), ("A", "B", "200 OK")],
    # §2.7 Bob forwards every call to Carol
    "5359-2.7": [*_redirect("A", "B"), *_call("A", "C")],
    # §2.8 Bob is busy (on a call with Dave): his busy-forwarding sends Alice to Carol
    "5359-2.8": [*_redirect("A", "B"), *_call("A", "C")],
    # §2.9 Bob does not answer: after ringing his phone sends Alice to Carol
    "5359-2.9": [*_redirect("A", "B", ringing=True), *_call("A", "C")],
    # §2.10 Alice adds Carol to her call with Bob (Confrn; Alice's phone mixes)
    "5359-2.10": [*_SETUP, *_reinvite("A", "B"), *_call("A", "C"), *_reinvite("A", "B")],
    # §2.17 Bob is busy; Alice's CallBack subscribes to his dialog state, is told when his
    # call ends, rings Alice, who redials; then she ends the subscription (F1-F19 as the
    # RFC's text walks them: SUBSCRIBE F4, NOTIFY F8 when Bob is free, unSUBSCRIBE F16)
    "5359-2.17": [("A", "B", "INVITE"), ("B", "A", "486 Busy Here"), ("A", "B", "ACK"),
                  ("A", "B", "SUBSCRIBE"), ("B", "A", "200 OK"),
                  ("B", "A", "NOTIFY"), ("A", "B", "200 OK"),
                  ("B", "A", "NOTIFY"), ("A", "B", "200 OK"), *_call("A", "B"),
                  ("B", "A", "NOTIFY"), ("A", "B", "200 OK"),
                  ("A", "B", "SUBSCRIBE"), ("B", "A", "200 OK"),
                  ("B", "A", "NOTIFY"), ("A", "B", "200 OK")],
    # not RFC 5359: an HD voice call (G.722 both ways)
    "HD": [*_SETUP, ("A", "B", "BYE"), ("B", "A", "200 OK")],
}
# fmt: on

TITLES = {
    "5359-2.1": "RFC 5359 2.1 Call Hold",
    "5359-2.2": "RFC 5359 2.2 Consultation Hold",
    "5359-2.4": "RFC 5359 2.4 Transfer - Unattended",
    "5359-2.5": "RFC 5359 2.5 Transfer - Attended",
    "5359-2.7": "RFC 5359 2.7 Call Forwarding Unconditional",
    "5359-2.8": "RFC 5359 2.8 Call Forwarding - Busy",
    "5359-2.9": "RFC 5359 2.9 Call Forwarding - No Answer",
    "5359-2.10": "RFC 5359 2.10 3-Way Conference - Third Party Is Added",
    "5359-2.17": "RFC 5359 2.17 Automatic Redial",
    "HD": "HD voice: a G.722 call (16 kHz audio end to end)",
}

#: How our ladder departs from the RFC's figure, said next to it in the demo.
DIFFERS = {
    "5359-2.4": "Alice's phone also reports Carol's 180 Ringing in a NOTIFY (RFC 3515 allows any progress)",
    "5359-2.7": "no proxy: Bob's phone answers 302 and Alice's follows it (the RFC's proxy recurses)",
    "5359-2.8": "no proxy: Bob's phone answers 302 when busy; Bob's call with Dave is left out",
    "5359-2.9": "no proxy: Bob's phone answers 302 after ringing (the RFC's proxy CANCELs Bob)",
    "5359-2.10": "Alice's phone mixes (the 7960's Confrn) instead of the figure's conference server",
    "5359-2.17": "Bob's call with Dave (who keeps him busy) is left out; Bob's NOTIFY of the new "
                 "dialog goes as he answers, before Alice's ACK",
}

_HANG_UP_AC = (("A", "C", "BYE"), ("C", "A", "200 OK"))

#: What the script does after the figure's last step (hang up), checked like the steps.
AFTER: dict[str, tuple[Step, ...]] = {
    "5359-2.2": (("A", "B", "BYE"), ("B", "A", "200 OK")),
    "5359-2.4": _HANG_UP_AC, "5359-2.5": _HANG_UP_AC, "5359-2.7": _HANG_UP_AC,
    "5359-2.8": _HANG_UP_AC, "5359-2.9": _HANG_UP_AC,
    "5359-2.17": (("A", "B", "BYE"), ("B", "A", "200 OK")),
    # Alice leaves the conference: BYE to Carol and to Bob, answered in either order
    "5359-2.10": (("A", "C", "BYE"), ("A", "B", "BYE"), ("C", "A", "200 OK"), ("B", "A", "200 OK")),
}

#: Steps that may sit elsewhere than the RFC draws them, in a named window (step numbers;
#: ``firmware.demo.match.FigureSpec.floats``): independent dialogs running at once.
FLOATS: dict[str, dict[int, tuple[int, int]]] = {
    # 2.4: Bob's 200 to the first NOTIFY (8) may come once Alice already calls Carol, and
    # the NOTIFY reporting Carol's 180 (13, 14) is sent when the 180 arrives, before her 200
    "5359-2.4": {8: (7, 15), 13: (10, 15), 14: (13, 15)},
    # 2.5: Bob's 200 to the first NOTIFY (15) any time before the final NOTIFY; Carol's
    # BYE to Bob (19, 20) as soon as she takes the INVITE with Replaces, before Alice hangs up
    "5359-2.5": {15: (14, 21), 19: (16, 25), 20: (19, 25)},
    # 2.10: Carol's 200 to Alice's BYE may come before Alice's BYE to Bob
    "5359-2.10": {17: (15, 19)},
    # 2.17: Bob tells of his new dialog (14) as he answers, so before Alice's ACK (13) and
    # unsubscribe (16); Alice's 200 to it (15) may follow her unsubscribe; both before the
    # final NOTIFY (18), which waits for that 200 (one NOTIFY in flight, RFC 6665)
    "5359-2.17": {14: (12, 18), 15: (14, 18)},
}


def _spec(name: str) -> FigureSpec:
    steps = tuple(STEPS[name])
    invites = {(s, d) for s, d, label in steps if label == "INVITE"}
    return FigureSpec(steps=steps, extras=trying(*invites), after=AFTER.get(name, ()),
                      floats=FLOATS.get(name, {}),
                      why="the phone's 100 Trying to each INVITE (the RFC's figures omit it)")


#: The examples as the strict matcher takes them (``firmware.demo.match``).
SPECS: dict[str, FigureSpec] = {name: _spec(name) for name in STEPS}

#: Config keys of each example's handsets (RFC 3264 holds; forwarding per example).
KEYS: dict[str, dict[str, dict[str, object]]] = {
    "5359-2.1": {"*": {"hold_method": "sendonly"}},
    "5359-2.2": {"*": {"hold_method": "sendonly"}},
    "5359-2.5": {"*": {"hold_method": "sendonly"}},
    "5359-2.10": {"*": {"hold_method": "sendonly", "cnf_join_enable": False}},
    "5359-2.8": {"B": {"call_waiting": False}},
    "5359-2.9": {"B": {"cfwd_noanswer_timeout": 1}},
    "5359-2.17": {"B": {"call_waiting": False}},
    "HD": {"*": {"preferred_codec": "g722"}},
}

NUMBERS = {"A": "5550001", "B": "5550002", "C": "5550003", "D": "5550004"}


async def _hold_then_resume(run: FigureRun, net: Network) -> FigureRun:
    a, b = net.handsets["A"], net.handsets["B"]
    await _tones(a, b)
    await _connect(run, a, b)
    await run.hear("connected", a, TONE["B"])
    await _hold_and_resume(run, a, b, listener=b)
    await _hang_up(a, b)
    return run


async def ex_2_1(net: Network) -> FigureRun:
    return await _hold_then_resume(FigureRun("5359-2.1"), net)


async def ex_2_2(net: Network) -> FigureRun:
    run, (a, b, c) = await _begin(net, "5359-2.2", "ABC")
    await _consult(a, b, c)  # Alice holds Bob and calls Carol
    await run.hear("consulting", a, TONE["C"])
    await run.hear_silence("held", b)
    run.snap("consulting", a)
    await _hang_up(a, c)
    await _resume(run, a, b, listener=b)
    return run


async def ex_2_4(net: Network) -> FigureRun:
    run, (a, b, c) = await _begin(net, "5359-2.4", "ABC")
    b.api.transfer(c.uri())  # Bob's directory transfer: REFER (RFC 3515)
    await until(_state(c, "incoming"), "Carol ringing")
    c.api.set_hook(True)
    await until(lambda: _talking(a, c)() and _no_live(b)(), "Alice with Carol, Bob out")
    await run.hear("transferred", a, TONE["C"])
    run.snap("transferred", a)
    return run


async def ex_2_5(net: Network) -> FigureRun:
    run, (a, b, c) = await _begin(net, "5359-2.5", "ABC")
    await _consult(b, a, c)  # Bob holds Alice and consults Carol
    await run.hear("consulting", c, TONE["B"])
    b.api.press_softkey("transfer")  # REFER to Alice, Refer-To Carol?Replaces=<Bob-Carol>
    await until(lambda: _talking(a, c)() and _no_live(b)(), "Alice with Carol, Bob out")
    await run.hear("transferred", c, TONE["A"])
    run.snap("after-transfer", c)
    return run


async def _forwarded(run: FigureRun, net: Network, *, answer_after_ring: bool = False) -> FigureRun:
    a, c = net.handsets["A"], net.handsets["C"]
    b = net.handsets["B"]
    await _tones(a, c)
    a.api.dial(b.uri())
    if answer_after_ring:
        await until(lambda: "incoming" in b.states(), "Bob ringing")
        run.snap("ringing", b)
    await until(_state(c, "incoming"), "Carol ringing", timeout=10)
    c.api.set_hook(True)
    await until(_talking(a, c), "Alice with Carol")
    await run.hear("forwarded", a, TONE["C"])
    run.snap("forwarded", a)
    return run


async def ex_2_7(net: Network) -> FigureRun:
    b = _provision(net, "B", "5359-2.7", cfwd_url=net.handsets["C"].uri())
    b.api.press_softkey("cfwdall")  # CFwdAll with the configured target
    return await _forwarded(FigureRun("5359-2.7"), net)


async def ex_2_8(net: Network) -> FigureRun:
    run = FigureRun("5359-2.8")
    b = _provision(net, "B", "5359-2.8", cfwd_busy_url=net.handsets["C"].uri())
    d = await net.add("D", _config("D", "5359-2.8"))
    await _connect(run, d, b)  # Bob is busy talking to Dave
    return await _forwarded(run, net)


async def ex_2_9(net: Network) -> FigureRun:
    _provision(net, "B", "5359-2.9", cfwd_noanswer_url=net.handsets["C"].uri())
    return await _forwarded(FigureRun("5359-2.9"), net, answer_after_ring=True)


async def ex_2_10(net: Network) -> FigureRun:
    run, (a, b, c) = await _begin(net, "5359-2.10", "ABC")
    await join_conference(a, b, c, before_join=lambda: run.snap("consulting", a))
    await settle(0.3)
    for who, hears in (("B", "C"), ("C", "B")):
        levels = net.handsets[who].audio.tone_levels((TONE[hears],))
        run.media.append((f"conference, hears {hears}", who,
                          TONE[hears] if levels[TONE[hears]] > -30 else None))
        run.expected.append(TONE[hears])
    run.snap("conference", a)
    a.api.press_softkey("endcall")  # cnf_join_enable off here: both calls end
    await until(lambda: _no_live(b)() and _no_live(c)(), "conference over")
    return run


async def ex_2_17(net: Network) -> FigureRun:
    run = FigureRun("5359-2.17")
    a, b = net.handsets["A"], net.handsets["B"]
    d = await net.add("D", _config("D", "5359-2.17"))
    await _tones(a, b)
    await _connect(run, d, b)  # Bob is busy talking to Dave
    a.api.set_hook(True)
    a.api.dial(b.uri())
    await until(lambda: any(c.reason == "busy" for c in a.calls()), "Alice hears busy")
    run.snap("busy", a)
    a.api.press_softkey("callback")  # SUBSCRIBE Event: dialog (RFC 4235)
    a.api.set_hook(False)
    await until(lambda: (a.status().callback or {}).get("state") == "waiting", "Alice waits")
    run.snap("callback-waiting", a)
    b.api.set_hook(False)  # Bob hangs up on Dave: NOTIFY, his dialog terminated
    await until(lambda: a.status().ringer, "Alice's phone rings: Bob is free")
    run.snap("callback-free", a)
    a.api.set_hook(True)  # Alice lifts the handset: the phone redials Bob
    await until(_state(b, "incoming"), "Bob ringing")
    b.api.set_hook(True)
    await until(_talking(a, b), "Alice with Bob")
    await until(lambda: a.status().callback is None, "subscription ended")
    await run.hear("redialled", a, TONE["B"])
    await run.hear("redialled", b, TONE["A"])
    a.api.set_hook(False)
    await until(_no_live(b), "Bob idle")
    return run


def _provision(net: Network, name: str, example: str, **keys: object) -> Handset:
    """Give handset ``name`` the example's keys plus ``keys`` (URIs of the other phones,
    known once they run) the way a resync does (``PhoneHost.reconfigure``)."""
    h = net.handsets[name]
    h.host.reconfigure(_config(name, example, **keys))
    return h


def _config(name: str, example: str, **extra: object) -> object:
    keys = {**KEYS.get(example, {}).get("*", {}), **KEYS.get(example, {}).get(name, {}), **extra}
    return handset_config(NUMBERS[name], **keys)  # type: ignore[arg-type]


async def hd_voice(net: Network) -> FigureRun:
    """Not an RFC 5359 example: an HD (G.722) call and its LCD, with a 6 kHz tone that
    only a wideband path carries."""
    run = FigureRun("HD")
    a, b = net.handsets["A"], net.handsets["B"]
    a.api.set_mock_tone(6000.0)
    b.api.set_mock_tone(TONE["B"])
    await _connect(run, a, b)
    await run.hear("G.722, 6 kHz from A", b, 6000.0)
    await run.hear("G.722", a, TONE["B"])
    run.snap("connected", b)
    assert b.host.app is not None
    b.host.app.on_input(KeyEvent(key="info", down=True, at=b.host.app.clock.time()))
    await until(lambda: any(r.startswith("Info G722") for r in b.status().display), "info screen")
    run.snap("info", b)
    await _hang_up(a, b)
    return run


EXAMPLES: dict[str, Callable[[Network], Awaitable[FigureRun]]] = {
    "5359-2.1": ex_2_1, "5359-2.2": ex_2_2, "5359-2.4": ex_2_4, "5359-2.5": ex_2_5,
    "5359-2.7": ex_2_7, "5359-2.8": ex_2_8, "5359-2.9": ex_2_9, "5359-2.10": ex_2_10,
    "5359-2.17": ex_2_17,
    "HD": hd_voice,
}


async def run_example(example: str, timeout: float = 30.0) -> tuple[Network, FigureRun | None, str | None]:
    """Run one example on fresh handsets A, B, C; (network, run, error). Never raises."""
    import asyncio

    net = Network()
    run, error = None, None
    try:
        for name in ("A", "B", "C"):
            await net.add(name, _config(name, example))
        run = await asyncio.wait_for(EXAMPLES[example](net), timeout)
    except Exception as exc:  # the demo reports, it does not crash
        error = f"{type(exc).__name__}: {exc}"
    finally:
        try:
            await net.close()
        except AssertionError as exc:  # InternalErrors: a phone hit a bug of ours
            error = f"{error}; {exc}" if error else str(exc)
    return net, run, error

