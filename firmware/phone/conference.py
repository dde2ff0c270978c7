"""3-way conference as on the 7960: Confrn, dial the third party, Confrn again.

Why this shape: the 7960's SIP firmware bridges a conference in the phone
itself (no conference server): the call in progress is held, a second call
is set up, and the second Confrn resumes the held call without holding the
other, so both talk at once and the phone mixes them (``media/mixer.py``:
each party hears the other and our microphone, we hear both). RFC 5359 §2.18
shows the same service with a focus; here the focus is this handset, so the
two remote parties see nothing but ordinary dialogs (and a re-INVITE that
resumes one of them).

Ending it: hanging up (EndCall, on-hook) with ``cnf_join_enable`` (the
default, as on the 7960) transfers the two parties to each other, an
attended transfer (REFER with Replaces, ``transferops``), so they go on
talking without us; with it off both calls end. When one party hangs up the
conference dissolves and the other call goes on as an ordinary call.

Bookkeeping lives on the calls: ``extra["conference_of"]`` on the
consultation (the held call's id) until the join, then ``extra["conference"]``
on both (each naming the other).
"""

from __future__ import annotations

import logging

from firmware.phone.actions import Conference
from firmware.phone.call import Call, CallState
from firmware.phone.callops import PhoneError
from firmware.phone.transferops import TransferOps

log = logging.getLogger(__name__)
_S = CallState


class ConferenceOps(TransferOps):
    """The Confrn softkey and the life of a conference (mixed into ``Phone``)."""

    # ------------------------------------------------------------------ who is in
    def conference_partner(self, call: Call | None) -> Call | None:
        """The other call of ``call``'s conference, while both are up."""
        return self._live_link(call, "conference")

    def conference_origin(self, call: Call | None) -> Call | None:
        """The held call a Confrn consultation ``call`` will join, if any."""
        return self._live_link(call, "conference_of")

    def _live_link(self, call: Call | None, key: str) -> Call | None:
        """The call whose id ``call.extra[key]`` holds, while both calls are up."""
        if call is None or call.ended:
            return None
        linked_id = call.extra.get(key)
        linked = self.call_by_id(linked_id) if linked_id else None
        return linked if linked is not None and not linked.ended else None

    # ------------------------------------------------------------------ the key
    def confrn(self, now: float) -> None:
        """Confrn: in a call, hold it and open a new call; in that new call, once
        connected, join both (this phone mixes)."""
        line = self.line()
        call = line.focused
        if call is None or call.ended:
            raise PhoneError(409, "no call to conference")
        if self.conference_partner(call) is not None:
            raise PhoneError(409, "already in a conference")
        origin = self.conference_origin(call)
        if origin is not None:
            if call.state is not _S.CONNECTED:
                raise PhoneError(409, "the third party has not answered yet")
            self._join(origin, call, now)
            return
        if call.state not in (_S.CONNECTED, _S.HELD):
            raise PhoneError(409, "only a call in conversation can be conferenced")
        other = line.other(call)
        if other is not None and not other.ended:
            raise PhoneError(409, "the line already has a second call")
        self.hold(call, now)
        consult = self.new_call("out", line, now)
        consult.extra["conference_of"] = call.id
        self.notice = None

    def _join(self, held: Call, consult: Call, now: float) -> None:
        """Resume the held call without holding the consultation: both talk, we mix."""
        if held.state is not _S.HOLDING or held.extra.get("reinvite"):
            raise PhoneError(409, "the held call is not ready to join yet")
        consult.extra.pop("conference_of", None)
        held.extra["conference"], consult.extra["conference"] = consult.id, held.id
        sdp = self.media_for(held).offer(direction="sendrecv")
        held.extra["reinvite"] = "resume"
        self._sip("reinvite", held.session, sdp.to_bytes(), now=now)
        self.emit(Conference(calls=(held.id, consult.id)))
        log.info("conference: %s and %s joined", held.id, consult.id)

    # ------------------------------------------------------------------ the end
    def hangup(self, call: Call, now: float) -> None:
        """EndCall / on-hook in a conference ends it for us: with ``cnf_join_enable`` the
        two parties are transferred to each other, else both calls end."""
        partner = self.conference_partner(call)
        if partner is None:
            super().hangup(call, now)
            return
        self._dissolve(call, partner)
        if self.settings.conference_join and call.established and partner.established:
            first, second = (call, partner) if call.created_at <= partner.created_at else (partner, call)
            self._attended(first, second, now)  # REFER first to second (with Replaces)
            return
        super().hangup(call, now)
        super().hangup(partner, now)

    def end_call(self, call: Call, now: float, reason: str, *, failed: bool = False) -> None:
        """A call of a conference ended (a party hung up): the other goes on alone."""
        partner = self.conference_partner(call)
        if partner is not None:
            self._dissolve(call, partner)
        for c in self._all_calls():  # a consultation whose held call went away
            if c.extra.get("conference_of") == call.id:
                c.extra.pop("conference_of", None)
        super().end_call(call, now, reason, failed=failed)

    def _dissolve(self, a: Call, b: Call) -> None:
        a.extra.pop("conference", None)
        b.extra.pop("conference", None)
        self.emit(Conference(calls=()))
        log.info("conference: %s and %s no longer mixed", a.id, b.id)
