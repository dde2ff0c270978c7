"""Our media stack in a real call with baresip: run inside the test's network namespace.

The SIP stack is built on another branch, so this driver speaks just enough
SIP as text (INVITE with our SDP offer, ACK, BYE) over a UDP socket; all the
media is the real thing: SdpSession, MediaStream and MediaEngine on the
asyncio shell (firmware.net.rtp), MockAudio as microphone and earpiece.

usage: python sip_call_driver.py TARGET_IP:PORT LOCAL_IP TONE_HZ SECONDS [PEER_PID MEASURE_S]
(env DTMF_DIGITS="123": send these digits as RFC 4733 events half a second in;
 env CODECS="G722,PCMU": what we offer, in order; default PCMU,PCMA;
 env AUDIO_RATE=16000: a wideband handset)
Prints one JSON line: what the earpiece heard, stream stats, and (with
PEER_PID) CPU seconds of this process and of the peer over the same window.
"""

from __future__ import annotations

import asyncio
import json
import os

# as firmware/__main__.py: no OpenBLAS worker threads spinning beside the loop
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
import random
import resource
import sys
import time
from dataclasses import asdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from firmware.media.codecs import codec_by_name  # noqa: E402
from firmware.media.engine import MediaEngine  # noqa: E402
from firmware.media.ports import PortAllocator  # noqa: E402
from firmware.media.sdp import LocalMedia, Negotiated, SdpSession, parse_sdp  # noqa: E402
from firmware.media.stream import MediaStream  # noqa: E402
from firmware.net.rtp import AudioPump, RtpEndpoint  # noqa: E402
from hal.base import AudioFormat  # noqa: E402
from hal.clock import LoopClock  # noqa: E402
from hal.mock.audio import MockAudio  # noqa: E402

# POLL_RX=0: the RTP socket wakes the loop for each packet (the old way), to compare
POLL_RX = os.environ.get("POLL_RX", "1") != "0"


def proc_cpu(pid: int) -> float:
    """CPU seconds of every thread of ``pid`` (scheduler run time in ns: exact, where
    /proc/PID/stat counts 10 ms ticks, too coarse for a process at 1% of a core)."""
    try:
        return sum(int((t / "schedstat").read_text().split()[0])
                   for t in Path(f"/proc/{pid}/task").iterdir()) / 1e9
    except (OSError, ValueError, IndexError):
        pass
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def proc_slices(pid: int) -> int:
    """Times every thread of ``pid`` was put on a CPU (schedstat's third field): its
    wake-ups, to tell the cost of waking from the cost of the work done per wake."""
    try:
        return sum(int((t / "schedstat").read_text().split()[2])
                   for t in Path(f"/proc/{pid}/task").iterdir())
    except (OSError, ValueError, IndexError):
        return 0


def self_cpu() -> float:
    if Path("/proc/self/task").is_dir():
        return proc_cpu(os.getpid())
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


class Sip(asyncio.DatagramProtocol):
    def __init__(self) -> None:
        self.responses: asyncio.Queue[bytes] = asyncio.Queue()

    def datagram_received(self, data: bytes, addr: object) -> None:
        self.responses.put_nowait(data)


def request(method: str, uri: str, local: str, to_tag: str, call_id: str, cseq: int,
            from_tag: str, target: str, body: bytes = b"") -> bytes:
    branch = f"z9hG4bK{random.getrandbits(32):08x}"
    to = f"<sip:alice@{target}>" + (f";tag={to_tag}" if to_tag else "")
    head = [
        f"{method} {uri} SIP/2.0",
        f"Via: SIP/2.0/UDP {local};branch={branch};rport",
        "Max-Forwards: 70",
        f"From: <sip:piphone@{local}>;tag={from_tag}",
        f"To: {to}",
        f"Call-ID: {call_id}",
        f"CSeq: {cseq} {method}",
        f"Contact: <sip:piphone@{local}>",
        "User-Agent: piphone-media-test",
    ]
    if body:
        head.append("Content-Type: application/sdp")
    head.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(head) + "\r\n\r\n").encode() + body


def split(msg: bytes) -> tuple[str, dict[str, str], bytes]:
    head, _, body = msg.partition(b"\r\n\r\n")
    lines = head.decode(errors="replace").split("\r\n")
    headers: dict[str, str] = {}
    for ln in lines[1:]:
        name, _, value = ln.partition(":")
        headers.setdefault(name.strip().lower(), value.strip())
    return lines[0], headers, body


async def main(target: str, local_ip: str, tone: float, seconds: float,
               peer_pid: int | None, measure_s: float) -> dict[str, object]:
    loop = asyncio.get_running_loop()
    clock = LoopClock(loop)
    t_ip, t_port = target.split(":")
    rate = int(os.environ.get("AUDIO_RATE", "8000"))
    audio = MockAudio(clock, AudioFormat(rate=rate, period_frames=rate // 50))
    audio.set_tone(tone)
    engine = MediaEngine(audio)
    stream = MediaStream(ssrc=random.getrandbits(32), cname=f"piphone@{local_ip}",
                         seq0=random.getrandbits(16), ts0=random.getrandbits(32),
                         period=rate // 50, pcm_rate=rate)
    engine.attach(stream)
    ep = RtpEndpoint(stream, loop=loop, audio_next=engine.get_timer, poll_rx=POLL_RX)
    port = await ep.open(local_ip, PortAllocator(30000, 30998))
    pump = AudioPump(engine, loop=loop, after_period=ep.tick,
                         before_period=ep.drain)
    names = os.environ.get("CODECS", "PCMU,PCMA").split(",")
    codecs = tuple(c for n in names if (c := codec_by_name(n)) is not None)
    sdp = SdpSession(LocalMedia(address=local_ip, rtp_port=port, codecs=codecs),
                     session_id=random.getrandbits(31))
    sip = Sip()
    transport, _ = await loop.create_datagram_endpoint(lambda: sip, local_addr=(local_ip, 0))
    host, sport = transport.get_extra_info("sockname")[:2]
    local = f"{host}:{sport}"
    call_id = f"{random.getrandbits(64):016x}@piphone"
    from_tag = f"{random.getrandbits(32):08x}"
    uri = f"sip:alice@{target}"
    invite = request("INVITE", uri, local, "", call_id, 1, from_tag, target,
                     sdp.offer().to_bytes())
    ok = None
    deadline = loop.time() + 8.0
    transport.sendto(invite, (t_ip, int(t_port)))
    while ok is None and loop.time() < deadline:
        try:
            msg = await asyncio.wait_for(sip.responses.get(), 0.5)
        except TimeoutError:
            transport.sendto(invite, (t_ip, int(t_port)))
            continue
        status, headers, body = split(msg)
        code = int(status.split()[1])
        if code >= 300:
            return {"error": f"INVITE answered {status}"}
        if code == 200 and "invite" in headers.get("cseq", "").lower():
            ok = (headers, body)
    if ok is None:
        return {"error": "no 200 OK"}
    headers, body = ok
    to_tag = headers["to"].split("tag=")[1].split(";")[0]
    contact = headers.get("contact", f"<{uri}>").split("<")[1].split(">")[0]
    neg = sdp.receive_answer(parse_sdp(body))
    if not isinstance(neg, Negotiated):
        return {"error": f"answer not usable: {neg}"}
    transport.sendto(request("ACK", contact, local, to_tag, call_id, 1, from_tag, target),
                     (t_ip, int(t_port)))
    pump.start()
    stream.update(neg, loop.time(), t0=engine.get_timer())
    ep.kick()
    measure: dict[str, object] = {}
    digits = os.environ.get("DTMF_DIGITS", "")
    if digits:
        await asyncio.sleep(0.5)
        for d in digits:
            stream.send_dtmf(d, loop.time())
        ep.kick()
    if peer_pid:
        # WINDOWS=n: n back-to-back windows of measure_s/n each (the bench takes the median)
        n = max(1, int(os.environ.get("WINDOWS", "1")))
        await asyncio.sleep(max(0.0, seconds - measure_s) / 2)
        windows = []
        for _ in range(n):
            w0, c0, p0 = time.monotonic(), self_cpu(), proc_cpu(peer_pid)
            await asyncio.sleep(measure_s / n)
            w1, c1, p1 = time.monotonic(), self_cpu(), proc_cpu(peer_pid)
            windows.append({"wall_s": w1 - w0, "our_cpu_s": c1 - c0, "peer_cpu_s": p1 - p0,
                            "load1": os.getloadavg()[0]})
        measure = {k: sum(w[k] for w in windows) for k in ("wall_s", "our_cpu_s", "peer_cpu_s")}
        measure["windows"] = windows  # type: ignore[assignment]
        await asyncio.sleep(max(0.0, seconds - measure_s) / 2)
    else:
        await asyncio.sleep(seconds)
    heard = audio.dominant_hz(1.0)
    level = audio.level_dbfs(1.0)
    stats = stream.stats()
    transport.sendto(request("BYE", contact, local, to_tag, call_id, 2, from_tag, target),
                     (t_ip, int(t_port)))
    pump.stop()
    ep.close()
    try:
        await asyncio.wait_for(sip.responses.get(), 1.0)
    except TimeoutError:
        pass
    transport.close()
    rss_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return {"heard_hz": heard, "heard_dbfs": level, "codec": neg.send_codec.name,
            "remote": f"{neg.remote_address}:{neg.remote_rtp_port}", "stats": asdict(stats),
            "max_rss_kb": rss_kb, **measure}


if __name__ == "__main__":
    a = sys.argv[1:]
    pid = int(a[4]) if len(a) > 4 else None
    meas = float(a[5]) if len(a) > 5 else 0.0
    print(json.dumps(asyncio.run(main(a[0], a[1], float(a[2]), float(a[3]), pid, meas))))
