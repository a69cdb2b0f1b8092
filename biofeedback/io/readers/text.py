"""Decoding text files as real tools write them, and reading their fields.

Encodings: UTF-8, UTF-8 or UTF-16 with a byte-order mark, and Windows cp1252 / Latin-1 (what
Kubios and older Windows tools write). Line endings: LF, CRLF and CR-only (HRV Logger on
iOS). Numbers: a decimal point, or a decimal comma where the file uses one.
"""

from __future__ import annotations

import codecs
import csv
import math
import re
from dataclasses import dataclass
from pathlib import Path

from biofeedback.core.errors import InputFileError

_LINE_BREAK = re.compile(r"\r\n|\r|\n")


@dataclass(frozen=True)
class DecodedText:
    """A text file decoded, split into lines.

    Attributes
    ----------
    text : str
        Whole content, byte-order mark removed.
    encoding : str
        Codec it was decoded with (``"utf-8"``, ``"utf-8-sig"``, ``"utf-16"``, ``"cp1252"``,
        ``"latin-1"``).
    newline : str
        ``"LF"``, ``"CRLF"``, ``"CR"`` or ``"none"`` (a single line).
    lines : list of str
        The lines, without their line breaks (line ``k`` is ``lines[k - 1]``).
    """

    text: str
    encoding: str
    newline: str
    lines: list[str]

    def numbered(self, *, comment: str | None = None) -> list[tuple[int, str]]:
        """Non-blank lines, stripped, with their 1-based numbers.

        Parameters
        ----------
        comment : str, optional
            A line starting with this (after spaces) is left out.
        """
        out = []
        for number, line in enumerate(self.lines, start=1):
            content = line.strip()
            if content and not (comment is not None and content.startswith(comment)):
                out.append((number, content))
        return out

    def first_lines(self, n: int) -> list[str]:
        """The first ``n`` non-blank lines, stripped."""
        return [c for _, c in self.numbered()[:n]]


def decode_text(path: Path, raw: bytes, *, partial: bool = False) -> DecodedText:
    """Decode a file's bytes.

    Parameters
    ----------
    path : Path
        For error messages.
    raw : bytes
        The content (or its first bytes when ``partial``).
    partial : bool
        ``raw`` may end in the middle of a character or line.

    Raises
    ------
    InputFileError
        NUL bytes (a binary file), or bytes no supported encoding decodes.
    """
    if raw.startswith(codecs.BOM_UTF8):
        encoding = "utf-8-sig"
    elif raw.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        encoding = "utf-16"
    else:
        if b"\x00" in raw:
            line = raw[: raw.index(b"\x00")].count(b"\n") + 1
            raise InputFileError(path, "binary file (contains NUL bytes), not a text file",
                                 line=line)
        encoding = "utf-8"
        try:
            raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            # A partial read may cut the last character in half.
            if not (partial and exc.start >= len(raw) - 3):
                encoding = "cp1252"
                try:
                    raw.decode("cp1252")
                except UnicodeDecodeError:
                    encoding = "latin-1"
    try:
        text = raw.decode(encoding, errors="ignore" if partial else "strict")
    except UnicodeDecodeError as exc:
        raise InputFileError(path, f"not valid {encoding.upper()} text (byte {exc.start}): a "
                             "damaged or binary file") from None
    if "\r\n" in text:
        newline = "CRLF"
    elif "\r" in text:
        newline = "CR"
    elif "\n" in text:
        newline = "LF"
    else:
        newline = "none"
    lines = _LINE_BREAK.split(text)
    if lines and lines[-1] == "":
        lines.pop()
    return DecodedText(text, encoding, newline, lines)


def shown(text: str) -> str:
    """A field's text as quoted in an error message (cut at 40 characters)."""
    return repr(text if len(text) <= 40 else text[:37] + "...")


def split_fields(line: str, delimiter: str) -> list[str]:
    """Fields of one delimited line, stripped (quotes as in CSV)."""
    if delimiter == " ":
        return line.split()
    return [f.strip() for f in next(csv.reader([line], delimiter=delimiter))]


def sniff_delimiter(line: str, candidates: str = ";\t,") -> str:
    """The delimiter of a header line: the candidate it holds most of (``,`` when none)."""
    counts = {d: line.count(d) for d in candidates}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] else ","


def is_number(text: str, *, decimal_comma: bool = False) -> bool:
    """Whether the text is one finite number."""
    try:
        return math.isfinite(float(_normalised(text, decimal_comma)))
    except ValueError:
        return False


def _normalised(text: str, decimal_comma: bool) -> str:
    text = text.strip()
    if decimal_comma:
        text = text.replace(",", ".")
    return text


def parse_number(
    path: Path, text: str, line: int, field: str, *, decimal_comma: bool = False
) -> float:
    """One finite number, or an error naming the file, line and field."""
    try:
        value = float(_normalised(text, decimal_comma))
    except ValueError:
        raise InputFileError(path, f"{shown(text.strip())} is not a number", line=line,
                             field=field) from None
    if not math.isfinite(value):
        raise InputFileError(path, f"{shown(text.strip())} is not a finite number", line=line,
                             field=field)
    return value


def parse_interval(
    path: Path, text: str, line: int, field: str, *, decimal_comma: bool = False
) -> float:
    """One interval (any unit): a finite number above zero, or an error naming line and field.

    An implausible but positive interval is returned as it is (the artifact detector classes
    it); zero or a negative value is not an interval at all.
    """
    value = parse_number(path, text, line, field, decimal_comma=decimal_comma)
    if value <= 0:
        raise InputFileError(path, f"interval {shown(text.strip())} is zero or negative: not "
                             "an interval", line=line, field=field)
    return value


def uses_decimal_comma(values: list[str]) -> bool:
    """Whether numeric fields are written with a decimal comma (``0,812``) and no point."""
    with_comma = [v for v in values if re.fullmatch(r"\s*-?\d+,\d+\s*", v)]
    return bool(with_comma) and not any("." in v for v in values)


def find_column(header: list[str], *names: str) -> int | None:
    """Index of the first header field equal to one of ``names`` (case and spaces ignored)."""
    wanted = [_key(n) for n in names]
    keys = [_key(h) for h in header]
    for name in wanted:
        if name in keys:
            return keys.index(name)
    return None


def _key(name: str) -> str:
    return re.sub(r"[\s_]+", " ", name.strip().strip('"').lower())


@dataclass(frozen=True)
class Table:
    """A delimited table: its header and data rows with their line numbers.

    Attributes
    ----------
    path : Path
        The file, for error messages.
    header : list of str
        Column names.
    header_line : int
        1-based line number of the header.
    delimiter : str
        Field delimiter.
    rows : list of tuple of (int, list of str)
        Line number and fields of each non-blank data row.
    """

    path: Path
    header: list[str]
    header_line: int
    delimiter: str
    rows: list[tuple[int, list[str]]]

    def column(self, *names: str) -> int:
        """Index of a column by name, or an error naming the header."""
        index = find_column(self.header, *names)
        if index is None:
            raise InputFileError(
                self.path, f"the header has no column {names[0]!r} (it has "
                f"{', '.join(map(repr, self.header))})", line=self.header_line, field=names[0])
        return index

    def values(self, index: int, *, decimal_comma: bool = False, skip_blank: bool = False,
               interval: bool = False) -> tuple[list[float], list[int]]:
        """Numbers of one column and their line numbers.

        Parameters
        ----------
        skip_blank : bool
            Leave out rows whose field is empty (instead of refusing them).
        interval : bool
            The column holds intervals: zero and negative values are refused.
        """
        parse = parse_interval if interval else parse_number
        name = self.header[index]
        values: list[float] = []
        lines: list[int] = []
        for line, fields in self.rows:
            if index >= len(fields) or not fields[index]:
                if skip_blank:
                    continue
                raise InputFileError(self.path, f"{len(fields)} field(s): the column "
                                     f"{name!r} is missing", line=line, field=name)
            values.append(parse(self.path, fields[index], line, name,
                                       decimal_comma=decimal_comma))
            lines.append(line)
        return values, lines

    def texts(self, index: int) -> tuple[list[str], list[int]]:
        """Text of one column and the line numbers (rows lacking it refused)."""
        name = self.header[index]
        out: list[str] = []
        lines: list[int] = []
        for line, fields in self.rows:
            if index >= len(fields):
                raise InputFileError(self.path, f"{len(fields)} field(s): the column "
                                     f"{name!r} is missing", line=line, field=name)
            out.append(fields[index])
            lines.append(line)
        return out, lines


def read_table(
    path: Path, text: DecodedText, *, header_index: int = 0, delimiter: str | None = None,
    comment: str | None = None,
) -> Table:
    """The table whose header is the ``header_index``-th non-blank line.

    Raises
    ------
    InputFileError
        Fewer lines than that.
    """
    numbered = text.numbered(comment=comment)
    if len(numbered) <= header_index:
        raise InputFileError(path, "no header line: the file is shorter than its format")
    header_line, header_text = numbered[header_index]
    delimiter = delimiter or sniff_delimiter(header_text)
    header = split_fields(header_text, delimiter)
    rows = [(line, split_fields(content, delimiter)) for line, content in
            numbered[header_index + 1:]]
    return Table(path, header, header_line, delimiter, rows)
