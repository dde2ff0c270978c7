"""The 49 RFC 4475 torture messages fed to a whole ``Endpoint``: it answers as verdicts.csv says.

``test_rfc4475.py`` checks parse + validate; this checks the UA end to end:
the status actually put on the wire (and where it goes), that accepted
requests reach the layer above, and that responses and garbage are dropped
and counted, never raised.
"""

from __future__ import annotations

import pytest

from firmware.sip.endpoint import Endpoint, EndpointConfig
from firmware.sip.events import IncomingCall, OutOfDialogRequest
from firmware.sip.message import Response, parse_message

from .test_rfc4475 import ANSWER, EXPECTED, VERDICTS, _files, _load

pytestmark = pytest.mark.arm64  # part of the subset run in the emulated arm64 userland

SOURCE = ("192.0.2.1", 5060)


@pytest.mark.parametrize("name", _files())
def test_endpoint_answers_torture_message(name: str) -> None:
    row = VERDICTS[name]
    kind, status = EXPECTED[row["section"]]
    e = Endpoint(EndpointConfig(local_address=("127.0.0.1", 5060), user="vivekg"))
    e.receive_datagram(_load(name), SOURCE, "udp", 0.0)
    e.handle_timer(1.0)  # let a 100 Trying go out
    out = e.datagrams_to_send()
    events = list(iter(e.next_event, None))
    replies = [parse_message(o.data) for o in out]
    assert all(isinstance(r, Response) for r in replies)
    statuses = [r.status for r in replies if isinstance(r, Response)]
    assert e.stats.extra.get("internal_errors", 0) == 0
    if kind == "reject":
        assert statuses == [status], row[ANSWER]
        assert events == []
    elif kind == "accept":
        assert all(s < 300 for s in statuses), (statuses, row[ANSWER])
        method = parse_message(_load(name)).method  # type: ignore[union-attr]
        if method == "INVITE":
            assert [type(ev) for ev in events] == [IncomingCall] and statuses == [100]
        elif method == "OPTIONS":
            assert statuses == [200] and events == []
        else:
            assert [type(ev) for ev in events] == [OutOfDialogRequest]
    else:  # a response: not ours, dropped and counted
        assert statuses == [] and events == []
        assert e.stats.dropped_stray_response + e.stats.dropped_unparseable == 1
