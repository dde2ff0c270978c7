"""Routing and input checks of the control API (../shared/spec/control-api.md).

Why separate from the server: these are the rules a reviewer compares with the
spec table (paths, bodies, status codes), and they are testable without a
socket. Every body field is checked here, before the phone sees it, so the
phone's methods receive well-formed values only (keys in 0-9*#, a softkey
name, a dial target of bounded length).
"""

from __future__ import annotations

import logging
import math
import re
from collections.abc import Callable
from typing import Any

from firmware.control.http import HttpError, RequestHead, Response, parse_json_body
from firmware.surface import ControlError, PhoneControl

log = logging.getLogger(__name__)

MAX_KEYS = 64
MAX_TARGET = 256
_SOFTKEY_RE = re.compile(r"^[A-Za-z][A-Za-z0-9 _-]{0,31}$")
_DIGITS_RE = re.compile(r"^[0-9*#]+$")
_TARGET_RE = re.compile(r"^(?:[0-9*#+]{1,64}|sips?:[!-~]{1,250})$")

Handler = Callable[[PhoneControl, dict[str, Any]], Response]


def _status(phone: PhoneControl, _body: dict[str, Any]) -> Response:
    return Response.json(200, phone.status().to_json())


def _field(body: dict[str, Any], name: str, kind: type) -> Any:
    if name not in body:
        raise HttpError(400, f'missing field "{name}"', close=False)
    value = body[name]
    if kind is float:
        ok = isinstance(value, int | float) and not isinstance(value, bool)
    else:
        ok = isinstance(value, kind)
    if not ok:
        raise HttpError(400, f'field "{name}" must be a {kind.__name__}', close=False)
    return value


def _hook(phone: PhoneControl, body: dict[str, Any]) -> Response:
    state = _field(body, "state", str)
    if state not in ("on", "off"):
        raise HttpError(400, 'state must be "on" or "off"', close=False)
    phone.set_hook(state == "off")
    return Response.json(200, phone.status().to_json())


def _keys(phone: PhoneControl, body: dict[str, Any]) -> Response:
    keys = _field(body, "keys", str)
    if not keys or len(keys) > MAX_KEYS or not _DIGITS_RE.match(keys):
        raise HttpError(
            400, f"keys must be 1 to {MAX_KEYS} of the keypad keys 0-9 * #", close=False
        )
    phone.press_keys(keys)
    return Response.json(200, phone.status().to_json())


def _softkey(phone: PhoneControl, body: dict[str, Any]) -> Response:
    name = _field(body, "name", str)
    if not _SOFTKEY_RE.match(name):
        raise HttpError(400, "softkey name must be a short word such as hold", close=False)
    phone.press_softkey(name.lower())
    return Response.json(200, phone.status().to_json())


#: ``POST /api/button`` names: the 7960's fixed keys and its six line keys.
BUTTONS = frozenset({"mute", "speaker", "headset", "volup", "voldown", "messages", "directories",
                     "settings", "services", "info", *(f"line{n}" for n in range(1, 7))})


def _button(phone: PhoneControl, body: dict[str, Any]) -> Response:
    name = _field(body, "name", str)
    if name not in BUTTONS:
        raise HttpError(400, f"unknown button; one of {', '.join(sorted(BUTTONS))}", close=False)
    phone.press_button(name)
    return Response.json(200, phone.status().to_json())


def _dial(phone: PhoneControl, body: dict[str, Any]) -> Response:
    target = _field(body, "target", str)
    if len(target) > MAX_TARGET or not _TARGET_RE.match(target):
        raise HttpError(
            400, "target must be a number (0-9 * # +) or a sip: / sips: URI", close=False
        )
    phone.dial(target)
    return Response.json(200, phone.status().to_json())


def _screen(phone: PhoneControl, _body: dict[str, Any]) -> Response:
    return Response(status=200, body=phone.screen_png(), content_type="image/png")


def _set_audio(phone: PhoneControl, body: dict[str, Any]) -> Response:
    hz = _field(body, "tone_hz", float)
    if not math.isfinite(hz) or not 0 <= hz <= 7000:
        raise HttpError(400, "tone_hz must be 0 (silence) or a frequency up to 7000 Hz (above 3.4 kHz only a wideband call carries it)", close=False)
    phone.set_mock_tone(float(hz))
    return Response.json(200, phone.mock_audio().to_json())


def _get_audio(phone: PhoneControl, _body: dict[str, Any]) -> Response:
    return Response.json(200, phone.mock_audio().to_json())


def _history(phone: PhoneControl, _body: dict[str, Any]) -> Response:
    return Response.json(200, [entry.to_json() for entry in phone.history()])


ROUTES: dict[str, dict[str, Handler]] = {
    "/api/status": {"GET": _status},
    "/api/hook": {"POST": _hook},
    "/api/keys": {"POST": _keys},
    "/api/softkey": {"POST": _softkey},
    "/api/button": {"POST": _button},
    "/api/dial": {"POST": _dial},
    "/api/screen.png": {"GET": _screen},
    "/api/mock/audio": {"GET": _get_audio, "POST": _set_audio},
    "/api/history": {"GET": _history},
}


def dispatch(phone: PhoneControl, head: RequestHead, body: bytes) -> Response:
    """Answer one request, never raising: a refused request is a 4xx JSON error (the
    reason in a sentence); only a bug of ours is a 500, logged with its traceback."""
    methods = ROUTES.get(head.path.rstrip("/") or "/")
    if methods is None:
        return Response.error(404, f"no such endpoint: {head.path[:80]}")
    method = head.method
    handler = methods.get(method)
    if handler is None:
        allow = ", ".join(sorted(methods))
        return Response.error(
            405, f"{head.method} is not allowed here; use {allow}", headers=(("Allow", allow),)
        )
    try:
        payload = parse_json_body(body) if method == "POST" else {}
        return handler(phone, payload)
    except HttpError as exc:
        return Response.error(exc.status, exc.message)
    except ControlError as exc:
        return Response.error(exc.status, exc.message)
    except Exception:
        # A bug of ours, not a "not now": 4xx would tell the client to change its
        # request and hide the bug from the tests. 500, and the traceback in the log.
        log.exception("control API handler failed on %s %s", head.method, head.path)
        return Response.error(500, "internal error in the phone (logged); not the request's fault")
