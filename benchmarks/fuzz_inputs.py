"""Longer fuzzing of the hand-written inputs than CI's (issue 14, item 10); prints JSON.

The same targets and strategies as ``tests/fuzz/`` (``tests/fuzz_targets.py``): protocol TOML
(mutated built-ins, broken text, any text, any bytes), ``settings.json`` and the command line
(in-process ``main(argv)`` on a private data folder). A crash is any outcome but a result or a
documented error; each is listed with its input. Figures: examples run per target, crashes
(goal 0), wall time.

    python benchmarks/fuzz_inputs.py [--examples 2000] [--seed 0]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
from _common import machine  # type: ignore[import-not-found]
from fuzz_targets import (  # type: ignore[import-not-found]
    check_cli,
    check_protocol_bytes,
    check_protocol_text,
    check_settings,
    cli_argvs,
    protocol_documents,
    protocol_texts,
    settings_texts,
)
from hypothesis import HealthCheck, Phase, given, seed, settings
from hypothesis import strategies as st


def _targets(folder: Path) -> dict[str, tuple[st.SearchStrategy[Any], Callable[[Any], None]]]:
    return {
        "protocol_mutated_schema": (protocol_documents(), check_protocol_text),
        "protocol_broken_text": (protocol_texts(), check_protocol_text),
        "protocol_any_text": (st.text(max_size=300), check_protocol_text),
        "protocol_any_bytes": (st.binary(max_size=300),
                               lambda data: check_protocol_bytes(folder, data)),
        "settings_json": (settings_texts(), lambda data: check_settings(folder / "data", data)),
        "cli_argv": (cli_argvs(), lambda argv: check_cli(argv, folder)),
    }


def _fuzz(strategy: st.SearchStrategy[Any], check: Callable[[Any], None], examples: int,
          seed_value: int) -> dict[str, Any]:
    """Feed ``examples`` inputs of ``strategy`` to ``check``; count them and the crashes."""
    count = 0
    crashes: list[dict[str, str]] = []

    # Generation only: every failing input is kept as found (no shrinking), and the run goes
    # on to count the rest.
    @seed(seed_value)
    @settings(max_examples=examples, deadline=None, database=None, phases=[Phase.generate],
              suppress_health_check=list(HealthCheck))
    @given(strategy)
    def target(value: Any) -> None:
        nonlocal count
        count += 1
        try:
            check(value)
        except Exception as exc:  # a crash is what is being counted
            error = "".join(traceback.format_exception_only(exc)).strip()
            crashes.append({"input": repr(value)[:500], "error": error[-500:]})

    started = time.perf_counter()
    target()
    return {"examples": count, "crashes": len(crashes),
            "wall_s": round(time.perf_counter() - started, 1), "crash_inputs": crashes[:20]}


def run(examples: int, seed_value: int) -> dict[str, Any]:
    """Run every target for ``examples`` examples, each in a fresh temporary folder."""
    report: dict[str, Any] = {}
    for name in _targets(Path(".")):
        with tempfile.TemporaryDirectory(prefix=f"fuzz-{name}-") as tmp:
            os.environ["BIOFEEDBACK_DATA_DIR"] = str(Path(tmp) / "data")
            strategy, check = _targets(Path(tmp))[name]
            report[name] = _fuzz(strategy, check, examples, seed_value)
    return report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--examples", type=int, default=2000, help="examples per target")
    parser.add_argument("--seed", type=int, default=0, help="hypothesis seed")
    args = parser.parse_args()
    report = run(args.examples, args.seed)
    total = sum(r["crashes"] for r in report.values())
    print(json.dumps({"machine": machine(), "seed": args.seed, "crashes": total,
                      "targets": report}, indent=2))
    sys.exit(1 if total else 0)


if __name__ == "__main__":
    main()
