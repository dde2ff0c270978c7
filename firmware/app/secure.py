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


def attach_tls(transport: Any, config: Any, app: Any) -> None:
    """Give ``transport`` its TLS client context and report TLS failures to ``app``."""
    settings = tls_settings(config)
    try:
        transport.streams.tls_context = client_context(settings)
    except (OSError, ssl.SSLError) as exc:
        key = "tls_cert_file" if settings.cert_file and "cert" in str(exc).lower() else "tls_ca_file"
        log.error("SIP over TLS unavailable: %s %r cannot be used: %s", key,
                  getattr(settings, key.removeprefix("tls_")), exc)
        transport.streams.tls_context = None
    # the line's REGISTER fails now with "503 <sentence>" (the screen shows it)
    transport.streams.on_tls_failure = lambda dest, sentence: app.sip.input(
        app.endpoint.transport_failed, dest, "tls", sentence)
