"""Hardware abstraction layer of the handset.

``hal`` knows nothing of SIP or of the firmware: it offers keypad, hookswitch,
display, ringer and audio behind small interfaces (``hal.base``), a clock
(``hal.clock``), and backends: ``hal.pi`` (gpiozero, luma.oled, pyalsaaudio)
and ``hal.mock`` (driven by a virtual clock, for headless tests).
"""
