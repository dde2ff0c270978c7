"""piphone: SIP desk-phone firmware for a Raspberry Pi handset.

Layers, imported downward only (import-linter contracts in pyproject.toml):
sans-IO cores ``firmware.sip`` and ``firmware.media``, ``firmware.provisioning``
and ``firmware.phone`` (call control); ``firmware.surface``, what the assembled
phone exposes; the asyncio edges ``firmware.net`` and ``firmware.control``;
the assembly and process ``firmware.app`` (and ``__main__``); the demo and
test tooling ``firmware.demo``, which the product never imports. ``hal`` sits
apart, below all. Map: docs/architecture.md.
"""

__version__ = "0.1.0"
