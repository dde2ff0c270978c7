"""``DialogRequests`` works with any ``DialogOwner``: the session is a collaborator, not reached into.

The fake owner below has exactly the protocol's members (id, transport,
dialog, challenge_retry, dialog_gone); the real session's reaction to "the
dialog is gone" (481 to an in-dialog request, §12.2.1.2) is checked end to end.
"""

from __future__ import annotations

from typing import Any

import pytest

from firmware.sip.dialog import Dialog
from firmware.sip.events import CallEnded, InDialogRequest, RequestAnswered
from firmware.sip.message import Response
from firmware.sip.session_requests import DialogOwner, DialogRequests
from firmware.sip.transaction import ClientTransaction

from .helpers import EndpointPair
from .test_session import establish

pytestmark = [pytest.mark.timeout(20)]


class FakeOwner:
    def __init__(self, dialog: Dialog) -> None:
        self.id, self.transport, self.dialog = "owner-1", "udp", dialog
        self.gone: list[str] = []
        self.challenged: list[int] = []

    def challenge_retry(self, tx: ClientTransaction, resp: Response, now: float,
                        on_response: Any, on_timeout: Any) -> ClientTransaction | None:
        self.challenged.append(resp.status)
        return None

    def dialog_gone(self, now: float, reason: str) -> None:
        self.gone.append(reason)


def _answer_next(pair: EndpointPair, status: int) -> None:
    pair.run(0.1)
    [ev] = [e for e in pair.take("b") if isinstance(e, InDialogRequest)]
    pair.b.respond(ev.request_id, status, now=pair.now)
    pair.run(0.1)


def test_requests_use_only_the_owner_protocol_and_leave_ending_the_call_to_it() -> None:
    pair = EndpointPair()
    sa, _ = establish(pair)
    pair.take("a"), pair.take("b")
    dialog = pair.a.sessions[sa].dialog
    assert dialog is not None
    owner = FakeOwner(dialog)
    as_protocol: DialogOwner = owner  # the fake has the protocol's members and no more
    requests = DialogRequests(pair.a, as_protocol)

    rid = requests.send("INFO", pair.now)
    _answer_next(pair, 401)
    [ans] = [e for e in pair.take("a") if isinstance(e, RequestAnswered)]
    assert (ans.request_id, ans.session, ans.status) == (rid, "owner-1", 401)
    assert owner.challenged == [401] and owner.gone == []

    requests.send("INFO", pair.now)
    _answer_next(pair, 481)
    events = pair.take("a")
    assert [e.status for e in events if isinstance(e, RequestAnswered)] == [481]
    assert owner.gone == ["INFO 481"]
    assert not [e for e in events if isinstance(e, CallEnded)]  # the owner's decision, not ours


def test_a_481_to_an_in_dialog_request_ends_the_real_session() -> None:
    pair = EndpointPair()
    sa, _ = establish(pair)
    pair.take("a"), pair.take("b")
    pair.a.send_in_dialog(sa, "INFO", now=pair.now)
    _answer_next(pair, 481)
    ended = [e for e in pair.take("a") if isinstance(e, CallEnded)]
    assert [(e.session, e.by, e.reason) for e in ended] == [(sa, "remote", "INFO 481")]
    assert pair.a.sessions[sa].ended
