"""Assembly and process: the pieces a running handset is made of, wired together.

``core.App`` joins the HAL, the SIP endpoint, media and call control on one
clock; ``host.PhoneHost`` puts an App on the asyncio loop with its sockets;
``runloop`` runs a handset under systemd (resync, restart, READY, watchdog);
``cli`` turns ``python -m firmware run`` arguments into that run.
"""
