"""A key matrix on gpiozero's mock pins: row pins that wire pressed keys to columns.

gpiozero's MockFactory has no keypad model. ``KeyMatrix`` remembers which keys
are closed; whenever a row pin's output level changes, each column pin is
driven low if closed keys connect it to a row that is low, else high (its
pull-up). So the real scanning code in ``hal.pi.keypad`` reads exactly what a
wired matrix would give it.
"""

from __future__ import annotations

from typing import Any

from gpiozero.pins.mock import MockPin


class KeyMatrix:
    def __init__(self, factory: Any, rows: tuple[int, ...], cols: tuple[int, ...], keys: tuple[tuple[str, ...], ...]) -> None:
        self.keys = keys
        self.closed: set[tuple[int, int]] = set()
        self.col_pins = [factory.pin(p) for p in cols]
        self.row_pins = [factory.pin(p, pin_class=_RowPin, matrix=self) for p in rows]

    def _where(self, key: str) -> tuple[int, int]:
        for r, row in enumerate(self.keys):
            if key in row:
                return r, row.index(key)
        raise KeyError(key)

    def update(self) -> None:
        """Columns follow the rows they are joined to through closed keys, key
        after key as in a real matrix without diodes (which is where ghost keys
        come from): a column is low if any low row reaches it."""
        n_rows = len(self.row_pins)
        parent = list(range(n_rows + len(self.col_pins)))  # nodes: rows, then columns

        def find(i: int) -> int:
            while parent[i] != i:
                parent[i] = parent[parent[i]]
                i = parent[i]
            return i

        for r, c in self.closed:
            parent[find(r)] = find(n_rows + c)
        low_nets = {
            find(r) for r, rp in enumerate(self.row_pins) if rp.function == "output" and not rp.state
        }
        for c, cp in enumerate(self.col_pins):
            cp.drive_low() if find(n_rows + c) in low_nets else cp.drive_high()

    def close_key(self, key: str) -> None:
        self.closed.add(self._where(key))
        self.update()

    def open_key(self, key: str) -> None:
        self.closed.discard(self._where(key))
        self.update()


class _RowPin(MockPin):
    def __init__(self, factory: Any, info: Any, matrix: KeyMatrix | None = None) -> None:
        super().__init__(factory, info)
        self.matrix = matrix

    def _change_state(self, value: bool) -> bool:
        changed = super()._change_state(value)
        if changed and self.matrix is not None and self.function == "output":
            self.matrix.update()
        return changed
