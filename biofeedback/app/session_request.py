"""What the user asked the window to start: source, protocol, participant, study, speed."""

from __future__ import annotations

from dataclasses import dataclass, replace

from biofeedback.core.errors import BiofeedbackError

__all__ = ["SessionRequest", "SourceSpecError", "parse_source_spec"]


class SourceSpecError(BiofeedbackError):
    """A ``--source`` value that names no source."""


@dataclass(frozen=True, slots=True)
class SessionRequest:
    """A session to start.

    Attributes
    ----------
    source : str
        ``sim`` (simulated strap), ``ble`` (strongest strap), ``ble:ADDRESS`` or
        ``replay:SESSION_ID_OR_FILE`` (a stored session id or an RR text file).
    protocol_id : str or None
        Protocol to run (see ``biofeedback protocols``); None for free practice.
    participant_id : str or None
        Pseudonymous participant id.
    study : str or None
        Study name: the protocol is then the participant's next condition.
    speed : float or None
        Multiple of real time for the simulated strap and replay; None = as fast as possible.
    record : bool
        Store the session (a replay of a stored session is never stored again).
    seed : int or None
        Seed of the simulated strap (None: from the clock).
    simulated_participant : bool
        Let a simulated participant answer self-reports and the stressor task (unattended
        simulated sessions); in the window a person normally answers.
    lsl : bool
        Publish RR, HR, lnRMSSD and markers as Lab Streaming Layer streams.
    """

    source: str = "sim"
    protocol_id: str | None = None
    participant_id: str | None = None
    study: str | None = None
    speed: float | None = 1.0
    record: bool = True
    seed: int | None = None
    simulated_participant: bool = False
    lsl: bool = False

    @property
    def source_kind(self) -> str:
        """``sim``, ``ble`` or ``replay``."""
        return parse_source_spec(self.source)[0]

    @property
    def source_target(self) -> str:
        """The address (ble), session id or file (replay), or '' ."""
        return parse_source_spec(self.source)[1]

    def with_source(self, source: str) -> SessionRequest:
        """A copy with another source."""
        return replace(self, source=source)


def parse_source_spec(spec: str) -> tuple[str, str]:
    """Split ``sim`` / ``ble[:ADDRESS]`` / ``replay:SESSION_ID_OR_FILE`` into kind and target.

    Raises
    ------
    SourceSpecError
        For anything else, naming what is accepted.
    """
    kind, _, target = spec.partition(":")
    kind = kind.strip().lower()
    target = target.strip()
    if kind == "sim" and not target:
        return "sim", ""
    if kind == "ble":
        return "ble", target
    if kind == "replay" and target:
        return "replay", target
    raise SourceSpecError(
        f"unknown source {spec!r}; use sim, ble, ble:ADDRESS or replay:SESSION_ID_OR_FILE"
    )
