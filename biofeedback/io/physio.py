"""Raw ECG and accelerometer samples for export: on a regular grid, and as BIDS physio files.

A live source hands on :class:`~biofeedback.core.signals.SignalChunk` blocks, each at its own
measured rate and start on the session clock, with jumps where samples were lost. EDF+ and
BIDS physio want one regular series per file: :func:`physio_channel` makes it, and
:func:`physio_files` writes it as ``*_physio.tsv.gz`` with its ``*_physio.json``
(https://bids-specification.readthedocs.io/en/stable/modality-specific-files/physiological-recordings.html).
"""

from __future__ import annotations

import gzip
import json
import math
from collections.abc import Sequence
from typing import Any, Final

import numpy as np

from biofeedback.core.channels import RawChannel
from biofeedback.core.errors import BiofeedbackError
from biofeedback.core.signals import SIGNAL_STREAMS, SignalChunk

__all__ = ["PHYSIO_COLUMNS", "SignalExportError", "physio_channel", "physio_files"]

CHANNEL_NAMES: Final = {"ecg": "ECG", "acc": "ACC"}
"""Name of each stream's channel in exports (EDF+ labels ``ECG``, ``ACC x`` ...)."""

PHYSIO_COLUMNS: Final = {"ecg": ("cardiac",), "acc": ("accel_x", "accel_y", "accel_z")}
"""BIDS physio column names of each stream (``cardiac`` is BIDS's recommended name)."""

_UNIT_WORDS: Final = {"uV": "microvolts", "mG": "milli-g (1/1000 of standard gravity, "
                      "9.80665 m/s^2)"}

_GRID_TOLERANCE: Final = 0.25
"""Blocks whose samples all fall within this fraction of a sample period of one regular grid
are exported as recorded, sample for sample."""


class SignalExportError(BiofeedbackError, ValueError):
    """Raw samples that cannot be exported as they are."""


def physio_channel(chunks: Sequence[SignalChunk]) -> RawChannel:
    """The blocks of one stream as one regularly sampled channel on the session clock.

    Parameters
    ----------
    chunks : sequence of SignalChunk
        Blocks of one stream in sample order (``SessionStore.load_signal_chunks``).

    Returns
    -------
    RawChannel
        Named ``ECG`` (µV, column ``ecg``) or ``ACC`` (mG, columns ``x, y, z``), starting at
        the first sample. When every sample lies within a quarter period of the grid of the
        rate its index implies over the stream (the usual case, samples lost or not, rates
        re-measured per frame or not): the samples as recorded at that rate, NaN in the rows
        of lost samples. Otherwise (a jump in the clock mapping, rates far apart) resampled
        linearly onto the grid of the blocks' mean rate, NaN where no sample lies within 1.5
        sample periods.

    Raises
    ------
    SignalExportError
        No blocks, blocks of several streams, or blocks whose unit or channels do not match
        their stream.
    """
    if not chunks:
        raise SignalExportError("no raw samples to export")
    stream = chunks[0].stream
    if stream not in SIGNAL_STREAMS:
        raise SignalExportError(f"raw samples of unknown stream {stream!r}")
    unit, columns = SIGNAL_STREAMS[stream]
    for index, chunk in enumerate(chunks):
        where = f"raw block {index} (stream {chunk.stream!r}, first sample {chunk.first_index})"
        if chunk.stream != stream:
            raise SignalExportError(f"{where}: not of stream {stream!r} like block 0")
        if chunk.unit != unit or chunk.samples.ndim != 2 or \
                chunk.samples.shape[1] != len(columns):
            raise SignalExportError(
                f"{where}: unit {chunk.unit!r} and {chunk.samples.shape} samples, expected "
                f"{unit!r} and (n, {len(columns)})")
    start = chunks[0].t0_s
    first = chunks[0].first_index
    end = max(c.first_index + c.n_samples for c in chunks) - first
    last = max(chunks, key=lambda c: c.first_index)
    # The rate the blocks' first samples imply over the whole stream (each block's own rate
    # is one frame's estimate): on its grid every sample keeps its row when none is off by
    # more than a quarter period, which a source's smooth clock mapping gives.
    span_s = last.t0_s - start
    rate = (last.first_index - first) / span_s if span_s > 0 and last.first_index > first \
        else chunks[0].rate_hz
    if len({c.rate_hz for c in chunks}) == 1:
        rate = chunks[0].rate_hz  # one rate throughout: that one, exactly
    deviation = max(float(np.max(np.abs(
        c.times_s() - (start + (c.first_index - first + np.arange(c.n_samples)) / rate))))
        for c in chunks)
    on_one_grid = all(c.first_index >= first for c in chunks) and \
        deviation <= _GRID_TOLERANCE / rate
    if on_one_grid:
        # Samples lost between blocks leave their rows empty (NaN); nothing is interpolated.
        samples = np.full((end, len(columns)), np.nan)
        for c in chunks:
            samples[c.first_index - first:c.first_index - first + c.n_samples] = c.samples
        complete = bool(np.isfinite(samples).all())
    else:
        times = np.concatenate([c.times_s() for c in chunks])
        values = np.concatenate([c.samples for c in chunks]).astype(np.float64)
        rate = float(np.average([c.rate_hz for c in chunks],
                                weights=[c.n_samples for c in chunks]))
        grid = start + np.arange(math.floor((times[-1] - start) * rate + 1e-9) + 1) / rate
        after = np.clip(np.searchsorted(times, grid), 1, max(1, times.size - 1))
        nearest = np.minimum(np.abs(times[np.minimum(after, times.size - 1)] - grid),
                             np.abs(grid - times[after - 1]))
        samples = np.column_stack([np.interp(grid, times, values[:, k])
                                   for k in range(len(columns))])
        samples[nearest > 1.5 / rate] = np.nan
        complete = False
    note = "recorded live" if on_one_grid else \
        "recorded live, resampled linearly from re-measured rates"
    if on_one_grid and not complete:
        note += ", samples lost where empty"
    return RawChannel(CHANNEL_NAMES[stream], stream, unit, float(rate), float(start), columns,
                      samples, note)


def physio_files(channel: RawChannel) -> tuple[bytes, dict[str, Any]]:
    """A channel as BIDS physio: the gzipped TSV (no header, one row per sample, ``n/a``
    where samples were lost) and its JSON sidecar.

    Parameters
    ----------
    channel : RawChannel
        ECG or ACC (:func:`physio_channel`).

    Returns
    -------
    tsv_gz : bytes
        The ``*_physio.tsv.gz`` content.
    sidecar : dict
        ``SamplingFrequency`` (Hz), ``StartTime`` (s: the first sample's time relative to
        onset 0 of the session's ``*_events.tsv`` and to the RR table's beat times, i.e.
        the session start; negative when the stream started earlier), ``Columns``, and
        each column's ``Units`` and ``Description``.
    """
    columns = PHYSIO_COLUMNS[channel.kind]
    values = np.asarray(channel.samples, dtype=np.float64)
    finite = np.isfinite(values)
    if np.array_equal(values[finite], np.round(values[finite])):  # the sensor's integers
        cells = np.where(finite, values, 0).astype(np.int64).astype(str)
    else:
        cells = np.char.mod("%.6g", np.where(finite, values, 0))
    cells[~finite] = "n/a"
    text = "".join("\t".join(row) + "\n" for row in cells.tolist())
    # mtime 0: the same samples give the same bytes.
    tsv_gz = gzip.compress(text.encode("ascii"), mtime=0)
    sidecar: dict[str, Any] = {
        "SamplingFrequency": channel.sampling_rate_hz,
        "StartTime": channel.start_s,
        "Columns": list(columns),
    }
    unit_words = _UNIT_WORDS.get(channel.unit, channel.unit)
    for column, axis in zip(columns, channel.columns, strict=True):
        what = "ECG from the chest strap" if channel.kind == "ecg" else \
            f"Chest acceleration, {axis} axis of the strap's accelerometer"
        sidecar[column] = {"Description": f"{what}, in {unit_words} ({channel.source_file})",
                           "Units": channel.unit}
    return tsv_gz, sidecar


def physio_json(sidecar: dict[str, Any]) -> str:
    """The sidecar as the JSON text written."""
    return json.dumps(sidecar, indent=2, ensure_ascii=False) + "\n"
