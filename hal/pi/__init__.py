"""Raspberry Pi backends (gpiozero, luma.oled, pyalsaaudio); imported lazily by hal.load("pi")."""
