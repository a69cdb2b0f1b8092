"""The pinned Qt binding keeps Python's reference counts straight.

PySide6 6.12.0 on Python 3.11 dropped one reference to None on every call returning nothing;
after enough calls a long-running window aborts with "deallocating None". The pin in
pyproject.toml avoids it; this guards any change of the pin.
"""

from __future__ import annotations

import sys

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QLabel


def test_calls_returning_nothing_do_not_leak_references_to_none(qtbot):
    label = QLabel()
    qtbot.addWidget(label)
    timer = QTimer()
    before = sys.getrefcount(None)
    for _ in range(500):
        label.setText("x")
        label.update()
        timer.setInterval(10)
    assert abs(sys.getrefcount(None) - before) < 50
