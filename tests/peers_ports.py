"""Loopback ports and readiness probes for the real-peer harness (tests/peers.py).

Why: peers are started on 127.0.0.1 on ports picked here, never on fixed
ones, so parallel tests cannot collide; the probes tell when a peer started
in the background is ready for traffic (bound, listening, answering OPTIONS).
"""

from __future__ import annotations

import socket
import uuid

HOST = "127.0.0.1"


_handed_out: set[int] = set()


def _port_is_free(port: int, host: str = HOST) -> bool:
    """Free on ``host`` and on every interface: a phone listens on 0.0.0.0 by default,
    which collides with anything bound to that port on any address."""
    for kind in (socket.SOCK_STREAM, socket.SOCK_DGRAM):
        for where in (host, "0.0.0.0"):
            s = socket.socket(socket.AF_INET, kind)
            try:
                if kind == socket.SOCK_STREAM:
                    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                s.bind((where, port))
            except OSError:
                return False
            finally:
                s.close()
    return True


def free_port(span: int = 1, host: str = HOST) -> int:
    """A port P such that P..P+span-1 are free for both UDP and TCP on ``host``.

    Ports handed out earlier in this process are never handed out again, so two
    peers started by one test cannot collide while neither has bound yet.
    """
    for _ in range(200):
        probe = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        probe.bind((host, 0))
        base = probe.getsockname()[1]
        probe.close()
        if base + span > 65535:
            continue
        ports = range(base, base + span)
        if any(p in _handed_out for p in ports):
            continue
        if all(_port_is_free(p, host) for p in ports):
            _handed_out.update(ports)
            return base
    raise RuntimeError("no free port found on loopback")


def free_ports(n: int, span: int = 1) -> list[int]:
    return [free_port(span) for _ in range(n)]


def tcp_listening(port: int, host: str = HOST) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.settimeout(0.2)
        return s.connect_ex((host, port)) == 0


def udp_bound(port: int, host: str = HOST) -> bool:
    """Whether something holds ``port`` on UDP (our own bind attempt fails)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        try:
            s.bind((host, port))
        except OSError:
            return True
        return False


def sip_options_answered(port: int, host: str = HOST, timeout: float = 0.2) -> bool:
    """Send one OPTIONS over UDP and report whether any SIP response came back."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind((host, 0))
        s.settimeout(timeout)
        lport = s.getsockname()[1]
        tag = uuid.uuid4().hex[:10]
        msg = (
            f"OPTIONS sip:{host}:{port} SIP/2.0\r\n"
            f"Via: SIP/2.0/UDP {host}:{lport};branch=z9hG4bK{tag}\r\n"
            f"From: <sip:probe@{host}:{lport}>;tag={tag}\r\n"
            f"To: <sip:{host}:{port}>\r\n"
            f"Call-ID: probe-{tag}\r\nCSeq: 1 OPTIONS\r\nMax-Forwards: 70\r\n"
            "Content-Length: 0\r\n\r\n"
        ).encode()
        s.sendto(msg, (host, port))
        try:
            data = s.recv(65535)
        except OSError:
            return False
        return data.startswith(b"SIP/2.0 ")
