"""``biofeedback report``: self-contained HTML reports of a session and of a study."""

from __future__ import annotations

import argparse
import re
import shutil
from html import unescape
from html.parser import HTMLParser
from pathlib import Path

import pytest
from helpers import s1_study, sim_record

from biofeedback.cli import report as report_cli
from biofeedback.cli.common import UsageError
from biofeedback.comparison.report import (
    _breathing_section,
    _reactivity_section,
    write_report,
)
from biofeedback.core.errors import SessionNotFoundError
from biofeedback.store.studies import StudyNotFoundError

VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source",
        "track", "wbr"}


class StrictParser(HTMLParser):
    """Collects text, tags and attributes; records every unbalanced or misnested tag."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[str] = []
        self.errors: list[str] = []
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []
        self.svg_text: list[list[str]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))
        if tag == "svg":
            self.svg_text.append([])
        if tag not in VOID:
            self.stack.append(tag)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))

    def handle_endtag(self, tag: str) -> None:
        if not self.stack or self.stack[-1] != tag:
            self.errors.append(f"unexpected </{tag}> with open {self.stack[-3:]}")
            return
        self.stack.pop()

    def handle_data(self, data: str) -> None:
        self.text.append(data)
        if "svg" in self.stack and self.svg_text and data.strip():
            self.svg_text[-1].append(data.strip())


def parse(html: str) -> StrictParser:
    parser = StrictParser()
    parser.feed(html)
    parser.close()
    assert parser.errors == []
    assert parser.stack == []
    return parser


def assert_self_contained(html: str, parser: StrictParser) -> None:
    for tag, attrs in parser.tags:
        assert tag not in ("script", "link", "img", "iframe"), tag
        for name in ("src", "href"):
            value = attrs.get(name) or ""
            assert not value.startswith(("http://", "https://", "//")), (tag, value)
    assert not re.search(r"<script[^>]*src", html, re.I)
    assert "http://" not in html and "https://" not in html
    # url() only names a part of the page itself (a figure's clip path: url(#p1a2b3c))
    assert "@import" not in html and not re.search(r"url\((?!#)", html)
    # markers drawn by reference to their one definition in the same figure (#id) only
    refs = re.findall(r'href="#([^"]*)"|url\(#([^)]*)\)', html)
    ids = re.findall(r'\bid="([^"]+)"', html)
    assert len(ids) == len(set(ids))  # no two figures share an id
    assert {a or b for a, b in refs} <= set(ids)
    assert len(re.findall(r'href="', html)) == sum(1 for a, _ in refs if a)
    assert "<image" not in html


def report_args(data: str | Path, out: Path, session: int | None = None,
                study: str | None = None) -> argparse.Namespace:
    return argparse.Namespace(session=session, study=study, out=out, workers=1,
                              rr_source="strap", data_dir=data)


# Study S1 with P1-P3 (sessions 1-3) and session 4, a stress_reactivity session of Q1
# outside any study.
RECORDED = (*s1_study(["P1", "P2", "P3"]),
            sim_record(7, "Q1", "--protocol", "stress_reactivity"))


@pytest.fixture
def data_dir(recorded_template, tmp_path_factory) -> Path:
    """This test's own copy of ``RECORDED``, outside ``tmp_path`` (a test checks that a
    failed report leaves ``tmp_path`` empty)."""
    folder = tmp_path_factory.mktemp("report") / "data"
    shutil.copytree(recorded_template(RECORDED), folder)
    return folder


def test_session_report(data_dir, tmp_path, capsys):
    from biofeedback.analysis import analyze_recording, library_versions
    from biofeedback.store.database import SessionStore

    out = tmp_path / "session.html"
    assert report_cli.run(report_args(data_dir, out, session=4)) == 0
    assert "wrote" in capsys.readouterr().err
    html = out.read_text(encoding="utf-8")
    parser = parse(html)
    assert_self_contained(html, parser)
    assert not list(tmp_path.glob(".session.*"))  # no temporary file left
    text = " ".join(parser.text)
    for needle in ("Session 4", "Q1", "stress_reactivity", "Simulated strap", "Tachogram",
                   "Per-phase indices", "Trajectories", "Methods", "HR (bpm)", "RMSSD (ms)",
                   "lnRMSSD (ln ms)", "HF (ms²)", "Artifacts (% of beats)",
                   "Breathing (breaths/min)"):
        assert needle in text, needle
    # The tachogram, the per-phase indices and the HR and lnRMSSD trajectories (the
    # publication figures), each with the phases named inside the SVG.
    assert len(parser.svg_text) == 3
    tachogram, indices, trajectories = parser.svg_text
    for chart in parser.svg_text:
        assert {"Baseline", "Mental arithmetic", "Recovery"} <= set(chart)
    assert {"RR interval (ms)", "time (min)"} <= set(tachogram)
    assert {"HR (bpm)", "lnRMSSD (ln ms)"} <= set(indices)
    assert {"heart rate (bpm)", "lnRMSSD (ln ms)"} <= set(trajectories)

    with SessionStore.open(data_dir) as store:
        recording = store.load_recording(4)
        info = store.session_info(4)
    analysis = analyze_recording(recording).to_dict()
    methods = unescape(re.search(r'<p class="methods">(.*?)</p>', html, re.S).group(1))
    for needle in ("60-s", "whole phase", "HF 0.15–0.40 Hz", "LF 0.04–0.15 Hz", "Welch",
                   "4 Hz", "Kubios", "natural log of RMSSD", "breaths/min",
                   "built-in simulator", "firmware sim-1.0",
                   f"neurokit2 {library_versions()['neurokit2']}",
                   f"biofeedback {info.versions['biofeedback']}"):
        assert needle in methods, needle
    # The lab template hid the participant's physiology throughout, and the report says so.
    assert {p.feedback for p in recording.phases} == {"hidden"}
    table = re.search(r'<table class="phases">(.*?)</table>', html, re.S).group(1)
    assert "<th class=text>Feedback</th>" in table
    assert table.count("<td class=text>hidden</td>") == len(recording.phases)
    assert ("Feedback was hidden during every phase: the participant did not see their "
            "heart rate or HRV.") in methods
    for phase in analysis["phases"]:  # artifact % per phase, as the table shows it
        assert f"{phase['name']} {phase['artifact_pct']:.1f} %" in methods
        assert f"{phase['name']} ({phase['kind']}, {phase['duration_s']:.0f} s)" in methods


def test_study_report(data_dir, tmp_path, capsys):
    from biofeedback.comparison.compare import compare

    out = tmp_path / "study.html"
    assert report_cli.run(report_args(data_dir, out, study="S1")) == 0
    err = capsys.readouterr().err
    assert "analysed 3/3 sessions" in err
    html = out.read_text(encoding="utf-8")
    parser = parse(html)
    assert_self_contained(html, parser)
    text = " ".join(parser.text)
    for needle in ("Self-soothing vs attention", "Breathing check", "Mixed model",
                   "Individual trajectories", "Reactivity and recovery", "Over time",
                   "Excluded and missing", "Methods", "95 % CI", "d_z"):
        assert needle in text, needle

    result, _ = compare(data_dir, study="S1", workers=1)
    for c in result["comparisons"]:
        shown = re.search(rf'class="mean-diff" data-metric="{c["metric"]}">([^<]*)<', html)
        assert shown is not None and float(shown.group(1)) == round(c["mean_diff"], 3)
        dz = re.search(rf'class="d-z" data-metric="{c["metric"]}">([^<]*)<', html)
        assert float(dz.group(1)) == round(c["d_z"], 2)
    model = result["mixed_model"]
    assert model["formula"] in text
    for term in model["fixed_effects"]:
        assert term["term"] in text and f"{term['estimate']:.3f}" in text
    # The forest plot, the per-practice changes, the breathing check, the individual
    # lines and the trends (no stressor in S1: no reactivity figure).
    assert len(parser.svg_text) == 5
    forest, practices, breathing, paired, trends = parser.svg_text
    assert {"Δ lnRMSSD", "Δ HR", "Δ HF", "Δ LF", "Δ breathing"} <= set(forest)
    for c in result["comparisons"]:
        assert any(t.startswith(_fmt3(c)) for t in forest), c["metric"]
    assert {"self-soothing", "attention", "Δ HR"} <= set(practices)
    assert {"breathing rate (breaths/min)", "P1", "P2", "P3"} <= set(breathing)
    assert {"P1", "P2", "P3", "self-soothing", "attention"} <= set(paired)
    assert {"P1", "P2", "P3", "baseline lnRMSSD", "(ln ms)"} <= set(trends)
    assert "Nothing was excluded" in text
    assert "No session has a stressor phase" in text
    methods = " ".join(parser.text[parser.text.index("Methods") + 1:])
    for needle in ("last 240 s", "4 min", "more than 5 %", "Williams design",
                   "soothing_touch → mindfulness_of_breathing", "HF 0.15–0.40 Hz",
                   "LF 0.04–0.15 Hz", "235 s", "4 Hz", "Welch", model["formula"],
                   "analysed with", "recorded with", "neurokit2 0.2.13",
                   "Feedback was hidden during every phase: participants did not see their "
                   "heart rate or HRV."):
        assert needle in methods, needle
    assert {e["label"] for e in result["phase_feedback"]} == {
        "the baseline", "soothing touch", "the rest", "mindfulness of breathing",
        "the recovery"}


def test_bad_inputs_give_sentences_and_write_nothing(data_dir, tmp_path):
    out = tmp_path / "r.html"
    with pytest.raises(SessionNotFoundError, match=r"no session 99 in "):
        report_cli.run(report_args(data_dir, out, session=99))
    with pytest.raises(StudyNotFoundError, match="no study named 'NOPE'"):
        report_cli.run(report_args(data_dir, out, study="NOPE"))
    with pytest.raises(UsageError, match=r"the folder .* does not exist"):
        report_cli.run(report_args(data_dir, tmp_path / "missing" / "r.html", session=4))
    assert list(tmp_path.iterdir()) == []

    parser = argparse.ArgumentParser(prog="biofeedback")
    report_cli.add_parser(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["report", "3", "--out", str(out), "--data-dir", str(data_dir)])
    assert args.session == 3 and args.study is None
    for bad in (["report", "--out", str(out)],                      # neither
                ["report", "3", "--study", "S1", "--out", str(out)],  # both
                ["report", "x", "--out", str(out)]):                 # not a number
        with pytest.raises(SystemExit):
            parser.parse_args(bad)


def test_write_report_is_atomic(tmp_path):
    target = tmp_path / "r.html"
    target.write_text("old")
    write_report(target, "<p>new</p>")
    assert target.read_text() == "<p>new</p>"
    assert [p.name for p in tmp_path.iterdir()] == ["r.html"]


def _fmt3(c: dict) -> str:
    """The forest plot's text of a contrast's mean difference (its metric's decimals)."""
    from biofeedback.core.formatting import format_number
    from biofeedback.core.hrv_indices import COMPARISON_METRICS

    return format_number(c["mean_diff"], COMPARISON_METRICS[c["metric"]].decimals) + " ["


def test_sections_escape_text_and_highlight_the_breathing_warning():
    warning = "self-soothing breathing is 4.0/min slower <check HF> & LF"
    html = "".join(_breathing_section({"warning": warning, "n": 3, "mean_a": 6.0,
                                       "mean_b": 10.0, "mean_diff": -4.0}))
    assert '<p class="warning">' in html
    assert "&lt;check HF&gt; &amp; LF" in html and "<check" not in html
    rows = _reactivity_section([{
        "participant_id": "<P1>", "session_id": 1, "condition": None,
        "reactivity": {"hr_bpm": 10.0, "ln_rmssd": -0.5},
        "recovery": {"hr_bpm": 1.0, "ln_rmssd": -0.1}, "percent_recovery": {"hr_bpm": 90.0},
        "residualized_reactivity": {}, "missing": {"ln_rmssd": "stressor window excluded"},
    }])
    html = "".join(rows)
    parse(f"<div>{html}</div>")
    assert "&lt;P1&gt;" in html and "HR reactivity (bpm)" in html and "10.00" in html
    from biofeedback.figures.catalog import draw
    from biofeedback.figures.render import inline_svg

    # stored names reach a figure as text: escaped in the SVG, a "$" not read as mathtext
    chart = inline_svg(draw("paired", {"participants": [
        {"participant_id": "<a&b>", "delta_ln_rmssd_self_soothing": 1.0,
         "delta_ln_rmssd_attention": 0.5},
        {"participant_id": "P$1$", "delta_ln_rmssd_self_soothing": 0.2,
         "delta_ln_rmssd_attention": None}]}))
    assert "&lt;a&amp;b&gt;" in chart and "<a&b>" not in chart
    assert {"<a&b>"} <= set(parse(f"<div>{chart}</div>").svg_text[0])
