"""The end-to-end harness fails when a phone under test hits one of its own bugs.

Each test here breaks a phone on purpose (a call-control handler that raises,
a control-API verb that raises) and shows that the network of handsets, the
demo runner, the HTTP control API and the pytest fixture all refuse to call
that run a pass, although the phone survives and the ladder may look right.
"""

from __future__ import annotations

import asyncio
import json
import textwrap
from typing import Any

import pytest

from firmware.control import ControlConfig, ControlServer
from firmware.demo.health import InternalErrors
from firmware.demo.network import Network, handset_config, until
from firmware.demo.runner import run_figure, summary
from firmware.phone.phone import Phone


async def _post(port: int, path: str, body: dict[str, Any]) -> tuple[int, bytes]:
    """One HTTP/1.1 POST to the control API on loopback: (status, body)."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    data = json.dumps(body).encode()
    writer.write(f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n"
                 f"Content-Type: application/json\r\n"
                 f"Content-Length: {len(data)}\r\n\r\n".encode() + data)
    raw = await reader.read()
    writer.close()
    head, _, payload = raw.partition(b"\r\n\r\n")
    return int(head.split(b" ", 2)[1]), payload


def _break_on(monkeypatch: pytest.MonkeyPatch, event_name: str) -> None:
    """Every phone's call control raises once it has handled a SIP event of this type
    (so the flow goes on: only the bug is planted, the phone still does its job)."""
    real = Phone.dispatch_sip

    def broken(self: Phone, event: Any, now: float) -> None:
        real(self, event, now)
        if type(event).__name__ == event_name:
            raise RuntimeError(f"planted bug on {event_name}")

    monkeypatch.setattr(Phone, "dispatch_sip", broken)


@pytest.mark.internal_errors_expected
def test_network_close_fails_when_a_handset_caught_a_bug(monkeypatch: pytest.MonkeyPatch) -> None:
    _break_on(monkeypatch, "CallProgress")  # A's handling of B's 180 raises (caught, counted)

    async def main() -> None:
        net = Network()
        a = await net.add("A", handset_config("5550001"))
        b = await net.add("B", handset_config("5550002"))
        a.api.dial(b.uri())
        await until(lambda: a.host.app.phone.errors > 0, "A to hit the planted bug")
        assert b.states() == ["incoming"]  # the phones survive: only the harness notices
        with pytest.raises(InternalErrors) as caught:
            await net.close()
        report = str(caught.value)
        assert "A: call control caught 1 internal error" in report
        assert "planted bug on CallProgress" in report  # the logged traceback, named

    asyncio.run(main())


@pytest.mark.internal_errors_expected
def test_the_demo_does_not_count_a_figure_whose_phone_hit_a_bug(
        monkeypatch: pytest.MonkeyPatch) -> None:
    _break_on(monkeypatch, "CallFailed")  # A's handling of B's 486 raises
    outcome = asyncio.run(run_figure("B-15"))
    assert outcome.mismatch is None  # the ladder is still the seed's ...
    assert not outcome.ok  # ... but the figure does not match
    assert outcome.error is not None and "internal error" in outcome.error
    assert "| B-15 | 4 | no |" in summary([outcome])


@pytest.mark.internal_errors_expected
def test_a_control_api_bug_is_a_500_and_fails_the_network(monkeypatch: pytest.MonkeyPatch) -> None:
    got: dict[str, Any] = {}

    async def main() -> None:
        net = Network()
        try:
            a = await net.add("A", handset_config("5550001"))
            server = ControlServer(a.api, ControlConfig())
            a.host.control = server  # as PhoneHost.start(control=...) does
            await server.start()
            got["hold"] = await _post(server.port, "/api/softkey", {"name": "hold"})
            monkeypatch.setattr(Phone, "press_softkey",
                                lambda self, name, now: {}["planted bug"])
            got["bug"] = await _post(server.port, "/api/softkey", {"name": "dnd"})
            await server.close()
        finally:
            with pytest.raises(InternalErrors) as caught:
                await net.close()
        got["report"] = str(caught.value)

    asyncio.run(main())
    assert got["hold"][0] == 409  # not on the idle row: a genuine "not now"
    assert got["bug"][0] == 500
    assert "internal error" in json.loads(got["bug"][1])["error"]
    assert "A: control API 500s caught 1 internal error" in got["report"]
    assert "control API handler failed on POST /api/softkey" in got["report"]


@pytest.mark.internal_errors_expected
def test_a_bug_caught_inside_an_api_input_is_a_500_not_a_200(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Lifting the handset goes through the HAL; the phone catches the bug itself.
    The API must not answer 200 over it."""
    from firmware.app.control_adapter import PhoneBug

    monkeypatch.setattr(Phone, "hook", lambda self, off, now: {}["planted bug"])

    async def main() -> None:
        net = Network()
        try:
            a = await net.add("A", handset_config("5550001"))
            with pytest.raises(PhoneBug, match="internal error"):
                a.api.set_hook(True)
        finally:
            with pytest.raises(InternalErrors, match="call control caught 1"):
                await net.close()

    asyncio.run(main())


@pytest.mark.internal_errors_expected  # the inner run (same process) logs on purpose
def test_the_fixture_fails_any_test_that_logged_an_internal_error(pytester: pytest.Pytester) -> None:
    pytester.makeconftest("from health_plugin import no_internal_errors  # noqa: F401\n")
    pytester.makepyfile(textwrap.dedent("""
        import logging
        import pytest

        def _caught_bug():
            try:
                {}["missing"]
            except KeyError:
                logging.getLogger("firmware.app.pump").exception("phone.sip: input failed")

        def test_survived_a_bug():
            _caught_bug()  # the code under test survives; the test body asserts nothing

        def test_warning_is_not_a_bug():
            logging.getLogger("firmware.sip").warning("a peer sent junk")

        @pytest.mark.internal_errors_expected
        def test_provokes_it_on_purpose():
            _caught_bug()
    """))
    result = pytester.runpytest_inprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=3, errors=1)
    result.stdout.fnmatch_lines(["*test_survived_a_bug*", "*logged by firmware.app.pump*KeyError*"])
