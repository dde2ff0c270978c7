"""Private network namespaces for the real-peer harness (tests/peers.py).

Why: a peer that puts its interface address in SDP (baresip) is run in a
namespace whose only address is on loopback, so all traffic stays there.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import subprocess
import uuid
from collections.abc import Iterator, Sequence

from peers_proc import require, require_root

_CLONE_NEWNET = 0x40000000


class Netns:
    """A private network namespace with ``lo`` up and a veth end holding 127.0.0.x/8.

    Why: baresip puts its default interface's address in SDP even when it
    listens on 127.0.0.1; inside a namespace whose only other interface carries
    127.0.0.x, its SDP says 127.0.0.x and all media stays on loopback.  The
    name is unique per use and the namespace is always deleted.

    Everything that talks to a peer inside must run inside too: prefix argv
    with ``exec_argv()``, or create sockets in-process within ``entered()``
    (setns on the calling thread; sockets keep the namespace they were made in).
    """

    def __init__(self, addr: str = "127.0.0.2", tag: str = "piphone") -> None:
        self.ip = require("ip")
        require_root()
        self.name = f"{tag}-{os.getpid()}-{uuid.uuid4().hex[:8]}"
        self.addr = addr
        self.created = False

    def _ip(self, *args: str) -> None:
        subprocess.run([self.ip, *args], check=True, capture_output=True, timeout=10)

    def create(self) -> Netns:
        self._ip("netns", "add", self.name)
        self.created = True
        try:
            self._ip("-n", self.name, "link", "set", "lo", "up")
            self._ip("-n", self.name, "link", "add", "v0", "type", "veth", "peer", "name", "v1")
            self._ip("-n", self.name, "addr", "add", f"{self.addr}/8", "dev", "v0")
            self._ip("-n", self.name, "link", "set", "v0", "up")
            self._ip("-n", self.name, "link", "set", "v1", "up")
        except BaseException:
            self.delete()
            raise
        return self

    def delete(self) -> None:
        if self.created:
            subprocess.run([self.ip, "netns", "del", self.name], capture_output=True, timeout=10)
            self.created = False

    def exec_argv(self, argv: Sequence[str]) -> list[str]:
        """argv run inside the namespace; ``ip netns exec`` execs, so the PID is the program's."""
        return [self.ip, "netns", "exec", self.name, *argv]

    @contextlib.contextmanager
    def entered(self) -> Iterator[None]:
        """Switch this thread into the namespace (sockets and children made here live there)."""
        libc = ctypes.CDLL(None, use_errno=True)
        own = os.open("/proc/thread-self/ns/net", os.O_RDONLY)
        target = os.open(f"/run/netns/{self.name}", os.O_RDONLY)
        try:
            if libc.setns(target, _CLONE_NEWNET) != 0:
                raise OSError(ctypes.get_errno(), "setns into test namespace failed")
            try:
                yield
            finally:
                if libc.setns(own, _CLONE_NEWNET) != 0:
                    raise OSError(ctypes.get_errno(), "setns back failed")
        finally:
            os.close(target)
            os.close(own)

    def __enter__(self) -> Netns:
        return self.create()

    def __exit__(self, *exc: object) -> None:
        self.delete()
