"""``compare`` on simulated studies of 10, 100 and 1,000 sessions: time per session and peak
memory against the study's size; prints JSON (issue 17 goal 6).

Each study is N/2 simulated participants x 2 sessions of about 10 min (practice_comparison
scaled to 10/39 of its 39 min: baseline 77 s, two 231-s practices in the participant's
counterbalanced order, washout, recovery; every phase is shorter than the 240-s window, so each
window is its whole phase), built once into ``--cache-dir`` and reused (1,000 sessions took
19 min to build on the loaded 2-core machine). ``compare --study bench --json --csv FILE`` then
runs, exactly as on the command line, in a fresh interpreter per run (the sizes interleaved,
``--repeats`` times; the modules it imports are imported before its clock starts), which
reports its wall and CPU seconds (its own and its workers'), the peak RSS of its own process
(which gathers the rows, builds the statistics and writes the JSON and CSV:
``peak_rss_mb_main``) and of the largest worker (``peak_rss_mb_worker``).

Per session: seconds per added session between consecutive sizes (``marginal_cpu``: CPU
seconds, little moved by the other jobs on a loaded machine; ``marginal_wall``), so that a
run's fixed cost cancels out. The goal is met when the CPU cost of a session from 100 to 1,000
is within 1.25x of that from 10 to 100 (constant per session: nothing grows with the square of
the study) and the main process's peak at 1,000 within 1.25x of that at 100 (memory bounded:
each session's RR is loaded and dropped in a worker, only its window rows are kept).
``--baseline CHECKOUT`` runs another checkout's compare in every round too (a paired
before/after) and checks that both write byte-identical JSON and CSV.

    python benchmarks/compare_scaling.py [--sizes 10 100 1000] [--repeats 3]
                                         [--cache-dir /tmp/biofeedback-compare-scaling]
                                         [--baseline /path/to/main/checkout]
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import ROOT, machine

SESSION_MIN = 10.0
PRACTICE_COMPARISON_MIN = 39.0  # the built-in template's length
SESSIONS_PER_PARTICIPANT = 2
STUDY = "bench"
TIME_TOLERANCE = 1.25
MEMORY_TOLERANCE = 1.25
BUILT_MARK = "built.json"


def study_dir(cache: Path, sessions: int) -> Path:
    """Folder of the study of ``sessions`` sessions (its database and ``built.json``)."""
    return cache / f"sessions{sessions}-min{SESSION_MIN:g}"


def build(data_dir: Path, sessions: int) -> dict[str, Any]:
    """Simulate the study (unless ``built.json`` says it is complete); returns its build
    record (sessions, seconds)."""
    mark = data_dir / BUILT_MARK
    if mark.exists():
        return dict(json.loads(mark.read_text()), reused=True)
    from biofeedback.simulation import simulate_study
    from biofeedback.store import SessionStore

    if data_dir.exists():  # an interrupted build: start again
        for leftover in data_dir.iterdir():
            leftover.unlink()
    data_dir.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    with SessionStore.open(data_dir) as store:
        study = simulate_study(
            store, STUDY, participants=sessions // SESSIONS_PER_PARTICIPANT,
            effect_ln_rmssd=0.2, seed=1, sessions_per_participant=SESSIONS_PER_PARTICIPANT,
            duration_scale=SESSION_MIN / PRACTICE_COMPARISON_MIN,
            progress=lambda i, n: print(f"\rbuilding {sessions}: participant {i}/{n}", end="",
                                        file=sys.stderr, flush=True),
        )
    print(file=sys.stderr)
    record = {"sessions": len(study.session_ids),
              "build_s": round(time.perf_counter() - started, 1)}
    mark.write_text(json.dumps(record))
    return dict(record, reused=False)


class _FirstProgress:
    """Standard error that notes when the first "analysed" progress line is written."""

    def __init__(self, stream: Any) -> None:
        self.stream = stream
        self.first: float | None = None

    def write(self, text: str) -> int:
        if self.first is None and "analysed" in text:
            self.first = time.perf_counter()
        return int(self.stream.write(text))

    def flush(self) -> None:
        self.stream.flush()


PRE_IMPORTS = (
    "pandas", "statsmodels.formula.api", "biofeedback.cli.main", "biofeedback.cli.compare",
    "biofeedback.comparison.compare", "biofeedback.analysis.windows", "biofeedback.stats.mixed",
    "biofeedback.stats.breathing",
)
"""Modules the command's own process imports on its way, imported before the clock starts:
the same few seconds whatever the study's size (neurokit2 is not among them: only the workers
import it, a fixed cost per worker that the marginal figures cancel)."""


def _cpu_s(who: int) -> float:
    usage = resource.getrusage(who)
    return usage.ru_utime + usage.ru_stime


def child(data_dir: Path, out_dir: Path) -> None:
    """One ``compare`` run in this fresh interpreter (its JSON and CSV into ``out_dir``);
    prints its figures as JSON on the last line of standard error."""
    import importlib

    for name in PRE_IMPORTS:
        importlib.import_module(name)
    from biofeedback.cli.main import main

    stderr = _FirstProgress(sys.stderr)
    sys.stderr = stderr
    json_path = out_dir / "result.json"
    cpu_before = _cpu_s(resource.RUSAGE_SELF)
    started = time.perf_counter()
    with json_path.open("w") as out:
        saved = sys.stdout
        sys.stdout = out
        try:
            code = main(["compare", "--study", STUDY, "--json", "--csv",
                         str(out_dir / "windows.csv"), "--data-dir", str(data_dir)])
        finally:
            sys.stdout = saved
    ended = time.perf_counter()
    sys.stderr = stderr.stream
    print(json.dumps({
        "exit": code,
        "wall_s": ended - started,
        # The workers are this process's only children, all started after the clock.
        "cpu_s": _cpu_s(resource.RUSAGE_SELF) - cpu_before + _cpu_s(resource.RUSAGE_CHILDREN),
        "first_session_s": None if stderr.first is None else stderr.first - started,
        "peak_rss_mb_main": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0,
        "peak_rss_mb_worker": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024.0,
    }), file=sys.stderr)


def run_once(code: Path, data_dir: Path, out_dir: Path) -> dict[str, Any]:
    """``compare`` of the checkout ``code`` on one study in a fresh interpreter; its
    figures."""
    out_dir.mkdir(parents=True, exist_ok=True)
    done = subprocess.run(
        [sys.executable, str(Path(__file__).resolve()), "--child", str(data_dir), str(out_dir)],
        capture_output=True, text=True, cwd=code, check=False,
        env=dict(os.environ, PYTHONPATH=str(code)),
    )
    lines = done.stderr.strip().splitlines()
    if done.returncode != 0 or not lines:
        raise RuntimeError(f"compare failed ({done.returncode}): {done.stderr[-2000:]}")
    figures = json.loads(lines[-1])
    if figures["exit"] != 0:
        raise RuntimeError(f"compare exited {figures['exit']}: {done.stderr[-2000:]}")
    return figures


def summarise(sessions: int, runs: list[dict[str, Any]]) -> dict[str, Any]:
    """Medians of one size's runs."""
    def median(key: str) -> float:
        return float(statistics.median(r[key] for r in runs))

    return {
        "sessions": sessions,
        "runs": len(runs),
        "wall_s": round(median("wall_s"), 2),
        "cpu_s": round(median("cpu_s"), 2),
        "first_session_s": round(median("first_session_s"), 2),
        "wall_per_session_s": round(median("wall_s") / sessions, 4),
        "cpu_per_session_s": round(median("cpu_s") / sessions, 4),
        "peak_rss_mb_main": round(median("peak_rss_mb_main"), 1),
        "peak_rss_mb_worker": round(median("peak_rss_mb_worker"), 1),
    }


def marginal(summary: list[dict[str, Any]], key: str) -> list[dict[str, Any]]:
    """Seconds per added session between consecutive sizes (the fixed cost of a run, such as
    forking the workers and fitting the model's formula, cancels out)."""
    return [
        {"from": a["sessions"], "to": b["sessions"],
         "s_per_session": round((b[key] - a[key]) / (b["sessions"] - a["sessions"]), 4)}
        for a, b in itertools.pairwise(summary)
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", type=int, nargs="+", default=[10, 100, 1000],
                        help="sessions per study (even, >= 2)")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--cache-dir", type=Path,
                        default=Path("/tmp/biofeedback-compare-scaling"))
    parser.add_argument("--baseline", type=Path, default=None, metavar="CHECKOUT",
                        help="also run the compare of this checkout (e.g. the main branch) "
                        "in every round, and check that its JSON and CSV are byte-identical")
    parser.add_argument("--child", nargs=2, type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(*args.child)
        return
    sizes = sorted(set(args.sizes))
    built = {n: build(study_dir(args.cache_dir, n), n) for n in sizes}
    codes = {"this": ROOT} | ({} if args.baseline is None else {"baseline": args.baseline})
    runs: dict[str, dict[int, list[dict[str, Any]]]] = {c: {n: [] for n in sizes} for c in codes}
    identical = True
    for repeat in range(args.repeats):
        for n in sizes:  # interleaved, so the machine's load falls on every size alike
            for name, code in codes.items():
                out = args.cache_dir / "out" / f"{name}-{n}-{repeat}"
                runs[name][n].append(run_once(code, study_dir(args.cache_dir, n), out))
                print(f"compare {n} ({name}): {runs[name][n][-1]['wall_s']:.1f} s",
                      file=sys.stderr)
            if args.baseline is not None:
                identical &= all(
                    (args.cache_dir / "out" / f"this-{n}-{repeat}" / f).read_bytes()
                    == (args.cache_dir / "out" / f"baseline-{n}-{repeat}" / f).read_bytes()
                    for f in ("result.json", "windows.csv"))
    report = {
        "benchmark": "compare_scaling",
        "session_min": SESSION_MIN,
        "sessions_per_participant": SESSIONS_PER_PARTICIPANT,
        "built": {str(n): b for n, b in built.items()},
    }
    for name in codes:
        summary = [summarise(n, runs[name][n]) for n in sizes]
        cpu, wall = marginal(summary, "cpu_s"), marginal(summary, "wall_s")
        time_ratio = cpu[-1]["s_per_session"] / cpu[0]["s_per_session"]
        memory_ratio = summary[-1]["peak_rss_mb_main"] / summary[-2]["peak_rss_mb_main"]
        report[name] = {
            "code": str(codes[name]),
            "sizes": summary,
            "marginal_cpu": cpu,
            "marginal_wall": wall,
            "per_session_ratio_largest_vs_smallest": round(time_ratio, 3),
            "per_session_ratio_goal": TIME_TOLERANCE,
            "time_goal_met": time_ratio <= TIME_TOLERANCE,
            "peak_main_ratio_largest_vs_middle": round(memory_ratio, 3),
            "peak_main_ratio_goal": MEMORY_TOLERANCE,
            "memory_goal_met": memory_ratio <= MEMORY_TOLERANCE,
            "goal_met": time_ratio <= TIME_TOLERANCE and memory_ratio <= MEMORY_TOLERANCE,
        }
    if args.baseline is not None:
        report["outputs_identical_to_baseline"] = identical
    report["loaded_machine"] = "2 cores shared with other jobs: medians of interleaved runs"
    report["machine"] = machine()
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
