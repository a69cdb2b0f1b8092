"""``biofeedback plot``: publication figures of a session or a study, as PNG, SVG or PDF."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from biofeedback.cli.common import UsageError, add_data_dir, positive_float, session_id
from biofeedback.cli.compare import add_rr_source
from biofeedback.figures.catalog import FIGURES, Scope, describe, figure_names

EXTENSIONS = (".png", ".svg", ".pdf")
WIDTHS_MM = (85, 180)


def add_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register the command."""
    p = commands.add_parser(
        "plot",
        help="write publication figures of a session or a study (PNG, SVG or PDF)",
        description="Figures drawn with matplotlib at journal column widths (85 mm, one "
        "column; 180 mm, the page), the same as in the reports. One figure is written to "
        "FILE itself. Several figures (the default: every figure of the session or study) "
        "go into one multi-page PDF when FILE ends in .pdf, and into one file each, "
        "FILE-NAME.png or FILE-NAME.svg, otherwise. --result draws a study's figures from "
        "a saved `compare --json` output without comparing again. A figure its results "
        "cannot fill (no stressor phase for 'reactivity') is skipped with a message, or is "
        "an error when named with --figure. --list names every figure.",
    )
    p.add_argument("session", nargs="?", type=session_id, metavar="SESSION_ID",
                   help="the stored session to draw")
    p.add_argument("--study", metavar="NAME", help="draw the comparison of this study")
    p.add_argument("--result", type=Path, metavar="FILE.json",
                   help="draw a study's figures from a saved comparison (the output of "
                   "`compare --json`) instead of running it again")
    p.add_argument("--figure", action="append", metavar="NAME", dest="figures",
                   help="a figure to draw (repeat for several; default: all of the session "
                   "or study; see --list)")
    p.add_argument("--out", type=Path, metavar="FILE.{png,svg,pdf}",
                   help="where to write (the extension picks the format; replaced atomically)")
    p.add_argument("--dpi", type=positive_float, default=300.0, metavar="N",
                   help="pixels per inch of a PNG (default 300; SVG and PDF are vector)")
    p.add_argument("--width-mm", type=int, choices=WIDTHS_MM, default=85, metavar="MM",
                   help="figure width: 85 (one journal column, default) or 180 (page width)")
    p.add_argument("--list", action="store_true", help="name every figure and exit")
    p.add_argument("--json", action="store_true",
                   help='print {"written": [FILE, ...], "skipped": [NAME, ...]} on standard '
                   "output (for the window's jobs)")
    p.add_argument("--workers", type=int, default=None, metavar="N",
                   help="worker processes of a study comparison (default: every core)")
    add_rr_source(p)
    add_data_dir(p)
    p.set_defaults(run=run)


def _chosen(args: argparse.Namespace) -> tuple[str, list[str]]:
    """The scope and figure names asked for, checked before anything is loaded."""
    result_file = getattr(args, "result", None)
    given = [w for w, v in (("a session", args.session), ("--study", args.study),
                            ("--result", result_file)) if v is not None]
    if len(given) > 1:
        raise UsageError(f"give one of a session, --study NAME or --result FILE, not "
                         f"{' and '.join(given)}")
    if not given:
        raise UsageError("give a session id or --study NAME (or --list)")
    scope: Scope = "session" if args.session is not None else "study"
    names = args.figures or figure_names(scope)
    for name in names:
        if name not in FIGURES:
            raise UsageError(f"no figure named {name!r}; the figures are "
                             f"{', '.join(FIGURES)} (see --list)")
        if FIGURES[name].scope != scope:
            raise UsageError(f"{name!r} is a figure of a {FIGURES[name].scope}, not of a "
                             f"{scope}; a {scope}'s are {', '.join(figure_names(scope))}")
    return scope, list(dict.fromkeys(names))


def _check_out(out: Path | None) -> Path:
    if out is None:
        raise UsageError("give --out FILE.png, FILE.svg or FILE.pdf")
    if out.suffix.lower() not in EXTENSIONS:
        raise UsageError(f"cannot write {out.name}: the file must end in "
                         f"{', '.join(EXTENSIONS)} (the extension picks the format)")
    if not out.parent.is_dir():
        raise UsageError(f"cannot write the figure: the folder {out.parent} does not exist")
    if out.is_dir():
        raise UsageError(f"cannot write the figure: {out} is a folder")
    return out


def _read_result(path: Path) -> dict[str, Any]:
    """A saved comparison result (``compare --json``), checked to be one."""
    import json

    try:
        result = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise UsageError(f"no comparison result at {path}") from exc
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise UsageError(f"{path} is not a comparison result (compare --json): {exc}") from exc
    if not isinstance(result, dict) or not {"comparisons", "settings"} <= set(result):
        raise UsageError(f"{path} is not a comparison result (compare --json)")
    return result


def run(args: argparse.Namespace) -> int:
    """Load the results once, draw each figure, write them."""
    if args.list:
        print("\n".join(describe()))
        return 0
    scope, names = _chosen(args)
    out = _check_out(args.out)
    if scope == "session" and args.rr_source != "strap":
        raise UsageError("--rr-source applies to a study (--study); a session's figures "
                         "show the strap's RR")
    from biofeedback.comparison.report_data import load_session_results, load_study_results
    from biofeedback.figures.catalog import draw
    from biofeedback.figures.render import save_figure, save_pdf_pages
    from biofeedback.figures.summary import NothingToDrawError

    results: Any
    if getattr(args, "result", None) is not None:
        results = _read_result(args.result)
    elif scope == "study":
        from biofeedback.comparison.dataset import NoEcgError

        def progress(done: int, total: int) -> None:
            print(f"\rplot: analysed {done}/{total} sessions", end="", file=sys.stderr,
                  flush=True)
            if done == total:
                print(file=sys.stderr)

        try:
            results = load_study_results(args.data_dir, args.study, workers=args.workers,
                                         progress=progress, rr_source=args.rr_source).result
        except NoEcgError as exc:
            raise UsageError(str(exc)) from exc
    else:
        print(f"plot: analysing session {args.session}", file=sys.stderr, flush=True)
        _, results = load_session_results(args.data_dir, args.session)
    figures = []
    for name in names:
        try:
            figures.append((name, draw(name, results, width_mm=args.width_mm)))
        except NothingToDrawError as exc:
            if args.figures:  # asked for by name: say so and stop
                raise UsageError(f"cannot draw {name!r}: {exc}") from exc
            print(f"plot: skipped {name}: {exc}", file=sys.stderr)
    if not figures:
        raise UsageError("nothing to draw: every figure's results are empty")
    if len(figures) == 1:
        written = [save_figure(figures[0][1], out, dpi=args.dpi)]
    elif out.suffix.lower() == ".pdf":
        written = [save_pdf_pages([f for _, f in figures], out)]
    else:
        written = [save_figure(f, out.with_name(f"{out.stem}-{name}{out.suffix}"), dpi=args.dpi)
                   for name, f in figures]
    for path in written:
        print(f"plot: wrote {path}", file=sys.stderr)
    if getattr(args, "json", False):
        import json

        drawn = {name for name, _ in figures}
        print(json.dumps({"written": [str(p) for p in written],
                          "skipped": [n for n in names if n not in drawn]}))
    return 0
