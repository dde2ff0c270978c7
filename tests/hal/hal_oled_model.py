"""Recording serial interfaces and a model of the OLED controllers' display RAM.

The model applies the addressing commands and data bytes that the luma
driver (and hal.pi.display's partial redraws) send, the way the datasheets
describe them: SSD1306/SSD1309 horizontal addressing (COLUMNADDR 0x21,
PAGEADDR 0x22, cursor wraps column then page) and SH1106 page addressing
(0xB0|page, low/high column nibbles, cursor moves along the page). Tests then
compare the RAM with the image that should be on the panel.
"""

from __future__ import annotations

from typing import Any

import numpy as np


class RecordingSerial:
    """A luma serial interface that keeps every command and data write."""

    def __init__(self) -> None:
        self.ops: list[tuple[str, list[int]]] = []

    def command(self, *cmd: int) -> None:
        self.ops.append(("cmd", list(cmd)))

    def data(self, data: Any) -> None:
        self.ops.append(("data", list(data)))

    def cleanup(self) -> None:
        self.ops.append(("cleanup", []))

    def take(self) -> list[tuple[str, list[int]]]:
        ops, self.ops = self.ops, []
        return ops

    @staticmethod
    def data_bytes(ops: list[tuple[str, list[int]]]) -> int:
        return sum(len(b) for kind, b in ops if kind == "data")


class FakeSMBus:
    """What luma's i2c interface needs from smbus2, recording each block write."""

    def __init__(self) -> None:
        self.writes: list[tuple[int, int, list[int]]] = []

    def write_i2c_block_data(self, addr: int, ctrl: int, data: list[int]) -> None:
        assert len(data) <= 32
        self.writes.append((addr, ctrl, list(data)))


class Ssd1306Ram:
    def __init__(self, width: int = 128, pages: int = 8, colstart: int = 0) -> None:
        self.ram = np.zeros((pages, width), dtype=np.uint8)
        self.colstart = colstart
        self.c0, self.c1, self.p0, self.p1 = 0, width - 1, 0, pages - 1
        self.col, self.page = 0, 0

    def apply(self, ops: list[tuple[str, list[int]]]) -> None:
        for kind, b in ops:
            if kind == "cmd":
                i = 0
                while i < len(b):
                    if b[i] == 0x21:
                        self.c0, self.c1 = b[i + 1] - self.colstart, b[i + 2] - self.colstart
                        self.col = self.c0
                        i += 3
                    elif b[i] == 0x22:
                        self.p0, self.p1 = b[i + 1], b[i + 2]
                        self.page = self.p0
                        i += 3
                    else:
                        raise AssertionError(f"unexpected command 0x{b[i]:02X} after init")
            elif kind == "data":
                for byte in b:
                    self.ram[self.page, self.col] = byte
                    self.col += 1
                    if self.col > self.c1:
                        self.col = self.c0
                        self.page = self.page + 1 if self.page < self.p1 else self.p0


class Sh1106Ram:
    def __init__(self, width: int = 128, pages: int = 8, offset: int = 2) -> None:
        self.ram = np.zeros((pages, width), dtype=np.uint8)
        self.offset = offset
        self.page, self.col = 0, 0

    def apply(self, ops: list[tuple[str, list[int]]]) -> None:
        for kind, b in ops:
            if kind == "cmd":
                for byte in b:
                    if 0xB0 <= byte <= 0xB7:
                        self.page = byte - 0xB0
                    elif byte <= 0x0F:
                        self.col = (self.col & 0xF0) | byte
                    elif 0x10 <= byte <= 0x1F:
                        self.col = (self.col & 0x0F) | ((byte & 0x0F) << 4)
                    else:
                        raise AssertionError(f"unexpected command 0x{byte:02X} after init")
            elif kind == "data":
                for byte in b:
                    x = self.col - self.offset
                    if 0 <= x < self.ram.shape[1]:
                        self.ram[self.page, x] = byte
                    self.col += 1
