"""The reports as PDF (``report --format pdf``), through matplotlib's PDF back end: no browser.

The HTML report is the one source of the report's content: :func:`pdf_report` builds it
with its figures kept as matplotlib figures (:data:`~biofeedback.comparison.report.
FIGURE_SINK`) rather than SVG, reads its headings, paragraphs, tables and figures back in
order, and lays them out on A4 pages: text and tables as text (tables in a monospaced font,
split into column groups that fit the page, the header repeated on each page), each figure
at its print size (180 mm) with its caption under it, on the current page when it fits
there (a page holds one figure: each is its own matplotlib Figure, which becomes the page),
headings kept with what follows them. The PDF and the HTML report therefore hold the same
tables, numbers and methods paragraph.
"""

from __future__ import annotations

import os
import textwrap
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = ["Block", "pdf_report", "read_blocks"]

PAGE_MM = (210.0, 297.0)
"""A4 portrait, mm."""
MARGIN_MM = 15.0
BODY_PT = 8.5
TABLE_PT = 6.0
CAPTION_PT = 7.5
HEADING_PT = {"h1": 14.0, "h2": 10.5}
_PT_MM = 25.4 / 72.0
_LINE = 1.4  # line height / font size
# Mean character widths in em (DejaVu Sans and DejaVu Sans Mono): how much text fits a line.
_SANS_EM = 0.55
_MONO_EM = 0.602


@dataclass
class Block:
    """One piece of the report in reading order.

    Attributes
    ----------
    kind : str
        ``"h1"``, ``"h2"``, ``"p"`` (a paragraph, a list item or a definition),
        ``"table"`` or ``"figure"``.
    text : str
        The heading's, paragraph's or caption's text.
    rows : list of list of str
        A table's header row first, then its body rows.
    text_columns : int
        A table's leading label columns (left aligned, repeated in each column group).
    name : str
        A figure's name (:data:`~biofeedback.figures.catalog.FIGURES`).
    """

    kind: str
    text: str = ""
    rows: list[list[str]] = field(default_factory=list)
    text_columns: int = 0
    name: str = ""


class _Reader(HTMLParser):
    """The report's HTML (well formed: the report tests check it) back into blocks."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.blocks: list[Block] = []
        self._text: list[str] | None = None
        self._kind = ""
        self._row: list[str] | None = None
        self._table: Block | None = None
        self._skip = 0
        self._figure: Block | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attr = dict(attrs)
        if tag in ("style", "title", "svg"):
            self._skip += 1
        elif tag in ("h1", "h2", "p", "li", "dt", "figcaption"):
            self._kind, self._text = tag, []
        elif tag == "dd":
            self._text = self._text if self._text is not None else []
            self._text.append(": ")
        elif tag == "table":
            self._table = Block("table")
        elif tag == "tr":
            self._row = []
        elif tag in ("th", "td"):
            self._text = []
            if tag == "th" and self._table is not None and attr.get("class") == "text" \
                    and len(self._row or []) == self._table.text_columns:
                self._table.text_columns += 1
        elif tag == "figure" and attr.get("data-figure"):
            self._figure = Block("figure", name=str(attr["data-figure"]))

    def handle_endtag(self, tag: str) -> None:
        if tag in ("style", "title", "svg"):
            self._skip -= 1
        elif tag in ("h1", "h2", "p", "li", "dd", "figcaption") and self._text is not None:
            text = " ".join("".join(self._text).split())
            if tag == "figcaption" and self._figure is not None:
                self._figure.text = text
            elif text:
                kind = tag if tag in ("h1", "h2") else "p"
                self.blocks.append(Block(kind, ("• " if tag == "li" else "") + text))
            self._text = None
        elif tag in ("th", "td") and self._row is not None and self._text is not None:
            self._row.append(" ".join("".join(self._text).split()))
            self._text = None
        elif tag == "tr" and self._table is not None and self._row is not None:
            self._table.rows.append(self._row)
            self._row = None
        elif tag == "table" and self._table is not None:
            self.blocks.append(self._table)
            self._table = None
        elif tag == "figure" and self._figure is not None:
            self.blocks.append(self._figure)
            self._figure = None

    def handle_data(self, data: str) -> None:
        if not self._skip and self._text is not None:
            self._text.append(data)


def read_blocks(html: str) -> list[Block]:
    """The report's headings, paragraphs, tables and figures, in reading order."""
    reader = _Reader()
    reader.feed(html)
    reader.close()
    return reader.blocks


@dataclass
class _Page:
    """One A4 page as it is filled: at most one publication figure (each figure is its own
    matplotlib Figure, so it becomes the page) and the text placed around it."""

    figure: Figure | None = None
    rect: tuple[float, float, float, float] = (0.0, 0.0, 1.0, 1.0)
    texts: list[tuple[float, float, str, dict[str, object]]] = field(default_factory=list)


class _Pages:
    """A4 pages filled from the top, text placed in mm, drawn when finished."""

    def __init__(self, footer: str) -> None:
        self.pages: list[_Page] = []
        self.footer = footer
        self.y = 0.0  # mm from the top of the current page
        self._heading: Block | None = None

    @property
    def width(self) -> float:
        return PAGE_MM[0] - 2 * MARGIN_MM

    def new_page(self) -> None:
        self.pages.append(_Page())
        self.y = MARGIN_MM

    def room(self, height_mm: float) -> bool:
        return bool(self.pages) and self.y + height_mm <= PAGE_MM[1] - MARGIN_MM - 6.0

    def line(self, text: str, size: float, *, mono: bool = False, bold: bool = False) -> None:
        height = size * _PT_MM * _LINE
        if not self.room(height):
            self.new_page()
        self.pages[-1].texts.append((
            MARGIN_MM / PAGE_MM[0], 1 - self.y / PAGE_MM[1], text,
            {"fontsize": size, "family": "monospace" if mono else "sans-serif",
             "weight": "bold" if bold else "normal"}))
        self.y += height

    def chars(self, size: float, em: float) -> int:
        """Characters of a font size (pt) that fit the text width."""
        return max(20, int(self.width / (size * _PT_MM * em)))

    def heading(self, block: Block) -> None:
        # kept with what follows: drawn by the next block on the page that block lands on
        self._heading = block

    def flush_heading(self, need_mm: float) -> None:
        if self._heading is None:
            return
        size = HEADING_PT[self._heading.kind]
        if not self.room(size * _PT_MM * _LINE * 2 + need_mm):
            self.new_page()
        self.y += 0.6 * size * _PT_MM
        self.line(self._heading.text, size, bold=True)
        self.y += 0.3 * size * _PT_MM
        self._heading = None

    def paragraph(self, text: str, size: float = BODY_PT) -> None:
        lines = textwrap.wrap(text, self.chars(size, _SANS_EM)) or [""]
        self.flush_heading(size * _PT_MM * _LINE * min(len(lines), 2))
        for line in lines:
            self.line(line, size)
        self.y += 0.5 * size * _PT_MM

    def table(self, block: Block) -> None:
        header, *body = block.rows
        widths = [max(len(r[i]) if i < len(r) else 0 for r in block.rows)
                  for i in range(len(header))]
        fixed = list(range(block.text_columns))
        limit = self.chars(TABLE_PT, _MONO_EM)
        groups: list[list[int]] = [[]]
        for i in range(block.text_columns, len(header)):
            used = sum(widths[j] + 2 for j in fixed + groups[-1])
            if groups[-1] and used + widths[i] + 2 > limit:
                groups.append([])
            groups[-1].append(i)
        for group in groups:
            columns = fixed + group

            def cells(row: list[str], columns: list[int] = columns) -> str:
                text = "  ".join(
                    (row[i] if i < len(row) else "").ljust(widths[i]) if i < block.text_columns
                    else (row[i] if i < len(row) else "").rjust(widths[i]) for i in columns)
                return text if len(text) <= limit else text[: limit - 1] + "…"

            head = cells(header)
            self.flush_heading(TABLE_PT * _PT_MM * _LINE * 3)
            for n, row in enumerate(body or [[]]):
                if n == 0 or not self.room(TABLE_PT * _PT_MM * _LINE):
                    if n:
                        self.new_page()
                    self.line(head, TABLE_PT, mono=True, bold=True)
                    self.line("-" * len(head), TABLE_PT, mono=True)
                if body:
                    self.line(cells(row), TABLE_PT, mono=True)
            self.y += 2.0

    def figure(self, figure: Figure, caption: str) -> None:
        width_mm, height_mm = (v * 25.4 for v in figure.get_size_inches())
        scale = min(1.0, self.width / width_mm, 200.0 / height_mm)
        width_mm, height_mm = width_mm * scale, height_mm * scale
        heading = HEADING_PT[self._heading.kind] * _PT_MM * _LINE * 2 if self._heading else 0.0
        caption_mm = CAPTION_PT * _PT_MM * _LINE * 2
        if self.pages[-1].figure is not None or not self.room(heading + height_mm + caption_mm):
            self.new_page()
        self.flush_heading(height_mm)
        page = self.pages[-1]
        page.figure = figure
        page.rect = (MARGIN_MM / PAGE_MM[0], 1 - (self.y + height_mm) / PAGE_MM[1],
                     width_mm / PAGE_MM[0], height_mm / PAGE_MM[1])
        self.y += height_mm + 3.0
        self.paragraph(caption, CAPTION_PT)

    def finish(self) -> list[Figure]:
        from matplotlib.figure import Figure
        from matplotlib.layout_engine import ConstrainedLayoutEngine

        out = []
        for n, page in enumerate(self.pages, start=1):
            figure = page.figure or Figure()
            figure.set_size_inches(PAGE_MM[0] / 25.4, PAGE_MM[1] / 25.4)
            if page.figure is not None:
                # the figure's own layout, confined to its place on the page
                figure.set_layout_engine(ConstrainedLayoutEngine(
                    rect=page.rect, w_pad=1 / 72, h_pad=1 / 72))
            for x, y, text, style in page.texts:
                figure.text(x, y, text, va="top", ha="left", parse_math=False,
                            **style)  # type: ignore[arg-type]
            figure.text(0.5, MARGIN_MM / 2 / PAGE_MM[1],
                        f"{self.footer} · page {n} of {len(self.pages)}", fontsize=6.5,
                        ha="center", va="bottom", color="#555555", parse_math=False)
            out.append(figure)
        return out


def lay_out(blocks: Sequence[Block], figures: dict[str, Figure], footer: str) -> list[Figure]:
    """The blocks on A4 pages (see the module's description); one Figure per page."""
    pages = _Pages(footer)
    pages.new_page()
    for block in blocks:
        if block.kind in HEADING_PT:
            pages.flush_heading(0.0)  # a heading with nothing under it (never in a report)
            pages.heading(block)
        elif block.kind == "p":
            pages.paragraph(block.text)
        elif block.kind == "table":
            pages.table(block)
        elif block.kind == "figure" and block.name in figures:
            pages.figure(figures[block.name], block.text)
    return pages.finish()


def pdf_report(build_html: Callable[[], str], path: str | os.PathLike[str], *,
               title: str) -> int:
    """Write the report that ``build_html`` builds as a PDF at ``path``, atomically.

    Parameters
    ----------
    build_html : callable
        Builds the HTML report (:func:`~biofeedback.comparison.report.session_report` or
        :func:`~biofeedback.comparison.report.study_report` with their arguments bound).
    path : path
        The PDF file (replaced whole or not at all).
    title : str
        The document's title (its metadata and each page's footer).

    Returns
    -------
    int
        Pages written.
    """
    from biofeedback.comparison.report import FIGURE_SINK
    from biofeedback.figures.render import save_pdf_pages

    figures: dict[str, Figure] = {}
    token = FIGURE_SINK.set(figures)
    try:
        html = build_html()
    finally:
        FIGURE_SINK.reset(token)
    pages = lay_out(read_blocks(html), figures, title)
    save_pdf_pages(pages, Path(path), title=title)
    return len(pages)
