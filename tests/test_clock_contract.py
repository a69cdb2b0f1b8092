"""Where the calendar clock may be read: nowhere that times an interval (issue 14 item 9).

The calendar (``time.time()``, ``datetime.now()``, Qt's ``currentDateTime``...) jumps when the
system clock is set; intervals (beat times, phases, markers, durations, throttles, timeouts,
replay pacing) are timed on ``time.monotonic``/``loop.time()`` or on session time. This test
reads every module of the three packages and lists each calendar reading; each must be one of
``ALLOWED``, with the reason it is a "when" and not a "how long". The session's own reading is
:class:`~biofeedback.core.clock.SessionClock`, injected and made to jump in
``tests/session/test_clock_jumps.py``.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("biofeedback", "sensors", "protocols")

ALLOWED: dict[tuple[str, str], str] = {
    ("biofeedback/core/clock.py", "system_wall_utc"):
        "the session clock's calendar, read once per session for started_utc",
    ("biofeedback/store/database.py", "_utc_now"):
        "when a participant was created, ended_utc (shown, never subtracted), and the start of "
        "an import whose file tells none",
    ("biofeedback/store/studies.py", "_utc_now"):
        "when a study was created, a participant enrolled",
    ("biofeedback/comparison/report.py", "_page"): "the date a report was written",
    ("biofeedback/ui/main_window.py", "MainWindow.choose_backup_file"):
        "the date in the backup's suggested file name",
    ("biofeedback/session/launch.py", "make_source"): "a seed for the simulated strap, not a time",
    ("biofeedback/ui/launch.py", "_process_start"):
        "the OS tells the process start in calendar time: moved onto the monotonic clock at once",
    ("sensors/virtual/packet_log.py", "PacketLog.packet"):
        "wall_time_s, to read the log beside others; records are ordered by monotonic_s",
    ("sensors/virtual/packet_log.py", "PacketLog.event"):
        "wall_time_s, to read the log beside others; records are ordered by monotonic_s",
    ("sensors/virtual/packet_log.py", "PacketLog.pmd_frame"):
        "wall_time_s, to read the log beside others; records are ordered by monotonic_s",
}

_TIME_NOW = {"time", "time_ns"}
_TIME_NOW_WITHOUT_ARGUMENT = {"localtime", "gmtime", "ctime"}
_DATETIME_NOW = {"now", "utcnow", "today"}
_QT_CALENDAR = {"QDateTime", "QDate", "QTime"}


def _name(node: ast.expr) -> str | None:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return node.attr
    return None


def _reads_calendar(call: ast.Call, bare_time_names: set[str]) -> bool:
    """Whether ``call`` reads the calendar clock now."""
    func = call.func
    if isinstance(func, ast.Name):
        return func.id in bare_time_names
    if not isinstance(func, ast.Attribute):
        return False
    owner = _name(func.value)
    if owner == "time":
        return func.attr in _TIME_NOW or (
            func.attr in _TIME_NOW_WITHOUT_ARGUMENT and not call.args
        ) or (func.attr == "strftime" and len(call.args) == 1)
    if owner in {"datetime", "date"}:
        return func.attr in _DATETIME_NOW
    return owner in _QT_CALENDAR and func.attr.startswith("current")


class _Finder(ast.NodeVisitor):
    """Collects ``(enclosing function, line)`` of every calendar reading in a module."""

    def __init__(self, bare_time_names: set[str]) -> None:
        self.found: list[tuple[str, int]] = []
        self._scope: list[str] = []
        self._bare = bare_time_names

    def _visit_scope(self, node: ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef) -> None:
        self._scope.append(node.name)
        self.generic_visit(node)
        self._scope.pop()

    visit_ClassDef = _visit_scope  # noqa: N815 - ast.NodeVisitor's naming
    visit_FunctionDef = _visit_scope  # noqa: N815
    visit_AsyncFunctionDef = _visit_scope  # noqa: N815

    def visit_Call(self, node: ast.Call) -> None:
        if _reads_calendar(node, self._bare):
            self.found.append((".".join(self._scope) or "<module>", node.lineno))
        self.generic_visit(node)


def calendar_reads(source: str) -> list[tuple[str, int]]:
    """``(enclosing function, line)`` of each calendar reading in module ``source``."""
    tree = ast.parse(source)
    bare = {
        alias.asname or alias.name
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom) and node.module == "time"
        for alias in node.names
        if alias.name in _TIME_NOW
    }
    finder = _Finder(bare)
    finder.visit(tree)
    return finder.found


def all_calendar_reads() -> dict[tuple[str, str], list[int]]:
    reads: dict[tuple[str, str], list[int]] = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            rel = path.relative_to(ROOT).as_posix()
            for scope, line in calendar_reads(path.read_text(encoding="utf-8")):
                reads.setdefault((rel, scope), []).append(line)
    return reads


def test_the_calendar_is_read_only_where_a_moment_is_meant() -> None:
    reads = all_calendar_reads()
    unexpected = {
        f"{path}:{lines[0]} in {scope}" for (path, scope), lines in reads.items()
        if (path, scope) not in ALLOWED
    }
    assert not unexpected, (
        "calendar clock read where an interval may be timed (use time.monotonic, loop.time() "
        f"or the session's SessionClock; or add it to ALLOWED with the reason): {unexpected}"
    )
    # Every exception is still there: a stale entry would let a new reading hide behind it.
    assert set(ALLOWED) == set(reads)


def test_the_finder_sees_every_way_of_reading_the_calendar() -> None:
    source = """
import time
import datetime as dt
from datetime import datetime, date
from time import time as now

def f():
    time.time(); time.time_ns(); time.localtime(); time.strftime("%H")
    datetime.now(); datetime.utcnow(); date.today(); dt.datetime.now()
    QDateTime.currentDateTime(); QTime.currentTime()
    now()

def g():
    time.monotonic(); time.perf_counter(); time.localtime(0); time.strftime("%H", t)
    datetime.fromisoformat("2025-01-01"); loop.time(); QElapsedTimer().elapsed()
"""
    reads = calendar_reads(source)
    assert {scope for scope, _ in reads} == {"f"}
    assert len(reads) == 11
