"""Garmin FIT activity files: RR intervals from their ``hrv`` messages.

A FIT file (Garmin's Flexible and Interoperable Data Transfer protocol, FIT SDK
https://developer.garmin.com/fit/protocol/) is binary: a 12- or 14-byte header whose bytes
8..12 are ``.FIT``, then definition and data messages, then a CRC. Watches and bike computers
that record beat-to-beat intervals (with a chest strap, or "log HRV" enabled) write them in
``hrv`` messages (global message number 78): each holds a ``time`` array of five uint16
slots, seconds with scale 1000 (1 ms resolution); unused slots hold the invalid value
0xFFFF. The intervals are in message order, then slot order. ``hrv`` messages carry no
timestamp, so beat times are the running sum of the intervals.

Files are decoded with ``fitdecode`` (pinned in pyproject.toml); its errors (truncated file,
CRC mismatch, undefined local message) become :class:`~biofeedback.core.errors.InputFileError`
naming the file and the byte offset.
"""

from __future__ import annotations

import io
import warnings
from collections import Counter
from datetime import UTC, datetime
from typing import Any

from biofeedback.core.errors import InputFileError
from biofeedback.io.readers.base import (
    FileProbe,
    FormatReader,
    ImportedRecording,
    NotRRDataError,
    ReadOptions,
)
from biofeedback.io.readers.timeline import make_recording

FORMAT = "garmin_fit"

HRV_MESSAGE = 78
"""Global message number of ``hrv`` (FIT SDK Profile.xlsx)."""

INVALID_SECONDS = 65.535
"""The uint16 invalid value 0xFFFF at scale 1000, s: a slot that holds no interval."""

HEADER_SCORE = 100
"""Sniff score of a file with the FIT header signature: no text format can have it."""

SUFFIX_SCORE = 5
"""Sniff score of a ``.fit`` name without the signature, so the reader says what is wrong."""

NO_HRV_HEART_RATE = ("this FIT file holds no RR intervals (hrv messages): the device recorded "
                     "heart rate only")
"""Refusal of a FIT file that has heart rate but no ``hrv`` messages."""


def sniff(probe: FileProbe) -> int:
    """How sure it is that the file is FIT: the header signature, or a ``.fit`` name."""
    head = probe.head
    if len(head) >= 12 and head[8:12] == b".FIT":
        return HEADER_SCORE
    return SUFFIX_SCORE if probe.path.suffix.lower() == ".fit" else 0


def _timestamp(value: Any) -> datetime | None:
    if not isinstance(value, datetime):
        return None
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def _decode(probe: FileProbe) -> tuple[list[Any], list[str]]:
    """Data messages of the file, and the warnings fitdecode raised while decoding it."""
    import fitdecode

    messages: list[Any] = []
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            with fitdecode.FitReader(io.BytesIO(probe.raw),
                                     check_crc=fitdecode.CrcCheck.RAISE) as reader:
                for frame in reader:
                    if isinstance(frame, fitdecode.FitDataMessage):
                        messages.append(frame)
        except fitdecode.FitHeaderError as exc:
            raise InputFileError(probe.path, f"not a valid FIT file: {_said(exc)}") from None
        except fitdecode.FitCRCError as exc:
            raise InputFileError(probe.path, f"corrupt FIT file: {_said(exc)}") from None
        except fitdecode.FitEOFError as exc:
            raise InputFileError(probe.path, f"truncated FIT file: {_said(exc)}") from None
        except fitdecode.FitError as exc:
            raise InputFileError(probe.path, f"corrupt FIT file: {_said(exc)}") from None
        except Exception as exc:
            # fitdecode lets struct/index errors of a mangled header or definition through;
            # the user should read what is wrong with the file, not a traceback.
            raise InputFileError(
                probe.path, f"not a valid FIT file: {type(exc).__name__}: {exc}") from None
    return messages, [str(w.message) for w in caught]


def _said(exc: Exception) -> str:
    """fitdecode's message, its ``@ N`` (a byte offset) spelled out."""
    return str(exc).replace(" @ ", " at byte offset ")


def _field(message: Any, name: str) -> Any:
    return message.get_value(name, fallback=None)


def read(probe: FileProbe, options: ReadOptions) -> ImportedRecording:
    """Read the RR intervals of a FIT file's ``hrv`` messages.

    Parameters
    ----------
    probe : FileProbe
        The file.
    options : ReadOptions
        Unused (a FIT file says everything itself).

    Returns
    -------
    ImportedRecording
        RR intervals in ms (integers: the raw uint16 values), beat times the running sum;
        start time tz-aware UTC from the first ``record`` timestamp, else the ``session`` /
        ``activity`` ``start_time``, else ``file_id.time_created`` (``details["start_time_from"]``
        says which).

    Raises
    ------
    InputFileError
        Truncated or corrupt file (with fitdecode's reason and byte offset).
    NotRRDataError
        No ``hrv`` message with a valid slot.
    """
    messages, decode_warnings = _decode(probe)
    counts: Counter[str] = Counter(m.name for m in messages)
    rr_ms: list[float] = []
    hrv_messages = invalid_slots = heart_rate_records = 0
    starts: dict[str, datetime] = {}
    manufacturer: Any = None
    product: Any = None
    file_type: Any = None
    for message in messages:
        name = message.name
        if message.global_mesg_num == HRV_MESSAGE:
            hrv_messages += 1
            slots = _field(message, "time")
            if not isinstance(slots, (tuple, list)):
                slots = (slots,)
            for seconds in slots:
                if seconds is None or float(seconds) >= INVALID_SECONDS:
                    invalid_slots += 1
                    continue
                rr_ms.append(float(round(float(seconds) * 1000.0)))
        elif name == "record":
            if _field(message, "heart_rate") is not None:
                heart_rate_records += 1
            stamp = _timestamp(_field(message, "timestamp"))
            if stamp is not None:
                starts.setdefault("record", stamp)
        elif name in ("session", "activity"):
            stamp = _timestamp(_field(message, "start_time"))
            if stamp is not None:
                starts.setdefault(name, stamp)
        elif name == "file_id":
            manufacturer = _field(message, "manufacturer")
            product = _field(message, "garmin_product") or _field(message, "product")
            file_type = _field(message, "type")
            stamp = _timestamp(_field(message, "time_created"))
            if stamp is not None:
                starts.setdefault("file_id", stamp)

    if not rr_ms:
        if hrv_messages:
            reason = (f"this FIT file's {hrv_messages} hrv messages hold no valid RR interval "
                      "(every slot is empty)")
        elif heart_rate_records:
            reason = NO_HRV_HEART_RATE
        else:
            held = ", ".join(f"{n} {k}" for k, n in counts.most_common()) or "no data messages"
            reason = (f"this FIT file holds no RR intervals (hrv messages) and no heart rate: "
                      f"it holds {held}")
        raise NotRRDataError(probe.path, reason)

    start_from = next((k for k in ("record", "session", "activity", "file_id") if k in starts),
                      None)
    start_time = starts[start_from] if start_from is not None else None
    sources = {
        "record": "the first record message's timestamp",
        "session": "the session message's start_time",
        "activity": "the activity message's start_time",
        "file_id": "file_id.time_created",
    }
    details: dict[str, Any] = {
        "manufacturer": None if manufacturer is None else str(manufacturer),
        "product": None if product is None else str(product),
        "file_type": None if file_type is None else str(file_type),
        "hrv_messages": hrv_messages,
        "invalid_slots_dropped": invalid_slots,
        "record_messages": counts.get("record", 0),
        "start_time_from": None if start_from is None else sources[start_from],
    }
    notes = [
        f"{len(rr_ms)} RR intervals from {hrv_messages} hrv messages ({invalid_slots} empty "
        "slots dropped); hrv messages carry no timestamps: beat times are the running sum "
        "of the intervals",
    ]
    notes += [f"fitdecode: {w}" for w in decode_warnings]
    return ImportedRecording(
        recording=make_recording(probe.path, FORMAT, rr_ms),
        format=FORMAT,
        original_name=probe.name,
        files=[probe.name],
        start_time=start_time,
        rr_source="rr",
        notes=notes,
        details=details,
    )


READERS: tuple[FormatReader, ...] = (
    FormatReader(
        name=FORMAT,
        title="Garmin / FIT (hrv messages)",
        summary="binary FIT activity file; RR intervals from its hrv messages (global 78)",
        sniff=sniff,
        read=read,
    ),
)
