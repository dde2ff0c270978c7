"""The seed's step tables, figures B-1..B-17, and what each figure lets sit between its steps.

Why all here: the demo (phone-to-phone figures) and the flow tests (gateway
figures with SIPp, proxy figures with Kamailio) compare their recordings with
the same tables under the same rule (``firmware.demo.match``). The steps are
the SIP rows of each figure of /work/shared/seed (PBX/ISDN rows dropped), in
the seed's order, with the seed's parties: phones "A", "B", "C"; "Gateway 1",
"Phone", "Gateway 2"; "Proxy" and the redirect server "Redirect". Every
allowance is named with its reason; nothing else may sit between two steps.

``after`` is what the run does once the figure is over (the test hangs up): not
the seed's, but checked in order all the same, so a stray message at the end
fails like one in the middle.
"""

from __future__ import annotations

from firmware.demo.match import FigureSpec, Step, trying

A, B, C = "A", "B", "C"
G1, P, G2 = "Gateway 1", "Phone", "Gateway 2"
PX, RS = "Proxy", "Redirect"


def _call(x: str, y: str) -> list[Step]:
    """x calls y, y rings and answers, x ACKs (steps 1-4 of every phone-to-phone figure)."""
    return [(x, y, "INVITE"), (y, x, "180 Ringing"), (y, x, "200 OK"), (x, y, "ACK")]


def _reinvite(x: str, y: str) -> list[Step]:
    """x re-INVITEs y (hold or resume), y answers, x ACKs."""
    return [(x, y, "INVITE"), (y, x, "200 OK"), (x, y, "ACK")]


def _bye(x: str, y: str, label: str = "BYE") -> list[Step]:
    return [(x, y, label), (y, x, "200 OK")]


def _proxied_bye(x: str, y: str) -> list[Step]:
    """x hangs up through the proxy: BYE relayed to y, y's 200 relayed back."""
    return [(x, PX, "BYE"), (PX, y, "BYE"), (y, PX, "200 OK"), (PX, x, "200 OK")]


#: our phones answer every INVITE with 100 Trying at once (like the 7960, cf. the gateway
#: figures' step 4); the phone-to-phone tables leave it out
_WHY_100 = "the phone's 100 Trying to each INVITE (the phone-to-phone tables omit it)"
#: a stateful proxy's own hop-by-hop messages the proxy figures leave out
_WHY_PROXY = ("the proxy's own 100 Trying to A, its ACK to the redirect server's 3xx "
              "(RFC 3261 §17.1.1.3), the phones' 100 Trying, and the 180 it relays to A")

# fmt: off
FIGURES: dict[str, FigureSpec] = {
    # -------------------------------------------------- gateway (SIPp) to phone
    "B-1": FigureSpec(steps=(
        (G1, P, "INVITE"), (P, G1, "100 Trying"), (P, G1, "180 Ringing"), (P, G1, "200 OK"),
        (G1, P, "ACK"), (P, G1, "BYE"), (G1, P, "200 OK"))),
    "B-2": FigureSpec(steps=(
        (G1, P, "INVITE"), (P, G1, "100 Trying"), (P, G1, "180 Ringing"), (P, G1, "200 OK"),
        (G1, P, "ACK"), *_reinvite(P, G1), *_reinvite(P, G1)),
        after=tuple(_bye(P, G1))),
    "B-3": FigureSpec(steps=(
        (G1, P, "INVITE"), (P, G1, "100 Trying"), (P, G1, "180 Ringing"), (P, G1, "200 OK"),
        (G1, P, "ACK"), (P, G1, "BYE (Also)"), (G1, P, "200 OK"),
        (G1, G2, "INVITE"), (G2, G1, "100 Trying"), (G2, G1, "180 Ringing"), (G2, G1, "200 OK"),
        (G1, G2, "ACK")),
        after=tuple(_bye(G1, G2))),
    "B-12": FigureSpec(steps=(
        (G1, P, "INVITE"), (P, G1, "100 Trying"), (P, G1, "486 Busy Here"), (G1, P, "ACK"))),
    "B-13": FigureSpec(steps=(
        (G1, P, "INVITE"), (P, G1, "100 Trying"), (P, G1, "180 Ringing"), (G1, P, "CANCEL"),
        (P, G1, "200 OK")),
        # RFC 3261 §9.2: the cancelled INVITE ends with 487, which the gateway ACKs
        after=((P, G1, "487 Request Terminated"), (G1, P, "ACK"))),
    # step 3 is "4xx/5xx/6xx Failure": the test puts in the status it provokes (with_step)
    "B-14": FigureSpec(steps=(
        (G1, P, "INVITE"), (P, G1, "100 Trying"), (P, G1, "4xx/5xx/6xx Failure"), (G1, P, "ACK"))),
    # -------------------------------------------------- phone to phone (the demo)
    "B-4": FigureSpec(steps=(*_call(A, B), *_reinvite(B, A), *_reinvite(B, A)),
                      extras=trying((A, B), (B, A)), after=tuple(_bye(A, B)), why=_WHY_100),
    "B-5": FigureSpec(steps=(*_call(A, B), *_reinvite(B, A), *_call(B, C), *_bye(B, C),
                             *_reinvite(B, A)),
                      extras=trying((A, B), (B, A), (B, C)), after=tuple(_bye(A, B)),
                      why=_WHY_100),
    "B-6": FigureSpec(steps=(
        *_call(A, B), (C, B, "INVITE"), (B, C, "180 Ringing"), *_reinvite(B, A),
        (B, C, "200 OK"), (C, B, "ACK"), *_reinvite(B, C), *_reinvite(B, A), *_bye(B, A),
        *_reinvite(B, C)),
        extras=trying((A, B), (C, B), (B, A), (B, C)), after=tuple(_bye(C, B)), why=_WHY_100),
    "B-7": FigureSpec(steps=(*_call(A, B), *_bye(B, A, "BYE (Also)"), *_call(A, C)),
                      extras=trying((A, B), (A, C)), after=tuple(_bye(A, C)), why=_WHY_100),
    # steps 12-15: B's BYE to C, C's 200 OK, and only then B's BYE with Also to A
    "B-8": FigureSpec(steps=(*_call(A, B), *_reinvite(B, A), *_call(B, C), *_bye(B, C),
                             *_bye(B, A, "BYE (Also)"), *_call(A, C)),
                      extras=trying((A, B), (B, A), (B, C), (A, C)), after=tuple(_bye(A, C)),
                      why=_WHY_100),
    "B-15": FigureSpec(steps=((A, B, "INVITE"), (B, A, "486 Busy Here"), (A, B, "ACK")),
                       extras=trying((A, B)), why=_WHY_100),
    "B-16": FigureSpec(steps=((A, B, "INVITE"), (B, A, "180 Ringing"), (A, B, "CANCEL"),
                              (B, A, "200 OK")),
                       extras=trying((A, B)),
                       # RFC 3261 §9.2: the cancelled INVITE ends with 487, which A ACKs
                       after=((B, A, "487 Request Terminated"), (A, B, "ACK")), why=_WHY_100),
    # -------------------------------------------------- through a proxy (Kamailio)
    "B-9": FigureSpec(steps=(
        (A, PX, "INVITE"), (PX, RS, "INVITE"), (RS, PX, "302 Moved Temporarily"), (PX, C, "INVITE"),
        (C, PX, "180 Ringing"), (C, PX, "200 OK"), (PX, A, "200 OK"), (A, PX, "ACK"),
        (PX, C, "ACK")),
        extras=trying((A, PX), (PX, C)) | {(PX, RS, "ACK"), (PX, A, "180 Ringing")},
        after=tuple(_proxied_bye(A, C)), registrations=True, why=_WHY_PROXY),
    "B-10": FigureSpec(steps=(
        (A, PX, "INVITE"), (PX, RS, "INVITE"), (RS, PX, "300 Multiple Choices"), (PX, B, "INVITE"),
        (B, PX, "486 Busy Here"), (PX, B, "ACK"), (PX, C, "INVITE"), (C, PX, "180 Ringing"),
        (C, PX, "200 OK"), (PX, A, "200 OK"), (A, PX, "ACK"), (PX, C, "ACK")),
        extras=trying((A, PX), (PX, B), (PX, C)) | {(PX, RS, "ACK"), (PX, A, "180 Ringing")},
        after=tuple(_proxied_bye(A, C)), registrations=True, why=_WHY_PROXY),
    "B-11": FigureSpec(steps=(
        (A, PX, "INVITE"), (PX, RS, "INVITE"), (RS, PX, "300 Multiple Choices"), (PX, B, "INVITE"),
        (B, PX, "180 Ringing"), (PX, A, "180 Ringing"), (PX, B, "CANCEL"), (B, PX, "200 OK"),
        (PX, C, "INVITE"), (C, PX, "180 Ringing"), (C, PX, "200 OK"), (PX, A, "200 OK"),
        (A, PX, "ACK"), (PX, C, "ACK")),
        extras=trying((A, PX), (PX, B), (PX, C)) | {
            (PX, RS, "ACK"), (PX, A, "180 Ringing"),
            # RFC 3261 §9.2: B's cancelled INVITE ends with 487, which the proxy ACKs
            (B, PX, "487 Request Terminated"), (PX, B, "ACK")},
        # Kamailio starts C's branch as it CANCELs B's (the seed serialises them): the
        # CANCEL (7) and B's 200 OK to it (8) may sit anywhere after the 180 relayed to A
        # (6) and before the 200 OK relayed to A (12), C's INVITE and 180 around them
        floats={7: (6, 12), 8: (7, 12)},
        after=tuple(_proxied_bye(A, C)), registrations=True, why=_WHY_PROXY),
    # steps 1-4 are the whole figure; the call it resends then goes on (``after``)
    "B-17": FigureSpec(steps=(
        (A, PX, "INVITE"), (PX, A, "407 Authentication Error"), (A, PX, "ACK"), (A, PX, "INVITE")),
        extras=trying((A, PX), (PX, B)),
        after=((PX, B, "INVITE"), (B, PX, "180 Ringing"), (PX, A, "180 Ringing"),
               (B, PX, "200 OK"), (PX, A, "200 OK"), (A, PX, "ACK"), (PX, B, "ACK"),
               *_proxied_bye(A, B)),
        # the 180 the proxy relays to A (7) may reach A after B already sent its 200 OK
        floats={7: (6, 9)},
        registrations=True,
        why="the proxy's 100 Trying to each INVITE and B's to the relayed one"),
}
# fmt: on

TITLES = {
    "B-1": "Gateway-to-Cisco SIP IP Phone—Successful Setup and Disconnect",
    "B-2": "Gateway-to-Cisco SIP IP Phone Call—Successful Call Setup and Call Hold",
    "B-3": "Gateway-to-Cisco SIP IP Phone Call—Successful Call Setup and Call Transfer",
    "B-4": "Cisco SIP IP Phone-to-Cisco SIP IP Phone Simple Call Hold",
    "B-5": "Cisco SIP IP Phone-to-Cisco SIP IP Phone Call Hold with Consultation",
    "B-6": "Cisco SIP IP Phone-to-Cisco SIP IP Phone Call Waiting",
    "B-7": "Cisco SIP IP Phone-to-Cisco SIP IP Phone Call Transfer without Consultation",
    "B-8": "Cisco SIP IP Phone-to-Cisco SIP IP Phone Call Transfer with Consultation",
    "B-9": "Cisco SIP IP Phone-to-Cisco SIP IP Phone Network Call Forwarding (Unconditional)",
    "B-10": "Cisco SIP IP Phone-to-Cisco SIP IP Phone Network Call Forwarding (Busy)",
    "B-11": "Cisco SIP IP Phone-to-Cisco SIP IP Phone Network Call Forwarding (No Answer)",
    "B-12": "Gateway-to-Cisco SIP IP Phone—Called User is Busy",
    "B-13": "Gateway-to-Cisco SIP IP Phone—Called User Does Not Answer",
    "B-14": "Gateway-to-Cisco SIP IP Phone—Client, Server, or Global Error",
    "B-15": "Cisco SIP IP Phone-to-Cisco SIP IP Phone—Called User is Busy",
    "B-16": "Cisco SIP IP Phone-to-Cisco SIP IP Phone—Called User Does Not Answer",
    "B-17": "Cisco SIP IP Phone-to-Cisco SIP IP Phone—Authentication Error",
}
