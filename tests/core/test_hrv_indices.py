"""The HRV index registry: every index shown anywhere has a spec; bands as published."""

from __future__ import annotations

import ast
import dataclasses
from pathlib import Path

import numpy as np
import pytest

from biofeedback.analysis import analyze_recording
from biofeedback.analysis.results import PHASE_KEYS, format_table
from biofeedback.analysis.settings import AnalysisSettings
from biofeedback.comparison import report
from biofeedback.comparison.contrasts import METRICS
from biofeedback.core import breathing
from biofeedback.core.errors import BiofeedbackError
from biofeedback.core.hrv_indices import (
    BREATHING_BAND_HZ,
    COMPARISON_METRICS,
    HF_BAND_HZ,
    LF_BAND_HZ,
    LIVE_INDICES,
    PHASE_INDICES,
    IndexSpec,
    UnknownIndexError,
    index_spec,
)
from biofeedback.core.recording import Recording
from biofeedback.live import spectral
from biofeedback.live.indices import LiveHrvSettings, LiveIndices
from biofeedback.ui import analysis_table
from biofeedback.viewmodels import comparison_format, spectrum

# Structural columns of a phase row, not indices.
_PHASE_STRUCTURE = {"name", "start_s", "duration_s", "hf_valid", "breathing_source"}


def test_bands_are_the_task_force_bands():
    # Task Force of the ESC and NASPE (1996), Circulation 93:1043-1065, Table 2.
    assert LF_BAND_HZ == (0.04, 0.15)
    assert HF_BAND_HZ == (0.15, 0.40)
    assert BREATHING_BAND_HZ == (0.05, 0.5)  # 3-30 breaths/min


def test_every_band_copy_reads_the_registry():
    settings = AnalysisSettings()
    assert settings.lf_band_hz == LF_BAND_HZ and settings.hf_band_hz == HF_BAND_HZ
    assert settings.breathing_band_hz == BREATHING_BAND_HZ
    live = LiveHrvSettings()
    assert live.lf_band_hz == LF_BAND_HZ and live.hf_band_hz == HF_BAND_HZ
    assert spectrum.LF_BAND_HZ is LF_BAND_HZ and spectrum.HF_BAND_HZ is HF_BAND_HZ
    assert breathing.BREATHING_BAND_HZ is BREATHING_BAND_HZ
    assert HF_BAND_HZ[0] == breathing.RESPIRATORY_SPLIT_HZ
    for func in (spectral.breathing_rate, spectral.breathing_rate_from):
        assert func.__defaults__ is not None and BREATHING_BAND_HZ in func.__defaults__


def test_every_analysis_index_has_a_spec_in_result_order():
    indices = [k for k in PHASE_KEYS if k not in _PHASE_STRUCTURE]
    assert list(PHASE_INDICES) == indices


def test_every_live_index_has_a_spec():
    fields = {f.name for f in dataclasses.fields(LiveIndices)} - {"time_s", "n_beats"}
    assert set(LIVE_INDICES) == fields
    assert all(spec.window_s is not None and spec.window_s > 0 for spec in LIVE_INDICES.values())


def test_live_windows_are_the_live_settings_defaults():
    s = LiveHrvSettings()
    windows = {
        "hr_bpm": s.hr_window_s, "rmssd_30_ms": s.rmssd_short_s,
        "ln_rmssd_30": s.rmssd_short_s, "rmssd_60_ms": s.rmssd_long_s,
        "ln_rmssd_60": s.rmssd_long_s, "sdnn_ms": s.stats_window_s,
        "pnn50_pct": s.stats_window_s, "sd1_ms": s.stats_window_s, "hf_ms2": s.hf_window_s,
        "lf_ms2": s.lf_window_s, "breaths_per_min": s.breathing_window_s,
        "coherence_score": s.coherence_window_s, "coherence_ratio": s.coherence_window_s,
        "artifact_pct": s.artifact_window_s,
    }
    assert {k: LIVE_INDICES[k].window_s for k in windows} == windows
    assert (s.hr_window_s, s.rmssd_long_s, s.hf_window_s, s.lf_window_s) == (10, 60, 120, 300)
    assert spectrum.MIN_SPECTRUM_S == s.breathing_window_s == 64.0


def test_every_comparison_metric_has_a_spec():
    assert set(COMPARISON_METRICS) == {f"delta_{m}" for m in METRICS}
    assert report.METRIC_LABELS["delta_breaths_per_min"] == ("Δ breathing rate",
                                                                "breaths/min")
    assert report.METRIC_LABELS["delta_ln_rmssd"] == ("Δ lnRMSSD", "ln ms")


def test_report_and_terminal_tables_come_from_the_registry():
    keys = [k for k, _, _ in report._PHASE_COLUMNS
            if k not in _PHASE_STRUCTURE | {"kind", "feedback"}]
    assert keys == list(PHASE_INDICES)
    headers = {k: h for k, h, _ in report._PHASE_COLUMNS}
    assert headers["breaths_per_min"] == "Breathing (breaths/min)"
    assert headers["breathing_source"] == "Breathing from"
    assert headers["lf_hf"] == "LF/HF (ratio)" and headers["ln_rmssd"] == "lnRMSSD (ln ms)"
    rr = np.full(200, 800.0)
    table = format_table(analyze_recording(Recording(np.cumsum(rr) / 1000.0, rr)))
    header, pos = table.splitlines()[1], 0
    for spec in PHASE_INDICES.values():  # each short name, in registry order
        pos = header.index(spec.abbrev, pos) + len(spec.abbrev)
    assert [s.abbrev for s in PHASE_INDICES.values()][:4] == ["beats", "art %", "HR", "RR ms"]


def test_specs_are_complete():
    for table in (PHASE_INDICES, LIVE_INDICES, COMPARISON_METRICS):
        for key, spec in table.items():
            assert spec.key == key
            assert spec.label and spec.definition and spec.source and spec.abbrev
            assert spec.decimals >= 0
            assert spec.nk_name is None or spec.nk_name.startswith("HRV_")
    assert PHASE_INDICES["rmssd_ms"].nk_name == "HRV_RMSSD"
    assert PHASE_INDICES["lf_hf"].nk_name == "HRV_LFHF"
    # one NeuroKit2 name maps back to one phase index
    names = [s.nk_name for s in PHASE_INDICES.values() if s.nk_name]
    assert len(names) == len(set(names))


def test_header_and_short_forms():
    spec = IndexSpec("x_ms", "X", "ms", 1, "an index", "nowhere")
    assert spec.header == "X (ms)" and spec.abbrev == "X" and spec.unit_short == "ms"
    assert IndexSpec("r", "R", "", 2, "d", "s").header == "R"
    with pytest.raises(dataclasses.FrozenInstanceError):
        spec.label = "Y"  # type: ignore[misc]


def test_lookup_and_unknown_keys():
    assert index_spec("rmssd_ms") is PHASE_INDICES["rmssd_ms"]
    assert index_spec("rmssd_60_ms", "live").window_s == 60.0
    assert index_spec("delta_hf_ms2", "comparison").unit == "ms²"
    with pytest.raises(UnknownIndexError, match=r"unknown phase index 'rmsd_ms'.*rmssd_ms"):
        index_spec("rmsd_ms")
    with pytest.raises(UnknownIndexError, match="unknown live index 'rmssd_ms'"):
        index_spec("rmssd_ms", "live")
    with pytest.raises(UnknownIndexError, match="unknown index scope 'nope'"):
        index_spec("rmssd_ms", "nope")  # type: ignore[arg-type]
    assert issubclass(UnknownIndexError, BiofeedbackError)
    assert issubclass(UnknownIndexError, LookupError)


def test_window_analysis_table_columns_come_from_the_registry():
    columns = {c.key: c for c in analysis_table._ANALYSIS_COLUMNS}
    keys = [k for k in columns if k not in _PHASE_STRUCTURE | {"kind"}]
    assert keys == list(PHASE_INDICES)
    for key, spec in PHASE_INDICES.items():
        assert columns[key].header.startswith(spec.label) and columns[key].fmt == "index"
        assert columns[key].decimals == spec.decimals
    # narrow columns: the short units ("/min", "%"), no unit for counts and ratios
    assert columns["breaths_per_min"].header == "Breathing\n(/min)"
    assert columns["artifact_pct"].header == "Artifacts\n(%)"
    assert columns["hf_ms2"].header == "HF\n(ms²)" and columns["lf_hf"].header == "LF/HF"
    assert columns["n_beats"].header == "Beats"
    row = {"mean_rr_ms": 812.34, "ln_rmssd": 3.456, "n_beats": 120, "lf_hf": None}
    shown = {k: analysis_table._format_metric(v, columns[k]) for k, v in row.items()}
    assert shown == {"mean_rr_ms": "812.3", "ln_rmssd": "3.46", "n_beats": "120", "lf_hf": "–"}


def test_window_comparison_wording_comes_from_the_registry():
    for key, spec in COMPARISON_METRICS.items():
        assert comparison_format.metric_parts(key) == (spec.abbrev, spec.unit_short,
                                                        spec.decimals)
        assert comparison_format.decimals(key) == spec.decimals
    assert comparison_format.metric_label("delta_breaths_per_min") == "Δ breathing (/min)"
    assert comparison_format.metric_label("delta_hr_bpm") == "Δ HR (bpm)"
    assert comparison_format.metric_parts("delta_new") == ("delta_new", "", 3)
    assert comparison_format.format_ci(-0.1234, None, 2) == "-0.12 .. –"


@pytest.mark.parametrize("module", [analysis_table, comparison_format])
def test_window_modules_keep_no_table_of_their_own(module):
    # A label, unit or short form of an index written in the module itself would be a second
    # table that can drift from the registry; they must be read from it.
    specs = [*PHASE_INDICES.values(), *COMPARISON_METRICS.values()]
    registry_text = {t for s in specs for t in (s.label, s.unit, s.abbrev, s.unit_short)}
    registry_text -= {"n", "ratio", ""}  # the unitless marks the table's rule names
    tree = ast.parse(Path(module.__file__).read_text(encoding="utf-8"))
    texts = {n.value for n in ast.walk(tree)
             if isinstance(n, ast.Constant) and isinstance(n.value, str)}
    assert not texts & registry_text
    for node in ast.walk(tree):  # no literal table keyed by index names
        if isinstance(node, ast.Dict | ast.Tuple | ast.List | ast.Set):
            elts = node.keys if isinstance(node, ast.Dict) else node.elts
            keys = [e.value for e in elts if isinstance(e, ast.Constant)
                    and e.value in PHASE_INDICES.keys() | COMPARISON_METRICS.keys()]
            assert len(keys) <= 2, f"{module.__name__}:{node.lineno} lists indices {keys}"
