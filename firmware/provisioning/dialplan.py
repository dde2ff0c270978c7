"""Cisco 7940/7960 SIP ``dialplan.xml``: parse templates, match dialled keys, rewrite.

Format (Cisco SIP IP Phone Administrator Guide, "Creating Dial Plans")::

    <DIALTEMPLATE>
      <TEMPLATE MATCH="9,1.........." Timeout="0" User="Phone" Rewrite="..."/>
    </DIALTEMPLATE>

MATCH characters: a digit, ``*`` escaped as ``\\*`` or ``#`` is literal; ``.``
matches one key (0-9 or ``*``); ``*`` matches one or more keys; ``,`` marks
where the phone plays secondary dial tone; ``>#`` marks where ``#`` may end
dialling. ``#`` as a key is only ever matched by a literal ``#``.

Choosing a template (the guide's rule): the template with the most literal
(non-wildcard) matches wins; a complete match only beats a partial one if it
has strictly more literal matches. Rewrite: ``%s``/``%0`` the whole input,
``%1``..``%5`` the runs of keys matched by consecutive wildcards, each ``.``
the next wildcard-matched key in order, ``%%`` a literal ``%``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum

MAX_XML_BYTES = 64 * 1024
MAX_TEMPLATES = 256
MAX_PATTERN = 64
MAX_INPUT = 64
DIAL_KEYS = frozenset("0123456789*#")
#: What ``match`` accepts: keypad keys plus letters and '+' (the Cisco guide's
#: rewrite examples use letters; the control API may dial them).
MATCHABLE = DIAL_KEYS | frozenset("+abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")


class DialPlanError(ValueError):
    """The dial plan file was refused (file, reason)."""

    def __init__(self, file: str, reason: str) -> None:
        self.file = file
        self.reason = reason
        super().__init__(f"{file}: {reason}")


# Pattern tokens: ("lit", c) | ("dot",) | ("star",) | ("comma",) | ("term",)
Token = tuple[str, ...]


def compile_pattern(pattern: str) -> tuple[Token, ...]:
    """Tokenise a MATCH string; ``ValueError`` on a malformed one."""
    if not pattern or len(pattern) > MAX_PATTERN:
        raise ValueError(f"MATCH must be 1..{MAX_PATTERN} characters")
    tokens: list[Token] = []
    i = 0
    while i < len(pattern):
        ch = pattern[i]
        if ch == "\\":
            if pattern[i + 1:i + 2] != "*":
                raise ValueError("'\\' may only escape '*'")
            tokens.append(("lit", "*"))
            i += 2
            continue
        if ch == ">":
            if pattern[i + 1:i + 2] != "#":
                raise ValueError("'>' must be followed by '#'")
            tokens.append(("term",))
            i += 2
            continue
        if ch == ".":
            tokens.append(("dot",))
        elif ch == "*":
            tokens.append(("star",))
        elif ch == ",":
            tokens.append(("comma",))
        elif ch.isalnum() or ch in "#+":
            tokens.append(("lit", ch))
        else:
            raise ValueError(f"character {ch!r} is not allowed in MATCH")
        i += 1
    return tuple(tokens)


@dataclass(frozen=True, slots=True, kw_only=True)
class Template:
    """One ``<TEMPLATE>``: pattern, seconds to wait, URI user type, rewrite."""

    match: str
    timeout: float
    user: str | None = None  # "phone" | "ip" | None
    rewrite: str | None = None
    tokens: tuple[Token, ...] = ()

    def __post_init__(self) -> None:
        if not self.tokens:
            object.__setattr__(self, "tokens", compile_pattern(self.match))


@dataclass(frozen=True, slots=True, kw_only=True)
class DialPlan:
    templates: tuple[Template, ...]
    name: str = "dialplan.xml"
    #: Templates skipped (file: template n: why); the rest of the plan stands.
    warnings: tuple[str, ...] = field(default=(), compare=False)


class MatchKind(Enum):
    COMPLETE = "complete"
    PARTIAL = "partial"
    NONE = "none"


@dataclass(frozen=True, slots=True, kw_only=True)
class MatchResult:
    """What the dialled keys mean now, and how long to wait before acting.

    COMPLETE: dial ``number`` with ``template`` after ``timeout`` s (0 = now)
    unless more keys come.
    PARTIAL: more keys expected; wait the phone's inter-digit timeout
    (``timeout`` is None). If it expires and ``template`` is set (a complete
    match that a longer partial one outranked), dial ``number``; otherwise
    the number is incomplete.
    NONE: no template can ever match these keys.
    ``secondary_tone``: the keys end exactly at a ',' of the chosen template.
    ``terminable``: '#' pressed now would end dialling (a '>#' was reached).
    """

    kind: MatchKind
    timeout: float | None = 0.0
    template: Template | None = None
    number: str = ""
    secondary_tone: bool = False
    terminable: bool = False


def parse_dialplan(data: bytes | str, *, filename: str = "dialplan.xml") -> DialPlan:
    """Parse a dialplan.xml. A template the phone cannot use is skipped with a
    warning (``DialPlan.warnings``) and the rest of the plan stands, as on the
    7960; the file is refused (``DialPlanError``) only when it is not a dial
    plan at all: DTDs/entities, oversize, not XML, no usable template."""
    raw = data.encode("utf-8") if isinstance(data, str) else data
    if len(raw) > MAX_XML_BYTES:
        raise DialPlanError(filename, f"larger than {MAX_XML_BYTES} bytes")
    if b"<!DOCTYPE" in raw.upper() or b"<!ENTITY" in raw.upper():
        raise DialPlanError(filename, "DTDs and entities are not allowed")
    import xml.etree.ElementTree as ET  # only with a dial plan file: not on every boot's path

    try:
        root = ET.fromstring(raw)
    except ET.ParseError as exc:
        raise DialPlanError(filename, f"not well-formed XML ({exc})") from None
    if root.tag.upper() != "DIALTEMPLATE":
        raise DialPlanError(filename, f"root element is <{root.tag}>, expected <DIALTEMPLATE>")
    templates: list[Template] = []
    warnings: list[str] = []
    for n, el in enumerate(root, start=1):
        if not isinstance(el.tag, str):
            continue  # a comment or processing instruction
        if el.tag.upper() != "TEMPLATE":
            warnings.append(f"{filename}: element {n}: <{el.tag}> is not <TEMPLATE>; skipped")
            continue
        if len(templates) >= MAX_TEMPLATES:
            raise DialPlanError(filename, f"more than {MAX_TEMPLATES} templates")
        attrs = {k.lower(): v for k, v in el.attrib.items()}
        try:
            templates.append(_template(attrs, n, filename))
        except DialPlanError as exc:
            warnings.append(f"{exc}; template skipped")
    if not templates:
        why = "; ".join(warnings) if warnings else "no <TEMPLATE> elements"
        raise DialPlanError(filename, f"no usable <TEMPLATE> ({why})")
    return DialPlan(templates=tuple(templates), name=filename, warnings=tuple(warnings))


def _template(attrs: dict[str, str], n: int, filename: str) -> Template:
    where = f"template {n}"
    if "match" not in attrs:
        raise DialPlanError(filename, f"{where}: MATCH is missing")
    try:
        tokens = compile_pattern(attrs["match"])
    except ValueError as exc:
        raise DialPlanError(filename, f"{where}: MATCH={attrs['match']!r}: {exc}") from None
    timeout_text = attrs.get("timeout", "0").strip()
    if not timeout_text.isdecimal() or int(timeout_text) > 300:
        raise DialPlanError(filename, f"{where}: Timeout={timeout_text!r}; accepted: 0..300")
    user = attrs.get("user", "").strip().lower() or None
    if user not in (None, "phone", "ip"):
        raise DialPlanError(filename, f"{where}: User={user!r}; accepted: Phone or IP")
    rewrite = attrs.get("rewrite")
    if rewrite is not None and (len(rewrite) > MAX_PATTERN
                                or any(not (c.isalnum() or c in ".%*#+@:;=-_") for c in rewrite)):
        raise DialPlanError(filename, f"{where}: Rewrite={rewrite!r} has bad characters")
    return Template(match=attrs["match"], timeout=float(timeout_text), user=user,
                    rewrite=rewrite or None, tokens=tokens)


@dataclass(frozen=True, slots=True)
class _Path:
    """The best way found so far to reach a pattern position."""

    literals: int
    consumed: tuple[int, ...]  # token index that consumed each input key


def _epsilon(tokens: tuple[Token, ...], states: dict[tuple[int, bool], _Path]) -> None:
    """Close over zero-width tokens (',' and '>#') and leaving a started '*'."""
    work = list(states.items())
    while work:
        (i, in_star), path = work.pop()
        nxt: tuple[int, bool] | None = None
        if in_star:
            nxt = (i + 1, False)
        elif i < len(tokens) and tokens[i][0] in ("comma", "term"):
            nxt = (i + 1, False)
        if nxt is not None:
            old = states.get(nxt)
            if old is None or path.literals > old.literals:
                states[nxt] = path
                work.append((nxt, path))


def _run(tokens: tuple[Token, ...], keys: str) -> dict[tuple[int, bool], _Path]:
    """Simulate the pattern as an NFA over the keys, keeping the best path per state."""
    states: dict[tuple[int, bool], _Path] = {(0, False): _Path(0, ())}
    _epsilon(tokens, states)
    for key in keys:
        nxt: dict[tuple[int, bool], _Path] = {}

        def offer(state: tuple[int, bool], path: _Path,
                  nxt: dict[tuple[int, bool], _Path] = nxt) -> None:
            old = nxt.get(state)
            if old is None or path.literals > old.literals:
                nxt[state] = path

        for (i, in_star), path in states.items():
            if in_star:
                if key != "#":
                    offer((i, True), _Path(path.literals, path.consumed + (i,)))
                continue
            if i >= len(tokens):
                continue
            kind = tokens[i][0]
            if kind == "lit" and tokens[i][1] == key:
                offer((i + 1, False), _Path(path.literals + 1, path.consumed + (i,)))
            elif kind == "dot" and key != "#":
                offer((i + 1, False), _Path(path.literals, path.consumed + (i,)))
            elif kind == "star" and key != "#":
                offer((i, True), _Path(path.literals, path.consumed + (i,)))
        if not nxt:
            return {}
        _epsilon(tokens, nxt)
        states = nxt
    return states


def rewrite(template: Template, keys: str, consumed: tuple[int, ...]) -> str:
    """Apply ``template.rewrite`` to the keys (see module doc); no rewrite -> keys."""
    if not template.rewrite:
        return keys
    wild = [k for k, t in zip(keys, consumed, strict=True)
            if template.tokens[t][0] in ("dot", "star")]
    groups: list[str] = []
    prev: int | None = None
    for k, t in zip(keys, consumed, strict=True):
        if template.tokens[t][0] not in ("dot", "star"):
            prev = None
            continue
        adjacent = prev is not None and (t == prev or (t == prev + 1 and all(
            template.tokens[j][0] in ("dot", "star") for j in range(prev, t + 1))))
        if adjacent:
            groups[-1] += k
        else:
            groups.append(k)
        prev = t
    out: list[str] = []
    it = iter(wild)
    rw = template.rewrite
    i = 0
    while i < len(rw):
        ch = rw[i]
        if ch == "%" and i + 1 < len(rw):
            code = rw[i + 1]
            if code in "s0":
                out.append(keys)
            elif code in "12345":
                g = int(code) - 1
                out.append(groups[g] if g < len(groups) else "")
            elif code == "%":
                out.append("%")
            else:
                out.append(ch + code)
            i += 2
            continue
        out.append(next(it, "") if ch == "." else ch)
        i += 1
    return "".join(out)


def match(plan: DialPlan, keys: str) -> MatchResult:
    """Classify the keys dialled so far against the plan (see module doc)."""
    if len(keys) > MAX_INPUT or not all(k in MATCHABLE for k in keys):
        return MatchResult(kind=MatchKind.NONE)
    best_c: tuple[Template, _Path] | None = None
    best_p: tuple[Template, _Path] | None = None
    terminable = False
    at_comma = False
    for tpl in plan.templates:
        states = _run(tpl.tokens, keys)
        if not states:
            continue
        n = len(tpl.tokens)
        end = states.get((n, False))
        if end is not None and (best_c is None or end.literals > best_c[1].literals):
            best_c = (tpl, end)
        for (i, in_star), path in states.items():
            if i < n and tpl.tokens[i][0] == "term" and not in_star:
                terminable = True
            can_extend = in_star or (i < n and tpl.tokens[i][0] in ("lit", "dot", "star"))
            if not can_extend:
                continue
            if not in_star and i > 0 and tpl.tokens[i - 1][0] == "comma":
                at_comma = True
            if best_p is None or path.literals > best_p[1].literals:
                best_p = (tpl, path)
    if best_c is not None and (best_p is None or best_p[0] is best_c[0]
                               or best_c[1].literals > best_p[1].literals):
        tpl, path = best_c
        return MatchResult(kind=MatchKind.COMPLETE, timeout=tpl.timeout, template=tpl,
                           number=rewrite(tpl, keys, path.consumed), terminable=terminable)
    if best_p is not None:
        # Outranked complete match (if any) is what a timeout would dial.
        fallback = best_c[0] if best_c is not None else None
        number = rewrite(best_c[0], keys, best_c[1].consumed) if best_c is not None else ""
        return MatchResult(kind=MatchKind.PARTIAL, timeout=None, template=fallback,
                           number=number, secondary_tone=at_comma and bool(keys),
                           terminable=terminable)
    return MatchResult(kind=MatchKind.NONE)


def terminate(plan: DialPlan, keys: str) -> MatchResult:
    """'#' pressed where a '>#' allows it: dial the keys so far with the template
    that reached the marker (rewrite applied when that template is complete)."""
    for tpl in plan.templates:
        states = _run(tpl.tokens, keys)
        for (i, in_star), path in states.items():
            if not in_star and i < len(tpl.tokens) and tpl.tokens[i][0] == "term":
                rest = tpl.tokens[i + 1:]
                complete = all(t[0] in ("comma", "term") for t in rest)
                number = rewrite(tpl, keys, path.consumed) if complete else keys
                return MatchResult(kind=MatchKind.COMPLETE, timeout=0.0, template=tpl,
                                   number=number, terminable=True)
    return MatchResult(kind=MatchKind.NONE)
