"""piphone: SIP desk-phone firmware for a Raspberry Pi handset.

Layers, imported downward only (checked by import-linter in CI):
``firmware.sip`` (sans-IO SIP core) and ``firmware.media`` (sans-IO RTP and
codecs) at the bottom; ``firmware.phone`` (call control) above them and
``hal.base``; the shell (``firmware.net``, ``firmware.control``,
``firmware.app``, ``__main__``) wires asyncio, sockets and the HAL.
"""

__version__ = "0.1.0"
