"""The install-time table of dataclass code (firmware/app/codecache.py) changes nothing
but the time: a class made from it is the class ``dataclasses`` compiles, a damaged or
foreign table is ignored, and the table the install writes covers the whole way to
the first REGISTER (so a boot compiles no dataclass method)."""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
import textwrap
import types
from pathlib import Path

import pytest

from firmware.app import codecache

ROOT = Path(__file__).resolve().parents[2]

CLASS_SOURCE = textwrap.dedent('''
    from __future__ import annotations
    from dataclasses import dataclass, field

    @dataclass(frozen=True, slots=True, kw_only=True)
    class Probe:
        """A frozen value with defaults, a factory and a field left out of compares."""
        name: str
        port: int = 5060
        tags: tuple[str, ...] = field(default_factory=tuple)
        note: str = field(default="", compare=False)
''')


def _make() -> type:
    """A fresh module defining ``Probe`` (dataclasses looks the module up by name)."""
    mod = types.ModuleType("codecache_probe")
    sys.modules[mod.__name__] = mod
    try:
        exec(compile(CLASS_SOURCE, "codecache_probe.py", "exec"), mod.__dict__)  # noqa: S102
    finally:
        del sys.modules[mod.__name__]
    return mod.Probe  # type: ignore[no-any-return]


@pytest.fixture(autouse=True)
def _builtin_exec_after() -> object:
    yield
    codecache.uninstall()
    assert not hasattr(dataclasses, "exec")


def test_a_class_made_from_the_table_is_the_class_dataclasses_compiles() -> None:
    reference = _make()
    recorder = codecache.install(codecache.CodeTable(record=True))
    _make()
    codecache.uninstall()
    assert recorder.codes and recorder.misses == len(recorder.codes)

    stored = codecache.parse(codecache.dumps(recorder.codes))
    assert stored is not None and len(stored) == len(recorder.codes)
    table = codecache.install(stored)
    cached = _make()
    assert table.misses == 0 and table.hits == len(recorder.codes)
    for name in ("__init__", "__repr__", "__eq__", "__hash__", "__setattr__", "__delattr__"):
        assert getattr(cached, name).__code__ == getattr(reference, name).__code__, name
    # evaluated annotations, as the builtin exec makes them (not this module's future flag)
    assert cached.__init__.__annotations__ == reference.__init__.__annotations__
    a = cached(name="x", port=5, note="n")
    assert a == cached(name="x", port=5) and hash(a) == hash(cached(name="x", port=5))
    assert repr(a) == "Probe(name='x', port=5, tags=(), note='n')"
    with pytest.raises(dataclasses.FrozenInstanceError):
        a.port = 6  # type: ignore[misc]
    with pytest.raises(TypeError):
        cached("x")  # keyword-only, as declared


def test_a_missing_damaged_or_foreign_table_changes_nothing(tmp_path: Path) -> None:
    assert codecache.use_installed(str(tmp_path / "absent.marshal")) is None
    code = compile("x = 1", "<string>", "exec")
    good = codecache.dumps({"x = 1": code})
    for name, data in {"bad": b"\x00not marshal", "cut": good[:20], "empty": b""}.items():
        (tmp_path / name).write_bytes(data)
        assert codecache.use_installed(str(tmp_path / name)) is None, name
    foreign = codecache.TAG
    try:  # another interpreter's table (its code objects would not run here)
        codecache.TAG = "3.99.0 (other build)|5"
        (tmp_path / "foreign").write_bytes(codecache.dumps({"x = 1": code}))
    finally:
        codecache.TAG = foreign
    assert codecache.use_installed(str(tmp_path / "foreign")) is None
    assert not hasattr(dataclasses, "exec")
    (tmp_path / "ours").write_bytes(good)
    table = codecache.load(str(tmp_path / "ours"))
    assert table is not None and table.lookup("x = 1") == code
    assert table.lookup("x = 2") is None  # another text: compiled as usual


PROBE = textwrap.dedent('''
    import json, sys
    from firmware.app import codecache
    table = codecache.use_installed(sys.argv[1])
    import firmware.app.cli, firmware.app.runloop, firmware.provisioning.boot
    import firmware.phone.phone, firmware.media.engine, hal.mock.display, hal.mock.keypad
    print(json.dumps({"hits": table.hits, "misses": table.misses}))
''')


def test_the_installed_table_covers_the_way_to_the_first_register(tmp_path: Path) -> None:
    path = tmp_path / "table.marshal"
    made = subprocess.run([sys.executable, "-m", "firmware.app.codecache", str(path)], cwd=ROOT,
                          capture_output=True, text=True, timeout=120, check=False)
    assert made.returncode == 0, made.stderr[-2000:]
    assert path.exists()
    run = subprocess.run([sys.executable, "-c", PROBE, str(path)], cwd=ROOT, capture_output=True,
                         text=True, timeout=120, check=False)
    assert run.returncode == 0, run.stderr[-2000:]
    out = json.loads(run.stdout.strip().splitlines()[-1])
    # the same texts in another process (nothing in them depends on the process) ...
    assert out["misses"] == 0
    # ... for the hundreds of methods the modules of a boot make
    assert out["hits"] > 400
