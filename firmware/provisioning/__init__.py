"""Provisioning: how a handset gets its configuration (Cisco 7940/7960 style).

Modules (import the one you need; this package imports nothing, so call
control can use ``digits`` without pulling in asyncio):

* ``cnf`` / ``values`` / ``keys`` / ``schema``: ``key: value`` files -> ``PhoneConfig``
* ``dialplan`` / ``digits``: dialplan.xml and the sans-IO ``DigitCollector``
* ``tftp_proto`` (sans-IO) / ``tftp`` (asyncio): RFC 1350/2347/2348/2349 client
* ``dhcp``: TFTP server from DHCP option 150/66 in the Pi's lease files
* ``cache`` / ``diff`` / ``loader`` / ``boot``: boot order, last-good cache, resync
"""
