"""baresip, headless, for the real-peer harness (tests/peers.py).

Why: a second, independent SIP phone implementation to call and be called
by, with its audio on files and bridges instead of a sound card.
"""

from __future__ import annotations

import asyncio
import json
import signal
from collections.abc import Sequence
from pathlib import Path

from peers_netns import Netns
from peers_ports import HOST, free_port, tcp_listening
from peers_proc import PeerProcess, require


class Baresip(PeerProcess):
    """A headless baresip 1.0 (no sound card) inside a ``Netns``.

    Audio: source ``aufile`` (an 8 kHz mono wav, written here as a 440 Hz tone),
    player ``aubridge`` (ALSA ``null`` would busy-spin a core); with ``echo``
    the source is the player's aubridge, so the caller hears itself back
    after baresip decoded and re-encoded it.  It binds TCP
    on port+1 as well, so ports are taken two apart.  Stop it before the
    registrar: a registered baresip waits to un-REGISTER, and a second SIGTERM
    makes it give up. ``codecs`` is the account's ``audio_codecs`` (``"G722"`` loads
    baresip's g722 module: HD voice at 16 kHz). ``mediaenc`` (``"srtp-mand"``) loads
    its srtp module and makes the account's media SRTP; ``cafile`` is ``sip_cafile``
    (baresip 1.0 registers over TLS whatever the proxy's CA, so it is informative);
    ``certificate`` (key and chain in one PEM) is ``sip_certificate``: a proxy that
    opens a TLS connection to baresip for a call needs it.
    """

    def __init__(
        self,
        workdir: Path,
        netns: Netns,
        *,
        user: str = "alice",
        registrar: str | None = None,
        password: str | None = None,
        auto_answer: bool = True,
        regint: int = 0,
        port: int | None = None,
        extra_args: Sequence[str] = (),
        echo: bool = False,
        codecs: str = "PCMU",
        mediaenc: str = "",
        cafile: Path | None = None,
        certificate: Path | None = None,
    ) -> None:
        binary = require("baresip")
        self.netns = netns
        self.port = port or free_port(span=2)
        self.rtp_lo = free_port(span=20)
        self.ctrl_port = free_port()
        self.user = user
        conf = Path(workdir) / f"baresip-{user}-{self.port}"
        conf.mkdir(parents=True, exist_ok=True)
        tone = conf / "tone.wav"
        _write_tone(tone, seconds=30)
        domain = registrar or f"{HOST}:{self.port}"
        params = [f"regint={regint}", f"audio_codecs={codecs}"]
        if mediaenc:  # "srtp-mand": RTP/SAVP with SDES keys (its srtp module)
            params.append(f"mediaenc={mediaenc}")
        if auto_answer:
            params.append("answermode=auto")
        if password:
            params.append(f"auth_pass={password}")
        account = f"<sip:{user}@{domain}>;" + ";".join(params)
        (conf / "config").write_text(
            "\n".join(
                [
                    "poll_method\tepoll",
                    f"sip_listen\t{HOST}:{self.port}",
                    f"rtp_ports\t{self.rtp_lo}-{self.rtp_lo + 19}",
                    f"audio_player\taubridge,{user}",
                    # echo: an aubridge source named like the player returns what it heard
                    f"audio_source\taubridge,{user}" if echo else f"audio_source\taufile,{tone}",
                    f"audio_alert\taubridge,{user}",
                    # A ringback played on the echo's aubridge device stalls its source.
                    f"ringback_disabled\t{'yes' if echo else 'no'}",
                    "ausrc_format\ts16",
                    "auplay_format\ts16",
                    "audio_buffer\t20-160",
                    "jitter_buffer_delay\t5-10",
                    "rtcp_mux\tno",
                    "rtp_stats\tyes",
                    "statmode_default\toff",
                    "module_path\t/usr/lib/baresip/modules",
                    "module\tg711.so",
                    *(["module\tg722.so"] if "G722" in codecs.upper() else []),
                    *(["module\tsrtp.so"] if mediaenc.startswith("srtp") else []),
                    *([f"sip_cafile\t{cafile}"] if cafile else []),
                    *([f"sip_certificate\t{certificate}"] if certificate else []),
                    "module\taufile.so",
                    "module\taubridge.so",
                    "module_tmp\taccount.so",
                    "module_app\tmenu.so",
                    "module_app\tctrl_tcp.so",
                    f"ctrl_tcp_listen\t{HOST}:{self.ctrl_port}",
                    "",
                ]
            )
        )
        (conf / "accounts").write_text(account + "\n")
        (conf / "contacts").write_text("")
        self.conf_dir = conf
        argv = netns.exec_argv([binary, "-f", str(conf), *extra_args])
        super().__init__(
            argv, cwd=conf, log_name="baresip.log",
            stop_signals=(signal.SIGTERM, signal.SIGTERM), grace=2.0,
        )  # fmt: skip

    @property
    def uri(self) -> str:
        return f"sip:{self.user}@{HOST}:{self.port}"

    def start(self) -> Baresip:
        super().start()
        self.await_ready(lambda: tcp_listening(self.ctrl_port), 10, "baresip ctrl_tcp")
        return self

    async def ctrl(self, command: str, params: str = "") -> dict:
        """One command to baresip's ctrl_tcp (JSON in a netstring); its JSON answer.
        Call it from inside ``self.netns`` (the caller enters it) when there is one."""
        return await baresip_ctrl(self.ctrl_port, command, params)

    def __enter__(self) -> Baresip:
        return self.start() if self.proc is None else self


async def baresip_ctrl(port: int, command: str, params: str = "") -> dict:
    """One command to baresip's ctrl_tcp (JSON in a netstring, on loopback); its JSON answer."""
    reader, writer = await asyncio.open_connection(HOST, port)
    try:
        payload = json.dumps({"command": command, "params": params, "token": "t1"}).encode()
        writer.write(b"%d:%s," % (len(payload), payload))
        await writer.drain()
        async with asyncio.timeout(5):
            length = int((await reader.readuntil(b":"))[:-1])
            answer = await reader.readexactly(length + 1)
        return dict(json.loads(answer[:-1]))
    finally:
        writer.close()


def _write_tone(path: Path, seconds: int, freq: float = 440.0) -> None:
    import math
    import struct
    import wave

    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(8000)
        period = [
            struct.pack("<h", int(6000 * math.sin(2 * math.pi * freq * i / 8000)))
            for i in range(8000)
        ]
        one_second = b"".join(period)
        w.writeframes(one_second * seconds)
