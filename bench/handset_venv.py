"""A handset-like install of this tree, for the boot bench (bench/bench_boot.py).

What ``scripts/install-pi.sh`` leaves on a Raspberry Pi: a venv of the system's
``python3`` (Debian's build, as Raspberry Pi OS ships it) with the package installed
from a wheel (``firmware`` without the demo tooling, and ``hal``, byte-compiled by
pip), the ``piphone`` console script pip writes, and the dataclass code table the
script compiles (firmware/app/codecache.py). systemd starts that console script.

Why the bench needs it: the dev venv runs pyenv's CPython (built without PGO/LTO,
libpython as a shared library: ~2x the start-up CPU of Debian's) and an editable
install whose import hook loads pathlib, urllib.parse and fnmatch at every start; a
handset has neither. The wheel's files are copied rather than built (building needs
a newer setuptools than the dev venv has, from the network); third-party packages
(numpy, dnspython, ...) come from the dev venv through one .pth line: the same files
a handset's pip would install.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

#: The console script pip writes for ``[project.scripts] piphone = firmware.__main__:main``.
SCRIPT = """#!{python}
# -*- coding: utf-8 -*-
import re
import sys
from firmware.__main__ import main
if __name__ == '__main__':
    sys.argv[0] = re.sub(r'(-script\\.pyw|\\.exe)?$', '', sys.argv[0])
    sys.exit(main())
"""


def system_python() -> str | None:
    """The distribution's python3 (a handset's), if this machine has one beside the dev venv's."""
    for candidate in ("/usr/bin/python3",):
        if Path(candidate).exists():
            return candidate
    return None


def build(root: Path, dest: Path, python: str) -> Path:
    """Install ``root`` into a new venv at ``dest`` made by ``python``; returns the console
    script to start the phone with."""
    subprocess.run([python, "-m", "venv", "--without-pip", str(dest)], check=True)
    out = subprocess.run([str(dest / "bin" / "python"), "-c",
                          "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                         check=True, capture_output=True, text=True)
    site = Path(out.stdout.strip())
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", "demo")
    shutil.copytree(root / "firmware", site / "firmware", ignore=ignore)
    shutil.copytree(root / "hal", site / "hal", ignore=ignore)
    # pip byte-compiles what it installs, with the target interpreter
    subprocess.run([str(dest / "bin" / "python"), "-m", "compileall", "-q", str(site / "firmware"),
                    str(site / "hal")], check=True)
    (site / "dev-venv-packages.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    script = dest / "bin" / "piphone"
    script.write_text(SCRIPT.format(python=dest / "bin" / "python"))
    script.chmod(0o755)
    subprocess.run([str(dest / "bin" / "python"), "-m", "firmware.app.codecache"], check=True,
                   cwd=dest, env=clean_env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return script


def clean_env() -> dict[str, str]:
    """The environment without what points Python at this tree (a handset has no PYTHONPATH)."""
    import os

    return {k: v for k, v in os.environ.items()
            if k not in ("PYTHONPATH", "PYTHONDONTWRITEBYTECODE", "PYTHONHOME")}


if __name__ == "__main__":  # build one by hand: python bench/handset_venv.py DEST
    print(build(Path(__file__).resolve().parents[1], Path(sys.argv[1]),
                system_python() or sys.executable))
