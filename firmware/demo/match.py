"""Does a recorded ladder play a seed figure? The one matcher of the demo and the flow tests.

Why this strict: a matcher that skips what it does not expect passes a phone
that sends one final response too many. Here every recorded message between
the figure's parties must be, in order, the figure's next step, or something
the figure names as allowed between steps (``FigureSpec.extras``: a 100 Trying
the seed leaves out, a proxy's own ACK to a 3xx ...), or a retransmission (the
same message of the same transaction again). Nothing else. A step the figure
lets float (``FigureSpec.floats``: two branches of a proxy racing) may sit
anywhere in the window it names. What the run does after the figure's last
step (hanging up) is listed too (``FigureSpec.after``) and checked the same way.

Responses compare by status code (RFC 3261 §7.2: the reason phrase is for
people; the seed's "407 Authentication Error" is our "407 Proxy Authentication
Required"); requests by method, with ``(Also)`` kept, so the BYE that transfers
must be the one that carries ``Also:``. SDP hints are dropped.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

Step = tuple[str, str, str]


@dataclass(frozen=True, slots=True, kw_only=True)
class FigureSpec:
    """One figure: the seed's steps, and what may sit between them (each with its reason).

    ``floats`` maps a step number (1-based, counting ``steps`` then ``after``) to the
    window ``(after, before)`` of step numbers it may sit in instead of its own place
    (``after`` 0: from the start; ``before`` past the last: until the end).
    ``registrations``: REGISTER transactions are no step of any figure (proxy figures).
    """

    steps: tuple[Step, ...]
    extras: frozenset[Step] = frozenset()
    after: tuple[Step, ...] = ()
    floats: dict[int, tuple[int, int]] = field(default_factory=dict)
    registrations: bool = False
    why: str = ""

    @property
    def parties(self) -> frozenset[str]:
        return frozenset(p for s, d, _ in self.steps + self.after for p in (s, d))

    def with_step(self, number: int, step: Step) -> FigureSpec:
        """The same figure with step ``number`` (1-based) replaced, e.g. B-14's 4xx/5xx/6xx."""
        steps = list(self.steps)
        steps[number - 1] = step
        return FigureSpec(steps=tuple(steps), extras=self.extras, after=self.after,
                          floats=self.floats, registrations=self.registrations, why=self.why)


def trying(*invites: tuple[str, str]) -> frozenset[Step]:
    """The 100 Trying each (caller, callee) INVITE may get although the seed leaves it out."""
    return frozenset((callee, caller, "100 Trying") for caller, callee in invites)


@dataclass(frozen=True, slots=True)
class _Rec:
    src: str
    dst: str
    label: str
    tx: tuple[str, str] | None  # (Call-ID, CSeq): what makes a repeat a retransmission

    @property
    def step(self) -> Step:
        return (self.src, self.dst, self.label)


def _base(label: str) -> str:
    """The label as compared: SDP hints dropped, ``(Also)`` kept."""
    return label.replace(" (SDP hold)", "").replace(" (SDP)", "")


def _same(got: Step, want: Step) -> bool:
    if got[:2] != want[:2]:
        return False
    a, b = _base(got[2]), _base(want[2])
    if a[:3].isdigit() and b[:3].isdigit():
        return a[:3] == b[:3]
    return a == b


def _records(recorded: Iterable[Any], spec: FigureSpec) -> list[_Rec]:
    """``LadderMessage``s (retransmissions recognised by Call-ID and CSeq) or plain
    (src, dst, label) tuples (no retransmission allowed); other parties dropped."""
    out = []
    parties = spec.parties
    for m in recorded:
        if isinstance(m, tuple):
            src, dst, label = m[:3]
            tx = (m[3], m[4]) if len(m) >= 5 else None
            cseq = m[4] if len(m) >= 5 else ""
        else:
            src, dst, label, cseq = m.src, m.dst, m.label, m.cseq
            tx = (m.call_id, m.cseq) if m.call_id and m.cseq else None
        if spec.registrations and cseq.upper().endswith("REGISTER"):
            continue
        if src in parties and dst in parties:
            out.append(_Rec(src, dst, _base(label), tx))
    return out


def compare(recorded: Sequence[Any], spec: FigureSpec) -> str | None:
    """None when ``recorded`` plays ``spec`` (module doc's rule); else the first difference."""
    want = list(spec.steps) + list(spec.after)
    floating = {n - 1: (a - 1, b - 1) for n, (a, b) in spec.floats.items()}
    order = [i for i in range(len(want)) if i not in floating]
    done: set[int] = set()
    seen: set[tuple[Step, tuple[str, str]]] = set()
    pos = 0  # index into ``order``: the next fixed step expected

    def name(i: int) -> str:
        n = len(spec.steps)
        return f"step {i + 1}" if i < n else f"after the figure, message {i - n + 1}"

    for k, rec in enumerate(_records(recorded, spec)):
        key = (rec.step, rec.tx) if rec.tx is not None else None
        if key is not None and key in seen:
            continue  # a retransmission of a message already accepted
        nxt = order[pos] if pos < len(order) else None
        open_floats = [i for i, (a, b) in floating.items()
                       if i not in done and (a < 0 or a in done)]
        due = [i for i in open_floats if floating[i][1] == nxt and _same(rec.step, want[i])]
        if due:  # the same message as the next step, but a floating step owed before it
            done.add(due[0])
        elif nxt is not None and _same(rec.step, want[nxt]):
            late = [i for i, (_a, b) in floating.items() if i not in done and b == nxt]
            if late:
                return f"{name(late[0])} {want[late[0]]} must come before {name(nxt)} {want[nxt]}"
            done.add(nxt)
            pos += 1
        elif any(_same(rec.step, want[i]) for i in open_floats):
            done.add(next(i for i in open_floats if _same(rec.step, want[i])))
        elif any(_same(rec.step, x) for x in spec.extras):
            pass
        else:
            where = (f"{name(nxt)}: expected {want[nxt]}" if nxt is not None
                     else "after the last step")
            return f"{where}, got {rec.step} (message {k + 1}: not a step here, " \
                   f"a named extra or a retransmission)"
        if key is not None:
            seen.add(key)
    missing = [i for i in range(len(want)) if i not in done]
    if missing:
        i = missing[0]
        return f"{name(i)}: expected {want[i]}, but the recording ends before it"
    return None
