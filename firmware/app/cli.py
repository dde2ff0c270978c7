"""``python -m firmware run``: arguments to a running phone, and where its state lives.

Why apart from the run loop: choosing the configuration source (file, TFTP),
the state directory and the control address is policy a user reads in one
place; ``firmware.app.runloop`` only runs what this hands it.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from firmware.control.server import ControlConfig

log = logging.getLogger(__name__)


def load_config(args: argparse.Namespace) -> Any:
    """``--config FILE|DIR`` (SIPDefault.cnf and the dial plan beside it are read too)."""
    from firmware.provisioning.boot import load_local

    return load_local(args.config, getattr(args, "mac", None))


async def fetch_config(server: str | None, mac: str, cache_dir: Any = None,
                       fetcher: Any = None, lease_paths: Any = None) -> Any:
    """``--tftp HOST[:PORT] --mac MAC``: the 7960 boot sequence, with the cache as
    fallback. Returns the ``ProvisionResult`` (config, origin, problem); never raises
    for a provisioning problem."""
    from firmware.provisioning.boot import default_cache_dir, provision_result

    return await provision_result(server, mac,
                                  cache_dir if cache_dir is not None else default_cache_dir(),
                                  fetcher=fetcher, lease_paths=lease_paths)


def state_path(hal_name: str, explicit: str | None = None) -> Path:
    """Where the TFTP cache (and the history) live.

    ``--state-dir``, else ``$STATE_DIRECTORY`` (systemd's StateDirectory=), else
    /var/lib/piphone on the Pi and, for a mock-HAL run by a user,
    ``$XDG_STATE_HOME/piphone`` (~/.local/state/piphone): a desktop run must not
    need root to keep its last good configuration.
    """
    from firmware.provisioning.boot import default_cache_dir

    if explicit:
        return Path(explicit)
    if hal_name == "pi" or os.environ.get("STATE_DIRECTORY", "").split(":")[0]:
        return default_cache_dir()
    xdg = os.environ.get("XDG_STATE_HOME", "")
    base = Path(xdg) if xdg else Path.home() / ".local" / "state"
    return base / "piphone"


def _state_dir(hal_name: str, explicit: str | None = None) -> Any:
    """Where the call history lives; None when not writable.

    A mock-HAL run keeps no history on disk unless --state-dir or
    $STATE_DIRECTORY says where.
    """
    if not explicit and hal_name != "pi" and not os.environ.get("STATE_DIRECTORY"):
        return None
    path = state_path(hal_name, explicit)
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError:
        return None
    return path if os.access(path, os.W_OK) else None


def _notify(state: str) -> None:
    from firmware.app import sdnotify

    sdnotify.notify(state)


def _control_config(args: argparse.Namespace, config: Any) -> ControlConfig | None:
    """The control API's address and credentials, or None (no API). The server's
    modules load only when one is configured: they are not on the way to the first
    REGISTER (bench/bench_boot.py)."""
    if not args.control and not getattr(config, "control_bind", None):
        return None
    from firmware.control.server import ControlConfig, parse_hostport

    if args.control:
        host, port = parse_hostport(args.control)
    else:
        host, port = config.control_bind
    names = tuple(n for n in str(getattr(config, "control_hosts", "") or "").replace(",", " ").split())
    return ControlConfig(host=host, port=port, token=getattr(config, "control_token", "") or None,
                         names=names, cert_file=getattr(config, "control_cert_file", "") or None,
                         key_file=getattr(config, "control_key_file", "") or None)


def run_main(args: argparse.Namespace) -> int:
    """Entry point of ``python -m firmware run`` (see ``firmware.__main__``)."""
    logging.basicConfig(level=logging.INFO, stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        from firmware.app.runloop import amain

        return asyncio.run(amain(args))
    except (OSError, ValueError) as exc:
        log.error("cannot start: %s", exc)
        return 1
