"""Command line: ``python -m firmware run|demo ...`` (console script ``piphone``)."""

from __future__ import annotations

import argparse
import os
import sys

# numpy's OpenBLAS starts a worker thread per core at import, and on this
# firmware's small arrays it never helps: it only wakes and spins, about a
# fifth of a call's CPU (bench/bench_media_cpu.py). One thread, set before
# anything imports numpy.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="piphone", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="run the phone")
    run.add_argument("--hal", choices=["pi", "mock"], default="mock")
    run.add_argument("--config", help="Cisco-style config file (SIP<MAC>.cnf)")
    run.add_argument("--control", help="HOST:PORT of the headless control API")
    run.add_argument("--tftp", help="TFTP server HOST[:PORT] to provision from "
                     "(default: DHCP option 150, then 66)")
    run.add_argument("--provision", help="where the files are: tftp://HOST[:PORT]/, "
                     "http://HOST[:PORT]/PATH/ or https://... (instead of --tftp)")
    run.add_argument("--ca-file", help="CA certificates (PEM) to check an https:// server "
                     "against (default: the system's)")
    run.add_argument("--mac", help="MAC address used to name SIP<MAC>.cnf (default: the "
                     "interface that routes to the server)")
    run.add_argument("--provision-retry", type=float, default=60.0,
                     help="seconds between provisioning retries while the phone runs "
                     "without a fresh set (server down, no line); default 60")
    run.add_argument("--state-dir", help="where the last good TFTP config (and the history) "
                     "are kept (default $STATE_DIRECTORY, else /var/lib/piphone on the Pi, "
                     "~/.local/state/piphone with the mock HAL)")
    demo = sub.add_parser("demo", help="run the Appendix B figures among simulated handsets")
    demo.add_argument("--out", default="out/demo")
    demo.add_argument("--figure", help="run one figure only (e.g. B-6)")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command == "run":
        from firmware.app import codecache

        codecache.use_installed()  # the dataclass code compiled at install (see there)
        from firmware.app.cli import run_main

        return run_main(args)
    if args.command == "demo":
        try:
            from firmware.demo.runner import demo_main
        except ModuleNotFoundError as exc:
            if not (exc.name or "").startswith("firmware.demo"):
                raise
            # A handset install leaves the tooling out (pyproject: packages.find exclude).
            print("piphone demo: the demo and test tooling (firmware.demo) is not installed "
                  "here; a handset carries only the phone. Run the demo from a source "
                  "checkout: make demo", file=sys.stderr)
            return 2
        return demo_main(args)
    return 2


if __name__ == "__main__":
    sys.exit(main())
