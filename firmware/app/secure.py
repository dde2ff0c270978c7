"""Wiring the security keys into a running phone: SIP over TLS settings and failures.

Why a module: ``host.py`` builds the transport and the app; which TLS context
the transport gets (``tls_ca_file``, ``tls_verify``, client certificate), and
how a refused certificate reaches the screen (the line's registration fails
with the reason: "503 TLS: certificate not trusted"), is one job that the
security review reads in one place.
"""

from __future__ import annotations

import logging
import ssl
from typing import Any

from firmware.net.tls import TlsSettings, client_context

__all__ = ["attach_tls", "tls_settings"]

log = logging.getLogger(__name__)


def tls_settings(config: Any) -> TlsSettings:
    return TlsSettings(
        ca_file=str(getattr(config, "tls_ca_file", "") or ""),
        verify=bool(getattr(config, "tls_verify", True)),
        cert_file=str(getattr(config, "tls_cert_file", "") or ""),
        key_file=str(getattr(config, "tls_key_file", "") or ""),
    )


def _context_or_none(settings: TlsSettings) -> ssl.SSLContext | None:
    """The client context, or None with the key that could not be used logged."""
    try:
        return client_context(settings)
    except (OSError, ssl.SSLError) as exc:
        key = "tls_cert_file" if settings.cert_file and "cert" in str(exc).lower() else "tls_ca_file"
        log.error("SIP over TLS unavailable: %s %r cannot be used: %s", key,
                  getattr(settings, key.removeprefix("tls_")), exc)
        return None


def attach_tls(transport: Any, config: Any, app: Any) -> None:
    """Give ``transport`` its TLS client context and report TLS failures to ``app``.

    A context that reads configured files (``tls_ca_file``, a client certificate) is
    made now, so that a file that cannot be used is named at start; one that only
    needs the system CA store is made at the first TLS connect: loading that store
    takes ~30 ms, a seventh of the boot to the first REGISTER, and a phone whose
    proxies are UDP or TCP never uses it (bench/bench_boot.py)."""
    settings = tls_settings(config)
    if settings.verify and not settings.ca_file and not settings.cert_file:
        transport.streams.tls_context = None
        transport.streams.tls_context_factory = lambda: _context_or_none(settings)
    else:
        transport.streams.tls_context = _context_or_none(settings)
    # the line's REGISTER fails now with "503 <sentence>" (the screen shows it)
    transport.streams.on_tls_failure = lambda dest, sentence: app.sip.input(
        app.endpoint.transport_failed, dest, "tls", sentence)
