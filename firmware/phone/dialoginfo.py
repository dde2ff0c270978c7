"""RFC 4235 dialog-info bodies: the XML a dialog-event NOTIFY carries, built and read.

Why a module of its own: both halves of automatic redial (RFC 5359 §2.17)
meet here. The callee's phone (``dialogstate.py``) describes its calls as
``<dialog-info>``; the caller's (``callback.py``) reads that to learn when
the callee is free. Keeping the format pure (bytes in, values out) lets it
be tested without a SIP stack.

What we publish is deliberately little: each dialog's opaque ``id``, its
``direction`` and ``state``, never who is on the other end (RFC 4235 §10
asks notifiers to think about what they reveal; a caller waiting to redial
needs "busy or free", not the callee's contacts).

Reading is bounded and refuses any DTD: no ``<!DOCTYPE``/``<!ENTITY`` (entity
expansion bombs), at most ``MAX_BODY`` bytes and ``MAX_DIALOGS`` dialogs. The
standard library's ``xml.etree`` (expat) fetches no external entities; with
no DTD allowed it expands none either, which is what ``defusedxml`` would
guarantee (not installed on the phone).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal


def quoteattr(value: str) -> str:
    """``value`` as a double-quoted XML attribute. Not ``xml.sax.saxutils.quoteattr``:
    that module imports ``urllib.request`` (and with it ``http.client`` and ``email``),
    16 ms and ~1.5 MB at every boot, for a few replacements."""
    for raw, entity in (("&", "&amp;"), ("<", "&lt;"), (">", "&gt;"), ('"', "&quot;"),
                        ("\n", "&#10;"), ("\r", "&#13;"), ("\t", "&#9;")):
        value = value.replace(raw, entity)
    return f'"{value}"'


NS = "urn:ietf:params:xml:ns:dialog-info"
CONTENT_TYPE = "application/dialog-info+xml"
EVENT = "dialog"
MAX_BODY = 16 * 1024
MAX_DIALOGS = 32

#: RFC 4235 §3.7.1 dialog states; every one but ``terminated`` means "in a call or about to be"
STATES = frozenset({"trying", "proceeding", "early", "confirmed", "terminated"})
BUSY_STATES = STATES - {"terminated"}


@dataclass(frozen=True, slots=True, kw_only=True)
class DialogEntry:
    """One ``<dialog>``: its id, ``state`` and (optional) ``direction``."""

    id: str
    state: str
    direction: Literal["initiator", "recipient"] | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class DialogInfo:
    """A whole document: ``version`` (per subscription, +1 each NOTIFY), ``full`` or partial
    state, the ``entity`` (the AOR watched) and its dialogs."""

    version: int
    full: bool
    entity: str
    dialogs: tuple[DialogEntry, ...] = ()

    @property
    def busy(self) -> bool:
        """Some dialog is not terminated: the user is in a call or one is setting up."""
        return any(d.state in BUSY_STATES for d in self.dialogs)


def build_dialog_info(info: DialogInfo) -> bytes:
    """The XML body for ``info`` (RFC 4235 §4.1)."""
    rows = [f'<?xml version="1.0"?>\n<dialog-info xmlns="{NS}" version="{info.version}" '
            f'state="{"full" if info.full else "partial"}" entity={quoteattr(info.entity)}>']
    for d in info.dialogs:
        direction = f" direction={quoteattr(d.direction)}" if d.direction else ""
        rows.append(f"  <dialog id={quoteattr(d.id)}{direction}>"
                    f"<state>{d.state}</state></dialog>")
    rows.append("</dialog-info>\n")
    return "\n".join(rows).encode()


def parse_dialog_info(body: bytes) -> DialogInfo:
    """Read a dialog-info document; ValueError (with a short reason) when it is not one."""
    if len(body) > MAX_BODY:
        raise ValueError("dialog-info body too large")
    if b"<!DOCTYPE" in body.upper() or b"<!ENTITY" in body.upper():
        raise ValueError("dialog-info with a DTD refused")
    import xml.etree.ElementTree as ET  # with the first NOTIFY only: not on the boot path

    try:
        root = ET.fromstring(body)
    except ET.ParseError as exc:
        raise ValueError(f"not XML: {exc}") from None
    if root.tag != f"{{{NS}}}dialog-info":
        raise ValueError(f"root element {root.tag[:60]!r} is not dialog-info")
    try:
        version = int(root.get("version", ""))
    except ValueError:
        raise ValueError("dialog-info without a version") from None
    doc_state = root.get("state", "")
    if doc_state not in ("full", "partial") or version < 0:
        raise ValueError(f"dialog-info state {doc_state[:20]!r}")
    dialogs = []
    for el in root.findall(f"{{{NS}}}dialog"):
        if len(dialogs) >= MAX_DIALOGS:
            raise ValueError("too many dialogs")
        state_el = el.find(f"{{{NS}}}state")
        state = (state_el.text or "").strip() if state_el is not None else ""
        ident = el.get("id", "")
        if not ident or state not in STATES:
            raise ValueError(f"dialog {ident[:20]!r} with state {state[:20]!r}")
        direction = el.get("direction")
        dialogs.append(DialogEntry(id=ident[:128], state=state,
                                   direction=direction if direction in ("initiator", "recipient")
                                   else None))  # type: ignore[arg-type]
    return DialogInfo(version=version, full=doc_state == "full",
                      entity=root.get("entity", "")[:256], dialogs=tuple(dialogs))
