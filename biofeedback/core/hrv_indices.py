"""One registry of HRV index metadata: labels, units, decimals, windows, bands, sources.

Every table, tile and report that shows an index reads its label, unit and decimals here, so
adding or relabelling an index is one edit. Three scopes, because the same name means a
different computation at each stage:

- ``"phase"`` (:data:`PHASE_INDICES`): the per-phase analysis (:mod:`biofeedback.analysis`),
  keyed by the fields of ``PhaseResult``; computed over the whole phase.
- ``"live"`` (:data:`LIVE_INDICES`): the live indices (:class:`biofeedback.live.indices.
  LiveIndices` fields), each over a trailing window; ``window_s`` here is the default of
  :class:`biofeedback.live.indices.LiveHrvSettings`, which reads it from this registry.
- ``"comparison"`` (:data:`COMPARISON_METRICS`): the within-participant differences of the
  study comparison (:mod:`biofeedback.comparison`).

The frequency bands are defined once here (:data:`LF_BAND_HZ`, :data:`HF_BAND_HZ`,
:data:`BREATHING_BAND_HZ`). ``nk_name`` is NeuroKit2's ``HRV_*`` column name where NeuroKit2
has the same index, for interoperable exports.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Literal

from biofeedback.core.errors import BiofeedbackError

__all__ = [
    "BREATHING_BAND_HZ",
    "COMPARISON_METRICS",
    "HF_BAND_HZ",
    "LF_BAND_HZ",
    "LIVE_INDICES",
    "PHASE_INDICES",
    "IndexSpec",
    "Scope",
    "UnknownIndexError",
    "index_spec",
    "live_window_s",
]

Scope = Literal["phase", "live", "comparison"]

TASK_FORCE_1996 = (
    "Task Force of the ESC and NASPE (1996), Heart rate variability: standards of "
    "measurement, Circulation 93(5):1043-1065"
)

LF_BAND_HZ: tuple[float, float] = (0.04, 0.15)
"""Low-frequency band, Hz (Task Force 1996)."""
HF_BAND_HZ: tuple[float, float] = (0.15, 0.40)
"""High-frequency band, Hz (Task Force 1996)."""
BREATHING_BAND_HZ: tuple[float, float] = (0.05, 0.5)
"""Search band of the breathing-rate (RSA peak) estimate, Hz: 3-30 breaths/min. Our choice:
it spans slow paced breathing (~6/min, Lehrer et al. 2000) to fast resting breathing; the
peak rule itself is :func:`biofeedback.core.breathing.pick_breathing_peak`."""


class UnknownIndexError(BiofeedbackError, LookupError):
    """An index key that the registry does not know (names the scope and the known keys)."""


@dataclass(frozen=True, slots=True)
class IndexSpec:
    """How one index is named, shown and defined.

    Attributes
    ----------
    key : str
        The field or JSON key of the index (unit suffix included, e.g. ``rmssd_ms``).
    label : str
        Human name, e.g. ``"RMSSD"``; tables show ``"label (unit)"``.
    unit : str
        Unit as shown to people (``"ms"``, ``"ms²"``, ``"breaths/min"``; ``""`` when none).
    decimals : int
        Decimals shown.
    definition : str
        What is computed, in one sentence.
    source : str
        Where the definition or the default comes from (citation, or "our choice").
    window_s : float or None
        Trailing window of a live index, s (None: over the whole phase, or not windowed).
    nk_name : str or None
        NeuroKit2's column name (``HRV_RMSSD``) when NeuroKit2 computes the same index.
    abbrev : str
        Short name for narrow places (terminal table headers, tile captions); defaults to
        ``label``.
    unit_short : str
        Short unit for narrow places (``"/min"``, ``"%"``; the window's column headers and
        tiles); defaults to ``unit``. ASCII forms for the terminal go in ``abbrev``.
    """

    key: str
    label: str
    unit: str
    decimals: int
    definition: str
    source: str
    window_s: float | None = None
    nk_name: str | None = None
    abbrev: str = ""
    unit_short: str = ""

    def __post_init__(self) -> None:
        """Fill the short forms from the long ones."""
        if not self.abbrev:
            object.__setattr__(self, "abbrev", self.label)
        if not self.unit_short:
            object.__setattr__(self, "unit_short", self.unit)

    @property
    def header(self) -> str:
        """``"label (unit)"``, or the label alone for a unitless index."""
        return f"{self.label} ({self.unit})" if self.unit else self.label


_OURS = "our choice"
_HF = f"{HF_BAND_HZ[0]:.2f}-{HF_BAND_HZ[1]:.2f} Hz"
_LF = f"{LF_BAND_HZ[0]:.2f}-{LF_BAND_HZ[1]:.2f} Hz"
_BR = f"{BREATHING_BAND_HZ[0]:.2f}-{BREATHING_BAND_HZ[1]:.2f} Hz"
_NK = "neurokit2 0.2 hrv_time/hrv_frequency (same definition)"


def _table(*specs: IndexSpec) -> Mapping[str, IndexSpec]:
    return MappingProxyType({s.key: s for s in specs})


PHASE_INDICES: Mapping[str, IndexSpec] = _table(
    IndexSpec("n_beats", "Beats", "n", 0, "Corrected NN intervals in the phase", _OURS,
              abbrev="beats"),
    IndexSpec("artifact_pct", "Artifacts", "% of beats", 1,
              "Share of beats classified as artifacts (first pass of the correction)",
              "Lipponen & Tarvainen 2019 classification", abbrev="art %", unit_short="%"),
    # neurokit2 has no HR column (it reports HRV_MeanNN, kept on mean_rr_ms)
    IndexSpec("mean_hr_bpm", "HR", "bpm", 1, "60000 / mean NN", _NK),
    IndexSpec("mean_rr_ms", "Mean RR", "ms", 1, "Mean NN interval", _NK, nk_name="HRV_MeanNN",
              abbrev="RR ms"),
    IndexSpec("rmssd_ms", "RMSSD", "ms", 1,
              "Root mean square of successive NN differences (vagal tone)", TASK_FORCE_1996,
              nk_name="HRV_RMSSD"),
    IndexSpec("ln_rmssd", "lnRMSSD", "ln ms", 2, "Natural log of RMSSD (of ms)",
              "Shaffer & Ginsberg 2017 (log transform for normality)"),
    IndexSpec("sdnn_ms", "SDNN", "ms", 1, "Standard deviation of the NN intervals (ddof=1)",
              TASK_FORCE_1996, nk_name="HRV_SDNN"),
    IndexSpec("pnn50_pct", "pNN50", "%", 1,
              "Share of successive differences larger than 50 ms, % of the differences",
              TASK_FORCE_1996, nk_name="HRV_pNN50", abbrev="pNN50%"),
    IndexSpec("sd1_ms", "SD1", "ms", 1, "Poincare SD1: sqrt(0.5) * std(dNN)",
              "Brennan et al. 2001", nk_name="HRV_SD1"),
    IndexSpec("sd2_ms", "SD2", "ms", 1, "Poincare SD2: sqrt(2 SDNN² - SD1²)",
              "Brennan et al. 2001", nk_name="HRV_SD2"),
    IndexSpec("hf_ms2", "HF", "ms²", 0, f"Welch power of the 4 Hz NN series in {_HF}",
              TASK_FORCE_1996, nk_name="HRV_HF", abbrev="HF ms2"),
    IndexSpec("lf_ms2", "LF", "ms²", 0, f"Welch power of the 4 Hz NN series in {_LF}",
              TASK_FORCE_1996, nk_name="HRV_LF", abbrev="LF ms2"),
    IndexSpec("lf_hf", "LF/HF", "ratio", 2, "LF power / HF power", TASK_FORCE_1996,
              nk_name="HRV_LFHF"),
    IndexSpec("breaths_per_min", "Breathing", "breaths/min", 1,
              f"Frequency of the RSA peak of the RR spectrum in {_BR}", _OURS,
              abbrev="br/min", unit_short="/min"),
)
"""Per-phase analysis index -> spec (``PhaseResult`` fields)."""

LIVE_INDICES: Mapping[str, IndexSpec] = _table(
    IndexSpec("hr_bpm", "Heart rate", "bpm", 0, "60000 / mean NN",
              "our choice: 10 s smooths breathing without lagging a stressor response much",
              window_s=10.0, abbrev="HR"),
    IndexSpec("rmssd_30_ms", "RMSSD", "ms", 0,
              "Root mean square of successive NN differences (vagal tone)",
              "Munoz et al. 2015: RMSSD usable from 10 s", window_s=30.0, nk_name="HRV_RMSSD"),
    IndexSpec("ln_rmssd_30", "lnRMSSD", "ln ms", 2, "Natural log of RMSSD (of ms)",
              "Munoz et al. 2015", window_s=30.0),
    IndexSpec("rmssd_60_ms", "RMSSD", "ms", 0,
              "Root mean square of successive NN differences (vagal tone)",
              "Munoz et al. 2015: near the 5-min value from 120 s", window_s=60.0,
              nk_name="HRV_RMSSD"),
    IndexSpec("ln_rmssd_60", "lnRMSSD", "ln ms", 2, "Natural log of RMSSD (of ms)",
              "Munoz et al. 2015", window_s=60.0),
    IndexSpec("sdnn_ms", "SDNN", "ms", 1, "Standard deviation of the NN intervals (ddof=1)",
              TASK_FORCE_1996, window_s=60.0, nk_name="HRV_SDNN"),
    IndexSpec("pnn50_pct", "pNN50", "%", 1,
              "Share of successive differences larger than 50 ms, % of the differences",
              TASK_FORCE_1996, window_s=60.0, nk_name="HRV_pNN50"),
    IndexSpec("sd1_ms", "SD1", "ms", 1, "Poincare SD1: sqrt(0.5) * std(dNN)",
              "Brennan et al. 2001", window_s=60.0, nk_name="HRV_SD1"),
    IndexSpec("hf_ms2", "HF power", "ms²", 0, f"{_HF} power of the NN series",
              TASK_FORCE_1996 + " (HF needs >= 67 s)", window_s=120.0, nk_name="HRV_HF",
              abbrev="HF"),
    IndexSpec("lf_ms2", "LF power", "ms²", 0, f"{_LF} power of the NN series",
              TASK_FORCE_1996 + " (LF needs >= 250 s)", window_s=300.0, nk_name="HRV_LF",
              abbrev="LF"),
    IndexSpec("breaths_per_min", "Breathing", "breaths/min", 1,
              "Breathing rate from the respiratory peak of the RR spectrum", _OURS,
              window_s=64.0, abbrev="breathing", unit_short="/min"),
    IndexSpec("coherence_score", "Coherence", "/ 10", 1,
              "Share of the 0.0033-0.4 Hz power in the highest 0.04-0.26 Hz peak, in tenths "
              "(our score, not HeartMath's)", _OURS, window_s=64.0, abbrev="coherence"),
    IndexSpec("coherence_ratio", "Coherence ratio", "", 2,
              "Peak power / power outside the peak", _OURS, window_s=64.0, abbrev="ratio"),
    IndexSpec("artifact_pct", "Artifacts", "% of beats", 1,
              "Share of non-normal raw beats among those classified in the window", _OURS,
              window_s=60.0, abbrev="artifacts", unit_short="%"),
)
"""Live index -> spec (``LiveIndices`` fields); ``window_s`` is the default window."""

COMPARISON_METRICS: Mapping[str, IndexSpec] = _table(
    IndexSpec("delta_ln_rmssd", "Δ lnRMSSD", "ln ms", 3,
              "Within-participant difference of the phase lnRMSSD", _OURS),
    IndexSpec("delta_hr_bpm", "Δ HR", "bpm", 2,
              "Within-participant difference of the phase mean HR", _OURS),
    IndexSpec("delta_hf_ms2", "Δ HF", "ms²", 0,
              "Within-participant difference of the phase HF power", _OURS),
    IndexSpec("delta_lf_ms2", "Δ LF", "ms²", 0,
              "Within-participant difference of the phase LF power", _OURS),
    IndexSpec("delta_breaths_per_min", "Δ breathing rate", "breaths/min", 2,
              "Within-participant difference of the phase breathing rate", _OURS,
              abbrev="Δ breathing", unit_short="/min"),
)
"""Comparison metric (JSON ``metric``) -> spec."""

_SCOPES: Mapping[str, Mapping[str, IndexSpec]] = MappingProxyType({
    "phase": PHASE_INDICES,
    "live": LIVE_INDICES,
    "comparison": COMPARISON_METRICS,
})


def index_spec(key: str, scope: Scope = "phase") -> IndexSpec:
    """The spec of one index.

    Parameters
    ----------
    key : str
        Index key, e.g. ``"rmssd_ms"`` (phase), ``"rmssd_60_ms"`` (live) or
        ``"delta_ln_rmssd"`` (comparison).
    scope : {"phase", "live", "comparison"}
        Which table to look in (the same key can mean a different window per scope).

    Returns
    -------
    IndexSpec

    Raises
    ------
    UnknownIndexError
        The scope or the key is not known; the message lists the known ones.
    """
    table = _SCOPES.get(scope)
    if table is None:
        raise UnknownIndexError(
            f"unknown index scope {scope!r}; known: {', '.join(sorted(_SCOPES))}"
        )
    spec = table.get(key)
    if spec is None:
        raise UnknownIndexError(
            f"unknown {scope} index {key!r}; known: {', '.join(sorted(table))}"
        )
    return spec


def live_window_s(key: str) -> float:
    """Default trailing window of a live index, s (for ``LiveHrvSettings``' defaults)."""
    window = index_spec(key, "live").window_s
    if window is None:  # pragma: no cover - every live spec has a window (tested)
        raise UnknownIndexError(f"live index {key!r} has no window")
    return window
