"""The virtual strap's PMD device in-process: commands and their statuses, frames, and the
synthetic ECG and ACC against their ground truth (the RR the strap sends, the breathing)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from sensors.ble.gatt import RR_UNITS_PER_SECOND
from sensors.virtual import pmd
from sensors.virtual.pmd_device import PmdDevice, PmdFrame, PmdOptions
from sensors.virtual.pmd_signals import ECG_LIMIT_UV, BeatTrack, ChestSignals, breathing_for
from sensors.virtual.rr_source import SimulatedRRSource

START_ECG = bytes.fromhex("0200000182000101" "0e00")
START_ACC_200_8G = bytes.fromhex("020200 01c800 01011000 02010800".replace(" ", ""))


def _device(
    seed: int = 0, movement_per_min: float = 0.0, **options: Any
) -> tuple[PmdDevice, BeatTrack]:
    track = BeatTrack(SimulatedRRSource(seed))
    signals = ChestSignals(track, breathing_for(track), seed=seed,
                           movement_per_min=movement_per_min)
    return PmdDevice(signals, PmdOptions(**options)), track


def _decode_ecg(frame: bytes) -> tuple[int, list[int]]:
    """Independent of the encoder: type, timestamp, frame type, 3-byte signed samples."""
    assert frame[0] == 0x00 and frame[9] == 0x00
    body = frame[10:]
    assert len(body) % 3 == 0
    return int.from_bytes(frame[1:9], "little"), [
        int.from_bytes(body[i:i + 3], "little", signed=True) for i in range(0, len(body), 3)
    ]


def _decode_acc(frame: bytes) -> tuple[int, list[list[int]]]:
    assert frame[0] == 0x02 and frame[9] == 0x01
    body = frame[10:]
    values = [int.from_bytes(body[i:i + 2], "little", signed=True)
              for i in range(0, len(body), 2)]
    return int.from_bytes(frame[1:9], "little"), [values[i:i + 3]
                                                  for i in range(0, len(values), 3)]


def test_settings_and_every_error_status() -> None:
    device, _ = _device()
    assert device.features == bytes.fromhex("0f0500")
    assert device.command(bytes.fromhex("0100"), 0.0) == bytes.fromhex(
        "f00100" "00" "00" "00018200" "01010e00")
    assert device.command(bytes.fromhex("0102"), 0.0) == bytes.fromhex(
        "f00102" "00" "00" "000419003200" "6400c800" "01011000" "0203020004000800")
    cases = {
        "04 00": pmd.INVALID_OP_CODE,
        "01 11": pmd.INVALID_MEASUREMENT_TYPE,
        "01 01": pmd.NOT_SUPPORTED,  # PPG: not on an H10
        "02": pmd.INVALID_LENGTH,
        "02 00 00 01 82": pmd.INVALID_LENGTH,
        "02 00 00 01 82 00": pmd.INVALID_PARAMETER,  # no resolution
        "02 00 00 01 80 00 01 01 0e 00": pmd.INVALID_SAMPLE_RATE,  # 128 Hz
        "02 00 00 01 82 00 01 01 10 00": pmd.INVALID_RESOLUTION,
        "02 02 00 01 c8 00 01 01 10 00 02 01 10 00": pmd.INVALID_RANGE,  # 16 G
        "02 02 00 01 c8 00 01 01 10 00 02 01 08 00 05 01 01 00": pmd.INVALID_PARAMETER,
        "03 00": pmd.ALREADY_IN_STATE,  # stop what does not run
    }
    for request, status in cases.items():
        response = device.command(bytes.fromhex(request.replace(" ", "")), 0.0)
        assert response[0] == 0xF0 and response[3] == status, request
        assert len(response) == 4, request
    assert device.command(START_ECG, 0.0) == bytes.fromhex("f002000000")
    assert device.command(START_ECG, 1.0) == bytes.fromhex("f0020006")  # already started
    assert device.command(bytes.fromhex("0300"), 2.0) == bytes.fromhex("f003000000")
    assert device.streams == {}


@pytest.mark.parametrize(("features", "read", "answered"), [
    (frozenset({"acc"}), "0f0400", {pmd.ECG: pmd.NOT_SUPPORTED, pmd.ACC: pmd.SUCCESS}),
    (frozenset({"ecg"}), "0f0100", {pmd.ECG: pmd.SUCCESS, pmd.ACC: pmd.NOT_SUPPORTED}),
    (frozenset(), "0f0000", {pmd.ECG: pmd.NOT_SUPPORTED, pmd.ACC: pmd.NOT_SUPPORTED}),
])
def test_a_strap_without_ecg_or_acc_says_so_and_answers_not_supported(
    features: frozenset[str], read: str, answered: dict[int, int]
) -> None:
    device, _ = _device(features=features)
    assert device.features == bytes.fromhex(read)
    for kind, status in answered.items():
        assert device.command(bytes([pmd.OP_GET_SETTINGS, kind]), 0.0)[3] == status
    assert device.command(START_ECG, 0.0)[3] == answered[pmd.ECG]
    assert device.command(START_ACC_200_8G, 0.0)[3] == answered[pmd.ACC]
    assert sorted(device.streams) == [k for k, s in answered.items() if s == pmd.SUCCESS]


def test_a_refused_stream_answers_valid_settings_with_invalid_mtu() -> None:
    device, _ = _device(refuse=frozenset({"ecg"}))
    assert device.command(bytes.fromhex("0100"), 0.0)[3] == pmd.SUCCESS  # settings offered
    assert device.command(START_ECG, 0.0) == bytes.fromhex("f002000a")  # INVALID_MTU
    assert device.command(bytes.fromhex("02000001800001010e00"), 0.0)[3] == (
        pmd.INVALID_SAMPLE_RATE)  # invalid settings are still named as such
    assert device.command(START_ACC_200_8G, 0.0) == bytes.fromhex("f002020000")
    assert sorted(device.streams) == [pmd.ACC]


def test_small_mtu_frames_and_invalid_mtu() -> None:
    device, _ = _device(mtu=70)
    assert device.command(START_ECG, 0.0) == bytes.fromhex("f002000000")
    frames = device.due_frames(2.0)
    assert {len(f.data) for f in frames} == {10 + 19 * 3}  # 70 - 3 - 10 = 57 bytes: 19 samples
    tiny, _ = _device(mtu=23)
    assert tiny.command(START_ECG, 0.0)[3] == pmd.SUCCESS  # 3 samples fit
    assert tiny.command(START_ACC_200_8G, 0.0)[3] == pmd.SUCCESS  # 1 sample
    assert pmd.samples_per_frame(pmd.ECG, 15) == 0
    no_room, _ = _device(mtu=23)
    no_room.options.mtu = 15
    assert no_room.command(START_ECG, 0.0) == bytes.fromhex("f002000a")


def _run(device: PmdDevice, until_s: float) -> list[PmdFrame]:
    frames: list[PmdFrame] = []
    t = 0.0
    while t < until_s:  # as the service pumps it: a little at a time
        t += 0.37
        frames += device.due_frames(t)
    return frames


def test_ecg_frames_rate_error_delay_and_r_peaks_where_the_rr_says() -> None:
    device, track = _device(rate_error=0.004, ecg_delay_s=3.0)
    sent_rr: list[int] = []
    assert device.command(START_ECG, 0.5) == bytes.fromhex("f002000000")
    frames = []
    for second in range(1, 41):
        rr, _hr = track.next_second()  # what the packet scheduler puts in 0x2A37
        sent_rr += rr
        frames += device.due_frames(float(second))
    assert frames and all(f.measurement == pmd.ECG for f in frames)
    assert {len(f.data) for f in frames} == {229}  # 73 samples at MTU 232
    samples: list[int] = []
    stamps = []
    for f in frames:
        stamp, values = _decode_ecg(f.data)
        assert values == f.record["samples"]
        assert f.record["first_index"] == len(samples)
        samples += values
        stamps.append(stamp)
    rate = 130 * 1.004
    assert frames[0].record["t0_s"] == pytest.approx(3.5)
    # device timestamps (ns since 2000, last sample) advance at the real rate
    spacing_s = np.diff(stamps) / 1e9
    assert spacing_s == pytest.approx(73 / rate, abs=1e-9)
    assert stamps[0] == pmd.DEVICE_CLOCK_RESET_NS + round((3.5 + 72 / rate) * 1e9)
    ecg = np.asarray(samples)
    assert 800 < ecg.max() < ECG_LIMIT_UV and ecg.min() > -ECG_LIMIT_UV
    # R-peaks: the beats' RR are exactly the RR sent, and the ECG peaks there
    r = np.asarray(track.r_times_s)
    n_sent = len(sent_rr)
    assert np.rint(np.diff(r[:n_sent]) * RR_UNITS_PER_SECOND).astype(int).tolist() == sent_rr[1:]
    t = 3.5 + np.arange(ecg.size) / rate
    inside = r[(r > t[0] + 0.4) & (r < t[-1] - 0.4)]
    assert len(inside) > 30
    for r_s in inside:
        window = (t > r_s - 0.3) & (t < r_s + 0.3)
        peak_t = t[window][np.argmax(ecg[window])]
        assert abs(peak_t - r_s) <= 1.0 / rate
    logged = sorted(x for f in frames for x in f.record["r_peaks_s"])
    half = 0.5 / rate
    assert logged == pytest.approx([x for x in r if t[0] - half <= x < t[-1] + half], abs=1e-8)


def test_acc_breathing_motion_gravity_and_range() -> None:
    device, _ = _device()
    assert device.command(START_ACC_200_8G, 0.0)[3] == pmd.SUCCESS
    frames = _run(device, 60.0)
    assert {len(f.data) for f in frames} == {10 + 36 * 6}
    acc = np.asarray([s for f in frames for s in _decode_acc(f.data)[1]], dtype=float)
    assert acc.tolist() == [s for f in frames for s in f.record["samples"]]
    assert acc.shape[1] == 3
    assert np.linalg.norm(acc.mean(axis=0)) == pytest.approx(1000, abs=60)
    # the chest's motion: z's spectrum peaks at the breathing rate
    z = acc[:, 2] - acc[:, 2].mean()
    spectrum = np.abs(np.fft.rfft(z * np.hanning(z.size)))
    freqs = np.fft.rfftfreq(z.size, 1 / 200)
    band = (freqs > 0.05) & (freqs < 1.0)
    peak_per_min = 60 * freqs[band][np.argmax(spectrum[band])]
    truth = frames[len(frames) // 2].record["breathing_per_min"]
    assert abs(peak_per_min - truth) < 1.5
    assert 30 < np.ptp(z) < 80  # tens of mG (25-mG swing, noise)
    assert 5 < np.ptp(acc[:, 1] - acc[:, 1].mean()) < 40


def test_the_chest_breathes_with_the_rsa_of_the_rr_sent() -> None:
    from biofeedback.core.acc_breathing import breathing_windows, respiration_signal
    from biofeedback.live.spectral import breathing_rate, resample_nn

    track = BeatTrack(SimulatedRRSource(4))
    breathing = breathing_for(track)
    signals = ChestSignals(track, breathing, seed=4, movement_per_min=0.0)
    for _ in range(305):
        track.next_second()
    beats = np.asarray(track.r_times_s)
    beats = beats[beats < 300.0]
    rr_ms = 1000.0 * np.diff(beats)
    # the simulator's own breathing, wander included: not the flat 12/min of its schedule
    truth = np.array([breathing.rate_per_min(float(t)) for t in np.arange(0.0, 300.0, 5.0)])
    assert 11.0 < truth.min() < truth.max() < 13.0 and np.ptp(truth) > 0.3
    # in phase: the chest is up (z high) where the RSA shortens the RR (at pi/2)
    z = signals.acc_mg(beats[1:])[:, 2].astype(float)
    slow = np.convolve(rr_ms, np.ones(15) / 15, mode="same")  # heart-rate drift out
    assert np.corrcoef(z[7:-7], (rr_ms - slow)[7:-7])[0, 1] < -0.5
    # the ACC counts the simulator's breathing, and the RR's spectrum agrees, window by window
    t = np.arange(0.0, 300.0, 0.02)
    windows = breathing_windows(respiration_signal(t, signals.acc_mg(t)))
    assert len(windows) >= 4
    for w in windows:
        inside = (beats[1:] >= w.start_s) & (beats[1:] < w.end_s)
        from_rr = breathing_rate(resample_nn(beats[1:][inside], rr_ms[inside]))
        assert from_rr is not None and w.breaths_per_min is not None
        phase = breathing.phase(np.array([w.start_s, w.end_s]))
        true_rate = float(np.diff(phase)[0]) / (2 * np.pi) / (w.end_s - w.start_s) * 60.0
        assert abs(w.breaths_per_min - true_rate) < 0.1
        assert abs(from_rr - w.breaths_per_min) < 0.5


def test_movement_artifacts_in_the_accelerometer() -> None:
    track = BeatTrack(SimulatedRRSource(1))
    signals = ChestSignals(track, breathing_for(track, 12.0), seed=1,
                           movement_per_min=3.0)
    bursts = signals.movement_bursts(120.0)
    assert bursts
    b = bursts[0]
    t = np.arange(0, 120, 1 / 50)
    acc = signals.acc_mg(t, range_g=2)
    inside = (t > b.start_s + 0.3 * b.duration_s) & (t < b.start_s + 0.7 * b.duration_s)
    quiet = t < min(x.start_s for x in bursts)
    assert np.ptp(acc[inside, 0]) > 80
    assert np.ptp(acc[quiet, 0]) < 40
    # the frames say which of them a movement touches (ground truth for the breathing goal)
    device = PmdDevice(signals, PmdOptions())
    assert device.command(START_ACC_200_8G, 0.0)[3] == pmd.SUCCESS
    frames = device.due_frames(120.0)
    moved = [f.record["t0_s"] for f in frames if f.record["movement"]]
    assert moved and all(
        any(x.start_s - 0.2 < t0 < x.start_s + x.duration_s for x in bursts) for t0 in moved)
    assert len(moved) < len(frames) / 2
    assert acc.max() <= 2000 and acc.min() >= -2000


def test_ectopic_beats_of_the_rr_get_the_ectopic_shape() -> None:
    class Premature:
        """800 ms beats with one premature beat (500 ms) and its compensatory pause."""

        exhausted = False

        def __init__(self) -> None:
            self.second = 0

        def next_second(self) -> tuple[list[int], int]:
            self.second += 1
            if self.second == 10:
                return [512, 1126], 75
            return [819], 75

    track = BeatTrack(Premature())  # type: ignore[arg-type]
    signals = ChestSignals(track, breathing_for(track, 12.0))
    t = np.arange(0, 14, 1 / 130)
    ecg = signals.ecg_uv(t)
    assert sum(track.ectopic) == 1
    k = track.ectopic.index(True)
    r_s = track.r_times_s[k]
    window = (t > r_s - 0.05) & (t < r_s + 0.05)
    normal = (t > track.r_times_s[k - 2] - 0.05) & (t < track.r_times_s[k - 2] + 0.05)
    # a wide QRS: far more samples above half its peak than a sinus beat has
    assert (ecg[window] > ecg[window].max() / 2).sum() > (ecg[normal] > ecg[normal].max() / 2).sum()


def test_a_long_request_reads_the_source_far_enough_ahead() -> None:
    track = BeatTrack(SimulatedRRSource(3))
    signals = ChestSignals(track, breathing_for(track), seed=3)
    t = np.arange(0, 120, 1 / 130)
    ecg = signals.ecg_uv(t)
    last = max(x for x in track.r_times_s if x < 119.5)
    assert last > 118.0
    near = np.abs(t - last) < 0.05
    assert ecg[near].max() > 800  # the last beat is drawn, not a flat line


@pytest.mark.parametrize(("args", "message"), [
    (["--pmd-rate-error", "0.5"], "argument --pmd-rate-error: rate error 0.5 outside -0.05..0.05"),
    (["--pmd-mtu", "600"], "argument --pmd-mtu: MTU 600 outside 23-517"),
    (["--pmd-ecg-delay", "-1"], "argument --pmd-ecg-delay: -1 must be 0 or more"),
    (["--pmd-features", "ppg"],
     "argument --pmd-features: 'ppg': expected ecg, acc, ecg,acc or none"),
    (["--pmd-refuse", "all"], "argument --pmd-refuse: 'all': expected ecg or acc"),
])
def test_bad_pmd_options_are_named(
    args: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    from sensors.virtual.__main__ import main

    with pytest.raises(SystemExit) as exit_:
        main(["--pmd", *args])
    assert exit_.value.code == 2
    assert message in capsys.readouterr().err


def test_off_the_body_the_ecg_has_no_beats() -> None:
    track = BeatTrack(SimulatedRRSource(2))
    signals = ChestSignals(track, breathing_for(track), seed=2)
    t = np.arange(0, 10, 1 / 130)
    worn = signals.ecg_uv(t)
    signals.worn = lambda: False
    off = signals.ecg_uv(t + 10)
    assert worn.max() - np.median(worn) > 800
    assert np.abs(np.diff(off)).max() < 400  # no R wave's steep rise
    assert np.abs(np.diff(worn)).max() > 400
