"""``biofeedback analyze``: per-phase HRV of a session or RR file (neurokit2)."""

from __future__ import annotations

import argparse
import json

from biofeedback.cli.common import add_data_dir, load_target


def add_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register the command."""
    p = commands.add_parser(
        "analyze",
        help="per-phase HRV analysis of a session or RR file",
        description="Per-phase HRV with neurokit2: artifact %, HR, RMSSD, lnRMSSD, SDNN, pNN50, "
        "SD1, SD2, HF, LF, LF/HF, breathing rate and HF validity.",
    )
    p.add_argument("target", metavar="SESSION_ID|FILE")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.add_argument(
        "--correction",
        choices=("kubios", "none"),
        default="kubios",
        help="artifact correction before analysis (default: kubios)",
    )
    add_data_dir(p)
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Analyse and print."""
    from biofeedback.analysis import AnalysisSettings, analyze_recording, format_table
    from biofeedback.analysis.reference import (
        compare_with_reference,
        format_reference,
        reference_of,
    )

    recording = load_target(args.target, args.data_dir)
    result = analyze_recording(recording, AnalysisSettings(correction=args.correction))
    reference = reference_of(recording.metadata)
    rows = [] if reference is None else compare_with_reference(result, reference)
    if args.json:
        out = result.to_dict()
        if reference is not None:
            out["reference"] = {
                "tool": reference.get("tool"),
                "indices": [{"index": r.index, "name": r.name, "theirs": r.theirs,
                             "ours": r.ours, "difference": r.difference} for r in rows],
            }
        print(json.dumps(out, indent=2))
    else:
        print(format_table(result))
        if rows:
            print()
            print(format_reference(str(reference.get("tool") if reference else ""), rows))
    return 0
