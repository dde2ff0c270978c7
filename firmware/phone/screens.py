"""Phone state -> ``hal.base.Screen`` (the 7960's LCD as a value).

Why pure: every backend (luma OLED, PNG for the demo, the control API's text
rows) draws the same ``Screen``; tests assert on it without a display.
Caller ID is the From display name (RFC 3261 §20.20), else the user part of
the URI, else the whole URI.
"""

from __future__ import annotations

import textwrap
from typing import Any

from firmware.phone.call import CallState, CallView
from firmware.phone.softkeys import softkeys
from firmware.phone.view import PhoneView
from hal.base import Screen

_S = CallState
_MAX = 21  # characters per row of a 128-pixel panel at 6 px per glyph

_TITLE = {
    _S.DIALING: "Enter number",
    _S.CALLING: "Calling",
    _S.PROCEEDING: "Calling",
    _S.RINGBACK: "Ringing",
    _S.INCOMING: "Incoming call",
    _S.CONNECTED: "Connected",
    _S.HOLDING: "On hold",
    _S.HELD: "Held by far end",
    _S.ENDED: "Call ended",
}


def caller_id(call: CallView) -> str:
    """What the display says about the other party."""
    if call.remote_display:
        return call.remote_display.strip()[:_MAX]
    return uri_user(call.remote)[:_MAX]


def uri_user(uri: str) -> str:
    """``sip:5550002@host;user=phone`` -> ``5550002``; anything else stays as given."""
    text = uri.strip().strip("<>")
    for scheme in ("sips:", "sip:", "tel:"):
        if text.lower().startswith(scheme):
            text = text[len(scheme):]
            break
    user = text.split("@", 1)[0] if "@" in text else text
    return user.split(";", 1)[0] or uri


def call_timer(call: CallView, now: float) -> str:
    """mm:ss (h:mm:ss past an hour) since the call was answered."""
    if call.connected_at is None:
        return ""
    secs = max(0, int(now - call.connected_at))
    h, rest = divmod(secs, 3600)
    m, s = divmod(rest, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m:02d}:{s:02d}"


def _clip(text: str) -> str:
    return text[:_MAX]


def render(view: PhoneView) -> Screen:
    """The whole screen for ``view``."""
    icons: set[str] = set()
    if view.registered:
        icons.add("registered")
    if view.dnd:
        icons.add("dnd")
    if view.cfwd_to:
        icons.add("cfwd")
    if view.muted:
        icons.add("muted")
    if view.route in ("speaker", "headset"):
        icons.add("speaker")
    if view.mwi:
        icons.add("mwi")
    badge = str(view.mwi_new) if view.mwi and view.mwi_new else ""
    if view.menu is not None:
        menu = view.menu
        return Screen(status=_clip(menu.title), lines=tuple(_clip(r) for r in menu.rows),
                      softkeys=menu.softkeys, icons=frozenset(icons), badge=badge,
                      inverted_line=menu.selected, clock=view.clock)
    # The 7960 shows phone_label on its top line; the line's number then moves to a row.
    ready = view.registered or not view.registers
    status = f"{view.label or view.line_name}{'' if ready else ' (unreg)'}"
    lines: list[str] = []
    call, other = view.focused, view.other
    if call is None:
        if view.idle:
            lines.extend(textwrap.wrap(view.idle, _MAX)[:2])
        elif not view.registered and view.reg_problem and view.registers:
            # in words: what failed, then the reason without its status code on up to
            # two rows (a refused TLS certificate must say so, not just "Registering...")
            code, _, reason = view.reg_problem.partition(" ")
            if code == "408":
                lines.append("No answer from proxy")
            else:
                lines.append("Registration failed:")
                lines.extend(textwrap.wrap(reason or code, _MAX)[:2])
        else:
            lines.append("Ready" if ready else "Registering...")
        if view.label:
            lines.append(_clip(f"Line: {view.line_name}"))
        if view.cfwd_to:
            lines.append(_clip(f"Fwd all: {uri_user(view.cfwd_to)}"))
        if view.dnd:
            lines.append("Do not disturb")
        if view.missed:
            lines.append(f"{view.missed} missed call{'s' if view.missed != 1 else ''}")
        if view.mwi:
            lines.append(_clip(f"{view.mwi_new} new voice msg{'s' if view.mwi_new != 1 else ''}"
                               if view.mwi_new else "Voice messages"))
        if view.callback:
            lines.append(_clip(view.callback))
    elif view.info:
        lines.append(_clip(caller_id(call)))
        lines.extend(_clip(r) for r in view.info)
    elif call.conference and other is not None and other.conference:
        icons.add("conference")
        if other.hd:
            icons.add("hd")
        lines.extend(_conference_rows(call, other, view.now))
        other = None  # both parties are on the conference rows
    else:
        lines.extend(_call_rows(call, view))
        if view.dtmf:
            lines.append(_clip(f"DTMF: {view.dtmf}"))
        if call.state in (_S.HOLDING,):
            icons.add("hold")
    if call is not None and call.hd and call.state is not _S.ENDED:
        icons.add("hd")  # a wideband (G.722) call, as desk phones show it
    if call is not None and call.encrypted:
        icons.add("secure")  # SRTP: the padlock desk phones show, and the words below
        if not view.info and not call.conference:
            lines.insert(2 if len(lines) >= 2 else len(lines), "Secure call (SRTP)")
    if other is not None and other.state is not _S.ENDED:
        if other.state is _S.INCOMING:
            icons.add("waiting")
            lines.append(_clip(f"Waiting: {caller_id(other)}"))
        elif other.state is _S.HOLDING:
            icons.add("hold")
            lines.append(_clip(f"On hold: {caller_id(other)}"))
        else:
            lines.append(_clip(f"{_TITLE[other.state]}: {caller_id(other)}"))
    if view.notice:
        lines.append(_clip(view.notice))
    return Screen(status=_clip(status), lines=tuple(lines), softkeys=softkeys(view),
                  icons=frozenset(icons), inverted_line=0 if call is not None else None,
                  clock=view.clock, badge=badge)


def line_label(line: Any) -> str:
    """The line key's label: ``line{n}_shortname``, else the display name, else the number."""
    return str(line.shortname or line.display_name or line.number)


def local_epoch(settings: Any, utc: float) -> float:
    """``utc`` shifted to the phone's local time (time_zone and its DST rule)."""
    zone = settings.local_time
    minutes = zone.utc_offset(utc) if zone is not None else settings.utc_offset_minutes
    return utc + 60.0 * minutes


def clock_text(settings: Any, utc: float) -> str:
    """The status bar's clock: time and date as the config says, else ``HH:MM``."""
    zone = settings.local_time
    return str(zone.status(utc)) if zone is not None else wall_clock(local_epoch(settings, utc))


def wall_clock(epoch: float) -> str:
    """``HH:MM`` of an epoch time already shifted to local time (the status bar clock)."""
    minutes = int(epoch // 60) % (24 * 60)
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def _conference_rows(call: CallView, other: CallView, now: float) -> list[str]:
    """Conference, its duration (from the first party's answer) and both parties."""
    started = [c.connected_at for c in (call, other) if c.connected_at is not None]
    first = other if other.connected_at == min(started, default=None) else call
    timer = call_timer(first, now)
    return [_clip(f"Conference {timer}".rstrip()),
            _clip(f"1 {caller_id(first)}"), _clip(f"2 {caller_id(call if first is other else other)}")]


def _call_rows(call: CallView, view: PhoneView) -> list[str]:
    title = _TITLE[call.state]
    if call.state is _S.DIALING:
        return [("Transfer to" if view.transferring else title), _clip(call.remote or "")]
    rows = [_clip(caller_id(call))]
    timer = call_timer(call, view.now)
    if call.state is _S.ENDED:
        rows.append(title)
        rows.extend(textwrap.wrap(call.reason_text or call.reason or "Call ended", _MAX)[:3])
    elif timer and call.state in (_S.CONNECTED, _S.HOLDING, _S.HELD):
        rows.append(_clip(f"{title} {timer}"))
    else:
        rows.append(title)
    if call.remote_display and call.state in (_S.INCOMING, _S.CALLING, _S.PROCEEDING,
                                              _S.RINGBACK):
        rows.append(_clip(uri_user(call.remote)))  # the name, and the number it stands for
    return rows
