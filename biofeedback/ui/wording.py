"""Small helpers for what the window says."""

from __future__ import annotations

__all__ = ["as_sentence"]


def as_sentence(text: str) -> str:
    """``text`` as a sentence: capital first letter, closing full stop (unless it has one)."""
    text = text.strip()
    if not text:
        return text
    text = text[0].upper() + text[1:]
    return text if text.endswith((".", "!", "?")) else text + "."
