"""``biofeedback compare``: self-soothing vs attention practices, across participants."""

from __future__ import annotations

import argparse
import csv
import json
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from biofeedback.cli.common import UsageError, add_data_dir, positive_float
from biofeedback.core.atomic_files import atomic_write_files
from biofeedback.core.formatting import format_number

RR_SOURCE_CHOICES = ("strap", "ecg")
"""``--rr-source`` values: biofeedback.comparison.dataset.RR_SOURCES, named here for the same
reason as :data:`SPLIT_CHOICES`."""

SPLIT_CHOICES = ("feedback",)
"""``--split-by`` values: biofeedback.comparison.feedback.SPLITS, named here so that building
the parser does not import the comparison (numpy, scipy) for every command."""


def add_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register the command."""
    p = commands.add_parser(
        "compare",
        help="compare the vagal response to self-soothing and attention practices",
        description="Per participant, the change from baseline during self-soothing practices "
        "against the same during attention practices (lnRMSSD, HR, HF where valid, LF, "
        "breathing), compared across participants (paired mean difference with CI, d_z, "
        "paired t, Wilcoxon) and in a linear mixed model; stress reactivity and recovery per "
        "session. Excluded and missing values are listed, never dropped silently.",
    )
    who = p.add_mutually_exclusive_group(required=True)
    who.add_argument("--study", metavar="NAME", help="every session of a study")
    who.add_argument("--participant", metavar="ID", action="append",
                     help="the sessions of this participant (repeat for several)")
    p.add_argument("--json", action="store_true", help="print the whole result as JSON")
    p.add_argument("--csv", type=Path, metavar="FILE",
                   help="write the tidy window table (one row per participant x session x "
                   "condition x phase x window)")
    p.add_argument("--window-s", type=positive_float, default=240.0, metavar="S",
                   help="analysis window per phase, s (default 240: the last 4 min)")
    p.add_argument("--anchor", choices=("end", "start"), default="end",
                   help="window at the end (default) or start of each phase")
    p.add_argument("--exclusion-threshold", type=positive_float, default=None, metavar="PCT",
                   help="exclude windows with more artifacts than this, %% (default: the "
                   "study's, else 5)")
    p.add_argument("--split-by", choices=SPLIT_CHOICES, default=None,
                   help="also compare each practice split by this: 'feedback' compares the "
                   "practice with feedback shown against the same practice with it hidden "
                   "(change from baseline, paired by participant)")
    add_rr_source(p)
    p.add_argument("--workers", type=int, default=None, metavar="N",
                   help="worker processes (default: every core)")
    add_data_dir(p)
    p.set_defaults(run=run)


def add_rr_source(p: argparse.ArgumentParser) -> None:
    """The ``--rr-source`` option of a comparison (``compare`` and ``report --study``)."""
    p.add_argument("--rr-source", choices=RR_SOURCE_CHOICES, default="strap",
                   help="RR intervals of every session: the strap's own (default) or those "
                   "found in its stored raw ECG (Polar H10 PMD; neurokit2 in the worker "
                   "processes), with their beat-by-beat agreement with the strap; sessions "
                   "without stored ECG are then EXCLUDED and listed, never mixed in with "
                   "the strap's RR")


def run(args: argparse.Namespace) -> int:
    """Compare and print."""
    from biofeedback.analysis.windows import WindowSettings
    from biofeedback.comparison.compare import compare

    window = None
    if args.exclusion_threshold is not None or args.window_s != 240.0 or args.anchor != "end":
        kwargs: dict[str, Any] = {"length_s": args.window_s, "anchor": args.anchor}
        if args.exclusion_threshold is not None:
            kwargs["exclusion_threshold_pct"] = args.exclusion_threshold
        window = WindowSettings(**kwargs)

    def progress(done: int, total: int) -> None:
        print(f"\rcompare: analysed {done}/{total} sessions", end="", file=sys.stderr,
              flush=True)
        if done == total:
            print(file=sys.stderr)

    from biofeedback.comparison.dataset import NoEcgError

    try:
        result, rows = compare(
            args.data_dir, study=args.study, participants=args.participant or (),
            window=window, workers=args.workers, progress=progress, split_by=args.split_by,
            rr_source=args.rr_source,
        )
    except NoEcgError as exc:
        raise UsageError(str(exc)) from exc
    if args.csv is not None:
        write_csv(args.csv, (r.to_dict() for r in rows))
    if "ecg_rr" in result:
        # On standard error too, so that --json on standard output still says it.
        print(f"compare: {ecg_exclusion_text(result['ecg_rr'])}", file=sys.stderr)
    if args.json:
        # Written piece by piece: json.dumps would hold every piece of a large study's
        # result in a list at once (tens of MB at 1,000 sessions) before joining them.
        json.dump(result, sys.stdout, indent=2, allow_nan=False)
        print()
    else:
        print(format_result(result))
    return 0


def ecg_exclusion_text(ecg_rr: dict[str, Any]) -> str:
    """How many sessions had no ECG to take RR from, and which (one sentence)."""
    left_out = ecg_rr["excluded"]
    used = len(ecg_rr["sessions"])
    head = f"RR from the raw ECG of {used} session{'' if used == 1 else 's'}; "
    if not left_out:
        return head + "no session excluded for want of ECG"
    which = ", ".join(f"{e['session_id']} ({e['participant_id'] or 'no participant'}: "
                      f"{e['reason']})" for e in left_out)
    n = len(left_out)
    return head + f"{n} session{'' if n == 1 else 's'} excluded: {which}"


def write_csv(path: Path, records: Iterable[dict[str, Any]]) -> None:
    """Write the tidy table record by record (a study's flat records are never all in memory
    at once; the header is the first record's keys); a partial file never replaces a good
    one."""

    def write(tmp: Path) -> None:
        with open(tmp, "w", encoding="utf-8", newline="") as out:
            remaining = iter(records)
            first = next(remaining, None)
            writer = csv.DictWriter(out, [] if first is None else list(first),
                                    lineterminator="\r\n")
            writer.writeheader()
            if first is not None:
                writer.writerow(first)
                writer.writerows(remaining)

    atomic_write_files([(path, write)])


def format_result(result: dict[str, Any]) -> str:
    """The comparisons, the model and the warnings as text."""
    lines = ["Self-soothing vs attention (change from baseline; paired by participant)"]
    lines.append(f"{'metric':<26}{'n':>4}{'mean diff':>11}{'95% CI':>22}{'d_z':>8}"
                 f"{'p (t)':>9}{'p (W)':>9}")
    for c in result["comparisons"]:
        ci = "–" if c["ci_low"] is None else f"{c['ci_low']:.3f} .. {c['ci_high']:.3f}"
        lines.append(
            f"{c['metric']:<26}{c['n']:>4}{_fmt(c['mean_diff'], 11)}{ci:>22}"
            f"{_fmt(c['d_z'], 8, 2)}{_fmt(c['p_t'], 9)}{_fmt(c['p_wilcoxon'], 9)}"
        )
    lines.extend(format_breathing_sources(result))
    breathing = result["breathing"]
    if breathing.get("warning"):
        lines.append(f"Breathing: {breathing['warning']}")
    if "ecg_rr" in result:
        lines.append("")
        lines.extend(format_ecg_rr(result["ecg_rr"]))
    model = result["mixed_model"]
    lines.append("")
    lines.append(f"Mixed model: {model['formula']}")
    if model.get("error"):
        lines.append(f"  not fitted: {model['error']}")
    else:
        for term in model["fixed_effects"]:
            lines.append(f"  {term['term']:<60}{_fmt(term['estimate'], 9)}"
                         f"{_fmt(term['std_error'], 9)}  p {_fmt(term['p'], 7).strip()}")
    if "feedback" in result:
        lines.append("")
        lines.extend(format_feedback(result["feedback"]))
    excluded = result["excluded"]
    lines.append("")
    lines.append(f"Excluded or missing: {len(excluded)} (see --json)")
    return "\n".join(lines)


def format_breathing_sources(result: dict[str, Any]) -> list[str]:
    """Where the breathing rates came from: per practice (its windows and its changes from
    baseline), then the practice rates compared between the categories."""
    from biofeedback.comparison.source_methods import breathing_sources_text

    lines = ["Breathing rate from (ACC: counted on the chest accelerometer; RR spectrum: read "
             "off the RR spectrum;",
             "  each change from baseline takes both its windows' rates from one source):",
             f"  {'practice':<28}{'Δ br/min':>9}  {'windows':<22}change"]
    for p in result.get("per_practice", []):
        lines.append(f"  {p['practice'][:27]:<28}{_fmt(p.get('delta_breaths_per_min'), 9, 2)}"
                     f"  {breathing_sources_text(p.get('breathing_sources')):<22}"
                     f"{breathing_sources_text(p.get('breathing_change_sources'))}")
    compared = result["breathing"].get("participant_sources")
    if compared:
        lines.append(f"  self-soothing vs attention rates: "
                     f"{breathing_sources_text(compared)} (participants; one source each)")
    return lines


def format_ecg_rr(ecg_rr: dict[str, Any]) -> list[str]:
    """The ECG's R-peaks: how they were found, the sessions left out, and each session's
    beat-by-beat agreement with the strap's RR."""
    lines = [f"RR from the raw ECG: neurokit2 {', '.join(ecg_rr['neurokit2'])} ecg_peaks "
             f"method {ecg_rr['method']!r}, {ecg_rr['refinement']} R-peaks",
             ecg_exclusion_text(ecg_rr),
             f"  {'session':>7}  {'participant':<14}{'pairs':>7}{'|dt| ms':>9}"
             f"{'ECG only':>10}{'strap only':>12}"]
    for e in ecg_rr["sessions"]:
        lines.append(f"  {e['session_id']:>7}  {e['participant_id'][:13]:<14}{e['ecg_pairs']:>7}"
                     f"{_fmt(e['ecg_median_abs_dt_ms'], 9, 2)}{e['ecg_unmatched']:>10}"
                     f"{e['strap_unmatched']:>12}")
    return lines


def format_feedback(split: dict[str, Any]) -> list[str]:
    """The feedback shown vs hidden comparisons, practice by practice, as text lines."""
    lines = ["Feedback shown vs hidden (change from baseline; per practice, paired by "
             "participant)",
             f"  {'metric':<24}{'n':>4}{'mean diff':>11}{'95% CI':>22}{'d_z':>8}{'p (t)':>9}"]
    if not split["practices"]:
        lines.append("  no practice phase with feedback shown or hidden recorded")
    for practice in split["practices"]:
        lines.append(f"{practice['practice']} ({practice['category']}): "
                     f"{practice['n_shown']} shown, {practice['n_hidden']} hidden, "
                     f"{practice['n_paired']} participants with both")
        for c in practice["comparisons"]:
            if c["mean_diff"] is None:
                lines.append(f"  {c['metric']:<24}{c['note']}")
                continue
            ci = "–" if c["ci_low"] is None else f"{c['ci_low']:.3f} .. {c['ci_high']:.3f}"
            lines.append(f"  {c['metric']:<24}{c['n']:>4}{_fmt(c['mean_diff'], 11)}{ci:>22}"
                         f"{_fmt(c['d_z'], 8, 2)}{_fmt(c['p_t'], 9)}")
    if split["not_recorded"]:
        lines.append(f"  {len(split['not_recorded'])} practice phases without recorded "
                     "feedback left out (see --json)")
    return lines


def _fmt(value: float | None, width: int, digits: int = 3) -> str:
    return format_number(value, digits).rjust(width)
