"""Softkeys per state, like the 7960 SIP firmware's bottom row.

Why a pure table: the labels the phone shows are also the names the control
API accepts (``POST /api/softkey {"name": "hold"}``, case-insensitive), so one
function decides both what is drawn and what a press may do. A press of a
key that is not shown is refused (the API answers 409).

Rows (at most 4 keys, the 7960's panel width):

- idle: Redial, NewCall, CFwdAll, DND
- dialing: Redial, EndCall before the first key (Redial, CallBack, EndCall while a
  CallBack waits: pressed, it cancels it); then Dial, <<, EndCall (plus Transfer
  while a transfer waits for its target)
- calling / proceeding / ringback: EndCall
- incoming: Answer, Decline  (a call waiting on top of a live call: Answer, Decline, EndCall)
- connected: Hold, Transfer, EndCall, Confrn (with a second call: Hold, Transfer, EndCall, Swap;
  when that is a Confrn consultation: Hold, Confrn, EndCall, Swap; in a conference: EndCall)
- holding: Resume, NewCall, EndCall (with a second call: Resume, Transfer, EndCall, Swap)
- held: Hold, EndCall
- ended: NewCall, Redial (ended busy, a call we placed: NewCall, Redial, CallBack, RFC 5359
  §2.17 automatic redial, ``callback.py``)
- idle while a CallBack rings "<number> is free": Dial, Exit
- a list screen (Directories, Settings, Services): its own row (``menus.py``)
"""

from __future__ import annotations

from firmware.phone.call import CallState
from firmware.phone.view import PhoneView

ANSWER, DECLINE, ENDCALL, HOLD, RESUME = "Answer", "Decline", "EndCall", "Hold", "Resume"
TRANSFER, NEWCALL, SWAP, CFWDALL, DND = "Transfer", "NewCall", "Swap", "CFwdAll", "DND"
REDIAL, DIAL, BACKSPACE, CONFRN = "Redial", "Dial", "<<", "Confrn"
CALLBACK = "CallBack"
#: the list screens' keys (``menus.py``)
SELECT, NEXT, PREV, EXIT, LOWER, RAISE = "Select", "Next", "Prev", "Exit", "Lower", "Raise"

ALL_SOFTKEYS = frozenset({ANSWER, DECLINE, ENDCALL, HOLD, RESUME, TRANSFER, NEWCALL, SWAP,
                          CFWDALL, DND, REDIAL, DIAL, BACKSPACE, CONFRN, CALLBACK,
                          SELECT, NEXT, PREV, EXIT, LOWER, RAISE})

_S = CallState


def softkeys(view: PhoneView) -> tuple[str, ...]:
    """The labels of the bottom row, left to right."""
    if view.menu is not None:
        return view.menu.softkeys
    call, other = view.focused, view.other
    if other is not None and other.state is _S.INCOMING and (
            call is None or call.state is not _S.INCOMING):
        # a call waiting: answering it holds the one we talk on (seed B-6)
        return (ANSWER, DECLINE, ENDCALL) if call is not None else (ANSWER, DECLINE)
    if call is None:
        return (DIAL, EXIT) if view.callback_alert else (REDIAL, NEWCALL, CFWDALL, DND)
    state = call.state
    if state is _S.DIALING:
        if not call.remote:  # dial tone: the 7960 offers Redial here (and CallBack, to
            # cancel one that waits, as the CallBack key does on desk phones that have it)
            return (REDIAL, CALLBACK, ENDCALL) if view.callback else (REDIAL, ENDCALL)
        keys = (DIAL, BACKSPACE, ENDCALL)
        return (TRANSFER, *keys) if view.transferring else keys
    if state in (_S.CALLING, _S.PROCEEDING, _S.RINGBACK):
        return (TRANSFER, ENDCALL) if view.transferring else (ENDCALL,)
    if state is _S.INCOMING:
        return (ANSWER, DECLINE)
    second = other is not None and other.state is not _S.ENDED
    if state is _S.CONNECTED:
        if call.conference:
            return (ENDCALL,)
        if second:
            return (HOLD, CONFRN if view.conferencing else TRANSFER, ENDCALL, SWAP)
        return (HOLD, TRANSFER, ENDCALL, CONFRN)
    if state is _S.HOLDING:
        return (RESUME, TRANSFER, ENDCALL, SWAP) if second else (RESUME, NEWCALL, ENDCALL)
    if state is _S.HELD:
        return (HOLD, TRANSFER, ENDCALL, SWAP) if second else (HOLD, ENDCALL)
    if call.direction == "out" and call.reason == "busy":
        return (NEWCALL, REDIAL, CALLBACK)
    return (NEWCALL, REDIAL)


def normalise(name: str) -> str | None:
    """Map an API name (``"endcall"``, ``"CFWDALL"``) to its label, or None if unknown."""
    wanted = name.strip().lower()
    if wanted == "autoredial":  # RFC 5359's name for CallBack
        return CALLBACK
    return next((k for k in ALL_SOFTKEYS if k.lower() == wanted), None)


def label_for_key(view: PhoneView, key: str) -> str | None:
    """The label under hardware key ``softkey1``..``softkey4``, or None."""
    if not key.startswith("softkey"):
        return None
    try:
        index = int(key[len("softkey"):]) - 1
    except ValueError:
        return None
    row = softkeys(view)
    return row[index] if 0 <= index < len(row) else None
