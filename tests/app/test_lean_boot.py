"""A registered, idle phone has loaded neither numpy nor Pillow, libsrtp, the HTTP client
(and the e-mail package it pulls in), the CA store, the control API nobody configured
nor an XML parser with no XML to read, and runs no audio periods.

Why: on a Pi Zero numpy's import is a large part of the time from power-on to
the first REGISTER and of the idle resident memory, and Pillow is only needed
for PNGs of the mock screen; both load with the first call or picture. An idle
desk phone must also not wake 50 times a second for audio nobody hears. The
figures themselves (ms, MiB, % of a core against baresip) are in bench/bench_boot.py;
this test pins the mechanisms, in a fresh interpreter.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

PROBE = textwrap.dedent('''
    import asyncio, json, sys, tempfile, pathlib
    sys.path.insert(0, "bench")
    from bench_boot import StubRegistrar

    async def main():
        reg = StubRegistrar()
        import firmware.app.runloop  # noqa: F401 - the run path's own imports count too
        from firmware.app.host import PhoneHost
        from firmware.provisioning.boot import load_local
        from hal.clock import LoopClock
        import hal as hal_pkg
        d = pathlib.Path(tempfile.mkdtemp())
        cnf = d / "SIP001122334455.cnf"
        cnf.write_text(f"line1_name: 5550002\\nproxy1_address: 127.0.0.1\\nproxy1_port: {reg.port}\\n"
                       "proxy_register: 1\\nvoip_control_port: 5999\\n")
        config = load_local(str(cnf), None)
        loop = asyncio.get_running_loop()
        hal = hal_pkg.load("mock", getattr(config, "hal_settings", None), clock=LoopClock(loop))
        host = await PhoneHost.start(config, hal, sip_host="127.0.0.1", sip_port=0)
        for _ in range(500):
            if reg.registered.is_set():
                break
            await asyncio.sleep(0.01)
        engine = host.app.engine
        before = engine.periods
        await asyncio.sleep(0.5)
        heavy = sorted({m.split(".")[0] for m in sys.modules}
                       & {"numpy", "PIL", "pylibsrtp", "http", "email"})
        # the control API (and the types it serves), the XML parsers, the DHCP lease
        # reader (a phone with its config files asks no DHCP server): loaded when used
        later = sorted(m for m in ("firmware.surface", "firmware.control.server",
                                   "firmware.app.control_adapter", "xml.etree.ElementTree",
                                   "firmware.provisioning.dhcp")
                       if m in sys.modules)
        out = {"registered": reg.registered.is_set(), "heavy": heavy, "later": later,
               "idle_periods": engine.periods - before, "timer": engine.get_timer(),
               "ca_store": host.transport.streams.tls_context is not None}
        await host.stop(grace=0.2)
        reg.close()
        print(json.dumps(out))

    asyncio.run(main())
''')


def test_idle_registered_phone_loads_no_numpy_nor_pillow_and_runs_no_audio_periods() -> None:
    proc = subprocess.run([sys.executable, "-c", PROBE], cwd=ROOT, capture_output=True, text=True,
                          timeout=60, check=False)
    assert proc.returncode == 0, proc.stderr[-2000:]
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    assert out["registered"]
    assert out["heavy"] == []
    assert out["later"] == []
    assert out["idle_periods"] == 0 and out["timer"] is None
    # a UDP phone never loaded the system CA store (~30 ms of the boot; a TLS phone
    # loads it at its first connect: tests/security/test_sip_tls.py)
    assert out["ca_store"] is False
