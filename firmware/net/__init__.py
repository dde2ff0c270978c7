"""The asyncio edge for the network: SIP transports (UDP/TCP, RFC 3261 §18), RTP sockets.

``transport.SipTransport`` moves SIP bytes (``connections.ConnectionPool``
holds its TCP connections); ``rtp.py`` the media sockets; ``resolve`` and
``router`` pick servers (RFC 3263). The assembly (``firmware.app``) pumps the
sans-IO cores over them; tests and benches use ``firmware.demo.driver``.
"""
