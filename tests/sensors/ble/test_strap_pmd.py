"""The strap source with PMD: real bleak against ``python -m sensors.virtual --pmd`` (its clock
sped up), ECG and ACC handed on as SignalChunks equal to what the strap logged as sent."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from virtual_strap import StrapFactory, VirtualStrap

from biofeedback.cli.main import main
from biofeedback.core.signals import SignalChunk
from biofeedback.core.types import BeatBatch, Marker, SourceEvent, StatusChange
from biofeedback.store import SessionStore
from sensors.ble import BleHeartRateStrap

pytestmark = pytest.mark.timeout(60)

NOT_PAIRED = (
    "The strap must be paired for ECG: run `bluetoothctl pair {address}` (Linux) or pair it "
    "in the system's Bluetooth settings; heart rate and RR go on"
)

def collect(
    source: BleHeartRateStrap,
    until: Callable[[list[SourceEvent]], bool],
    *,
    during: Callable[[list[SourceEvent]], None] | None = None,
    timeout_s: float = 30.0,
) -> list[SourceEvent]:
    """Run the source until ``until(events)``; ``during`` sees the events after each one."""

    async def run() -> list[SourceEvent]:
        events: list[SourceEvent] = []
        await source.start()
        try:
            async with asyncio.timeout(timeout_s):
                async for event in source:
                    events.append(event)
                    if during is not None:
                        during(events)
                    if until(events):
                        break
        finally:
            await source.stop()
        return events

    return asyncio.run(run())


def chunks(events: list[SourceEvent], stream: str) -> list[SignalChunk]:
    return [e for e in events if isinstance(e, SignalChunk) and e.stream == stream]


def messages(events: list[SourceEvent]) -> list[str]:
    return [e.message for e in events if isinstance(e, StatusChange)]


def n_beats(events: list[SourceEvent]) -> int:
    return sum(len(e.beats) for e in events if isinstance(e, BeatBatch))


def logged_rows(strap: VirtualStrap, stream: str) -> list[list[int]]:
    """Every sample the strap logged as delivered, one row per sample."""
    return [row if isinstance(row, list) else [row]
            for r in strap.records() if r.get("pmd") == stream and r["delivered"]
            for row in r["samples"]]


def rows(got: list[SignalChunk]) -> list[list[int]]:
    return np.concatenate([c.samples for c in got]).tolist() if got else []


def continuous(got: list[SignalChunk]) -> bool:
    return [c.first_index for c in got] == [sum(x.n_samples for x in got[:i])
                                            for i in range(len(got))]


def test_ecg_and_acc_arrive_as_sent_beside_heart_rate_and_stop_at_the_end(
    strap_with: StrapFactory,
) -> None:
    strap = strap_with("--pmd", "--pmd-paired", "--pmd-rate-error", "0.004")
    source = BleHeartRateStrap(strap.device_address, scan_timeout_s=5.0)
    events = collect(source, lambda ev: len(chunks(ev, "ecg")) >= 8
                     and len(chunks(ev, "acc")) >= 8)
    ecg, acc = chunks(events, "ecg"), chunks(events, "acc")
    assert {c.unit for c in ecg} == {"uV"} and {c.unit for c in acc} == {"mG"}
    assert {c.samples.shape[1] for c in ecg} == {1} and {c.samples.shape[1] for c in acc} == {3}
    # sample for sample what the strap sent, indices continuous
    for stream, got in (("ecg", ecg), ("acc", acc)):
        sent = logged_rows(strap, stream)
        assert rows(got) == sent[: len(rows(got))], stream
        assert continuous(got), stream
    # the settings asked for: ECG 130 Hz 14 bit, ACC 50 Hz 16 bit 8 G, in the Polar order
    commands = [e["request"] for e in strap.events("pmd_command")]
    assert commands[:4] == ["0100", "0102", "02000001820001010e00",
                            "0202000132000101100002010800"]
    assert source.device_info["pmd"] == {
        "ecg": {"rate_hz": 130, "resolution_bits": 14},
        "acc": {"rate_hz": 50, "resolution_bits": 16, "range_g": 8},
    }
    said = messages(events)
    started = said.index("Raw ECG (130 Hz) and accelerometer (50 Hz) started (the ECG can "
                         "take about 30 s to begin)")
    assert said[started - 1].startswith("Connected to Virtual HRM")
    assert n_beats(events) >= 3  # heart rate went on beside (8 ECG frames: 4.5 s)
    # the streams were stopped before the link went down (an H10 stays awake otherwise)
    assert commands[-2:] == ["0300", "0302"]
    assert strap.command("status").endswith(" pmd=none")


def test_a_strap_without_pmd_streams_heart_rate_and_says_nothing_about_it(
    strap_with: StrapFactory,
) -> None:
    strap = strap_with()
    source = BleHeartRateStrap(strap.device_address, scan_timeout_s=5.0)
    events = collect(source, lambda ev: n_beats(ev) >= 20)
    assert not [e for e in events if isinstance(e, SignalChunk)]
    assert not [m for m in messages(events) if "ECG" in m or "accelerometer" in m]
    assert "pmd" not in source.device_info


def test_pmd_switched_off_streams_heart_rate_alone(strap_with: StrapFactory) -> None:
    strap = strap_with("--pmd", "--pmd-paired")
    source = BleHeartRateStrap(strap.device_address, scan_timeout_s=5.0, pmd=False)
    events = collect(source, lambda ev: n_beats(ev) >= 20)
    assert not [e for e in events if isinstance(e, SignalChunk)]
    assert strap.events("pmd_command") == []
    assert source.settings["pmd"] is False


def test_not_paired_heart_rate_alone_and_the_sentence_once(strap_with: StrapFactory) -> None:
    strap = strap_with("--pmd")
    source = BleHeartRateStrap(strap.device_address, scan_timeout_s=5.0, pmd_pair=False)
    events = collect(source, lambda ev: n_beats(ev) >= 30)
    said = messages(events)
    assert said.count(NOT_PAIRED.format(address=strap.device_address)) == 1
    assert not [e for e in events if isinstance(e, SignalChunk)]
    assert [e["reason"] for e in strap.events("pmd_refused")] == ["not paired"]
    assert strap.command("status").endswith(" paired=0 pmd=none")


def test_not_paired_then_paired_through_bleak_streams_ecg(strap_with: StrapFactory) -> None:
    strap = strap_with("--pmd")
    source = BleHeartRateStrap(strap.device_address, scan_timeout_s=5.0)
    events = collect(source, lambda ev: len(chunks(ev, "ecg")) >= 3)
    assert len(strap.events("pmd_refused")) == 1  # the first write, then bleak paired
    assert rows(chunks(events, "ecg")) == logged_rows(strap, "ecg")[: len(rows(chunks(
        events, "ecg")))]
    assert not [m for m in messages(events) if "paired" in m]


def test_auto_pair_as_bluez_does_streams_ecg_in_small_frames(strap_with: StrapFactory) -> None:
    # and at the smallest MTU reported for an H10 (70: 19 ECG samples a frame, #55)
    strap = strap_with("--pmd", "--pmd-auto-pair", "--pmd-mtu", "70")
    source = BleHeartRateStrap(strap.device_address, scan_timeout_s=5.0, pmd_pair=False)
    events = collect(source, lambda ev: len(chunks(ev, "ecg")) >= 3)
    assert strap.events("paired")[0]["auto"] is True
    assert {c.n_samples for c in chunks(events, "ecg")} == {19}
    assert continuous(chunks(events, "ecg"))
    assert rows(chunks(events, "ecg")) == logged_rows(strap, "ecg")[: len(rows(chunks(
        events, "ecg")))]


def test_delayed_ecg_and_a_device_stop_started_again_once(strap_with: StrapFactory) -> None:
    strap = strap_with("--pmd", "--pmd-paired", "--pmd-ecg-delay", "20")
    source = BleHeartRateStrap(strap.device_address, scan_timeout_s=5.0)
    state: dict[str, Any] = {"stops": 0}

    def during(ev: list[SourceEvent]) -> None:
        # stop ACC by the strap twice: after a few chunks, and again after it came back
        acc = chunks(ev, "acc")
        if len(acc) >= 3 * (state["stops"] + 1) and state["stops"] < 2 and \
                len([m for m in messages(ev) if "stopped its accelerometer" in m]) == \
                state["stops"]:
            assert strap.command("pmd-stop acc") == "OK pmd-stop acc"
            state["stops"] += 1

    events = collect(source, lambda ev: state["stops"] == 2 and len(chunks(ev, "ecg")) >= 3
                     and "again; heart rate and RR go on" in " ".join(messages(ev)),
                     during=during)
    said = messages(events)
    assert "The strap stopped its accelerometer stream by itself; starting it again" in said
    assert "The strap stopped its accelerometer stream again; heart rate and RR go on" in said
    assert not [m for m in said if "ECG" in m and "started" not in m]  # the delay is no error
    # ACC and heart rate flowed before the first ECG; the ECG is what the strap sent
    first_ecg = next(i for i, e in enumerate(events) if isinstance(e, SignalChunk)
                     and e.stream == "ecg")
    assert len(chunks(events[:first_ecg], "acc")) >= 3
    assert n_beats(events[:first_ecg]) >= 5
    ecg = chunks(events, "ecg")
    assert rows(ecg) == logged_rows(strap, "ecg")[: len(rows(ecg))]
    # ACC after the restart: the strap's samples still, with the indices skipping the pause
    acc = chunks(events, "acc")
    assert rows(acc) == logged_rows(strap, "acc")[: len(rows(acc))]
    steps = np.diff([c.first_index for c in acc])
    assert (steps >= 36).all() and (steps > 36).any()
    starts = [e["request"] for e in strap.events("pmd_command") if e["request"][:4] == "0202"]
    assert len(starts) == 2  # started, started again once; not after the second stop


def test_link_loss_restarts_pmd_and_indices_go_on(strap_with: StrapFactory) -> None:
    strap = strap_with("--pmd", "--pmd-paired")
    source = BleHeartRateStrap(strap.device_address, scan_timeout_s=5.0, backoff_s=(0.2, 0.5))
    state = {"lost": False, "at": 0}

    def during(ev: list[SourceEvent]) -> None:
        if not state["lost"] and len(chunks(ev, "ecg")) >= 4:
            state["lost"], state["at"] = True, len(chunks(ev, "ecg"))
            strap.link_loss()

    events = collect(source, lambda ev: state["lost"]
                     and len(chunks(ev, "ecg")) >= state["at"] + 4, during=during)
    starts = [e["request"] for e in strap.events("pmd_command") if e["request"][:4] == "0200"]
    assert len(starts) == 2
    ecg = chunks(events, "ecg")
    indices = [c.first_index for c in ecg]
    assert indices == sorted(indices) and len(set(indices)) == len(indices)
    assert all(b.first_index >= a.first_index + a.n_samples for a, b in itertools.pairwise(ecg))
    sent = logged_rows(strap, "ecg")
    assert rows(ecg) == sent[: len(rows(ecg))]  # nothing lost but what the link never carried
    assert messages(events).count(
        "Raw ECG (130 Hz) and accelerometer (50 Hz) started (the ECG can take about 30 s "
        "to begin)") == 1


def test_record_stores_ecg_and_acc_sample_for_sample_as_sent(
    strap_with: StrapFactory, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    strap = strap_with("--pmd", "--pmd-paired", "--pmd-rate-error", "0.004")
    data = str(tmp_path / "cli")
    code = main(["record", "--source", f"ble:{strap.device_address}", "--duration", "1.5",
                 "--data-dir", data, "--no-neurokit"])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    session_id = int(captured.out.strip())
    assert "Raw ECG (130 Hz) and accelerometer (50 Hz) started" in captured.err
    with SessionStore.open(data) as store:
        stored = {s: store.load_signal(session_id, s) for s in ("ecg", "acc")}
        blocks = {s: store.load_signal_chunks(session_id, s) for s in ("ecg", "acc")}
        rec = store.load_recording(session_id)
        device_info = store.session_info(session_id).device_info
    assert device_info["pmd"] == {  # the settings stored with the session
        "ecg": {"rate_hz": 130, "resolution_bits": 14},
        "acc": {"rate_hz": 50, "resolution_bits": 16, "range_g": 8},
    }
    for stream, channels, rate in (("ecg", 1, 130.52), ("acc", 3, 50.2)):
        times, samples = stored[stream]
        sent = logged_rows(strap, stream)
        assert samples.shape[1] == channels and samples.dtype == np.int32
        assert len(times) == len(samples) >= 10 * (73 if stream == "ecg" else 36), stream
        # every sample as sent, in order, none missing up to the end of the recording
        assert samples.tolist() == sent[: len(samples)], stream
        assert [b.first_index for b in blocks[stream]] == [
            sum(x.n_samples for x in blocks[stream][:i]) for i in range(len(blocks[stream]))]
        # placed at the strap's real rate (0.4 % fast), measured on its clock. (The session
        # times themselves follow the test's 40-times clock, beyond any real drift, so they
        # are not checked here: tests/sensors/ble/test_pmd.py checks the alignment.)
        assert blocks[stream][-1].rate_hz == pytest.approx(rate, rel=2e-3), stream
    assert rec.n_beats >= 10  # and the heart rate beside them


def test_record_no_ecg_stores_no_raw_signals(
    strap_with: StrapFactory, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    strap = strap_with("--pmd", "--pmd-paired")
    data = str(tmp_path / "cli")
    code = main(["record", "--source", f"ble:{strap.device_address}", "--duration", "1",
                 "--data-dir", data, "--no-neurokit", "--no-ecg"])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    session_id = int(captured.out.strip())
    with SessionStore.open(data) as store:
        assert [len(store.load_signal(session_id, s)[1]) for s in ("ecg", "acc")] == [0, 0]
        assert store.load_recording(session_id).n_beats >= 5
    assert strap.events("pmd_command") == []


REFUSED = {
    "ecg": "The strap refused to start ECG: invalid MTU (the Bluetooth link's packets are too "
           "small for its data frames; reconnecting usually clears it); heart rate, RR and "
           "the accelerometer go on",
    "acc": "The strap refused to start ACC: invalid MTU (the Bluetooth link's packets are too "
           "small for its data frames; reconnecting usually clears it); heart rate, RR and "
           "the ECG go on",
}
STARTED = {"ecg": "Raw ECG (130 Hz) started (the ECG can take about 30 s to begin)",
           "acc": "Raw accelerometer (50 Hz) started"}
OTHER = {"ecg": "acc", "acc": "ecg"}


@pytest.mark.parametrize("refused", ["ecg", "acc"])
def test_a_refused_stream_leaves_heart_rate_and_the_other_stream(
    strap_with: StrapFactory, refused: str
) -> None:
    strap = strap_with("--pmd", "--pmd-paired", "--pmd-refuse", refused)
    other = OTHER[refused]
    source = BleHeartRateStrap(strap.device_address, scan_timeout_s=5.0)
    events = collect(source, lambda ev: len(chunks(ev, other)) >= 3 and n_beats(ev) >= 3)
    said = messages(events)
    assert said.count(REFUSED[refused]) == 1
    assert STARTED[other] in said and STARTED[refused] not in said
    assert not chunks(events, refused)
    assert rows(chunks(events, other)) == logged_rows(strap, other)[: len(rows(chunks(
        events, other)))]
    assert list(source.device_info["pmd"]) == [other]
    # only the stream that runs is stopped at the end
    commands = [e["request"] for e in strap.events("pmd_command")]
    assert [c for c in commands if c.startswith("03")] == [
        {"ecg": "0300", "acc": "0302"}[other]]


@pytest.mark.parametrize(("features", "sentence"), [
    ("acc", "The strap offers no raw ECG (older H10 firmware has none), so RR cannot be "
            "checked against it; heart rate, RR and the accelerometer go on"),
    ("ecg", "The strap offers no accelerometer, so breathing is estimated from RR alone; "
            "heart rate, RR and the ECG go on"),
    ("none", "The strap offers no raw ECG or accelerometer (PMD); heart rate and RR go on"),
])
def test_a_strap_without_ecg_or_acc_streams_what_it_has_and_says_so_once(
    strap_with: StrapFactory, features: str, sentence: str
) -> None:
    strap = strap_with("--pmd", "--pmd-paired", "--pmd-features", features)
    source = BleHeartRateStrap(strap.device_address, scan_timeout_s=5.0)
    has = [] if features == "none" else [features]
    events = collect(source, lambda ev: n_beats(ev) >= 3
                     and all(len(chunks(ev, s)) >= 3 for s in has))
    said = messages(events)
    assert said.count(sentence) == 1
    assert [m for m in said if m.startswith("Raw ")] == [STARTED[s] for s in has]
    assert {e.stream for e in events if isinstance(e, SignalChunk)} == set(has)
    # nothing asked about the stream the strap does not offer
    asked = {e["request"][:4] for e in strap.events("pmd_command")}
    kinds = {"ecg": "00", "acc": "02"}
    assert {c[2:] for c in asked} == {kinds[s] for s in has}


def test_a_failing_pair_says_so_once_and_heart_rate_goes_on(strap_with: StrapFactory) -> None:
    strap = strap_with("--pmd", "--pmd-pair-fails")
    source = BleHeartRateStrap(strap.device_address, scan_timeout_s=5.0)
    events = collect(source, lambda ev: n_beats(ev) >= 20)
    said = [m for m in messages(events) if "pair" in m]
    assert said == [
        "Pairing the strap for ECG failed ([org.bluez.Error.AuthenticationFailed] "
        f"Authentication Failed): run `bluetoothctl pair {strap.device_address}` (Linux) or "
        "pair it in the system's Bluetooth settings; heart rate and RR go on"]
    assert len(strap.events("pair_failed")) == 1  # tried once, through bleak's pair()
    assert not [e for e in events if isinstance(e, SignalChunk)]
    assert strap.command("status").endswith(" paired=0 pmd=none")


def test_heart_rate_gone_silent_while_pmd_flows_is_caught_and_the_link_renewed(
    strap_with: StrapFactory,
) -> None:
    strap = strap_with("--pmd", "--pmd-paired")
    source = BleHeartRateStrap(strap.device_address, scan_timeout_s=5.0, data_timeout_s=1.0,
                               backoff_s=(0.2,))
    state = {"silenced_at": -1}

    def during(ev: list[SourceEvent]) -> None:
        if state["silenced_at"] < 0 and len(chunks(ev, "acc")) >= 3:
            assert strap.command("hr-silent on") == "OK hr-silent on"
            state["silenced_at"] = len(ev)

    def reconnected_with_beats(ev: list[SourceEvent]) -> bool:
        marks = [i for i, e in enumerate(ev) if isinstance(e, Marker) and e.label == "reconnected"]
        return bool(marks) and n_beats(ev[marks[0]:]) >= 3

    events = collect(source, reconnected_with_beats, during=during)
    silenced = events[state["silenced_at"]:]
    lost = next(i for i, e in enumerate(silenced)
                if isinstance(e, Marker) and e.label == "disconnected")
    assert silenced[lost].extra == {"reason": "no_data"}
    # ECG/ACC kept arriving while the beats had stopped: they did not count as data
    assert len(chunks(silenced[:lost], "acc")) >= 3
    said = messages(events)
    assert ("No heart rate from the strap for 1 s although its ECG/accelerometer still "
            "arrive; reconnecting") in said
    assert [e["on"] for e in strap.events("hr_silent")] == [True]
    # after the new link: heart rate again, and PMD started again
    starts = [e["request"] for e in strap.events("pmd_command") if e["request"][:4] == "0202"]
    assert len(starts) == 2
