"""Settings of the per-phase HRV analysis, with the source of every scientific default.

Nothing here imports neurokit2: the settings can be built, stored and compared without paying
for that import (about 3 s).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Literal

from biofeedback.core.hrv_indices import BREATHING_BAND_HZ, HF_BAND_HZ, LF_BAND_HZ

Band = tuple[float, float]


@dataclass(frozen=True, slots=True)
class AnalysisSettings:
    """How :func:`biofeedback.analysis.analyze_recording` computes the indices of each phase.

    Attributes
    ----------
    correction : {"kubios", "neurokit2", "none"}
        ``"kubios"`` (default): beats classified by neurokit2's implementation of Lipponen &
        Tarvainen (2019), ``neurokit2.signal_fixpeaks(method="kubios")``, and corrected by
        :mod:`biofeedback.analysis.artifacts`, separately on every gap-free segment.
        ``"neurokit2"``: the corrected peaks of ``signal_fixpeaks(iterative=True)`` as they
        are (kept for comparison: it mishandles ectopic beats). ``"none"``: raw intervals.
        Correction is mandatory before any vagal claim (docs/domain.md section 4); ``"none"``
        exists for validation against series that are already clean.
    kubios_c1, kubios_c2, kubios_alpha : float
        Thresholds of the beat classifier: c1 = 0.13, c2 = 0.17, alpha = 5.2 (Lipponen &
        Tarvainen 2019, J Med Eng Technol 43(3):173-181; also neurokit2's defaults).
    kubios_window_width : int
        Beats in the moving window that sets the thresholds: 91 (Lipponen & Tarvainen 2019).
    kubios_medfilt_order : int
        Length of the median filter for the mRR series: 11 beats (Lipponen & Tarvainen 2019).
    kubios_iterative : bool
        Re-run classification and correction while the number of flagged beats falls (as
        neurokit2's ``iterative=True``). The artifact % always counts the first pass on the
        raw series (see :mod:`biofeedback.analysis.phases`).
    peak_clock_hz : float
        Sampling rate of the synthetic "peak" positions handed to ``signal_fixpeaks`` (which
        wants integer sample indices): 1 MHz, i.e. peaks at 1 us resolution, so rebuilding
        intervals from peaks changes them by at most 1 us. The Kubios thresholds are relative,
        so this rate does not change which beats are flagged.
    min_correction_beats : int
        Gap-free runs with fewer intervals than this are neither classified nor corrected (the
        classifier needs neighbours on both sides): 5.
    spectral : bool
        Compute frequency-domain indices and the breathing rate (default True). False gives the
        time-domain-only path (about 3x faster), used for bulk validation.
    interpolation_rate_hz : float
        Resampling rate of the interval series before the PSD: 4 Hz reproduces Kubios
        (docs/domain.md section 3; neurokit2's own default is 100 Hz). neurokit2 0.2.13 interpolates
        with its default ``signal_interpolate(method="quadratic")``; ``hrv_frequency`` cannot
        pass another method through.
    psd_method : str
        ``"welch"``: Welch periodogram as in neurokit2 (Hann window, window = half the series,
        nfft = twice the window, no detrending beyond removing the mean).
    ulf_band_hz, vlf_band_hz, lf_band_hz, hf_band_hz, vhf_band_hz : tuple of float
        Frequency bands, Hz: ULF 0-0.0033, VLF 0.0033-0.04, LF 0.04-0.15, HF 0.15-0.40
        (Task Force 1996, Circulation 93:1043-1065; docs/domain.md section 3), VHF 0.40-0.50
        (neurokit2 default).
    min_hf_duration_s : float
        Shortest gap-free run used for HF and the breathing rate: 67 s, about 10 wavelengths
        of the HF band's lower edge 0.15 Hz (Task Force 1996; docs/domain.md section 3).
    min_lf_duration_s : float
        Shortest gap-free run used for LF (and so LF/HF): 250 s, 10 wavelengths of 0.04 Hz
        (Task Force 1996; docs/domain.md section 3).
    breathing_band_hz : tuple of float
        Band searched for the dominant peak of the interval spectrum that estimates the
        breathing rate: 0.05-0.50 Hz (3-30 breaths/min). It spans LF and HF on purpose: slow
        or paced breathing (about 6/min, 0.1 Hz) moves respiratory sinus arrhythmia into LF
        (docs/domain.md section 3).
    breathing_slow_peak_dominance : float
        A spectral peak below 0.15 Hz is read as the breathing rate only when it is this many
        times higher than the highest peak above 0.15 Hz (default 20; see
        :data:`biofeedback.core.breathing.SLOW_PEAK_DOMINANCE` for the calibration).
    min_hf_breaths_per_min, max_hf_breaths_per_min : float
        HF power is interpretable as respiratory sinus arrhythmia only when breathing lies in
        the HF band: 9-24 breaths/min = 0.15-0.40 Hz x 60 (docs/domain.md section 3).
    pnn_threshold_ms : float
        pNN50 threshold: successive differences with ``|dNN| > 50 ms`` (Bigger et al. 1988;
        Task Force 1996; neurokit2 also uses ">").
    """

    correction: Literal["kubios", "neurokit2", "none"] = "kubios"
    kubios_c1: float = 0.13
    kubios_c2: float = 0.17
    kubios_alpha: float = 5.2
    kubios_window_width: int = 91
    kubios_medfilt_order: int = 11
    kubios_iterative: bool = True
    peak_clock_hz: float = 1_000_000.0
    min_correction_beats: int = 5
    spectral: bool = True
    interpolation_rate_hz: float = 4.0
    psd_method: str = "welch"
    ulf_band_hz: Band = (0.0, 0.0033)
    vlf_band_hz: Band = (0.0033, 0.04)
    lf_band_hz: Band = LF_BAND_HZ
    hf_band_hz: Band = HF_BAND_HZ
    vhf_band_hz: Band = (0.40, 0.50)
    min_hf_duration_s: float = 67.0
    min_lf_duration_s: float = 250.0
    breathing_band_hz: Band = BREATHING_BAND_HZ
    breathing_slow_peak_dominance: float = 20.0
    min_hf_breaths_per_min: float = 9.0
    max_hf_breaths_per_min: float = 24.0
    pnn_threshold_ms: float = 50.0

    def __post_init__(self) -> None:
        """Reject settings that cannot be meant."""
        if self.correction not in ("kubios", "neurokit2", "none"):
            raise ValueError(
                f"correction must be 'kubios', 'neurokit2' or 'none', not {self.correction!r}"
            )
        if self.interpolation_rate_hz < 1.0:
            raise ValueError("interpolation_rate_hz must be at least 1 Hz")
        for name in ("ulf", "vlf", "lf", "hf", "vhf", "breathing"):
            low, high = getattr(self, f"{name}_band_hz")
            if not 0.0 <= low < high:
                raise ValueError(f"{name}_band_hz must be (low, high) with 0 <= low < high")
        if self.breathing_band_hz[1] > self.interpolation_rate_hz / 2:
            raise ValueError("breathing_band_hz reaches above the Nyquist frequency")

    def to_dict(self) -> dict[str, Any]:
        """All settings as JSON-ready values (bands as two-element lists)."""
        out = asdict(self)
        return {k: list(v) if isinstance(v, tuple) else v for k, v in out.items()}

    def kubios_kwargs(self) -> dict[str, Any]:
        """Keyword arguments passed to ``neurokit2.signal_fixpeaks`` (besides ``iterative``)."""
        return {
            "sampling_rate": self.peak_clock_hz,
            "method": "kubios",
            "c1": self.kubios_c1,
            "c2": self.kubios_c2,
            "alpha": self.kubios_alpha,
            "window_width": self.kubios_window_width,
            "medfilt_order": self.kubios_medfilt_order,
        }

    def frequency_kwargs(self) -> dict[str, Any]:
        """Keyword arguments passed to ``neurokit2.hrv_frequency``."""
        return {
            "ulf": self.ulf_band_hz,
            "vlf": self.vlf_band_hz,
            "lf": self.lf_band_hz,
            "hf": self.hf_band_hz,
            "vhf": self.vhf_band_hz,
            "psd_method": self.psd_method,
            "interpolation_rate": self.interpolation_rate_hz,
            "normalize": False,
            "silent": True,
            "show": False,
        }

    def psd_kwargs(self) -> dict[str, Any]:
        """Keyword arguments of the PSD used for the breathing rate.

        ``neurokit2.intervals_process(interpolate=True, interpolation_rate=...)`` followed by
        ``neurokit2.signal_psd(...)``: the same steps ``hrv_frequency`` takes internally, so the
        breathing peak is read from the spectrum the band powers are integrated from.
        """
        return {
            "method": self.psd_method,
            "sampling_rate": self.interpolation_rate_hz,
            "max_frequency": max(
                self.vhf_band_hz[1], self.hf_band_hz[1], self.breathing_band_hz[1]
            ),
            "normalize": False,
            "show": False,
        }
