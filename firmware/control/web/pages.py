"""The pages, rendered on the server as plain HTML (no template engine, no build step).

Why server-rendered: the first paint needs no script and the Pi does the
least work (one string per request). Every value from the phone, the
network or the configuration is escaped here; the little script in
``static.py`` only presses keys, submits forms as JSON with the CSRF token
and applies the pushed handset state.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from html import escape
from typing import Any

from firmware.surface import ConfigRow, DirectoryEntry, UserSettings

#: The 7960's fixed keys (issue 14's ``POST /api/button`` names) by group, with labels.
FIXED_KEYS: tuple[tuple[tuple[str, str], ...], ...] = (
    (("messages", "Messages"), ("directories", "Directories"), ("settings", "Settings"),
     ("services", "Services"), ("info", "? Info")),
    (("voldown", "Vol −"), ("volup", "Vol +")),
    (("headset", "Headset"), ("speaker", "Speaker"), ("mute", "Mute")),
)
KEYPAD = ("1", "2", "3", "4", "5", "6", "7", "8", "9", "*", "0", "#")
_LETTERS = {"2": "ABC", "3": "DEF", "4": "GHI", "5": "JKL", "6": "MNO", "7": "PQRS",
            "8": "TUV", "9": "WXYZ"}


def e(value: Any) -> str:
    return escape("" if value is None else str(value), quote=True)


def layout(title: str, body: str, *, csrf: str, role: str | None, login: bool,
           active: str = "") -> str:
    """The frame every page shares: nav by role, the CSRF token for the script."""
    links = [("/", "Handset"), ("/lists", "Call lists"), ("/directory", "Directory"),
             ("/settings", "Settings")]
    if role == "admin":
        links.append(("/admin", "Admin"))
    nav = "".join(
        f'<a href="{href}"{" aria-current=page" if href == active else ""}>{label}</a>'
        for href, label in links)
    if login:
        nav += f'<button class=link data-post="/logout" data-next="/login">Log out ({e(role)})</button>'
    return (
        "<!doctype html><html lang=en><head><meta charset=utf-8>"
        '<meta name=viewport content="width=device-width,initial-scale=1">'
        f'<meta name=csrf content="{e(csrf)}"><title>{e(title)} · piphone</title>'
        '<link rel=icon href="data:,"><link rel=stylesheet href="/static/app.css"><script src="/static/app.js" defer></script>'
        f"</head><body><nav>{nav}</nav><main>{body}"
        '<p id=msg role=status aria-live=polite></p></main></body></html>'
    )


def login_page(*, error: str = "", roles: Sequence[str] = ()) -> str:
    if roles:
        options = "".join(f"<option>{e(r)}</option>" for r in roles)
        form = (
            '<form id=login data-json action="/login" method=post>'
            f"<label>User <select name=user>{options}</select></label>"
            "<label>Password <input type=password name=password autocomplete=current-password"
            " required autofocus></label><button type=submit>Log in</button></form>")
    else:
        form = ("<p>No web password is configured (<code>web_user_password</code>, "
                "<code>web_admin_password</code>), so the page cannot be used from "
                "another host. The JSON API still takes its Bearer token.</p>")
    err = f"<p class=error>{e(error)}</p>" if error else ""
    return (
        "<!doctype html><html lang=en><head><meta charset=utf-8>"
        '<meta name=viewport content="width=device-width,initial-scale=1">'
        '<meta name=csrf content=""><title>Log in · piphone</title>'
        '<link rel=icon href="data:,"><link rel=stylesheet href="/static/app.css"><script src="/static/app.js" defer></script>'
        f"</head><body><main class=narrow><h1>piphone</h1>{err}{form}"
        '<p id=msg role=status aria-live=polite></p></main></body></html>'
    )


def _softkeys(names: Iterable[str]) -> str:
    return "".join(f'<button data-softkey="{e(n)}">{e(n)}</button>' for n in names)


def _calls(calls: Iterable[dict[str, Any]]) -> str:
    rows = "".join(
        f"<tr><td>{e(c.get('line'))}</td><td>{e(c.get('direction'))}</td>"
        f"<td>{e(c.get('remote'))}</td><td>{e(c.get('state'))}</td>"
        f"<td>{e((c.get('media') or {}).get('codec', ''))}</td></tr>"
        for c in calls)
    return rows or "<tr><td colspan=5>No calls</td></tr>"


def handset_page(status: dict[str, Any]) -> str:
    """The handset: LCD, softkeys, indicators, keypad, fixed keys, line keys, hook."""
    rows = status.get("display") or []
    hook_off = status.get("hook") == "off"
    lines = status.get("lines") or []
    line_keys = "".join(
        f'<button data-button="line{ln["line"]}" class="line{" on" if ln.get("registered") else ""}">'
        f'{e(ln.get("name"))}</button>' for ln in lines)
    fixed = "".join(
        "<div>" + "".join(f'<button data-button="{n}">{e(label)}</button>' for n, label in group)
        + "</div>" for group in FIXED_KEYS)
    keypad = "".join(
        f'<button data-key="{k}">{k}<small>{_LETTERS.get(k, "")}</small></button>' for k in KEYPAD)
    lamps = (
        f'<span id=ring class="lamp{" on" if status.get("ringer") else ""}">Ringing</span>'
        f'<span id=mwi class="lamp{" on" if (status.get("mwi") or {}).get("waiting") else ""}">'
        "Message waiting</span>"
        f'<span id=muted class="lamp{" on" if status.get("muted") else ""}">Muted</span>'
        f'<span id=reg class="lamp{" on" if status.get("registered") else ""}">Registered</span>')
    body = (
        '<section class=phone aria-label="Handset">'
        '<div class=top><div class=lcdbox>'
        f'<img id=lcd src="/api/screen.png" width=384 height=192 alt="{e(" / ".join(rows))}">'
        f'<div id=softkeys>{_softkeys(status.get("softkeys") or [])}</div></div>'
        f'<div class=linekeys>{line_keys}</div></div>'
        f'<div class=lamps>{lamps}</div>'
        f'<div class=pad><div class=keypad>{keypad}</div><div class=fixed>{fixed}</div></div>'
        f'<button id=hook data-hook="{"on" if hook_off else "off"}">'
        f'{"Hang up" if hook_off else "Lift handset"}</button>'
        '</section>'
        '<section><h2>Calls</h2><table><thead><tr><th>Line<th>Dir<th>Remote<th>State<th>Codec'
        f'</thead><tbody id=calls>{_calls(status.get("calls") or [])}</tbody></table></section>')
    return body


def _when(at: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(at)) if at > 1e9 else f"{at:.0f} s"


def _duration(value: Any) -> str:
    return "" if value is None else e(f"{float(value):.0f} s")


def _dial_button(target: str) -> str:
    return f'<button data-dial="{e(target)}">Dial</button>' if target else ""


def user_part(remote: str) -> str:
    """``sip:5550002@host:port`` -> ``5550002`` (the part a directory lists)."""
    text = remote.split(":", 1)[1] if remote.lower().startswith(("sip:", "sips:", "tel:")) else remote
    return text.split("@", 1)[0].split(";", 1)[0]


def lists_page(history: list[dict[str, Any]], names: dict[str, str] | None = None) -> str:
    """Missed, received, placed: newest first, each with Dial; a name from the call
    itself (its display name) or else from the directory."""
    names = names or {}
    out = ["<h1>Call lists</h1>"]
    for kind, title in (("missed", "Missed"), ("received", "Received"), ("placed", "Placed")):
        entries = [h for h in history if h.get("kind") == kind]
        rows = "".join(
            f"<tr><td>{e(h.get('display') or names.get(user_part(str(h.get('remote') or '')), ''))}"
            f"</td><td>{e(h.get('remote'))}</td>"
            f"<td>{e(_when(float(h.get('at') or 0)))}</td>"
            f"<td>{_duration(h.get('duration'))}</td>"
            f"<td>{_dial_button(str(h.get('remote') or ''))}</td></tr>"
            for h in entries)
        out.append(
            f'<section id="{kind}"><h2>{title} ({len(entries)})</h2><table><thead><tr><th>Name'
            "<th>Number<th>When<th>Duration<th></thead><tbody>"
            f"{rows or '<tr><td colspan=5>None</td></tr>'}</tbody></table></section>")
    return "".join(out)


def directory_page(entries: list[DirectoryEntry]) -> str:
    rows = "".join(
        f"<tr><td>{e(d.name)}</td><td>{e(d.number)}</td><td>{_dial_button(d.number)}</td></tr>"
        for d in entries)
    return (
        "<h1>Directory</h1><form data-json action=\"/dial\" method=post class=inline>"
        "<label>Number or SIP URI <input name=target required maxlength=256></label>"
        "<button type=submit>Dial</button></form>"
        "<table><thead><tr><th>Name<th>Number<th></thead><tbody id=directory>"
        f"{rows or '<tr><td colspan=3>The directory is empty (directory_url)</td></tr>'}"
        "</tbody></table>")


def settings_page(s: UserSettings | None) -> str:
    if s is None:
        return "<h1>Settings</h1><p>This phone has no settings to change here.</p>"
    vols = ""
    if s.volume:
        vols = "<fieldset><legend>Volumes (0–15)</legend>" + "".join(
            f'<label>{e(k.capitalize())} <input type=number name="volume_{e(k)}" min=0 max=15 '
            f'value="{int(v)}"></label>' for k, v in sorted(s.volume.items())) + "</fieldset>"
    return (
        '<h1>Settings</h1><form id=settings data-json action="/settings" method=post>'
        f'<label><input type=checkbox name=dnd{" checked" if s.dnd else ""}> Do not disturb</label>'
        '<label>Forward all calls to <input name=forward_all maxlength=256 '
        f'placeholder="number or sip: URI (empty: off)" value="{e(s.forward_all)}"></label>'
        f"{vols}<button type=submit>Save</button></form>")


def _kv(rows: Iterable[tuple[str, Any]]) -> str:
    return "".join(f"<tr><th>{e(k)}</th><td>{e(v)}</td></tr>" for k, v in rows)


def admin_page(status: dict[str, Any], config: list[ConfigRow], log_lines: list[str]) -> str:
    """Registration, network, configuration with sources, log tail, actions, trace."""
    sections = "".join(
        f"<section><h2>{e(title)}</h2><table class=kv>{_kv(rows)}</table></section>"
        for title, rows in status.items())
    cfg = "".join(
        f'<tr><td>{e(r.key)}</td><td{" class=secret" if r.secret else ""}>{e(r.value)}</td>'
        f"<td>{e(r.source)}</td></tr>" for r in config)
    return (
        "<h1>Administration</h1>"
        '<div class=actions><button data-post="/admin/resync">Resync configuration</button>'
        '<button data-post="/admin/restart" data-confirm="Restart the phone?">Restart</button></div>'
        f"<div class=cols>{sections}</div>"
        '<section><h2>SIP trace</h2><form action="/admin/trace.pcap" method=get class=inline>'
        "<label>Last <input type=number name=minutes value=10 min=1 max=1440> minutes</label>"
        "<button type=submit id=trace>Download pcap</button></form>"
        "<p>Opens in Wireshark, tshark and sngrep.</p></section>"
        "<section><h2>Configuration</h2><table id=config><thead><tr><th>Key<th>Value<th>Source"
        f"</thead><tbody>{cfg or '<tr><td colspan=3>Not available</td></tr>'}</tbody></table></section>"
        f"<section><h2>Log</h2><pre id=log>{e(chr(10).join(log_lines))}</pre></section>")
