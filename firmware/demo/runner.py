"""``make demo``: the seed's figures among three simulated handsets on loopback.

For each figure it starts phones A, B and C (complete firmware on the mock
HAL, each on its own loopback port), replays the users' actions, and writes
into ``--out``:

* ``<figure>.txt`` and ``<figure>.svg``: the ladder diagram of the SIP
  messages actually sent, numbered like the seed's step table;
* ``<figure>-<phone>-<moment>.png``: the LCD at interesting moments;
* ``index.md``: per figure, whether the recording matches the seed's steps
  and what each earpiece heard (dominant frequency) while connected / held;
  ``index.html`` shows the ladders and screens in a browser;
* ``screens/``: the LCD in every state the firmware has (``demo/screens.py``).

Exit status 0 when the demo ran (the summary says which figures match the
seed); 1 only if no figure could run at all.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from firmware.demo import rfc5359, screens
from firmware.demo.figures import (
    FIGURE_KEYS,
    FIGURES,
    TITLES,
    FigureRun,
    compare,
)
from firmware.demo.health import InternalErrors
from firmware.demo.ladder import MessageLog, render_svg, render_text
from firmware.demo.network import Network, handset_config

log = logging.getLogger(__name__)

NUMBERS = {"A": "5550001", "B": "5550002", "C": "5550003"}


@dataclass
class FigureOutcome:
    figure: str
    log: MessageLog
    run: FigureRun | None
    error: str | None
    mismatch: str | None

    @property
    def ok(self) -> bool:
        return self.error is None and self.mismatch is None


async def run_figure(figure: str, timeout: float = 40.0, host: str | None = None,
                     places: dict[str, tuple[str, Any]] | None = None) -> FigureOutcome:
    """Run one figure on a fresh network of three handsets; never raises.

    ``host``: the address the handsets listen on (default 127.0.0.1; "" for every
    interface, as a phone started without ``bind_address``). ``places``: per
    handset name, (address, network namespace) to run it on another "host"
    (``Network.add``'s ``netns``), e.g. A on one side of a veth pair, B on the other."""
    net = Network()
    run: FigureRun | None = None
    error = None
    try:
        keys = FIGURE_KEYS.get(figure, {})
        for name in ("A", "B", "C"):
            cfg = handset_config(NUMBERS[name], **keys)  # type: ignore[arg-type]
            if places and name in places:
                address, netns = places[name]
                await net.add(name, cfg, host=address, netns=netns)
            else:
                await (net.add(name, cfg) if host is None else net.add(name, cfg, host=host))
        run = await asyncio.wait_for(FIGURES[figure](net), timeout)
    except Exception as exc:  # the demo reports, it does not crash
        log.error("figure %s failed: %s", figure, exc)
        log.debug("figure %s", figure, exc_info=True)
        error = f"{type(exc).__name__}: {exc}"
    finally:
        try:
            await net.close()
        except InternalErrors as exc:  # a phone hit a bug of ours: the figure does not match
            log.error("figure %s: %s", figure, exc)
            error = f"{error}; {exc}" if error else str(exc)
    mismatch = compare(net.log.messages, figure)
    return FigureOutcome(figure=figure, log=net.log, run=run, error=error, mismatch=mismatch)


async def run_example(example: str) -> FigureOutcome:
    """Run one RFC 5359 service example (``rfc5359.py``) or the HD call; never raises."""
    net, run, error = await rfc5359.run_example(example)
    mismatch = compare(net.log.messages, rfc5359.SPECS[example])
    return FigureOutcome(figure=example, log=net.log, run=run, error=error, mismatch=mismatch)


def _title(figure: str) -> str:
    if figure in rfc5359.TITLES:
        return rfc5359.TITLES[figure]
    return f"Figure {figure} {TITLES.get(figure, '')}".strip()


def write_outputs(out: Path, outcome: FigureOutcome) -> None:
    out.mkdir(parents=True, exist_ok=True)
    title = _title(outcome.figure)
    order = ["A", "B", "C"]
    (out / f"{outcome.figure}.txt").write_text(render_text(outcome.log.messages, order, title))
    (out / f"{outcome.figure}.svg").write_text(render_svg(outcome.log.messages, order, title))
    if outcome.run is not None:
        for label, png in outcome.run.screens.items():
            (out / f"{outcome.figure}-{label}.png").write_bytes(png)


def summary(outcomes: list[FigureOutcome]) -> str:
    rows = ["# piphone demo: Appendix B figures and RFC 5359 examples on simulated handsets", "",
            "| figure | messages | matches seed steps | earpiece (Hz) | note |", "|---|---|---|---|---|"]
    for o in outcomes:
        heard = ", ".join(f"{w} {who}: {hz:.0f}" if hz else f"{w} {who}: silence"
                          for w, who, hz in (o.run.media if o.run else []))
        note = " ".join((o.error or o.mismatch or rfc5359.DIFFERS.get(o.figure, "")).split())
        note = note.replace("|", "/")
        # "yes" only when the ladder plays the seed's steps (firmware.demo.seed's rule)
        # and no phone hit an internal error on the way
        rows.append(f"| {o.figure} | {len(o.log.messages)} | {'yes' if o.ok else 'no'} "
                    f"| {heard} | {note} |")
    return "\n".join(rows) + "\n"


def html_page(outcomes: list[FigureOutcome]) -> str:
    """``index.html``: every figure's ladder and screens on one page (files beside it)."""
    from html import escape

    parts = ["<!doctype html><meta charset=utf-8><title>piphone demo</title>",
             "<style>body{font-family:sans-serif;max-width:1100px;margin:auto}"
             "img.lcd{image-rendering:pixelated;margin:4px;border:1px solid #999}</style>",
             "<h1>piphone: Appendix B figures and RFC 5359 examples on simulated handsets</h1>"]
    for o in outcomes:
        verdict = "matches the seed's steps" if o.ok else escape(o.error or o.mismatch or "")
        if o.ok and o.figure in rfc5359.DIFFERS:
            verdict += " (" + escape(rfc5359.DIFFERS[o.figure]) + ")"
        parts.append(f"<h2>{escape(_title(o.figure))}</h2>"
                     f"<p>{verdict} &middot; <a href='{o.figure}.txt'>text ladder</a></p>"
                     f"<img src='{o.figure}.svg' alt='ladder of {o.figure}'><div>")
        for label in sorted(o.run.screens) if o.run else []:
            parts.append(f"<img class=lcd src='{o.figure}-{escape(label)}.png' "
                         f"title='{escape(label)}' alt='{escape(label)}'>")
        parts.append("</div>")
    return "\n".join(parts) + "\n"


async def _amain(out: Path, figures: list[str]) -> list[FigureOutcome]:
    outcomes = []
    for fig in figures:
        outcome = await (run_example(fig) if fig in rfc5359.EXAMPLES else run_figure(fig))
        write_outputs(out, outcome)
        outcomes.append(outcome)
        log.info("%s: %s", fig, "ok" if outcome.ok else (outcome.error or outcome.mismatch))
    return outcomes


def demo_main(args: argparse.Namespace) -> int:
    """Entry point of ``python -m firmware demo``."""
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr,
                        format="%(levelname)s %(name)s: %(message)s")
    logging.getLogger(__name__).setLevel(logging.INFO)
    out = Path(args.out)
    every = [*FIGURES, *rfc5359.EXAMPLES]
    figures = every if not getattr(args, "figure", None) else [args.figure.upper()]
    unknown = [f for f in figures if f not in every]
    if unknown:
        log.error("no such figure %s; the demo has %s", unknown[0], ", ".join(every))
        return 2
    outcomes = asyncio.run(_amain(out, figures))
    text = summary(outcomes)
    (out / "index.md").write_text(text)
    (out / "index.html").write_text(html_page(outcomes))
    sys.stdout.write(text)
    for o in outcomes:
        sys.stdout.write(f"\n{(out / (o.figure + '.txt')).read_text()}")
    if not getattr(args, "figure", None):  # the LCD in every state, the desk keys' screens too
        shots = screens.write(out / "screens")
        sys.stdout.write(f"\n{len(shots)} LCD screens (every state) in {out}/screens/\n")
    matched = sum(o.ok for o in outcomes)
    sys.stdout.write(f"\n{matched} of {len(outcomes)} figures match their step tables "
                     "(the seed's, RFC 5359's); "
                     f"outputs in {out}/\n")
    return 0 if any(o.run is not None for o in outcomes) else 1
