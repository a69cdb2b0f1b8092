"""Self-contained HTML reports of a session and of a study (issue 6).

:func:`session_report` shows one session: tachogram with its phases, the per-phase indices of
:func:`biofeedback.analysis.analyze_recording`, 1-min HR and lnRMSSD trajectories and a
methods paragraph generated from the stored device information and the analysis settings.
:func:`study_report` shows the self-soothing vs attention comparison of
:func:`biofeedback.comparison.compare.compare`: mean differences with confidence intervals and
d_z, the mixed model, the breathing check, individual trajectories, reactivity and recovery,
everything excluded, and a methods paragraph generated from the comparison's settings.

Reports are one HTML file each: styles inline, charts as inline SVG (the publication figures
of :mod:`biofeedback.figures`, drawn at 180 mm), no scripts, fonts or links to other files, so
they can be archived with a study and opened offline. Every piece of stored text is escaped.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Sequence
from contextvars import ContextVar
from datetime import datetime
from html import escape
from pathlib import Path
from typing import TYPE_CHECKING, Any

from biofeedback.analysis.settings import AnalysisSettings
from biofeedback.comparison.feedback_methods import feedback_sentence, study_feedback_sentence
from biofeedback.comparison.guidance_methods import guidance_sentence
from biofeedback.comparison.report_data import (
    ReportError,
    StudyResults,
    load_session_results,
    load_study_results,
)
from biofeedback.comparison.source_methods import (
    BREATHING_SOURCE_NAMES,
    breathing_sources_text,
    ecg_rr_sentence,
    same_source_sentence,
)
from biofeedback.core.atomic_files import atomic_write_text
from biofeedback.core.formatting import MISSING, format_clock, format_p
from biofeedback.core.formatting import format_number as _fmt
from biofeedback.core.hrv_indices import COMPARISON_METRICS, PHASE_INDICES

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from biofeedback.comparison.dataset import WindowRow
    from biofeedback.core.types import Marker
    from biofeedback.figures.catalog import SessionResults
    from biofeedback.store.database import SessionInfo
    from biofeedback.store.studies import Study

__all__ = [
    "FIGURE_SINK",
    "REPORT_FIGURE_WIDTH_MM",
    "ReportError",
    "session_html",
    "session_methods",
    "session_report",
    "study_html",
    "study_methods",
    "study_report",
    "write_report",
]

REPORT_FIGURE_WIDTH_MM = 180
"""Width the reports draw their figures at, mm (the page width; the figures scale down)."""

METRIC_LABELS: dict[str, tuple[str, str]] = {
    key: (spec.label, spec.unit) for key, spec in COMPARISON_METRICS.items()
}
"""Comparison metric -> (label, unit)."""

_RR_SOURCES: dict[str, str] = {
    "ble": "the strap's own beat detector (RR intervals of the Bluetooth Heart Rate Service "
           "notifications)",
    "sim": "the built-in simulator (synthetic RR intervals, not physiological data)",
    "file": "an imported RR-interval file",
    "replay": "a replay of an earlier recording",
}

_STYLE = """
body{font-family:sans-serif;max-width:1000px;margin:1.5em auto;padding:0 1em;color:#222;
line-height:1.45}
h1{font-size:1.5em}h2{font-size:1.2em;border-bottom:1px solid #ccc;margin-top:1.8em}
table{border-collapse:collapse;font-size:0.85em;margin:0.6em 0}
th,td{border:1px solid #ccc;padding:2px 6px;text-align:right}
th{background:#f2f2f2}td.text,th.text{text-align:left}
.warning{background:#fff3cd;border:1px solid #e0a800;padding:0.5em 0.8em;font-weight:bold}
.ok{background:#eef7ee;border:1px solid #8c8;padding:0.5em 0.8em}
.note{color:#555;font-size:0.85em}
figure{margin:0.5em 0}figure svg{max-width:100%;height:auto}
figcaption{font-size:0.85em;color:#444;max-width:860px}
dl.meta{display:grid;grid-template-columns:max-content auto;gap:0.1em 1em}
dl.meta dt{font-weight:bold}dl.meta dd{margin:0}
"""


# ----------------------------------------------------------------------------------------
# Formatting helpers


def _hz(value: float) -> str:
    return f"{value:.2f}" if abs(value * 100 - round(value * 100)) < 1e-9 else f"{value:g}"


def _band(band: Sequence[float]) -> str:
    """``(0.15, 0.4)`` -> ``"0.15–0.40 Hz"``."""
    return f"{_hz(float(band[0]))}–{_hz(float(band[1]))} Hz"


def _date(iso: str | None) -> str:
    if not iso:
        return "unknown"
    try:
        return datetime.fromisoformat(iso).strftime("%Y-%m-%d %H:%M UTC")
    except ValueError:
        return iso


def _versions(versions: dict[str, Any]) -> str:
    return ", ".join(f"{k} {v}" for k, v in sorted(versions.items())) or "not recorded"


def _join(items: Sequence[str]) -> str:
    items = list(items)
    if len(items) <= 2:
        return " and ".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]


def _table(headers: Sequence[str], rows: Iterable[Sequence[str]], *,
           text_columns: int = 1, cls: str = "") -> str:
    """An HTML table; every cell is escaped here (cells are plain text).

    The first ``text_columns`` columns are left-aligned (labels), the rest right-aligned.
    """
    head = "".join(
        f'<th{" class=text" if i < text_columns else ""}>{escape(h)}</th>'
        for i, h in enumerate(headers)
    )
    body = []
    for row in rows:
        cells = "".join(
            f'<td{" class=text" if i < text_columns else ""}>{escape(str(c))}</td>'
            for i, c in enumerate(row)
        )
        body.append(f"<tr>{cells}</tr>")
    attr = f' class="{escape(cls)}"' if cls else ""
    return f"<table{attr}><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


FIGURE_SINK: ContextVar[dict[str, Figure] | None] = ContextVar("FIGURE_SINK", default=None)
"""Set while the PDF report reads the page (:mod:`~biofeedback.comparison.pdf_report`): each
figure then goes into this dict by name instead of into the page as SVG, and the page only
names it (``<figure data-figure="NAME">``)."""


def _chart(name: str, results: SessionResults | dict[str, Any], caption: str) -> str:
    """The publication figure ``name`` as inline SVG with its caption; empty when its
    results hold nothing to draw (the section says so in words)."""
    from biofeedback.figures.catalog import draw
    from biofeedback.figures.render import inline_svg
    from biofeedback.figures.summary import NothingToDrawError

    try:
        figure = draw(name, results, width_mm=REPORT_FIGURE_WIDTH_MM)
    except NothingToDrawError:
        return ""
    sink = FIGURE_SINK.get()
    if sink is not None:
        sink[name] = figure
    chart = inline_svg(figure, id_prefix=f"{name}-") if sink is None else ""
    return (f'<figure data-figure="{escape(name)}">{chart}'
            f"<figcaption>{escape(caption)}</figcaption></figure>")


def _page(title: str, sections: Sequence[str]) -> str:
    generated = datetime.now().astimezone().isoformat("T", "seconds")
    return (
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
        f"<title>{escape(title)}</title><style>{_STYLE}</style></head><body>"
        + "\n".join(sections)
        + f'<p class="note">Generated {escape(generated)} by biofeedback.</p></body></html>\n'
    )


def write_report(path: str | os.PathLike[str], text: str) -> None:
    """Write ``text`` to ``path`` atomically (:func:`~biofeedback.core.atomic_files.
    atomic_write_text`), so a failed, killed or powered-off run never leaves a half-written
    report.

    Raises
    ------
    ReportError
        When the folder does not exist.
    """
    target = Path(path)
    if not target.parent.is_dir():
        raise ReportError(f"cannot write the report: the folder {target.parent} does not exist")
    atomic_write_text(target, text, newline=None)


# ----------------------------------------------------------------------------------------
# Session report


_PHASE_COLUMNS: tuple[tuple[str, str, int], ...] = (
    # key, header with unit, decimals (-1: text, -2: clock)
    ("name", "Phase", -1),
    ("kind", "Kind", -1),
    ("feedback", "Feedback", -1),  # shown or hidden to the participant; - when not recorded
    ("start_s", "Start (m:s)", -2),
    ("duration_s", "Duration (s)", 0),
    *((s.key, s.header, s.decimals) for s in PHASE_INDICES.values()),
    ("hf_valid", "HF valid", -1),
    ("breathing_source", "Breathing from", -1),  # ACC or RR spectrum
)


def _phase_cell(row: dict[str, Any], key: str, digits: int) -> str:
    value = row.get(key)
    if digits == -2:
        return MISSING if value is None else format_clock(float(value))
    if digits == -1:
        if isinstance(value, bool):
            return "yes" if value else "no"
        if key == "breathing_source":
            return BREATHING_SOURCE_NAMES.get(str(value), MISSING)
        return MISSING if value is None else str(value)
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return _fmt(value, digits)


def _device_text(device: dict[str, Any]) -> str:
    if not device:
        return "not recorded"
    parts = [str(device.get(k)) for k in ("manufacturer", "model") if device.get(k)]
    text = " ".join(parts) or "unnamed device"
    extra = []
    if device.get("firmware"):
        extra.append(f"firmware {device['firmware']}")
    if device.get("body_location"):
        extra.append(f"worn on the {device['body_location']}")
    return text + (f" ({', '.join(extra)})" if extra else "")


def breathing_source_sentence(n_acc: int, n_rr: int, unit: str) -> str | None:
    """The methods sentence naming where the breathing rate that decided HF validity came from.

    Parameters
    ----------
    n_acc : int
        Phases (or windows) whose rate was counted from the chest accelerometer.
    n_rr : int
        Those whose rate was read off the RR spectrum.
    unit : str
        ``"phases"`` or ``"windows"``.

    Returns
    -------
    str or None
        None when no phase used the accelerometer (the breathing sentence before says RR).
    """
    if n_acc == 0:
        return None
    total = n_acc + n_rr
    where = (f"in all {total} {unit}" if n_rr == 0 else
             f"in {n_acc} of {total} {unit}, and read from the RR spectrum elsewhere")
    return ("Breathing rate (the one that decides HF validity and enters the breathing-"
            "confound check) was measured from the chest accelerometer: respiration as the "
            "first principal component of the band-passed (0.05–0.7 Hz) axes, breaths "
            "counted by advanced counting (Schäfer & Kratky 2008), used where the count was "
            f"reliable; {where}.")


def session_methods(
    info: SessionInfo,
    analysis: dict[str, Any],
    *,
    bin_s: float = 60.0,
    markers: Sequence[Marker] = (),
) -> str:
    """The methods paragraph of a session report, generated from what was stored and used.

    Parameters
    ----------
    info : SessionInfo
        The stored session (:meth:`SessionStore.session_info`): device information, source,
        recording settings and software versions.
    analysis : dict
        ``AnalysisResult.to_dict()`` of the session (settings, versions, phases).
    bin_s : float
        Bin length of the trajectories, s.
    markers : sequence of Marker
        The session's markers: its audio cues and participant-screen markers say how the
        guidance was delivered.

    Returns
    -------
    str
        Plain text (escape it before putting it in HTML).
    """
    s = analysis["settings"]
    phases = analysis["phases"]
    source = _RR_SOURCES.get(info.source, f"source {info.source!r}")
    parts = [
        f"Session {info.id} (participant {info.participant_id or 'not recorded'}, protocol "
        f"{info.protocol_id or 'none'}) was recorded on {_date(info.started_utc)} with "
        f"{_device_text(info.device_info)}; RR intervals came from {source}."
    ]
    phase_text = _join([f"{p['name']} ({p['kind']}, {p['duration_s']:.0f} s)" for p in phases])
    parts.append(f"Phases: {phase_text}.")
    parts.append(feedback_sentence(
        ((p["name"], p.get("feedback")) for p in phases), who="the participant"))
    if delivery := guidance_sentence(markers, has_protocol=info.protocol_id is not None):
        parts.append(delivery)
    nk = analysis["versions"].get("neurokit2", "unknown")
    if s["correction"] == "kubios":
        parts.append(
            "Artifacts: beats were classified with the Kubios method (Lipponen & Tarvainen "
            f"2019) as implemented in neurokit2 {nk} signal_fixpeaks (c1 = {s['kubios_c1']}, "
            f"c2 = {s['kubios_c2']}, alpha = {s['kubios_alpha']}, "
            f"{s['kubios_window_width']}-beat threshold window, "
            f"{s['kubios_medfilt_order']}-beat median filter; neurokit2 detection) and "
            "corrected with the Kubios correction (biofeedback.analysis.artifacts), separately "
            "on each gap-free segment; raw intervals are kept."
        )
    elif s["correction"] == "neurokit2":
        parts.append(f"Artifacts: corrected with neurokit2 {nk} signal_fixpeaks "
                     "(iterative=True) as returned.")
    else:
        parts.append("Artifacts: no correction was applied (raw intervals analysed); beats "
                     "were still classified to report the artifact percentage.")
    pct = _join([f"{p['name']} {_fmt(p['artifact_pct'], 1)} %" for p in phases])
    parts.append(f"Beats flagged as artifacts per phase: {pct}.")
    parts.append(
        "Windows: indices were computed over each whole phase (durations above); the "
        f"trajectories use {bin_s:g}-s ({bin_s / 60:g}-min) bins on a grid from session start, "
        "from the live detector's corrected intervals."
    )
    if s.get("spectral", True):
        parts.append(
            f"Spectral method: {str(s['psd_method']).capitalize()} periodogram of the NN series "
            f"interpolated at {s['interpolation_rate_hz']:g} Hz (neurokit2 hrv_frequency, "
            "normalize=False; mean removed, no further detrending); bands "
            f"HF {_band(s['hf_band_hz'])}, LF {_band(s['lf_band_hz'])}, "
            f"VLF {_band(s['vlf_band_hz'])} (Task Force 1996); HF from gap-free runs of at "
            f"least {s['min_hf_duration_s']:g} s, LF of at least {s['min_lf_duration_s']:g} s."
        )
    else:
        parts.append("Spectral indices were not computed (time-domain analysis only).")
    parts.append(
        "Transforms: lnRMSSD is the natural log of RMSSD in ms; HF and LF are in ms² "
        "untransformed; LF/HF is descriptive only. Mean HR = 60000 / mean NN; pNN50 counts "
        f"|ΔNN| > {s['pnn_threshold_ms']:g} ms; SD1 and SD2 from the Poincaré plot."
    )
    breathing = _join([f"{p['name']} {_fmt(p['breaths_per_min'], 1)}" for p in phases])
    parts.append(
        "Breathing: the rate per phase is the frequency of the highest peak of the interval "
        f"spectrum in {_band(s['breathing_band_hz'])} ({s['breathing_band_hz'][0] * 60:g}–"
        f"{s['breathing_band_hz'][1] * 60:g} breaths/min); HF is interpreted as vagal only "
        f"when breathing lies within {s['min_hf_breaths_per_min']:g}–"
        f"{s['max_hf_breaths_per_min']:g} breaths/min (column HF valid). Breaths/min per phase: "
        f"{breathing}."
    )
    used = [p.get("breathing_source") for p in phases]
    if acc_sentence := breathing_source_sentence(used.count("acc"), used.count("rr"), "phases"):
        parts.append(acc_sentence)
    parts.append(
        f"Software: recorded with {_versions(info.versions)}; analysed with "
        f"{_versions(analysis['versions'])}."
    )
    return " ".join(parts)


def session_report(
    data_dir: str | os.PathLike[str] | None,
    session_id: int,
    *,
    analysis_settings: AnalysisSettings | None = None,
    bin_s: float = 60.0,
) -> str:
    """The HTML report of one stored session.

    Parameters
    ----------
    data_dir : path or None
        Folder of the session database (None: the default).
    session_id : int
        The session.
    analysis_settings : AnalysisSettings, optional
        Settings of the per-phase analysis (default ``AnalysisSettings()``).
    bin_s : float
        Bin length of the HR and lnRMSSD trajectories, s (default 60).

    Returns
    -------
    str
        A complete, self-contained HTML document.

    Raises
    ------
    SessionNotFoundError
        No such session.
    ReportError
        The session has no beats.
    """
    info, results = load_session_results(data_dir, session_id,
                                         analysis_settings=analysis_settings, bin_s=bin_s)
    return session_html(info, results, bin_s=bin_s)


def session_html(info: SessionInfo, results: SessionResults, *, bin_s: float = 60.0) -> str:
    """The session report of :func:`session_report` from results already loaded."""
    recording, analysis = results.recording, results.analysis
    session_id = info.id
    gap_s = sum(g.end_s - g.start_s for g in recording.gaps)
    title = f"Session {session_id}"
    sections = [f"<h1>{escape(title)}</h1>", '<dl class="meta">']
    for label, value in (
        ("Participant", info.participant_id or "not recorded"),
        ("Protocol", info.protocol_id or "none (free recording)"),
        ("Date", _date(info.started_utc)),
        ("Device", _device_text(info.device_info)),
        ("Status", info.status),
        ("Duration", format_clock(recording.duration_s)),
        ("Beats", str(recording.n_beats)),
        ("Gaps", f"{len(recording.gaps)} ({gap_s:.1f} s)"),
    ):
        sections.append(f"<dt>{escape(label)}</dt><dd>{escape(value)}</dd>")
    sections.append("</dl>")

    sections.append('<h2 id="tachogram">Tachogram</h2>')
    sections.append(_chart(
        "tachogram", results,
        "Raw RR intervals (ms) over session time, phases shaded and named, markers dashed; "
        "the line breaks at gaps (a long session is thinned keeping each stretch's minimum "
        "and maximum).",
    ))

    sections.append('<h2 id="phases">Per-phase indices</h2>')
    rows = [[_phase_cell(p, key, d) for key, _, d in _PHASE_COLUMNS] for p in analysis["phases"]]
    sections.append(_table([h for _, h, _ in _PHASE_COLUMNS], rows, text_columns=3,
                           cls="phases"))
    notes = [(p["name"], n) for p in analysis["phases"] for n in p.get("notes", [])]
    if notes:
        sections.append("<ul class=\"note\">" + "".join(
            f"<li>{escape(name)}: {escape(n)}</li>" for name, n in notes) + "</ul>")

    sections.append(_chart(
        "phase-indices", results,
        "Heart rate, lnRMSSD and breathing rate of each phase (the whole phase), in the "
        "phase's colour; n/a where the index could not be computed (see the notes).",
    ))
    sections.append(f'<h2 id="trajectories">Trajectories ({bin_s:g}-s bins)</h2>')
    sections.append(_chart(
        "trajectories", results,
        f"Heart rate (bpm) and lnRMSSD (ln ms) per {bin_s:g}-s bin; empty bins (gaps) are "
        "left blank.",
    ))

    sections.append('<h2 id="methods">Methods</h2>')
    methods = session_methods(info, analysis, bin_s=bin_s, markers=recording.markers)
    sections.append(f'<p class="methods">{escape(methods)}</p>')
    return _page(f"{title} – biofeedback report", sections)


# ----------------------------------------------------------------------------------------
# Study report


def study_methods(
    result: dict[str, Any],
    study: Study | None = None,
    *,
    analysis_versions: dict[str, Any] | None = None,
    recorded_versions: Sequence[dict[str, Any]] = (),
) -> str:
    """The methods paragraph of a study report, generated from ``result["settings"]``.

    Parameters
    ----------
    result : dict
        The JSON-ready result of :func:`~biofeedback.comparison.compare.compare`.
    study : Study, optional
        The stored study (conditions, counterbalanced orders, participants' orders).
    analysis_versions : dict, optional
        Versions of the libraries the comparison was computed with.
    recorded_versions : sequence of dict
        The distinct software versions the sessions were recorded with.

    Returns
    -------
    str
        Plain text (escape it before putting it in HTML).
    """
    st = result["settings"]
    w, a = st["window"], st["analysis"]
    conf = round(100 * float(st["confidence"]))
    sessions = st.get("sessions", [])
    parts = []
    who = (f"study {st['study']}" if st.get("study")
           else f"participants {_join(list(st.get('participants', [])))}")
    parts.append(f"Data: {len(sessions)} complete session(s) of {who}.")
    if study is not None:
        from protocols.design import design_orders

        orders = [" → ".join(o) for o in design_orders(study.conditions)]
        counts: dict[tuple[str, ...], int] = {}
        for e in study.participants:
            counts[tuple(e.condition_order)] = counts.get(tuple(e.condition_order), 0) + 1
        used = _join([f"{' → '.join(o)} (n = {n})" for o, n in counts.items()]) or "none yet"
        parts.append(
            f"Order and counterbalancing: conditions {_join(list(study.conditions))}, "
            f"counterbalanced with a Williams design over the orders {'; '.join(orders)}; "
            f"participants per order: {used}. The condition's position in the order enters the "
            "mixed model as the order term."
        )
    else:
        parts.append("Order and counterbalancing: no study design (participants selected "
                     "directly); order is the position of the practice within its session.")
    anchor = "last" if w["anchor"] == "end" else "first"
    parts.append(
        f"Windows: the {anchor} {w['length_s']:g} s ({w['length_s'] / 60:g} min) of each "
        f"{_join(list(w['kinds']))} phase, equal in every phase; a phase shorter than the "
        "window was analysed whole and flagged short. Exclusion: a window was excluded when "
        f"more than {w['exclusion_threshold_pct']:g} % of its beats were flagged as "
        f"artifacts (exclusion threshold) or its intervals covered less than "
        f"{w['min_covered_s']:g} s; excluded windows and missing values are listed below, "
        "never dropped silently."
    )
    if feedback := study_feedback_sentence(result.get("phase_feedback", [])):
        parts.append(feedback)
    parts.append(
        f"Artifacts: {a['correction']} correction (Kubios classes by neurokit2 signal_fixpeaks, "
        f"c1 = {a['kubios_c1']}, c2 = {a['kubios_c2']}, alpha = {a['kubios_alpha']}). "
        f"Spectral method: {str(a['psd_method']).capitalize()} periodogram of the NN series "
        f"interpolated at {a['interpolation_rate_hz']:g} Hz, mean removed; bands "
        f"HF {_band(a['hf_band_hz'])}, LF {_band(a['lf_band_hz'])}; HF from gap-free runs of "
        f"at least {a['min_hf_duration_s']:g} s, LF of at least {a['min_lf_duration_s']:g} s. "
        f"HF entered only where breathing lay within {a['min_hf_breaths_per_min']:g}–"
        f"{a['max_hf_breaths_per_min']:g} breaths/min; breathing rate from the highest peak of the "
        f"interval spectrum in {_band(a['breathing_band_hz'])}. Transforms: lnRMSSD (natural "
        "log of RMSSD in ms) is the primary vagal index; HF and LF in ms²."
    )
    sources: dict[str, int] = result.get("breathing_sources", {})
    if acc_sentence := breathing_source_sentence(sources.get("acc", 0), sources.get("rr", 0),
                                                 "windows"):
        parts.append(acc_sentence)
        parts.append(same_source_sentence(result.get("breathing_change_sources", {}),
                                          result["breathing"].get("participant_sources", {})))
    if "ecg_rr" in result:
        parts.append(ecg_rr_sentence(result["ecg_rr"]))
    parts.append(
        f"Statistics: contrast {st['contrast']}; each participant's mean over sessions, "
        f"paired across participants: mean difference with {conf} % t confidence interval, "
        "Cohen's d_z = mean / SD of the differences with a noncentral-t interval, paired "
        "t-test and Wilcoxon signed-rank test. Linear mixed model (statsmodels, "
        f"{result['mixed_model'].get('method') or 'REML'}) with a random intercept per "
        f"participant: {result['mixed_model'].get('formula')}. Breathing rate is compared "
        "beside every vagal contrast."
    )
    recorded = "; ".join(_versions(v) for v in recorded_versions) or "not recorded"
    parts.append(f"Software: analysed with {_versions(analysis_versions or {})}; sessions "
                 f"recorded with {recorded}.")
    return " ".join(parts)


def _comparison_section(result: dict[str, Any]) -> list[str]:
    conf = round(100 * float(result["settings"]["confidence"]))
    out = ['<h2 id="comparison">Self-soothing vs attention</h2>',
           f"<p>Contrast: {escape(result['settings']['contrast'])}; paired by participant.</p>"]
    headers = ["Metric", "Unit", "n", "n missing", "Mean difference", f"{conf} % CI",
               "d_z", f"d_z {conf} % CI", "p (t)", "p (Wilcoxon)"]
    head = "".join(f'<th{" class=text" if i < 2 else ""}>{escape(h)}</th>'
                   for i, h in enumerate(headers))
    body = []
    for c in result["comparisons"]:
        label, unit = METRIC_LABELS.get(c["metric"], (c["metric"], ""))
        metric = escape(c["metric"])
        cells = [
            f"<td class=text>{escape(label)}</td>", f"<td class=text>{escape(unit)}</td>",
            f"<td>{c['n']}</td>", f"<td>{c.get('n_missing', 0)}</td>",
            f'<td class="mean-diff" data-metric="{metric}">{_fmt(c["mean_diff"], 3)}</td>',
            f"<td>{_fmt(c['ci_low'], 3)} to {_fmt(c['ci_high'], 3)}</td>",
            f'<td class="d-z" data-metric="{metric}">{_fmt(c["d_z"], 2)}</td>',
            f"<td>{_fmt(c['d_z_ci_low'], 2)} to {_fmt(c['d_z_ci_high'], 2)}</td>",
            f"<td>{format_p(c['p_t'])}</td>", f"<td>{format_p(c['p_wilcoxon'])}</td>",
        ]
        body.append(f"<tr>{''.join(cells)}</tr>")
    out.append(f'<table class="comparisons"><thead><tr>{head}</tr></thead><tbody>'
               f"{''.join(body)}</tbody></table>")
    notes = [(c["metric"], c.get("note")) for c in result["comparisons"] if c.get("note")]
    if notes:
        out.append('<ul class="note">' + "".join(
            f"<li>{escape(m)}: {escape(n)}</li>" for m, n in notes) + "</ul>")
    out.append(_chart(
        "forest", result,
        f"Cohen's d_z of each contrast (self-soothing − attention) with its {conf} % CI "
        "(an arrow marks an end that could not be computed), and the mean difference with "
        "its CI in the metric's unit.",
    ))
    out.append(_chart(
        "phase-values", result,
        f"Each practice's mean change from the session baseline over participants, with its "
        f"{conf} % CI; self-soothing practices in blue, attention practices in vermillion.",
    ))
    return out


def _breathing_section(breathing: dict[str, Any],
                       result: dict[str, Any] | None = None) -> list[str]:
    out = ['<h2 id="breathing">Breathing check</h2>']
    rows = [[breathing.get("label_a", "self-soothing"), str(breathing.get("n", MISSING)),
             _fmt(breathing.get("mean_a"), 2), _fmt(breathing.get("sd_a"), 2)],
            [breathing.get("label_b", "attention"), str(breathing.get("n", MISSING)),
             _fmt(breathing.get("mean_b"), 2), _fmt(breathing.get("sd_b"), 2)]]
    out.append(_table(["Category", "n", "Mean (breaths/min)", "SD (breaths/min)"], rows))
    out.append(
        f"<p>Difference {escape(_fmt(breathing.get('mean_diff'), 2))} breaths/min "
        f"(CI {escape(_fmt(breathing.get('ci_low'), 2))} to "
        f"{escape(_fmt(breathing.get('ci_high'), 2))}); warning threshold "
        f"{escape(_fmt(breathing.get('threshold_breaths_per_min'), 1))} breaths/min.</p>"
    )
    if breathing.get("warning"):
        out.append(f'<p class="warning">Warning: {escape(str(breathing["warning"]))}</p>')
    else:
        out.append('<p class="ok">No breathing warning: the categories do not differ in '
                   "breathing enough to explain an HF difference.</p>")
    if result is not None:
        out.append(_chart(
            "breathing", result,
            "Each participant's mean breathing rate during self-soothing and attention "
            "practices, joined by a line, with each category's mean and CI.",
        ))
    return out


def _model_section(model: dict[str, Any]) -> list[str]:
    out = ['<h2 id="mixed-model">Mixed model</h2>',
           f'<p>Formula: <code class="formula">{escape(str(model.get("formula")))}</code>, '
           f"random intercept per participant; {escape(str(model.get('method') or ''))}, "
           f"{model.get('n_observations', 0)} observations of "
           f"{model.get('n_participants', 0)} participants ({model.get('n_excluded', 0)} "
           f"excluded, {model.get('n_missing', 0)} missing).</p>"]
    if model.get("error"):
        out.append(f'<p class="warning">Not fitted: {escape(str(model["error"]))}</p>')
    else:
        rows = [[t["term"], _fmt(t["estimate"], 3), _fmt(t["std_error"], 3), _fmt(t.get("z"), 2),
                 format_p(t["p"]), f"{_fmt(t.get('ci_low'), 3)} to {_fmt(t.get('ci_high'), 3)}"]
                for t in model.get("fixed_effects", [])]
        out.append(_table(["Term", "Estimate", "SE", "z", "p", "95 % CI"], rows,
                          cls="fixed-effects"))
        variance = _fmt(model.get("random_intercept_variance"), 4)
        out.append(f"<p>Random-intercept variance {escape(variance)}; "
                   f"residual variance {escape(_fmt(model.get('residual_variance'), 4))}; "
                   f"converged: {'yes' if model.get('converged') else 'no'}.</p>")
    if model.get("notes"):
        out.append('<ul class="note">' + "".join(
            f"<li>{escape(str(n))}</li>" for n in model["notes"]) + "</ul>")
    return out


def _difference(a: float | None, b: float | None) -> float | None:
    """``a - b``, or None when either is missing."""
    return None if a is None or b is None else a - b


def _trajectory_section(rows: Sequence[WindowRow], result: dict[str, Any]) -> list[str]:
    from biofeedback.comparison.contrasts import participant_means, practice_responses

    means = participant_means(practice_responses(rows), "ln_rmssd")
    out = ['<h2 id="individual">Individual trajectories</h2>']
    out.append(_chart(
        "paired", result,
        "Each participant's mean change in lnRMSSD from the session baseline during "
        "self-soothing and attention practices, joined by a line, with each category's mean "
        "and CI.",
    ))
    table_rows = [[p, _fmt(m.get("self_soothing"), 3), _fmt(m.get("attention"), 3),
                   _fmt(_difference(m.get("self_soothing"), m.get("attention")), 3)]
                  for p, m in means.items()]
    out.append(_table(["Participant", "Δ lnRMSSD self-soothing (ln ms)",
                       "Δ lnRMSSD attention (ln ms)", "Difference (ln ms)"], table_rows,
                      cls="individual"))
    return out


def _per_practice_section(per_practice: Sequence[dict[str, Any]]) -> list[str]:
    if not per_practice:
        return []
    rows = [[p["practice"], p["category"], _fmt(p.get("delta_ln_rmssd"), 3),
             str(p.get("n_ln_rmssd", "")), _fmt(p.get("delta_hr_bpm"), 2),
             _fmt(p.get("delta_hf_ms2"), 0), _fmt(p.get("delta_lf_ms2"), 0),
             _fmt(p.get("delta_breaths_per_min"), 2),
             breathing_sources_text(p.get("breathing_sources")),
             breathing_sources_text(p.get("breathing_change_sources"))] for p in per_practice]
    return ['<h2 id="per-practice">Per practice</h2>',
            _table(["Practice", "Category", "Δ lnRMSSD (ln ms)", "n", "Δ HR (bpm)",
                    "Δ HF (ms²)", "Δ LF (ms²)", "Δ breathing (breaths/min)",
                    "Breathing from (practice windows)", "Δ breathing from (both windows)"],
                   rows, text_columns=2)]


def _trend_section(result: dict[str, Any]) -> list[str]:
    """Session by session per participant: resting baseline and each practice's response
    (benefits are reported to build over weeks of practice)."""
    trends: Sequence[dict[str, Any]] = result.get("trends", [])
    if not trends:
        return []
    rows = []
    for participant in trends:
        for entry in participant["sessions"]:
            deltas = ", ".join(f"{name} {_fmt(value, 3)}"
                               for name, value in sorted(entry["delta_ln_rmssd"].items()))
            rows.append([participant["participant_id"], str(entry["session_id"]),
                         entry["started_utc"][:10], _fmt(entry["days_since_first"], 1),
                         _fmt(entry["baseline_ln_rmssd"], 3), deltas or MISSING,
                         _fmt(participant["baseline_slope_per_week"], 3)])
    chart = _chart(
        "trends", result,
        "Resting baseline lnRMSSD of each participant per session (top) and each practice's "
        "Δ lnRMSSD from that baseline (bottom), against days since the participant's first "
        "session.",
    )
    return ['<h2 id="trends">Over time</h2>',
            "<p>Resting baseline lnRMSSD and each practice's Δ lnRMSSD per session, in date "
            "order; the slope of the baseline per week needs 3 sessions over more than a "
            "day.</p>",
            chart,
            _table(["Participant", "Session", "Date", "Day", "Baseline lnRMSSD (ln ms)",
                    "Δ lnRMSSD per practice (ln ms)", "Baseline slope (ln ms/week)"], rows,
                   text_columns=3)]


def _reactivity_section(reactivity: Sequence[dict[str, Any]],
                        result: dict[str, Any] | None = None) -> list[str]:
    out = ['<h2 id="reactivity">Reactivity and recovery</h2>']
    if not reactivity:
        out.append("<p>No session has a stressor phase: no reactivity or recovery scores.</p>")
        return out
    units = {"hr_bpm": ("HR", "bpm"), "ln_rmssd": ("lnRMSSD", "ln ms")}
    headers = ["Participant", "Session", "Condition"]
    metrics = [m for m in units if any(m in r.get("reactivity", {}) for r in reactivity)]
    for m in metrics:
        name, unit = units[m]
        headers += [f"{name} reactivity ({unit})", f"{name} residualised ({unit})",
                    f"{name} recovery ({unit})", f"{name} recovery (%)"]
    rows = []
    for r in reactivity:
        row = [r["participant_id"], str(r["session_id"]), r.get("condition") or MISSING]
        for m in metrics:
            row += [_fmt(r["reactivity"].get(m), 2),
                    _fmt(r.get("residualized_reactivity", {}).get(m), 2),
                    _fmt(r["recovery"].get(m), 2), _fmt(r["percent_recovery"].get(m), 0)]
        rows.append(row)
    out.append(_table(headers, rows, text_columns=3, cls="reactivity"))
    if result is not None:
        out.append(_chart(
            "reactivity", result,
            "Heart rate and lnRMSSD in the baseline, stressor and recovery windows of each "
            "session with a stressor, one line per session, with each window's mean and CI.",
        ))
    missing = [(r["session_id"], m, why) for r in reactivity
               for m, why in r.get("missing", {}).items()]
    if missing:
        out.append('<ul class="note">' + "".join(
            f"<li>session {sid}, {escape(m)}: {escape(why)}</li>" for sid, m, why in missing)
            + "</ul>")
    return out


def _excluded_section(excluded: Sequence[dict[str, Any]]) -> list[str]:
    out = ['<h2 id="excluded">Excluded and missing</h2>']
    if not excluded:
        out.append("<p>Nothing was excluded or missing.</p>")
        return out
    rows = [[e.get("what", ""), str(e.get("session_id", MISSING)),
             e.get("participant_id") or MISSING, e.get("phase_id") or MISSING,
             e.get("reason", "")] for e in excluded]
    out.append(f"<p>{len(excluded)} item(s), each with its reason:</p>")
    out.append(_table(["What", "Session", "Participant", "Phase", "Reason"], rows,
                      text_columns=5, cls="excluded"))
    return out


def study_report(
    data_dir: str | os.PathLike[str] | None,
    study: str,
    *,
    workers: int | None = None,
    progress: Callable[[int, int], None] | None = None,
    rr_source: str = "strap",
) -> str:
    """The HTML report of a study's self-soothing vs attention comparison.

    Parameters
    ----------
    data_dir : path or None
        Folder of the session database (None: the default).
    study : str
        Study name.
    workers : int, optional
        Worker processes of the comparison (default: every core).
    progress : callable, optional
        ``progress(done, total)`` after each session is analysed.
    rr_source : str
        ``"strap"`` or ``"ecg"`` (see :func:`~biofeedback.comparison.compare.compare`).

    Returns
    -------
    str
        A complete, self-contained HTML document.

    Raises
    ------
    StudyNotFoundError
        No such study.
    BiofeedbackError
        The study has no complete session to compare.
    """
    loaded = load_study_results(data_dir, study, workers=workers, progress=progress,
                                rr_source=rr_source)
    return study_html(study, loaded)


def study_html(study: str, loaded: StudyResults) -> str:
    """The study report of :func:`study_report` from a comparison already run."""
    from biofeedback.analysis import library_versions

    result, rows, stored_study = loaded.result, loaded.rows, loaded.study
    recorded = loaded.recorded_versions
    participants = sorted({r.participant_id for r in rows})
    title = f"Study {study}"
    sections = [
        f"<h1>{escape(title)}: self-soothing vs attention practices</h1>",
        '<dl class="meta">',
        f"<dt>Conditions</dt><dd>{escape(', '.join(stored_study.conditions))}</dd>",
        f"<dt>Participants</dt><dd>{len(participants)}</dd>",
        f"<dt>Sessions compared</dt><dd>{len(result['settings']['sessions'])}</dd>",
        f"<dt>Exclusion threshold</dt><dd>"
        f"{escape(_fmt(result['settings']['window']['exclusion_threshold_pct'], 1))} % of beats"
        "</dd></dl>",
    ]
    sections += _comparison_section(result)
    sections += _breathing_section(result["breathing"], result)
    sections += _model_section(result["mixed_model"])
    sections += _trajectory_section(rows, result)
    sections += _per_practice_section(result.get("per_practice", []))
    sections += _trend_section(result)
    sections += _reactivity_section(result.get("reactivity", []), result)
    sections += _excluded_section(result.get("excluded", []))
    methods = study_methods(result, stored_study, analysis_versions=library_versions(),
                            recorded_versions=recorded)
    sections.append(f'<h2 id="methods">Methods</h2><p class="methods">{escape(methods)}</p>')
    return _page(f"{title} – biofeedback report", sections)
