"""Results reports of other HRV tools that hold results but no intervals (pyHRV).

They are recognised so that the refusal says what the file is: a pyHRV report
(``# File ; n/a`` header lines, ``----`` rules, ``Mean NNI (ms) ; 768.438``) lists the NN
intervals only when its author asked for them, under ``NN INTERVALS (ms)``; then they are read.
"""

from __future__ import annotations

import numpy as np

from biofeedback.core.errors import InputFileError
from biofeedback.io.readers.base import (
    FileProbe,
    FormatReader,
    ImportedRecording,
    NotRRDataError,
    ReadOptions,
)
from biofeedback.io.readers.text import is_number, parse_number
from biofeedback.io.readers.timeline import make_recording

_NN_TITLE = "nn intervals"


def sniff_pyhrv(probe: FileProbe) -> int:
    """90 for a pyHRV report (its header lines and an ``NN INTERVALS`` or ``NNI`` line)."""
    text = probe.head_text()
    lines = text.first_lines(60)
    if not lines or not lines[0].startswith("# File") or ";" not in lines[0]:
        return 0
    body = " ".join(lines).lower()
    return 90 if _NN_TITLE in body or "mean nni" in body else 0


def read_pyhrv(probe: FileProbe, options: ReadOptions) -> ImportedRecording:
    """The NN intervals the report lists; refused when it lists none."""
    values: list[float] = []
    results: dict[str, float] = {}
    for number, content in probe.text.numbered():
        name, _, rest = content.partition(";")
        key = name.strip()
        if key.lower().startswith(_NN_TITLE):
            fields = [f for f in rest.replace(",", " ").split() if f]
            if fields and all(is_number(f) for f in fields):
                values = [parse_number(probe.path, f, number, key) for f in fields]
        elif rest.strip() and is_number(rest.strip()) and not key.startswith("#"):
            results[key] = float(rest.strip())
    if not values:
        raise NotRRDataError(
            probe.path, "this pyHRV results report holds HRV results "
            f"({len(results)} values such as 'Mean NNI (ms)'), not the intervals (its NN "
            "INTERVALS field is empty): import the RR file that pyHRV analysed")
    rr = np.asarray(values, dtype=np.float64)
    if rr.size == 0:
        raise InputFileError(probe.path, "no NN intervals")
    return ImportedRecording(
        make_recording(probe.path, "pyhrv_report", rr, unit="ms"), "pyhrv_report", probe.name,
        files=[probe.name], reference={"tool": "pyHRV", "values": results},
    )


READERS: tuple[FormatReader, ...] = (
    FormatReader("pyhrv_report", "pyHRV results report",
                 "`# File ; ...` header, `Name (unit) ; value` results: the listed NN "
                 "intervals read, a report without them refused",
                 sniff_pyhrv, read_pyhrv),
)
