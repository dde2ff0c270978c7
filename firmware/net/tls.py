"""TLS for SIP (RFC 3261 §26.2, RFC 5630): the client context and readable failures.

Why a module: the security decisions live in one small place a reviewer can
read: TLS 1.2 or newer; the server's certificate verified against the
system CA store or ``tls_ca_file``; its host name (or IP address) checked
against the name the phone dialled; an optional client certificate. Turning
verification off (``tls_verify: 0``) is possible for a lab and is logged as a
warning every time a context is made. ``describe_failure`` turns an
``ssl`` exception into a short sentence for the phone's screen.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import ssl
from collections.abc import Callable
from dataclasses import dataclass

__all__ = ["TlsSettings", "client_context", "describe_failure", "open_tls_connection"]

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True, kw_only=True)
class TlsSettings:
    """The ``tls_*`` keys (docs/provisioning.md)."""

    ca_file: str = ""  # empty: the system CA store
    verify: bool = True
    cert_file: str = ""  # client certificate chain (PEM), optional
    key_file: str = ""


def client_context(settings: TlsSettings) -> ssl.SSLContext:
    """An ``SSLContext`` for connecting to a SIP proxy; raises ``OSError``/``ssl.SSLError``
    when a configured file cannot be read (the caller names the key)."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    if settings.verify:
        ctx.check_hostname = True
        ctx.verify_mode = ssl.CERT_REQUIRED
        if settings.ca_file:
            ctx.load_verify_locations(cafile=settings.ca_file)
        else:
            ctx.load_default_certs(ssl.Purpose.SERVER_AUTH)
    else:
        log.warning("tls_verify is 0: the SIP proxy's certificate is NOT checked; "
                    "anyone on the path can read and change the signalling")
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
    if settings.cert_file:
        ctx.load_cert_chain(settings.cert_file, settings.key_file or None)
    return ctx


def describe_failure(exc: BaseException) -> str:
    """A short sentence for the screen (fits the 40-character status reason)."""
    if isinstance(exc, ssl.SSLCertVerificationError):
        detail = (exc.verify_message or "").lower()
        if "hostname mismatch" in detail or "ip address mismatch" in detail:
            return "TLS: certificate is for another host"
        if "expired" in detail:
            return "TLS: certificate expired"
        if "self-signed" in detail or "self signed" in detail:
            return "TLS: self-signed certificate"
        return "TLS: certificate not trusted"
    if isinstance(exc, ssl.SSLError):
        if "certificate required" in str(exc).lower():
            return "TLS: client certificate required"
        return "TLS: handshake failed"
    if isinstance(exc, TimeoutError):
        return "TLS: connect timed out"
    if isinstance(exc, ConnectionRefusedError):
        return "TLS: connection refused"
    return "TLS: cannot connect"


async def open_tls_connection(
    loop: asyncio.AbstractEventLoop,
    factory: Callable[[], asyncio.Protocol],
    dest: tuple[str, int],
    context: ssl.SSLContext,
    local: tuple[str, int] | None,
    *,
    server_name: str | None = None,
) -> tuple[asyncio.BaseTransport, asyncio.Protocol]:
    """Connect to ``dest`` over TLS, checking the certificate against ``server_name``
    (the proxy's configured name; default ``dest``'s host).

    Connection reuse (RFC 3261 §18, RFC 5923's idea without the Via alias):
    with ``local`` the socket is bound to our SIP address and port
    (SO_REUSEPORT, shared with the TCP listener), so the proxy sees the
    connection come from the very host:port our Contact and Via name, and
    sends requests for us (an incoming call) down this connection: a phone
    has no server certificate and could not accept a TLS connection anyway.
    """
    host, port = dest[0].strip("[]"), dest[1]
    infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    if not infos:
        raise OSError(f"cannot resolve {host}")
    family, kind, proto, _name, address = infos[0]
    sock = socket.socket(family, kind, proto)
    try:
        sock.setblocking(False)
        if local is not None:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            if hasattr(socket, "SO_REUSEPORT"):
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
            sock.bind(local)
        await loop.sock_connect(sock, address)
        return await loop.create_connection(factory, sock=sock, ssl=context,
                                            server_hostname=(server_name or host).strip("[]"),
                                            ssl_handshake_timeout=10.0)
    except BaseException:
        sock.close()
        raise
