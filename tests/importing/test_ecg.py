"""An ECG recording: R-peaks found at import, the ECG kept with the session and exported."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyedflib
import pytest

from biofeedback.core.channels import RawChannel
from biofeedback.core.errors import InputFileError
from biofeedback.export.stored import export_session
from biofeedback.importing import store_imported
from biofeedback.importing.single import find_ecg_beats
from biofeedback.io.readers.base import ImportedRecording
from biofeedback.io.readers.timeline import make_recording

RATE_HZ = 250.0


def ecg_recording(samples: np.ndarray) -> ImportedRecording:
    channel = RawChannel("ECG", "ecg", "uV", RATE_HZ, 0.0, ("ecg",), samples[:, None],
                         "ecg.txt")
    return ImportedRecording(recording=make_recording(Path("ecg.txt"), "ecg_text", []),
                             format="ecg_text", original_name="ecg.txt", files=["ecg.txt"],
                             rr_source="ecg", channels=[channel])


@pytest.fixture(scope="module")
def simulated() -> np.ndarray:
    import neurokit2 as nk

    # 60 s at 70 bpm, in uV (ecg_simulate gives mV)
    return 1000.0 * np.asarray(nk.ecg_simulate(duration=60, sampling_rate=int(RATE_HZ),
                                               heart_rate=70, noise=0.01, random_state=5))


def test_r_peaks_are_found_stored_and_exported(store, simulated, tmp_path):
    imported, found = find_ecg_beats(ecg_recording(simulated))
    rr = imported.recording.rr_ms
    assert 66 <= rr.size <= 71
    assert np.mean(rr) == pytest.approx(60000 / 70, rel=0.03)
    assert found["ecg_peaks"]["method"] == "neurokit"
    assert found["ecg_peaks"]["n_peaks"] == rr.size + 1
    item = store_imported(store, imported, found=found)
    assert (item.rr_source, item.beats, item.channels) == ("ecg", rr.size, ["ECG"])
    info = store.session_info(item.session_id)
    assert info.settings["ecg_peaks"]["neurokit_version"] == found["ecg_peaks"][
        "neurokit_version"]
    (channel,) = store.load_channels(item.session_id)
    assert np.max(np.abs(channel.samples[:, 0] - simulated)) < 1e-3
    (edf,) = export_session(store, item.session_id, "edf", tmp_path / "ecg.edf")
    with pyedflib.EdfReader(str(edf)) as reader:
        assert reader.getSignalLabels() == ["RR", "HR", "ECG"]
        back = reader.readSignal(2)
        resolution = (reader.getPhysicalMaximum(2) - reader.getPhysicalMinimum(2)) / 65535
    np.testing.assert_allclose(back[:simulated.size], simulated, atol=resolution)


def test_an_ecg_without_peaks_is_refused(store):
    with pytest.raises(InputFileError, match=r"fewer than two R-peaks|could not be found"):
        find_ecg_beats(ecg_recording(np.zeros(int(RATE_HZ * 10))))
    flat = ecg_recording(np.zeros(10))
    flat.channels.clear()
    with pytest.raises(InputFileError, match="without an ECG channel"):
        find_ecg_beats(flat)
