"""Rows read straight from the pages of a SQLite file, for rows no query can reach any more.

When an interior page of a table is lost (overwritten, or past the end of a truncated file),
the pages below it still hold their rows but no query can reach them (and in an index
b-tree the rows on the interior pages above it are reached only through it). This reads the
file format (https://www.sqlite.org/fileformat2.html, sections 1.6 "B-tree Pages" and 2.1
"Record Format") to find those pages and decode the records of index b-tree pages, which is
how WITHOUT ROWID tables (``beats``, ``notifications``) are stored.
"""

from __future__ import annotations

import mmap
import struct
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Final

_INDEX_INTERIOR: Final = 0x02
_TABLE_INTERIOR: Final = 0x05
_INDEX_LEAF: Final = 0x0A
_TABLE_LEAF: Final = 0x0D


class PageFile:
    """The pages of a SQLite database file, read without SQLite.

    Parameters
    ----------
    path : Path
        The database file (only read).
    """

    def __init__(self, path: Path) -> None:
        with path.open("rb") as file:
            # Mapped, not read: a database with raw ECG can be larger than memory.
            self.data = mmap.mmap(file.fileno(), 0, access=mmap.ACCESS_READ)
        size = int.from_bytes(self.data[16:18], "big")
        self.page_size = 65536 if size == 1 else size
        self.usable = self.page_size - self.data[20]
        self.n_pages = len(self.data) // self.page_size

    def close(self) -> None:
        """Unmap the file."""
        self.data.close()

    def page(self, number: int) -> bytes | None:
        """Page ``number`` (1-based), or None when the file does not hold it."""
        if not 1 <= number <= self.n_pages:
            return None
        return self.data[(number - 1) * self.page_size:number * self.page_size]

    def freelist(self) -> set[int]:
        """Pages on the freelist (trunk and leaf pages): freed content, not live rows."""
        pages: set[int] = set()
        trunk = int.from_bytes(self.data[32:36], "big")
        while trunk and trunk not in pages:
            page = self.page(trunk)
            if page is None:
                break
            pages.add(trunk)
            count = min(int.from_bytes(page[4:8], "big"), (self.usable - 8) // 4)
            pages.update(int.from_bytes(page[8 + 4 * i:12 + 4 * i], "big") for i in range(count))
            trunk = int.from_bytes(page[0:4], "big")
        return pages

    def index_records(self, numbers: set[int]) -> Iterator[list[Any]]:
        """The records on those of ``numbers`` that are index b-tree pages (cells whose
        payload spills to overflow pages are left out: rows of the per-session tables are
        far smaller than a page)."""
        for number in sorted(numbers):
            page = self.page(number)
            if page is None or number == 1:
                continue
            kind = page[0]
            if kind not in (_INDEX_LEAF, _INDEX_INTERIOR):
                continue
            skip = 4 if kind == _INDEX_INTERIOR else 0
            max_local = (self.usable - 12) * 64 // 255 - 23
            for offset in self._cell_offsets(page, 0, 12 if skip else 8):
                try:
                    size, at = _varint(page, offset + skip)
                    if size > max_local or at + size > len(page):
                        continue
                    yield _record(page[at:at + size])
                except (IndexError, ValueError, struct.error):
                    continue

    def _cell_offsets(self, page: bytes, head: int, header_size: int) -> list[int]:
        count = int.from_bytes(page[head + 3:head + 5], "big")
        start = head + header_size
        offsets = []
        for i in range(count):
            offset = int.from_bytes(page[start + 2 * i:start + 2 * i + 2], "big")
            if start + 2 * count <= offset < self.usable:
                offsets.append(offset)
        return offsets


def _varint(data: bytes, at: int) -> tuple[int, int]:
    value = 0
    for i in range(9):
        byte = data[at + i]
        if i == 8:
            return (value << 8) | byte, at + 9
        value = (value << 7) | (byte & 0x7F)
        if byte < 0x80:
            return value, at + i + 1
    raise ValueError("bad varint")


_INT_SIZES: Final = {1: 1, 2: 2, 3: 3, 4: 4, 5: 6, 6: 8}


def _record(payload: bytes) -> list[Any]:
    """Decode one record (serial types: https://www.sqlite.org/fileformat2.html#record_format)."""
    header_size, at = _varint(payload, 0)
    if not 0 < header_size <= len(payload):
        raise ValueError("bad record header")
    types = []
    while at < header_size:
        serial, at = _varint(payload, at)
        types.append(serial)
    values: list[Any] = []
    body = header_size
    for serial in types:
        if serial == 0:
            values.append(None)
        elif serial in _INT_SIZES:
            n = _INT_SIZES[serial]
            values.append(int.from_bytes(payload[body:body + n], "big", signed=True))
            body += n
        elif serial == 7:
            values.append(struct.unpack(">d", payload[body:body + 8])[0])
            body += 8
        elif serial in (8, 9):
            values.append(serial - 8)
        elif serial >= 12:
            n = (serial - 12) // 2
            chunk = payload[body:body + n]
            values.append(chunk.decode("utf-8") if serial % 2 else bytes(chunk))
            body += n
        else:
            raise ValueError(f"reserved serial type {serial}")
        if body > len(payload):
            raise ValueError("record runs past its payload")
    return values
