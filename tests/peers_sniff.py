"""What is on the wire: a raw-socket capture of UDP on a loopback interface, and a
listener's check of RTP payloads as G.711.

Why not tshark: the check needs only the UDP payloads, in-process, while the
call runs; an AF_PACKET socket on ``lo`` (root, as the namespace tests already
need) sees exactly the datagrams the kernel carries between the phones, with no
capture program to start and wait for. The payloads are then read the way an
eavesdropper with Wireshark's "play RTP" would: as PCMU, looking for the tone
the microphone plays.
"""

from __future__ import annotations

import socket
import struct
import threading
from dataclasses import dataclass, field

import numpy as np

from firmware.media.g711 import ulaw_decode

ETH_P_IP = 0x0800
PACKET_OUTGOING = 4  # the same datagram is seen again as it comes in on lo
RTP_HEADER = 12
PCMU_20MS = 160
SO_RCVBUFFORCE = getattr(socket, "SO_RCVBUFFORCE", 33)  # Linux; not exported by Python


@dataclass(frozen=True, slots=True)
class Datagram:
    src: tuple[str, int]
    dst: tuple[str, int]
    payload: bytes


@dataclass
class UdpSniffer:
    """Collects every IPv4 UDP datagram on ``iface`` between ``start()`` and ``stop()``.

    Create it (``start``) inside ``Netns.entered()`` to capture in that namespace.
    """

    iface: str = "lo"
    datagrams: list[Datagram] = field(default_factory=list)
    _sock: socket.socket | None = None
    _thread: threading.Thread | None = None
    _stop: threading.Event = field(default_factory=threading.Event)

    def start(self) -> UdpSniffer:
        s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_IP))
        # every datagram on lo passes here (other tests' too): a deep buffer, so a busy
        # machine delays the reading thread rather than dropping the call's packets
        try:
            s.setsockopt(socket.SOL_SOCKET, SO_RCVBUFFORCE, 8 << 20)  # root: past rmem_max
        except OSError:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8 << 20)
        s.bind((self.iface, 0))
        s.settimeout(0.1)
        self._sock = s
        self._thread = threading.Thread(target=self._run, name="udp-sniffer", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        if self._sock is not None:
            self._sock.close()

    def __enter__(self) -> UdpSniffer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _run(self) -> None:
        assert self._sock is not None
        while not self._stop.is_set():
            try:
                frame, addr = self._sock.recvfrom(65535)
            except TimeoutError:
                continue
            except OSError:
                return
            if addr[2] == PACKET_OUTGOING:
                continue
            d = _udp(frame[14:])  # lo frames carry a (zero) Ethernet header
            if d is not None:
                self.datagrams.append(d)

    def to_port(self, port: int, host: str | None = None) -> list[bytes]:
        """Payloads sent to ``port`` (on ``host``), in capture order."""
        return [d.payload for d in list(self.datagrams)
                if d.dst[1] == port and (host is None or d.dst[0] == host)]


def _udp(ip: bytes) -> Datagram | None:
    if len(ip) < 28 or ip[0] >> 4 != 4 or ip[9] != socket.IPPROTO_UDP:
        return None
    ihl = (ip[0] & 0x0F) * 4
    total = struct.unpack_from("!H", ip, 2)[0]
    sport, dport, length = struct.unpack_from("!HHH", ip, ihl)
    payload = ip[ihl + 8:min(total, ihl + length)]
    return Datagram((socket.inet_ntoa(ip[12:16]), sport), (socket.inet_ntoa(ip[16:20]), dport),
                    payload)


def pcmu_tone_share(packets: list[bytes], hz: float) -> float:
    """How much of the energy sits at ``hz`` when the RTP payloads are played as PCMU:
    near 1 for a plain call carrying that tone, near 0 for ciphertext (white noise)."""
    audio = [p[RTP_HEADER:RTP_HEADER + PCMU_20MS] for p in packets
             if len(p) >= RTP_HEADER + PCMU_20MS and p[0] >> 6 == 2 and p[1] & 0x7F == 0]
    if not audio:
        return 0.0
    pcm = np.frombuffer(b"".join(ulaw_decode(a) for a in audio), dtype="<i2").astype(float)
    pcm -= pcm.mean()
    spec = np.abs(np.fft.rfft(pcm * np.hanning(len(pcm)))) ** 2
    k = int(round(hz * len(pcm) / 8000))
    width = max(2, len(pcm) // 8000 * 10)  # +-10 Hz
    return float(spec[max(0, k - width):k + width + 1].sum() / max(spec.sum(), 1e-9))
