"""Sans-IO TFTP read client: RFC 1350 with options (RFC 2347 OACK, RFC 2348
blksize, RFC 2349 timeout and tsize).

One ``TftpRead`` object fetches one file. It never touches a socket or a clock:
feed it datagrams with ``receive_datagram(data, addr, now)``, flush
``datagrams_to_send()``, arm ``get_timer()`` and call ``handle_timer(now)``;
the result arrives once from ``next_event()`` (``TftpDone`` or ``TftpFailed``).

Rules enforced here, because the server and the network are not trusted:
the transfer ID (server port) is locked on the first answer and packets from
anywhere else get ERROR 5 (RFC 1350 section 4); an OACK option we did not ask
for, or a block size above the one requested, is refused with ERROR 8; the
file may not exceed ``max_size`` (checked against ``tsize`` up front and
against the bytes received) -- ERROR 3 and a failure; malformed packets are
dropped and counted. Duplicate DATA is re-acknowledged, never retransmitted
back (no Sorcerer's Apprentice). Block numbers roll over past 65535.
The client does not dally after the last ACK: the file is complete and a lost
final ACK only makes the server time out.
"""

from __future__ import annotations

import struct
from collections import deque
from dataclasses import dataclass, field
from enum import Enum

Address = tuple[str, int]

RRQ, WRQ, DATA, ACK, ERROR, OACK = 1, 2, 3, 4, 5, 6
ERR_UNDEFINED, ERR_NOT_FOUND, ERR_ACCESS, ERR_DISK_FULL = 0, 1, 2, 3
ERR_ILLEGAL_OP, ERR_UNKNOWN_TID, ERR_EXISTS, ERR_NO_USER, ERR_OPTIONS = 4, 5, 6, 7, 8

DEFAULT_BLKSIZE = 512
MAX_PACKET = 65468 + 4


class FailureKind(Enum):
    TIMEOUT = "timeout"
    NOT_FOUND = "not-found"
    REMOTE_ERROR = "remote-error"
    TOO_LARGE = "too-large"
    PROTOCOL = "protocol"


@dataclass(frozen=True, slots=True, kw_only=True)
class TftpDone:
    """The whole file arrived. ``options`` are those the server acknowledged."""

    filename: str
    data: bytes
    options: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True, slots=True, kw_only=True)
class TftpFailed:
    filename: str
    kind: FailureKind
    message: str
    error_code: int | None = None


TftpEvent = TftpDone | TftpFailed


def _error_packet(code: int, message: str) -> bytes:
    return struct.pack("!HH", ERROR, code) + message.encode("ascii", "replace")[:200] + b"\0"


def _parse_strings(payload: bytes, limit: int = 32) -> list[str] | None:
    """NUL-terminated ASCII strings; None if malformed."""
    if not payload.endswith(b"\0"):
        return None
    parts = payload[:-1].split(b"\0")
    if len(parts) > limit:
        return None
    try:
        return [p.decode("ascii") for p in parts]
    except UnicodeDecodeError:
        return None


class TftpRead:
    """Read one file from ``server`` (octet mode)."""

    def __init__(
        self,
        *,
        filename: str,
        server: Address,
        now: float,
        blksize: int | None = 1428,
        request_tsize: bool = True,
        timeout: float = 1.0,
        retries: int = 5,
        max_size: int = 1 << 20,
    ) -> None:
        raw = filename.encode("ascii", "strict")
        if not raw or len(raw) > 255 or b"\0" in raw:
            raise ValueError("TFTP file name must be 1..255 ASCII characters without NUL")
        if blksize is not None and not 8 <= blksize <= 65464:
            raise ValueError("blksize must be 8..65464 (RFC 2348)")
        self.filename = filename
        self.server = server
        self.max_size = max_size
        self.timeout = timeout
        self.retries = retries
        self.dropped = 0
        self.retransmits = 0
        self._req_opts: dict[str, int] = {}
        if blksize is not None:
            self._req_opts["blksize"] = blksize
        if request_tsize:
            self._req_opts["tsize"] = 0
        if timeout >= 1 and float(timeout).is_integer() and timeout <= 255:
            self._req_opts["timeout"] = int(timeout)
        self._out: list[tuple[bytes, Address]] = []
        self._events: deque[TftpEvent] = deque()
        self._finished = False
        self._send_request(now, with_options=bool(self._req_opts))

    # --- sans-IO surface -------------------------------------------------------
    def datagrams_to_send(self) -> list[tuple[bytes, Address]]:
        out, self._out = self._out, []
        return out

    def next_event(self) -> TftpEvent | None:
        return self._events.popleft() if self._events else None

    def get_timer(self) -> float | None:
        return None if self._finished else self._deadline

    @property
    def finished(self) -> bool:
        return self._finished

    def handle_timer(self, now: float) -> None:
        if self._finished or now < self._deadline:
            return
        if self._tries >= self.retries:
            self._fail(FailureKind.TIMEOUT,
                       f"no answer from {self.server[0]}:{self.server[1]} after "
                       f"{self._tries + 1} tries")
            return
        self._tries += 1
        self.retransmits += 1
        self._out.append((self._last_packet, self._last_dest))
        self._deadline = now + self.timeout

    def receive_datagram(self, data: bytes, addr: Address, now: float) -> None:
        if self._finished:
            return
        if len(data) < 4 or len(data) > MAX_PACKET:
            self.dropped += 1
            return
        if self._tid is None:
            if addr[0] != self.server[0]:
                self.dropped += 1
                return
        elif addr != self._tid:
            # RFC 1350 section 4: answer a stranger with ERROR 5, keep going.
            self._out.append((_error_packet(ERR_UNKNOWN_TID, "Unknown transfer ID"), addr))
            self.dropped += 1
            return
        opcode = struct.unpack("!H", data[:2])[0]
        if opcode == DATA:
            self._on_data(data, addr, now)
        elif opcode == OACK:
            self._on_oack(data, addr, now)
        elif opcode == ERROR:
            self._on_error(data, addr, now)
        else:
            self.dropped += 1

    # --- internals ----------------------------------------------------------------
    def _send_request(self, now: float, *, with_options: bool) -> None:
        pkt = struct.pack("!H", RRQ) + self.filename.encode("ascii") + b"\0octet\0"
        self._asked = dict(self._req_opts) if with_options else {}
        for name, val in self._asked.items():
            pkt += name.encode() + b"\0" + str(val).encode() + b"\0"
        self._tid: Address | None = None
        self._blksize = DEFAULT_BLKSIZE
        self._options: dict[str, int] = {}
        self._expected = 1
        self._blocks = bytearray()
        self._started = False
        self._tries = 0
        self._send(pkt, self.server, now)

    def _send(self, pkt: bytes, dest: Address, now: float) -> None:
        self._last_packet = pkt
        self._last_dest = dest
        self._out.append((pkt, dest))
        self._deadline = now + self.timeout

    def _fail(self, kind: FailureKind, message: str, code: int | None = None) -> None:
        self._finished = True
        self._events.append(TftpFailed(filename=self.filename, kind=kind, message=message,
                                       error_code=code))

    def _abort(self, addr: Address, code: int, kind: FailureKind, message: str) -> None:
        self._out.append((_error_packet(code, message), addr))
        self._fail(kind, message, code)

    def _on_oack(self, data: bytes, addr: Address, now: float) -> None:
        if self._started or not self._asked:
            self.dropped += 1
            return
        strings = _parse_strings(data[2:])
        if strings is None or len(strings) % 2:
            self._abort(addr, ERR_OPTIONS, FailureKind.PROTOCOL, "malformed OACK")
            return
        opts: dict[str, int] = {}
        for name, val in zip(strings[::2], strings[1::2], strict=True):
            key = name.lower()
            if key not in self._asked or not val.isdecimal() or len(val) > 12:
                self._abort(addr, ERR_OPTIONS, FailureKind.PROTOCOL,
                            f"option {name!r}={val!r} was not requested or is malformed")
                return
            opts[key] = int(val)
        if "blksize" in opts and not 8 <= opts["blksize"] <= self._asked["blksize"]:
            self._abort(addr, ERR_OPTIONS, FailureKind.PROTOCOL,
                        f"server chose blksize {opts['blksize']} above the "
                        f"{self._asked['blksize']} requested")
            return
        if "timeout" in opts and not 1 <= opts["timeout"] <= 255:
            self._abort(addr, ERR_OPTIONS, FailureKind.PROTOCOL, "bad timeout option")
            return
        if opts.get("tsize", 0) > self.max_size:
            self._abort(addr, ERR_DISK_FULL, FailureKind.TOO_LARGE,
                        f"file is {opts['tsize']} bytes, the limit is {self.max_size}")
            return
        self._tid = addr
        self._options = opts
        self._blksize = opts.get("blksize", DEFAULT_BLKSIZE)
        self._tries = 0
        self._send(struct.pack("!HH", ACK, 0), addr, now)

    def _on_data(self, data: bytes, addr: Address, now: float) -> None:
        block = struct.unpack("!H", data[2:4])[0]
        payload = data[4:]
        if block == self._expected:
            if len(payload) > self._blksize:
                self._abort(addr, ERR_ILLEGAL_OP, FailureKind.PROTOCOL,
                            f"DATA of {len(payload)} bytes exceeds blksize {self._blksize}")
                return
            if len(self._blocks) + len(payload) > self.max_size:
                self._abort(addr, ERR_DISK_FULL, FailureKind.TOO_LARGE,
                            f"file exceeds the limit of {self.max_size} bytes")
                return
            if self._tid is None:
                if self._asked:
                    # The server ignored our options (RFC 2347: that is allowed).
                    self._options = {}
                self._tid = addr
            self._started = True
            self._blocks += payload
            self._expected = (block + 1) & 0xFFFF
            self._tries = 0
            self._send(struct.pack("!HH", ACK, block), addr, now)
            if len(payload) < self._blksize:
                self._finished = True
                self._events.append(TftpDone(filename=self.filename, data=bytes(self._blocks),
                                             options=dict(self._options)))
        elif self._started and block == ((self._expected - 1) & 0xFFFF):
            # Our ACK was lost: acknowledge again (only the receiver repeats itself).
            self._out.append((struct.pack("!HH", ACK, block), addr))
        else:
            self.dropped += 1

    def _on_error(self, data: bytes, addr: Address, now: float) -> None:
        code = struct.unpack("!H", data[2:4])[0]
        raw = data[4:].split(b"\0", 1)[0][:200]
        message = raw.decode("ascii", "replace") or f"error {code}"
        if code == ERR_OPTIONS and self._asked and not self._started:
            # RFC 2347: the server refused our options; ask again without them.
            self._send_request(now, with_options=False)
            return
        kind = FailureKind.NOT_FOUND if code == ERR_NOT_FOUND else FailureKind.REMOTE_ERROR
        self._fail(kind, f"server error {code}: {message}", code)
