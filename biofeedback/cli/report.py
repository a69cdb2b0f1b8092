"""``biofeedback report``: a self-contained HTML or PDF report of a session or a study."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from biofeedback.cli.common import UsageError, add_data_dir, session_id
from biofeedback.cli.compare import add_rr_source


def add_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register the command."""
    p = commands.add_parser(
        "report",
        help="write a self-contained HTML (or PDF) report of a session or a study",
        description="A session report: tachogram with phases, per-phase indices, 1-min HR and "
        "lnRMSSD trajectories and a methods paragraph. A study report (--study): "
        "self-soothing vs attention with confidence intervals and d_z, the mixed model, the "
        "breathing check, individual trajectories, reactivity and recovery, everything "
        "excluded, and a methods paragraph. One HTML file, no external resources; or, with "
        "--format pdf (or an --out ending in .pdf), a PDF on A4 pages with the same "
        "figures, tables and methods, written without a browser.",
    )
    who = p.add_mutually_exclusive_group(required=True)
    who.add_argument("session", nargs="?", type=session_id, metavar="SESSION_ID",
                     help="the stored session to report")
    who.add_argument("--study", metavar="NAME", help="report the comparison of this study")
    p.add_argument("--out", type=Path, required=True, metavar="FILE.html|FILE.pdf",
                   help="where to write the report (replaced atomically)")
    p.add_argument("--format", choices=("html", "pdf"), default=None,
                   help="html (default) or pdf (default when FILE ends in .pdf)")
    p.add_argument("--json", action="store_true",
                   help='print {"written": [FILE], "pages": N} on standard output (pages: PDF '
                   "only; for the window's jobs)")
    p.add_argument("--workers", type=int, default=None, metavar="N",
                   help="worker processes of a study comparison (default: every core)")
    add_rr_source(p)
    add_data_dir(p)
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Build the report and write it."""
    from biofeedback.comparison.report import session_report, study_report, write_report

    out: Path = args.out
    if not out.parent.is_dir():
        raise UsageError(f"cannot write the report: the folder {out.parent} does not exist")
    if out.is_dir():
        raise UsageError(f"cannot write the report: {out} is a folder")

    def progress(done: int, total: int) -> None:
        print(f"\rreport: analysed {done}/{total} sessions", end="", file=sys.stderr,
              flush=True)
        if done == total:
            print(file=sys.stderr)

    fmt = getattr(args, "format", None) or ("pdf" if out.suffix.lower() == ".pdf" else "html")
    if fmt == "pdf" and out.suffix.lower() != ".pdf":
        raise UsageError(f"a PDF report goes to a file ending in .pdf, not {out.name}")
    if args.study is None and args.rr_source != "strap":
        raise UsageError("--rr-source applies to a study report (--study); a session report "
                         "shows the strap's RR")
    def build() -> str:
        if args.study is not None:
            from biofeedback.comparison.dataset import NoEcgError

            try:
                return study_report(args.data_dir, args.study, workers=args.workers,
                                    progress=progress, rr_source=args.rr_source)
            except NoEcgError as exc:
                raise UsageError(str(exc)) from exc
        print(f"report: analysing session {args.session}", file=sys.stderr, flush=True)
        return session_report(args.data_dir, args.session)

    if fmt == "pdf":
        from biofeedback.comparison.pdf_report import pdf_report

        title = f"Study {args.study}" if args.study is not None else f"Session {args.session}"
        pages: int | None = pdf_report(build, out, title=f"{title} – biofeedback report")
        print(f"report: wrote {out} ({pages} pages)", file=sys.stderr)
    else:
        write_report(out, build())
        pages = None
        print(f"report: wrote {out}", file=sys.stderr)
    if getattr(args, "json", False):
        import json

        print(json.dumps({"written": [str(out)], "pages": pages}))
    return 0
