"""Bluetooth LE heart-rate straps (any vendor) through bleak."""
