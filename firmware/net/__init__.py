"""The asyncio shell: SIP transports (UDP/TCP, RFC 3261 §18) and the SipDriver.

``transport.SipTransport`` moves bytes; ``driver.SipDriver`` feeds a sans-IO
``firmware.sip.endpoint.Endpoint`` from it and arms its one timer.  RTP
sockets live in ``rtp.py`` (media).
"""
