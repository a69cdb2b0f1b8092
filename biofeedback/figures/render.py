"""Write a figure as PNG, SVG or PDF, or as inline SVG text, through matplotlib's back ends
directly (Agg, SVG, PDF canvases: no pyplot, no display, no interactive back end)."""

from __future__ import annotations

import io
import os
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import matplotlib
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.backends.backend_pdf import FigureCanvasPdf
from matplotlib.backends.backend_svg import FigureCanvasSVG
from matplotlib.figure import Figure

from biofeedback.core.atomic_files import atomic_write_files

__all__ = ["FORMATS", "figure_bytes", "inline_svg", "save_figure", "save_pdf_pages"]

FORMATS: tuple[str, ...] = ("png", "svg", "pdf")
"""File formats a figure is written in (the file's extension, lower case)."""

_CANVASES = {"png": FigureCanvasAgg, "svg": FigureCanvasSVG, "pdf": FigureCanvasPdf}

# Reproducible files: no creation date, and a fixed id salt so the same figure gives the
# same SVG. Text stays text in SVG (searchable, selectable, editable in a drawing program).
_SVG_RC: dict[Any, Any] = {"svg.fonttype": "none", "svg.hashsalt": "biofeedback"}
_METADATA: dict[str, dict[str, str | None]] = {
    "png": {"Software": None},
    "svg": {"Date": None, "Creator": None, "Format": None, "Type": None},
    "pdf": {"CreationDate": None, "Creator": "biofeedback", "Producer": None},
}


def figure_bytes(figure: Figure, fmt: str, *, dpi: float = 300.0) -> bytes:
    """The figure in format ``fmt`` (one of :data:`FORMATS`); ``dpi`` sets a PNG's pixels
    per inch (SVG and PDF are vector, with text as text)."""
    if fmt not in _CANVASES:
        raise ValueError(f"cannot write a figure as {fmt!r}; choose one of {', '.join(FORMATS)}")
    canvas = _CANVASES[fmt](figure)
    buffer = io.BytesIO()
    # The SVG settings are read at draw time from rcParams: scoped to this one draw.
    with matplotlib.rc_context(_SVG_RC):
        canvas.print_figure(buffer, format=fmt, dpi=dpi, metadata=_METADATA[fmt])
    return buffer.getvalue()


def save_figure(figure: Figure, path: str | os.PathLike[str], *, dpi: float = 300.0) -> Path:
    """Write ``figure`` to ``path``, its format taken from the extension, atomically (a
    killed run leaves the old file or none).

    Raises
    ------
    ValueError
        The extension is not one of :data:`FORMATS`.
    """
    target = Path(path)
    fmt = target.suffix.lower().lstrip(".")
    data = figure_bytes(figure, fmt, dpi=dpi)

    def write(tmp: Path) -> None:
        tmp.write_bytes(data)

    atomic_write_files([(target, write)])
    return target


_PROLOGUE = re.compile(r"\A.*?(?=<svg\b)", re.S)
_NAMESPACES = re.compile(r'\s+xmlns(?::\w+)?="[^"]*"')


_IDS = re.compile(r'(\bid="|url\(#|href="#)([^")]+)')


def inline_svg(figure: Figure, *, id_prefix: str = "") -> str:
    """The figure as one ``<svg>`` element to put inside an HTML page.

    The XML declaration, the DOCTYPE and the namespace declarations are dropped: HTML
    parsers place ``<svg>`` in the SVG namespace themselves, and the page then names no
    other document (the report stays one self-contained file). Internal references
    (``url(#clip)``, ``href="#marker"``) stay; ``id_prefix`` is put before every id and
    reference, so several figures on one page never share an id.
    """
    text = figure_bytes(figure, "svg").decode("utf-8")
    text = _PROLOGUE.sub("", text, count=1)
    if id_prefix:
        text = _IDS.sub(lambda m: f"{m.group(1)}{id_prefix}{m.group(2)}", text)
    head, sep, rest = text.partition(">")
    return _NAMESPACES.sub("", head) + sep + rest


def save_pdf_pages(figures: Sequence[Figure], path: str | os.PathLike[str], *,
                   title: str | None = None) -> Path:
    """Write ``figures`` as one PDF, a page each in order, atomically.

    Pages keep each figure's own size; text stays text (matplotlib's PDF back end, fonts
    embedded). ``title`` goes into the document's metadata.
    """
    from matplotlib.backends.backend_pdf import PdfPages

    target = Path(path)

    def write(tmp: Path) -> None:
        metadata = dict(_METADATA["pdf"], **({"Title": title} if title else {}))
        with PdfPages(tmp, metadata=metadata) as pdf:
            for figure in figures:
                FigureCanvasPdf(figure)
                pdf.savefig(figure)

    atomic_write_files([(target, write)])
    return target
