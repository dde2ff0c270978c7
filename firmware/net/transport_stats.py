"""Names shared by the SIP transport's UDP side and its stream connections.

Why a module of its own: ``transport.py`` (UDP, lifecycle, routing a send)
and ``connections.py`` (TCP connections) both count into one
``TransportStats`` and speak of the same addresses; neither should import
the other.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

__all__ = ["Address", "Receiver", "TransportStats"]

Address = tuple[str, int]
#: Called with (message bytes, source address, "udp" | "tcp") for every message received.
Receiver = Callable[[bytes, Address, str], None]


@dataclass
class TransportStats:
    """Counters for diagnostics and tests (never reset)."""

    udp_sent: int = 0
    udp_received: int = 0
    tcp_sent: int = 0
    tcp_received: int = 0
    send_errors: int = 0
    udp_socket_errors: int = 0
    receiver_errors: int = 0
    framing_errors: int = 0
    tcp_connects: int = 0
    tcp_connect_failures: int = 0
    tcp_accepted: int = 0
    tcp_evicted: int = 0
    tcp_idle_closed: int = 0
    switched_to_tcp: int = 0
    fell_back_to_udp: int = 0
    dropped_no_route: int = 0
    dropped_queue_full: int = 0
    dropped_unresolved: int = 0
    tls_failures: int = 0  # TLS connects or handshakes that failed (certificate, host name)
    icmp_unreachable: int = 0
    pings_sent: int = 0
    pongs_sent: int = 0
