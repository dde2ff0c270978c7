"""The asyncio HTTP/1.1 server of the control API (../shared/spec/control-api.md).

Why these rules: the API can lift the handset and dial, so it is a remote
control for a telephone. It binds to loopback unless told otherwise; bound
anywhere else it refuses to start without a token, and then every request
must carry ``Authorization: Bearer <token>`` (compared in constant time).
Host, Origin and the POST content type are checked (``guard``) so a web page
in a browser on the same machine cannot drive it. Connections, header bytes,
body bytes and idle time are all bounded, so a slow or hostile client costs a
fixed amount of memory and nothing else; when every slot is taken, the oldest
connection that is only waiting (idle or dribbling a head, unauthenticated
ones first) is closed for the newcomer, so a handful of stalled sockets
cannot lock the owner out. With ``cert_file``/``key_file`` it speaks HTTPS.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import ipaddress
import logging
import ssl
from dataclasses import dataclass, field
from typing import Any

from firmware.control.guard import Site, check_content_type, check_host, check_origin
from firmware.control.http import (
    MAX_HEAD_BYTES,
    HttpError,
    RequestHead,
    Response,
    parse_head,
)
from firmware.control.pacing import NextPeriod, media_gap
from firmware.control.routes import dispatch
from firmware.surface import PhoneControl

log = logging.getLogger(__name__)


def is_loopback(host: str) -> bool:
    """True for 127.0.0.0/8, ::1 and 'localhost' (names other than that are not trusted)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.split("%", 1)[0]).is_loopback
    except ValueError:
        return False


def parse_hostport(value: str, default_host: str = "127.0.0.1") -> tuple[str, int]:
    """``HOST:PORT``, ``[v6]:PORT`` or ``PORT`` -> (host, port); raises ValueError."""
    if value.startswith("["):
        host, _, rest = value[1:].partition("]")
        port_s = rest.removeprefix(":")
    elif value.count(":") == 1:
        host, port_s = value.split(":")
    elif value.isdecimal():
        host, port_s = default_host, value
    else:
        raise ValueError(f"expected HOST:PORT, got {value!r}")
    if not port_s.isdecimal() or not 0 <= int(port_s) <= 65535:
        raise ValueError(f"bad port in {value!r}")
    return host or default_host, int(port_s)


@dataclass(frozen=True, slots=True, kw_only=True)
class ControlConfig:
    host: str = "127.0.0.1"
    port: int = 0
    token: str | None = field(default=None, repr=False)
    require_token: bool | None = None  # None: required exactly when bound off loopback
    max_connections: int = 16
    idle_timeout: float = 30.0
    #: A connection that has not yet completed a request must send its head within this.
    head_timeout: float = 10.0
    #: Extra host names the API may be reached by (the Host/Origin check; ``control_hosts``).
    names: tuple[str, ...] = ()
    #: PEM certificate chain and key: HTTPS instead of HTTP (``control_cert_file``/``_key_file``).
    cert_file: str | None = None
    key_file: str | None = None

    @property
    def scheme(self) -> str:
        return "https" if self.cert_file else "http"

    def ssl_context(self) -> ssl.SSLContext | None:
        """The server TLS context (TLS 1.2+), or None for plain HTTP; raises OSError/SSLError."""
        if not self.cert_file:
            return None
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.minimum_version = ssl.TLSVersion.TLSv1_2
        ctx.load_cert_chain(self.cert_file, self.key_file or None)
        return ctx

    @property
    def token_required(self) -> bool:
        if self.require_token is not None:
            return self.require_token
        return not is_loopback(self.host)


@dataclass(slots=True)
class _Conn:
    """One connection's standing: when it opened, whether it waits, whether it was served."""

    opened: float
    writer: asyncio.StreamWriter | None = None
    waiting: bool = True
    trusted: bool = False  # has passed Host/Origin/token once: keeps its slot longer

    def hang_up(self) -> None:
        """End the connection by aborting its transport: its task then returns by
        itself (never ``Task.cancel``: asyncio 3.11's stream callback logs a cancelled
        handler task as an error)."""
        if self.writer is not None:
            self.writer.transport.abort()


class ControlServer:
    """Serves ``PhoneControl`` over HTTP; ``await start()``, then ``await close()``."""

    def __init__(self, phone: PhoneControl, config: ControlConfig | None = None,
                 front: Any = None, media_next: NextPeriod | None = None) -> None:
        self.phone = phone
        #: the loop time of the phone's next audio period in a call (None: no call):
        #: requests are answered in the gap after a period (``firmware.control.pacing``)
        self.media_next = media_next
        self.config = config or ControlConfig()
        #: ``firmware.control.web.front.WebFront`` (pages, logins) or None: the API alone.
        self.front = front
        logins = bool(front is not None and front.sessions.roles_configured)
        if self.config.token_required and not self.config.token and not logins:
            raise ValueError("the control API needs a token (or web passwords) off loopback")
        self._ssl = self.config.ssl_context()
        self._server: asyncio.base_events.Server | None = None
        self._active: dict[asyncio.Task[None], _Conn] = {}
        #: every handler task until it has closed its connection (close() waits for them)
        self._tasks: dict[asyncio.Task[None], asyncio.StreamWriter] = {}
        self._site: Site | None = None
        self.requests_served = 0
        self.rejected_connections = 0
        #: Waiting connections closed to make room for a newcomer (see the module doc).
        self.evicted_connections = 0
        #: Requests refused by the Host/Origin/content-type rules.
        self.refused_requests = 0
        #: requests answered 500 (a bug of ours, logged; the test harness fails on it)
        self.internal_errors = 0

    @property
    def port(self) -> int:
        if self._server is None or not self._server.sockets:
            raise RuntimeError("server not started")
        return int(self._server.sockets[0].getsockname()[1])

    async def start(self) -> None:
        self._server = await asyncio.start_server(
            self._on_connection, self.config.host, self.config.port, limit=MAX_HEAD_BYTES,
            ssl=self._ssl,
        )
        self._site = Site(scheme=self.config.scheme, bind_host=self.config.host, port=self.port,
                          names=frozenset(n.lower() for n in self.config.names))
        log.info("control API on %s://%s:%d (token %s)", self.config.scheme, self.config.host,
                 self.port, "required" if self.config.token_required else "not required")

    async def __aenter__(self) -> ControlServer:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
        for writer in list(self._tasks.values()):
            writer.transport.abort()  # not Task.cancel: see _Conn.hang_up
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._server is not None:
            await self._server.wait_closed()
            self._server = None

    def _authorized(self, head: RequestHead) -> bool:
        if not self.config.token_required:
            return True
        auth = head.headers.get("authorization", "")
        scheme, _, given = auth.partition(" ")
        if scheme.lower() != "bearer" or not given or not self.config.token:
            return False
        return hmac.compare_digest(given.strip().encode(), self.config.token.encode())

    def _evict_one(self) -> bool:
        """Close the oldest waiting connection, unauthenticated ones first; False if none waits."""
        waiting = [(c.trusted, c.opened, t) for t, c in self._active.items() if c.waiting]
        if not waiting:
            return False
        _trusted, _opened, task = min(waiting, key=lambda w: (w[0], w[1]))
        self._active.pop(task).hang_up()
        self.evicted_connections += 1
        return True

    async def _on_connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        if len(self._active) >= self.config.max_connections and not self._evict_one():
            self.rejected_connections += 1
            writer.write(Response.error(503, "too many control connections").serialize(keep_alive=False))
            await self._close_writer(writer)
            return
        assert task is not None
        conn = _Conn(opened=asyncio.get_running_loop().time(), writer=writer)
        self._active[task] = conn
        self._tasks[task] = writer
        try:
            await self._serve(reader, writer, conn)
        except (ConnectionError, asyncio.IncompleteReadError, ssl.SSLError):
            pass
        except asyncio.CancelledError:
            # close() ends idle connections this way. Return instead of re-raising:
            # asyncio's stream callback (3.11) calls exception() on a cancelled
            # handler task and logs a spurious "Exception in callback".
            pass
        finally:
            # Still listed while the close runs (a TLS close waits for the peer), so that
            # close() aborts and awaits it.
            try:
                with contextlib.suppress(asyncio.CancelledError):
                    await self._close_writer(writer)
            finally:
                self._active.pop(task, None)
                self._tasks.pop(task, None)

    def _refusal(self, head: RequestHead, *, token: bool = True) -> Response | None:
        """The answer to a request the guard or (``token``) the token rule refuses, or None."""
        assert self._site is not None
        try:
            check_host(head, self._site)
            check_origin(head, self._site)
        except HttpError as exc:
            self.refused_requests += 1
            return Response.error(exc.status, exc.message)
        if token and not self._authorized(head):
            return Response.error(
                401, "a Bearer token is required", headers=(("WWW-Authenticate", "Bearer"),)
            )
        try:
            check_content_type(head)
        except HttpError as exc:
            self.refused_requests += 1
            return Response.error(exc.status, exc.message)
        return None

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
                     conn: _Conn) -> None:
        while True:
            # until it has been served once, a connection gets the short head bound
            timeout = self.config.idle_timeout if conn.trusted else self.config.head_timeout
            conn.waiting = True
            try:
                raw = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), timeout)
            except asyncio.LimitOverrunError:
                await self._send(writer, Response.error(431, "request head too large"), False)
                return
            except asyncio.IncompleteReadError:
                return
            except TimeoutError:
                return
            conn.waiting = False
            try:
                head = parse_head(raw)
                length = head.content_length()
            except HttpError as exc:
                await self._send(writer, Response.error(exc.status, exc.message), False)
                return
            try:
                body = await asyncio.wait_for(reader.readexactly(length), timeout) if length else b""
            except TimeoutError:
                await self._send(writer, Response.error(408, "request body not received in time"), False)
                return
            keep = head.keep_alive
            await media_gap(self.media_next)
            # With the web front, the front decides who may (a login or the token).
            refusal = self._refusal(head, token=self.front is None)
            if refusal is not None:
                response = refusal
                keep = keep and refusal.status == 415
            elif self.front is not None:
                response = await self.front.handle(head, body,
                                                   api_authorized=self._authorized(head))
                conn.trusted = response.status < 400
            else:
                conn.trusted = True
                response = dispatch(self.phone, head, body)
            if response.status >= 500:
                self.internal_errors += 1
            self.requests_served += 1
            stream = getattr(response, "stream", None)
            if stream is not None:  # Server-Sent Events: the stream owns the connection
                writer.write(response.head_bytes())
                await writer.drain()
                await stream(reader, writer)
                return
            await self._send(writer, response, keep)
            if not keep:
                return

    @staticmethod
    async def _send(writer: asyncio.StreamWriter, response: Response, keep_alive: bool) -> None:
        writer.write(response.serialize(keep_alive=keep_alive))
        await writer.drain()

    @staticmethod
    async def _close_writer(writer: asyncio.StreamWriter) -> None:
        try:
            writer.close()
            await writer.wait_closed()
        except (ConnectionError, OSError):
            pass
