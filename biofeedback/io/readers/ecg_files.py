"""Placeholder: filled in by issue 12 work."""

from __future__ import annotations

from biofeedback.io.readers.base import FormatReader

READERS: tuple[FormatReader, ...] = ()
