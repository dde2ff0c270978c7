"""The web front: pages, login and sessions, in front of the JSON API.

Why one front for both: the page's script calls the same ``/api/...``
endpoints tools use, so there is one set of rules per action. A request to
``/api/`` is served when the server already authorised it (loopback, or the
Bearer token) or when it carries a live session cookie and, for a POST, that
session's CSRF token in ``X-CSRF-Token``. Pages need a session: on loopback
one is opened for the visitor (trusted as today, role admin); bound
elsewhere, ``/login`` opens one for the ``user`` or ``admin`` role. Every
page POST checks the CSRF token and, when the browser sends one, that
``Origin`` is this server.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import parse_qs, urlsplit

from firmware.control.http import HttpError, RequestHead, Response, parse_json_body
from firmware.control.routes import dispatch
from firmware.control.web import pages
from firmware.control.web.auth import (
    Role,
    Session,
    Sessions,
    cookie_token,
    csrf_ok,
    set_cookie,
)
from firmware.control.web.pcap import write_pcap
from firmware.control.web.sse import StreamResponse, events
from firmware.control.web.static import ETAGS, FILES
from firmware.surface import ControlError, PhoneControl, WebBackend

log = logging.getLogger(__name__)

HTML = "text/html; charset=utf-8"
SECURITY_HEADERS = (
    ("Content-Security-Policy", "default-src 'self'; img-src 'self' data:; "
     "frame-ancestors 'none'; base-uri 'none'; form-action 'self'"),
    ("X-Content-Type-Options", "nosniff"),
    ("Referrer-Policy", "same-origin"),
    ("X-Frame-Options", "DENY"),
)
MAX_TRACE_MINUTES = 24 * 60
AnyResponse = Response | StreamResponse
Page = Callable[["WebFront", Session, RequestHead, dict[str, Any]], Awaitable[AnyResponse]]


def _html(body: str, status: int = 200, headers: tuple[tuple[str, str], ...] = ()) -> Response:
    return Response(status=status, body=body.encode("utf-8"), content_type=HTML,
                    headers=SECURITY_HEADERS + headers)


def _redirect(location: str) -> Response:
    return Response(status=303, body=b"", content_type=HTML, headers=(("Location", location),))


class WebFront:
    """Answers every request the control server reads (``handle``)."""

    def __init__(self, phone: PhoneControl, backend: WebBackend | None = None, *,
                 passwords: dict[Role, str] | None = None, login_required: bool = False,
                 secure: bool = False) -> None:
        self.phone = phone
        self.backend = backend
        self.sessions = Sessions(passwords)
        self.login_required = login_required
        self.secure = secure
        try:  # the first LCD render loads the font (~25 ms): at start, not in a call's push
            phone.screen_png()
        except Exception:  # noqa: BLE001 - a phone without a screen yet: the first push pays
            log.debug("web: no screen to warm up", exc_info=True)

    # ------------------------------------------------------------ entry

    async def handle(self, head: RequestHead, body: bytes, *, api_authorized: bool) -> AnyResponse:
        path = head.path.rstrip("/") or "/"
        session = self.sessions.get(cookie_token(head.headers.get("cookie", "")))
        try:
            if path.startswith("/api/"):
                return self._api(head, body, session, api_authorized)
            if path in FILES:
                return self._static(head, path)
            if path == "/login":
                return await self._login(head, body, session)
            if path == "/logout" and head.method == "POST":
                return self._logout(head, session)
            return await self._page(head, body, path, session)
        except HttpError as exc:
            return Response.error(exc.status, exc.message)
        except ControlError as exc:
            return Response.error(exc.status, exc.message)

    def _api(self, head: RequestHead, body: bytes, session: Session | None,
             api_authorized: bool) -> Response:
        if not api_authorized:
            if session is None:
                return Response.error(401, "a Bearer token or a login is required",
                                      headers=(("WWW-Authenticate", "Bearer"),))
            if head.method != "GET" and not csrf_ok(session, head.headers.get("x-csrf-token")):
                return Response.error(403, "missing or wrong CSRF token (reload the page)")
        return dispatch(self.phone, head, body)

    @staticmethod
    def _static(head: RequestHead, path: str) -> Response:
        if head.method != "GET":
            return Response.error(405, "GET only", headers=(("Allow", "GET"),))
        data, ctype = FILES[path]
        return Response(status=200, body=data, content_type=ctype,
                        headers=(("ETag", ETAGS[path]), ("X-Content-Type-Options", "nosniff")))

    def _origin_ok(self, head: RequestHead) -> bool:
        origin = head.headers.get("origin")
        if origin is None:
            return True
        return urlsplit(origin).netloc.lower() == head.headers.get("host", "").lower()

    def _csrf(self, head: RequestHead, session: Session | None) -> None:
        if not self._origin_ok(head):
            raise HttpError(403, "cross-origin request refused", close=False)
        if not csrf_ok(session, head.headers.get("x-csrf-token")):
            raise HttpError(403, "missing or wrong CSRF token (reload the page)", close=False)

    # ------------------------------------------------------------ login

    async def _login(self, head: RequestHead, body: bytes, session: Session | None) -> Response:
        if head.method == "GET":
            if session is not None or not self.login_required:
                return _redirect("/")
            return _html(pages.login_page(roles=self.sessions.roles_configured))
        if head.method != "POST":
            return Response.error(405, "GET or POST", headers=(("Allow", "GET, POST"),))
        if not self._origin_ok(head):
            return Response.error(403, "cross-origin login refused")
        form = parse_json_body(body)
        user, password = str(form.get("user", "")), str(form.get("password", ""))
        if self.sessions.locked:
            return Response.error(429, "too many failed logins; wait half a minute")
        loop = asyncio.get_running_loop()
        checked = await loop.run_in_executor(None, self.sessions.check, user, password)
        new = self.sessions.login(user, password, checked)
        if new is None:
            log.warning("web: failed login as %r", user[:16])
            return Response.error(401, "wrong user or password")
        if session is not None:
            self.sessions.close(session.token)  # no session fixation: always a fresh token
        log.info("web: %s logged in", new.role)
        return Response.json(200, {"next": "/"},
                             headers=(("Set-Cookie", set_cookie(new.token, secure=self.secure)),))

    def _logout(self, head: RequestHead, session: Session | None) -> Response:
        self._csrf(head, session)
        assert session is not None
        self.sessions.close(session.token)
        return Response.json(200, {"next": "/login" if self.login_required else "/"},
                             headers=(("Set-Cookie", set_cookie("", secure=self.secure,
                                                                max_age=0)),))

    # ------------------------------------------------------------ pages

    async def _page(self, head: RequestHead, body: bytes, path: str,
                    session: Session | None) -> AnyResponse:
        route = ROUTES.get(path)
        if route is None:
            return Response.error(404, f"no such page: {path[:80]}")
        handlers, role = route
        handler = handlers.get(head.method)
        if handler is None:
            allow = ", ".join(sorted(handlers))
            return Response.error(405, f"{head.method} is not allowed here; use {allow}",
                                  headers=(("Allow", allow),))
        extra: tuple[tuple[str, str], ...] = ()
        if session is None:
            if self.login_required:
                if head.method == "GET" and path != "/events":
                    return _redirect("/login")
                return Response.error(401, "log in first")
            if head.method != "GET":
                return Response.error(403, "missing or wrong CSRF token (reload the page)")
            session = self.sessions.open("admin")  # loopback: trusted, as the API is
            extra = (("Set-Cookie", set_cookie(session.token, secure=self.secure)),)
        if role == "admin" and session.role != "admin":
            return _html(self._frame("Not allowed", "<h1>Not allowed</h1><p>This page needs "
                                     "the admin login.</p>", session), status=403)
        form: dict[str, Any] = {}
        if head.method == "POST":
            self._csrf(head, session)
            form = parse_json_body(body)
        response = await handler(self, session, head, form)
        if extra and isinstance(response, Response):
            response = Response(status=response.status, body=response.body,
                                content_type=response.content_type,
                                headers=response.headers + extra)
        return response

    def _frame(self, title: str, body: str, session: Session, active: str = "") -> str:
        return pages.layout(title, body, csrf=session.csrf, role=session.role,
                            login=self.login_required, active=active)

    async def _handset(self, s: Session, _h: RequestHead, _f: dict[str, Any]) -> AnyResponse:
        return _html(self._frame("Handset", pages.handset_page(self.phone.status().to_json()),
                                 s, "/"))

    async def _lists(self, s: Session, _h: RequestHead, _f: dict[str, Any]) -> AnyResponse:
        history = [h.to_json() for h in self.phone.history()]
        book = self.backend.directory() if self.backend is not None else []
        names = {pages.user_part(d.number): d.name for d in book}
        return _html(self._frame("Call lists", pages.lists_page(history, names), s, "/lists"))

    async def _directory(self, s: Session, _h: RequestHead, _f: dict[str, Any]) -> AnyResponse:
        entries = self.backend.directory() if self.backend is not None else []
        return _html(self._frame("Directory", pages.directory_page(entries), s, "/directory"))

    async def _dial(self, _s: Session, head: RequestHead, form: dict[str, Any]) -> AnyResponse:
        sub = RequestHead(method="POST", path="/api/dial", query="", version=head.version,
                          headers=head.headers)
        response = dispatch(self.phone, sub, _json({"target": str(form.get("target", ""))}))
        if response.status != 200:
            return response
        return Response.json(200, {"next": "/"})

    async def _settings(self, s: Session, _h: RequestHead, _f: dict[str, Any]) -> AnyResponse:
        current = self.backend.user_settings() if self.backend is not None else None
        return _html(self._frame("Settings", pages.settings_page(current), s, "/settings"))

    async def _save_settings(self, _s: Session, _h: RequestHead,
                             form: dict[str, Any]) -> AnyResponse:
        if self.backend is None:
            return Response.error(409, "this phone has no settings to change here")
        forward = form.get("forward_all", "")
        if not isinstance(forward, str) or len(forward) > 256:
            return Response.error(400, "forward_all must be a number or SIP URI (or empty)")
        volume: dict[str, int] = {}
        for key, value in form.items():
            if key.startswith("volume_"):
                try:
                    level = int(value)
                except (TypeError, ValueError):
                    return Response.error(400, f"{key} must be a number 0-15")
                if not 0 <= level <= 15:
                    return Response.error(400, f"{key} must be 0-15")
                volume[key.removeprefix("volume_")] = level
        self.backend.set_user_settings(dnd=form.get("dnd") is True, forward_all=forward.strip(),
                                       volume=volume or None)
        return Response.json(200, {"message": "Saved"})

    async def _admin(self, s: Session, _h: RequestHead, _f: dict[str, Any]) -> AnyResponse:
        b = self.backend
        status = b.admin_status() if b is not None else {}
        body = pages.admin_page(status, b.config_rows() if b else [], b.log_tail(200) if b else [])
        return _html(self._frame("Admin", body, s, "/admin"))

    async def _resync(self, s: Session, _h: RequestHead, _f: dict[str, Any]) -> AnyResponse:
        if self.backend is None:
            return Response.error(409, "this phone cannot resync from here")
        log.info("web: resync requested by %s", s.role)
        return Response.json(200, {"message": self.backend.resync()})

    async def _restart(self, s: Session, _h: RequestHead, _f: dict[str, Any]) -> AnyResponse:
        if self.backend is None:
            return Response.error(409, "this phone cannot restart from here")
        log.info("web: restart requested by %s", s.role)
        return Response.json(200, {"message": self.backend.restart()})

    async def _trace(self, _s: Session, head: RequestHead, _f: dict[str, Any]) -> AnyResponse:
        if self.backend is None:
            return Response.error(409, "this phone keeps no SIP trace")
        raw = parse_qs(head.query).get("minutes", ["10"])[0]
        if not raw.isdecimal() or not 1 <= int(raw) <= MAX_TRACE_MINUTES:
            return Response.error(400, f"minutes must be 1 to {MAX_TRACE_MINUTES}")
        now = time.time()
        packets = self.backend.sip_trace(now - 60 * int(raw))
        name = time.strftime("piphone-sip-%Y%m%d-%H%M%S.pcap", time.gmtime(now))
        return Response(status=200, body=write_pcap(packets),
                        content_type="application/vnd.tcpdump.pcap",
                        headers=(("Content-Disposition", f'attachment; filename="{name}"'),))

    async def _events(self, _s: Session, _h: RequestHead, _f: dict[str, Any]) -> AnyResponse:
        return events(self.phone, self.backend)


def _json(value: dict[str, Any]) -> bytes:
    import json

    return json.dumps(value).encode()


#: path -> ({method: handler}, role needed)
ROUTES: dict[str, tuple[dict[str, Page], Role]] = {
    "/": ({"GET": WebFront._handset}, "user"),
    "/lists": ({"GET": WebFront._lists}, "user"),
    "/directory": ({"GET": WebFront._directory}, "user"),
    "/dial": ({"POST": WebFront._dial}, "user"),
    "/settings": ({"GET": WebFront._settings, "POST": WebFront._save_settings}, "user"),
    "/events": ({"GET": WebFront._events}, "user"),
    "/admin": ({"GET": WebFront._admin}, "admin"),
    "/admin/resync": ({"POST": WebFront._resync}, "admin"),
    "/admin/restart": ({"POST": WebFront._restart}, "admin"),
    "/admin/trace.pcap": ({"GET": WebFront._trace}, "admin"),
}
