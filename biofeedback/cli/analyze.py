"""``biofeedback analyze``: per-phase HRV of a session or RR file (neurokit2).

``--rr-source ecg`` analyses the RR found in the strap's stored raw ECG (neurokit2
``ecg_peaks``, sub-sample R-peaks) instead of the strap's own RR, and reports how the two
agree beat by beat per phase.
"""

from __future__ import annotations

import argparse
import json
from typing import TYPE_CHECKING, Any

from biofeedback.cli.common import UsageError, add_data_dir, load_target

if TYPE_CHECKING:
    from biofeedback.analysis.beat_agreement import AgreementReport
    from biofeedback.core.recording import Recording


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
    p.add_argument(
        "--rr-source",
        choices=("strap", "ecg"),
        default="strap",
        help="RR intervals to analyse: the strap's own (default) or those found in the "
        "session's stored raw ECG (Polar H10 PMD), with their beat-by-beat agreement",
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
    from biofeedback.core.signals import ANALYSIS_SIGNALS

    recording = load_target(args.target, args.data_dir, signals=ANALYSIS_SIGNALS)
    agreement = None
    if args.rr_source == "ecg":
        recording, agreement = _from_ecg(args.target, args.data_dir, recording)
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
        if agreement is not None:
            out["rr_source"] = recording.metadata["rr_source"]
            out["agreement"] = agreement.to_dict()
        print(json.dumps(out, indent=2))
    else:
        print(format_table(result))
        if agreement is not None:
            print()
            print(_format_agreement(recording.metadata["rr_source"], agreement))
        if rows:
            print()
            print(format_reference(str(reference.get("tool") if reference else ""), rows))
    return 0


def _from_ecg(target: str, data_dir: str | None,
              recording: Recording) -> tuple[Recording, AgreementReport]:
    """The session with RR from its stored ECG, and their agreement with the strap's RR."""
    from biofeedback.analysis.beat_agreement import beat_agreement, strap_beat_times
    from biofeedback.analysis.ecg_stream import recording_from_ecg, rr_from_ecg_chunks
    from biofeedback.store.database import SessionStore

    if not (target.isascii() and target.isdigit()):
        raise UsageError(f"--rr-source ecg needs a stored session id, not {target!r} (an "
                         "imported ECG file is already analysed from its R-peaks)")
    with SessionStore.open_for_reading(data_dir) as store:
        chunks = store.load_signal_chunks(int(target), "ecg")
    if not chunks:
        raise UsageError(f"session {target} has no stored ECG (recorded without a strap "
                         "that streams it); use --rr-source strap")
    beats = rr_from_ecg_chunks(chunks)
    if beats.n_beats == 0:
        raise UsageError(f"no R-peaks found in the ECG of session {target}")
    strap = strap_beat_times(recording.rr_ms, recording.time_s, recording.gaps)
    agreement = beat_agreement(beats.r_times_s, strap, recording.phases, ecg_runs=beats.runs)
    return recording_from_ecg(recording, beats), agreement


def _format_agreement(provenance: dict[str, Any], report: AgreementReport) -> str:
    """Plain-text agreement table: one line per phase and one for the whole session."""
    lines = [f"RR from the ECG: neurokit2 {provenance['neurokit2']} ecg_peaks "
             f"method {provenance['method']!r}, {provenance['refinement']} R-peaks; "
             f"agreement with the strap's RR (pairs within {report.tolerance_s * 1000:g} ms):",
             f"{'span':<16}{'pairs':>7}{'|dt| ms':>9}{'|dRR| ms':>10}"
             f"{'ECG only':>10}{'strap only':>12}"]

    def cell(value: float | None) -> str:
        return "-" if value is None else f"{value:.2f}"

    for row in [*report.phases, report.overall]:
        lines.append(f"{row.label:<16}{row.n_matched:>7}{cell(row.median_abs_diff_ms):>9}"
                     f"{cell(row.median_abs_rr_diff_ms):>10}{row.ecg_unmatched:>10}"
                     f"{row.strap_unmatched:>12}")
    return "\n".join(lines)
