"""The participant-id rule of the store, in one place (the window checks ids with it too)."""

from __future__ import annotations

__all__ = ["validate_participant_id"]


def validate_participant_id(text: str) -> str | None:
    """Why ``text`` cannot be a participant id, or None when it can.

    A participant id is a pseudonym chosen by the study (such as ``P07``): letters, digits,
    ``-`` and ``_`` only, so that a person's name (with a space) is refused before it is
    stored.

    Parameters
    ----------
    text : str
        The id as typed (not stripped here: a stray space is a problem too).

    Returns
    -------
    str or None
        A sentence naming the problem, or None when the id is acceptable. An empty id is a
        problem for the store; a form that treats an empty field as "no participant" checks
        for that before calling this.
    """
    if not text:
        return "participant id must not be empty (a pseudonym such as P07)"
    if all(c.isalnum() or c in "-_" for c in text):
        return None
    return (
        f"participant id {text!r} may only hold letters, digits, '-' or '_' "
        "(a pseudonym such as P07, never a name)"
    )
