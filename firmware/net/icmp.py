"""ICMP errors for an unconnected UDP socket: which destination refused (RFC 3261 §18.4).

Why: a SIP phone sends every request from one unconnected UDP socket, and
Linux reports an ICMP "port unreachable" to such a socket only when
``IP_RECVERR`` is on; even then ``recvfrom`` says only "connection refused",
not for which peer.  The error queue (``MSG_ERRQUEUE``) keeps each error with
the destination of the datagram that caused it, which is what failover needs:
a proxy that refuses is skipped at once instead of after Timer F (32 s).
"""

from __future__ import annotations

import logging
import socket

__all__ = ["enable_recverr", "udp_socket", "read_refused"]

log = logging.getLogger(__name__)

# Linux values, for Pythons whose socket module lacks the names.
_IP_RECVERR = getattr(socket, "IP_RECVERR", 11)
_IPV6_RECVERR = getattr(socket, "IPV6_RECVERR", 25)
_MSG_ERRQUEUE = getattr(socket, "MSG_ERRQUEUE", 0x2000)
#: Bounded per wake-up: a flood of ICMP errors cannot hold the loop.
MAX_ERRORS_PER_READ = 32


def enable_recverr(sock: socket.socket) -> bool:
    """Ask the kernel to queue ICMP errors on ``sock``; False where it cannot."""
    try:
        if sock.family == socket.AF_INET6:
            sock.setsockopt(socket.IPPROTO_IPV6, _IPV6_RECVERR, 1)
        else:
            sock.setsockopt(socket.IPPROTO_IP, _IP_RECVERR, 1)
    except (OSError, AttributeError):
        return False
    return True


def udp_socket(host: str, port: int, family: int) -> socket.socket:
    """A bound, non-blocking UDP socket with ICMP errors queued (``enable_recverr``)."""
    sock = socket.socket(family, socket.SOCK_DGRAM)
    try:
        if family == socket.AF_INET6:
            sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
        enable_recverr(sock)
        sock.setblocking(False)
        sock.bind((host, port))
    except BaseException:
        sock.close()
        raise
    return sock


def read_refused(sock: socket.socket) -> list[tuple[str, int]]:
    """The destinations whose datagrams drew an ICMP error, from the error queue."""
    out: list[tuple[str, int]] = []
    for _ in range(MAX_ERRORS_PER_READ):
        try:
            _data, _anc, _flags, addr = sock.recvmsg(512, 512, _MSG_ERRQUEUE)
        except (BlockingIOError, InterruptedError):
            break
        except OSError as exc:
            log.debug("reading the ICMP error queue: %s", exc)
            break
        if isinstance(addr, tuple) and len(addr) >= 2:
            out.append((str(addr[0]), int(addr[1])))
    return out
