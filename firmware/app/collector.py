"""During a call the garbage collector leaves alone what was alive before it (``gc.freeze``).

Why: a full collection walks every tracked object of the process (the phone's
whole heap, ~40 000 objects once the first call has loaded the codecs) and holds
the one asyncio loop while it does: 28-30 ms of CPU on the bench VM
(bench/bench_web.py, ``thread_time``), more on a Pi. The RTP packets due in that
time leave late, in a burst, and the far end's jitter buffer has to absorb it. A
call creates few objects that live long; what existed when it started (modules,
configuration, call control) need not be walked again until it ends.

So the first call's start freezes the heap and the last call's end unfreezes it:
during calls, generations 0 and 1 still collect the young objects (well under a
millisecond each), and a full collection walks only what was made since the call
began. The idle phone collects as usual; a cycle among the frozen objects that
became garbage in a call is collected after it.
"""

from __future__ import annotations

import gc

_in_call: set[int] = set()  # id() of each App with a call's media running (one per handset)


def hold(owner: object, in_call: bool) -> None:
    """``owner`` (an App) has call media running now, or no longer. Process-wide: handsets
    sharing a process (tests, the demo) unfreeze when the last of their calls ends."""
    key = id(owner)
    if in_call:
        if not _in_call:
            gc.freeze()
        _in_call.add(key)
    elif key in _in_call:
        _in_call.discard(key)
        if not _in_call:
            gc.unfreeze()
