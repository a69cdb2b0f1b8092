"""Which display the participant screen goes on.

Displays are numbered from 1, as the operating systems' display settings number them
("display 2" is the second entry of ``QGuiApplication.screens()``).
"""

from __future__ import annotations

from collections.abc import Sequence

from biofeedback.core.errors import BiofeedbackError

__all__ = ["DisplayNotFoundError", "choose_participant_display", "describe_displays"]


class DisplayNotFoundError(BiofeedbackError, LookupError):
    """The display asked for the participant screen does not exist."""


def describe_displays(names: Sequence[str]) -> str:
    """The displays there are, in words: ``"2 displays: 1 = HDMI-1, 2 = DP-2"``."""
    listed = ", ".join(f"{i} = {name or 'unnamed'}" for i, name in enumerate(names, start=1))
    plural = "" if len(names) == 1 else "s"
    return f"{len(names)} display{plural}: {listed}" if names else "no display"


def choose_participant_display(
    names: Sequence[str], requested: int | None, operator_index: int | None
) -> int:
    """The index (into ``names``, from 0) of the display for the participant screen.

    Parameters
    ----------
    names : sequence of str
        The displays' names, in ``QGuiApplication.screens()`` order.
    requested : int or None
        The display asked for, numbered from 1; None: the first display that is not the
        operator window's, or the only one.
    operator_index : int or None
        Index (from 0) of the display the operator window is on, None when unknown.

    Returns
    -------
    int
        Index from 0.

    Raises
    ------
    DisplayNotFoundError
        ``requested`` is not the number of a display (the message names those there are).
    """
    if not names:
        raise DisplayNotFoundError("there is no display to open the participant screen on")
    if requested is not None:
        if not 1 <= requested <= len(names):
            raise DisplayNotFoundError(
                f"there is no display {requested} for the participant screen; there "
                f"{'is' if len(names) == 1 else 'are'} {describe_displays(names)} "
                "(displays are numbered from 1)"
            )
        return requested - 1
    for index in range(len(names)):
        if index != operator_index:
            return index
    return 0
