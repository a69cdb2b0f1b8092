"""How a session is put together: the one composition root (Qt-free).

A :class:`SessionRequest` (source spec, protocol, participant, study, speed, record or not,
LSL) becomes a running session here, and only here: ``biofeedback record``, ``biofeedback
replay``, ``biofeedback app`` / the window and the study simulator all call
:func:`prepare_session` (or, when they build the request's parts themselves,
:func:`make_source` and :func:`assemble_session`). This module is the only one that
constructs a :class:`~biofeedback.session.live_session.LiveSession`, and the only one that
reads a file or the store to give a source its beats (sources receive a
:class:`~biofeedback.core.recording.Recording`).

Durability (how often beats reach the disk) is decided once, by :func:`durability_policy`,
from the source's kind and speed:

=============================  ==================  =========  ===============================
source                         speed               commit     fsync of each commit
=============================  ==================  =========  ===============================
``ble`` (a live strap)         any (not applied)   every      yes
``sim`` / ``replay``           <= 1x real time     every      yes
``sim`` / ``replay``           > 1x or max (None)  50 ms      no
=============================  ==================  =========  ===============================

A live strap delivers about one notification a second and its beats cannot be had again: each
notification is committed and fsynced on arrival, so a crash or a power cut loses at most the
notification being written. The fsync runs on a thread of its own right after the commit
(:mod:`biofeedback.store.wal_sync`), so the thread that received the beat, in the window the
GUI thread, does not wait for the disk. A simulated or replayed source at real time (or
slower) stands for a live session (rehearsals, demonstrations, the crash tests) and costs as
little, so it gets the same guarantee. Faster than real time the same source delivers tens to
thousands of notifications a second; an fsync each would make the disk the speed limit, and
those beats can be made again (the same seed, the same file), so commits are grouped every
50 ms of wall time and left to SQLite's WAL ``NORMAL`` mode (durable against a killed process,
not a power cut). Transactions are whole notifications either way.
"""

from __future__ import annotations

import functools
import logging
import sqlite3
import time
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, cast

from biofeedback.audio.settings import DEFAULT_RATE_WPM
from biofeedback.core.clock import SYSTEM_CLOCK, SessionClock
from biofeedback.core.errors import BiofeedbackError, StoreError
from biofeedback.store.participants import validate_participant_id
from biofeedback.store.paths import resolve_data_dir

# Only light modules at import time: the window imports SessionRequest at start-up, and
# the pipeline (numpy, the store, the protocol runner) loads when a session is prepared.
if TYPE_CHECKING:
    from biofeedback.audio.program import AudioProgram
    from biofeedback.audio.wav import WavRenderer
    from biofeedback.core.channels import RawChannel
    from biofeedback.core.recording import Recording
    from biofeedback.core.signals import SignalChunk
    from biofeedback.core.source import HeartRateSource
    from biofeedback.lsl import LslPublisher
    from biofeedback.session.live_session import LiveSession, SessionEvent, SessionStats
    from biofeedback.session.protocol_session import ProtocolSession
    from biofeedback.store.database import SessionStore
    from protocols.model import PracticeProtocol
    from sensors.simulated import ArtifactRates, PhysiologyParams, PhysiologySegment

logger = logging.getLogger(__name__)

__all__ = [
    "BATCHED_COMMIT_INTERVAL_S",
    "DurabilityPolicy",
    "PreparedSession",
    "SessionRequest",
    "SessionSetupError",
    "SimulatedBody",
    "SourceKind",
    "SourceSpecError",
    "StudyPlacement",
    "assemble_session",
    "attach_audio",
    "durability_policy",
    "load_replay_target",
    "make_source",
    "parse_source_spec",
    "place_in_study",
    "prepare_session",
    "protocol_summary",
    "resolve_data_dir",
    "resolve_protocol",
    "session_settings",
]

SourceKind = Literal["sim", "ble", "replay"]
"""The kinds of source a spec can name."""

BATCHED_COMMIT_INTERVAL_S = 0.05
"""Wall time between commits of a faster-than-real-time session, s (see the module notes)."""

_SPEC_HELP = "use sim, ble, ble:ADDRESS or replay:SESSION_ID_OR_FILE"


MAX_SESSION_ID = 2**63 - 1
"""Largest session id there can be (SQLite's largest integer key)."""


class SourceSpecError(BiofeedbackError):
    """A source spec (``--source``, the window's source choice) that names no source."""


class SessionSetupError(BiofeedbackError):
    """The session asked for cannot be set up in its study (the message says why)."""


def parse_source_spec(spec: str) -> tuple[SourceKind, str]:
    """Split ``sim`` / ``ble[:ADDRESS]`` / ``replay:SESSION_ID_OR_FILE`` into kind and target.

    Parameters
    ----------
    spec : str
        The spec as typed (case of the kind and surrounding spaces do not matter).

    Returns
    -------
    kind : {"sim", "ble", "replay"}
    target : str
        The strap address (``ble``; '' = the strongest strap), the session id or file
        (``replay``), or '' (``sim``).

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
    raise SourceSpecError(f"unknown source {spec!r}; {_SPEC_HELP}")


@dataclass(frozen=True, slots=True)
class SessionRequest:
    """A session to start.

    Attributes
    ----------
    source : str
        ``sim`` (simulated strap), ``ble`` (strongest strap), ``ble:ADDRESS`` or
        ``replay:SESSION_ID_OR_FILE`` (a stored session id or a recording file in
        any format the importers read).
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
    duration_s : float or None
        Session time after which the session ends, s (None: the source's or protocol's end).
    audio : bool or None
        Play the protocol's audio guidance (chimes, speech, recordings, audio pacer). None:
        on for a live or simulated source running a protocol, off for a replay.
    voice : str or None
        Text-to-speech voice (see ``biofeedback.audio.speech.list_voices``; None: the
        engine's default).
    speech_rate_wpm : int
        Speaking rate of the spoken guidance, words/min.
    audio_out : str or None
        Render the audio, on the session clock, to this WAV file (implies ``audio``).
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
    duration_s: float | None = None
    audio: bool | None = None
    voice: str | None = None
    speech_rate_wpm: int = DEFAULT_RATE_WPM
    audio_out: str | None = None

    @property
    def source_kind(self) -> SourceKind:
        """``sim``, ``ble`` or ``replay`` (:class:`SourceSpecError` for a bad spec)."""
        return parse_source_spec(self.source)[0]

    @property
    def plays_audio(self) -> bool:
        """Whether a session running a protocol plays its audio (see ``audio``)."""
        if self.audio_out is not None:
            return True
        if self.audio is not None:
            return self.audio
        return self.source_kind != "replay"

    @property
    def source_target(self) -> str:
        """The address (ble), session id or file (replay), or ''."""
        return parse_source_spec(self.source)[1]

    def with_source(self, source: str) -> SessionRequest:
        """A copy with another source."""
        return replace(self, source=source)


@dataclass(frozen=True, slots=True)
class DurabilityPolicy:
    """How a recorded session's beats reach the disk.

    Attributes
    ----------
    commit_interval_s : float
        Least wall time between commits, s (0: every notification is committed on arrival).
    fsync : bool
        Whether every commit is fsynced, by a thread of its own right after it
        (:meth:`~biofeedback.store.database.SessionStore.sync_every_commit`); otherwise WAL
        ``NORMAL``, which survives a killed process but not a power cut.
    """

    commit_interval_s: float
    fsync: bool


def durability_policy(source_kind: str, speed: float | None) -> DurabilityPolicy:
    """The commit interval and fsync of a session, from its source's kind and speed.

    Parameters
    ----------
    source_kind : str
        ``ble``, ``sim`` or ``replay`` (see :func:`parse_source_spec`).
    speed : float or None
        Multiple of real time; None = as fast as possible. A live strap has no speed: it is
        ignored for ``ble``.

    Returns
    -------
    DurabilityPolicy
        Every notification committed and fsynced for a live strap and for sources at real
        time or slower; commits every :data:`BATCHED_COMMIT_INTERVAL_S` without fsync faster
        than real time. The module notes give the reasons.
    """
    if source_kind == "ble" or (speed is not None and speed <= 1.0):
        return DurabilityPolicy(commit_interval_s=0.0, fsync=True)
    return DurabilityPolicy(commit_interval_s=BATCHED_COMMIT_INTERVAL_S, fsync=False)


@dataclass(frozen=True, slots=True)
class StudyPlacement:
    """Where a session sits in a study: the participant's order and this session's position."""

    study: str
    participant_id: str
    position: int
    order: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        """What is stored in the session's settings."""
        return {"study": self.study, "position": self.position, "order": list(self.order)}


@dataclass(frozen=True, slots=True)
class SimulatedBody:
    """How the simulated strap's wearer behaves, beyond what the protocol implies.

    Attributes
    ----------
    schedule : sequence of PhysiologySegment or None
        Breathing and vagal level over session time (None: from the protocol's phases).
    artifacts : ArtifactRates or None
        Missed, extra and ectopic beat rates (None: the simulator's defaults).
    params : PhysiologyParams or None
        Heart-rate and variability parameters (None: the simulator's defaults).
    """

    schedule: Sequence[PhysiologySegment] | None = None
    artifacts: ArtifactRates | None = None
    params: PhysiologyParams | None = None


@dataclass
class PreparedSession:
    """A session ready to run, with everything the window shows about it.

    Attributes
    ----------
    request : SessionRequest
        What was asked for.
    session : LiveSession
        The pipeline (source -> processing -> store -> subscribers).
    protocol : PracticeProtocol or None
        The protocol it runs (None: free practice or a plain replay).
    protocol_session : ProtocolSession or None
        Drives the protocol's phases, prompts, self-reports and stressor.
    placement : StudyPlacement or None
        Its place in a study.
    store : SessionStore or None
        Where it is recorded (None: not recorded, e.g. a replay).
    durability : DurabilityPolicy
        How its beats reach the disk (when recorded).
    replayed : Recording or None
        The recording a replay plays.
    owns_store : bool
        Whether :meth:`run` closes ``store`` at the end (it was opened for this session).
    audio_program : AudioProgram or None
        The protocol's audio guidance, for an output to play (None: no protocol, a replay
        without audio asked, or audio switched off).
    audio_warning : str
        Why part of the audio guidance does not play (speech that could not be synthesized in
        the window), "" when all of it does.
    audio_renderer : WavRenderer or None
        Renders the audio to ``request.audio_out`` as the session runs (put in place when the
        session ends without an error; removed otherwise).
    """

    request: SessionRequest
    session: LiveSession
    protocol: PracticeProtocol | None = None
    protocol_session: ProtocolSession | None = None
    placement: StudyPlacement | None = None
    store: SessionStore | None = None
    durability: DurabilityPolicy = field(default_factory=lambda: durability_policy("ble", 1.0))
    replayed: Recording | None = None
    owns_store: bool = True
    audio_program: AudioProgram | None = None
    audio_renderer: WavRenderer | None = None
    audio_warning: str = ""
    stats: SessionStats | None = field(default=None, init=False)
    lsl_publisher: LslPublisher | None = field(default=None, init=False)

    @property
    def source(self) -> HeartRateSource:
        """The session's source."""
        return self.session.source

    def start_lsl(self) -> LslPublisher:
        """Publish the session as Lab Streaming Layer streams (closed when :meth:`run` ends)."""
        from biofeedback.lsl import LslPublisher

        if self.lsl_publisher is None:
            self.lsl_publisher = LslPublisher(self.session)
        return self.lsl_publisher

    async def run(self) -> SessionStats:
        """Run until the source ends, the request's duration, the protocol's end or
        :meth:`stop`; then the LSL streams and (when owned) the store are closed."""
        try:
            self.stats = await self.session.run(duration_s=self.request.duration_s)
            if self.audio_renderer is not None and self.stats.final_state != "failed":
                # A session whose source failed leaves no audio file, as one that raised.
                self.audio_renderer.finish()
                self.audio_renderer = None
            return self.stats
        finally:
            self.close()

    def close(self) -> None:
        """Close the LSL streams and the store this session opened (also when it never ran;
        closing twice is harmless); an audio file not finished by :meth:`run` is removed."""
        if self.audio_renderer is not None:
            self.audio_renderer.discard()
            self.audio_renderer = None
        if self.lsl_publisher is not None:
            self.lsl_publisher.close()
            self.lsl_publisher = None
        if self.store is not None and self.owns_store:
            self.store.close()

    def stop(self) -> None:
        """Finish the session cleanly (the recording is kept)."""
        self.session.request_stop()


Subscriber = Callable[["SessionEvent"], None]


def prepare_session(
    request: SessionRequest,
    data_dir: str | Path | None,
    *,
    neurokit: bool = True,
    scan_timeout_s: float = 10.0,
    reconnect_timeout_s: float = 120.0,
    raw_signals: bool = True,
    settings: Mapping[str, Any] | None = None,
    subscribers: Sequence[Subscriber] = (),
    clock: SessionClock = SYSTEM_CLOCK,
    speech_optional: bool = False,
) -> PreparedSession:
    """Build source, session and protocol for ``request`` (file work: call off a GUI thread).

    Parameters
    ----------
    request : SessionRequest
        What to run.
    data_dir : path-like or None
        Data folder of the store (None: the default one).
    neurokit : bool
        Run neurokit2 on the rolling window during the session.
    scan_timeout_s, reconnect_timeout_s : float
        Bluetooth: how long to look for the strap, and to keep reconnecting after a link
        loss, s.
    raw_signals : bool
        Bluetooth: stream the strap's raw ECG and accelerometer when it offers them (Polar
        PMD; default True).
    settings : mapping, optional
        More settings stored with the session (e.g. ``{"app": "window"}``).
    subscribers : sequence of callable
        Session event subscribers, subscribed before anything else (e.g. a status printer).
    clock : SessionClock
        The session's calendar and monotonic clocks (default: the system's; tests inject
        one whose calendar jumps).
    speech_optional : bool
        When the protocol's speech cannot be synthesized (no engine, a bad voice), run with
        its chimes, recordings and pacer sound and say why in ``audio_warning`` (the window),
        instead of refusing the session (the command line, so a study never runs unspoken).

    Returns
    -------
    PreparedSession
        Not yet running; the store it opened is closed when it has run. A replay is never
        recorded again.

    Raises
    ------
    BiofeedbackError
        Unknown source (:class:`SourceSpecError`) or protocol, missing session or file, bad
        participant id, study problems (:class:`SessionSetupError`); the message says which.
        Nothing is written when this raises.
    """
    from biofeedback.store.database import SessionStore

    kind = request.source_kind
    record = request.record and kind != "replay"
    if request.participant_id is not None:
        problem = validate_participant_id(request.participant_id)
        if problem is not None:
            raise StoreError(problem)
    store = SessionStore.open(data_dir, verify=record) if (record or request.study) else None
    try:
        protocol, placement = _resolve(store, request)
        replayed = load_replay_target(request.source_target, data_dir) if kind == "replay" \
            else None
        source = make_source(
            request.source, protocol=protocol, seed=request.seed, speed=request.speed,
            duration_s=request.duration_s, scan_timeout_s=scan_timeout_s,
            reconnect_timeout_s=reconnect_timeout_s, recording=replayed,
            raw_signals=raw_signals,
        )
        prepared = assemble_session(
            request, source, store=store if record else None, protocol=protocol,
            placement=placement, neurokit=neurokit, settings=settings,
            subscribers=subscribers, clock=clock,
        )
        attach_audio(prepared, speech_optional=speech_optional)
    except BaseException:  # broad on purpose: close on any exit, cancellation too, then re-raise
        if store is not None:
            store.close()
        raise
    if store is not None and not record:
        try:
            store.close()
        except sqlite3.Error:  # nothing was written through it; a failed close loses nothing
            logger.debug("closing the unused store failed", exc_info=True)
    prepared.replayed = replayed
    return prepared


def attach_audio(
    prepared: PreparedSession, *, sample_rate: int | None = None, speech_optional: bool = False
) -> None:
    """Build the audio program of a prepared session that runs a protocol and plays audio
    (speech synthesized now, before the session), and its WAV renderer when the request has
    an ``audio_out``.

    Raises
    ------
    SpeechError
        The protocol speaks and no text-to-speech engine is installed (or a bad voice), and
        ``speech_optional`` is False; when it is True, the program is built without speech and
        ``prepared.audio_warning`` says why.
    """
    request = prepared.request
    if prepared.protocol_session is None or not request.plays_audio:
        return
    from biofeedback.audio.program import AudioProgram, unspoken
    from biofeedback.audio.settings import DEFAULT_SAMPLE_RATE
    from biofeedback.audio.speech import SpeechError

    session = prepared.session
    protocol = prepared.protocol_session.protocol
    build = functools.partial(
        AudioProgram.build, runner=prepared.protocol_session.runner,
        sample_rate=sample_rate or DEFAULT_SAMPLE_RATE, voice=request.voice,
        rate_wpm=request.speech_rate_wpm, recorder=session,
    )
    try:
        program = build(protocol)
    except SpeechError as exc:
        if not speech_optional:
            raise
        program = build(unspoken(protocol))
        prepared.audio_warning = (
            f"{exc}; the guidance is shown and its chimes play, but nothing is spoken"
        )
    prepared.audio_program = program
    if request.audio_out is not None:
        from biofeedback.audio.wav import RING_OUT_S, WavRenderer

        renderer = WavRenderer(program, request.audio_out)
        # After the protocol session: the runner has been ticked when a span is rendered.
        session.subscribe(renderer.on_session_event)
        session.before_finish.append(lambda end_s: renderer.render_until(end_s + RING_OUT_S))
        prepared.audio_renderer = renderer


def _resolve(
    store: SessionStore | None, request: SessionRequest
) -> tuple[PracticeProtocol | None, StudyPlacement | None]:
    if store is None:
        from protocols.library import get_protocol

        return (get_protocol(request.protocol_id) if request.protocol_id else None), None
    return resolve_protocol(
        store, request.protocol_id, study=request.study, participant_id=request.participant_id
    )


def assemble_session(
    request: SessionRequest,
    source: HeartRateSource,
    *,
    store: SessionStore | None,
    protocol: PracticeProtocol | None = None,
    placement: StudyPlacement | None = None,
    neurokit: bool = True,
    settings: Mapping[str, Any] | None = None,
    subscribers: Sequence[Subscriber] = (),
    owns_store: bool = True,
    clock: SessionClock = SYSTEM_CLOCK,
) -> PreparedSession:
    """Wire a source into a session: durability, the pipeline, the protocol, the study.

    The one place a :class:`LiveSession` is constructed. :func:`prepare_session` calls it
    with what it resolved from the request; the study simulator calls it with its own
    (shortened) protocol, placement and simulated body.

    Parameters
    ----------
    request : SessionRequest
        What was asked for: its source kind and speed decide the durability, its
        participant, seed and ``simulated_participant`` go to the session and protocol.
    source : HeartRateSource
        The source (see :func:`make_source`).
    store : SessionStore or None
        Where to record (None: not recorded).
    protocol : PracticeProtocol or None
        The protocol to run.
    placement : StudyPlacement or None
        The session's place in a study (the participant is enrolled now).
    neurokit : bool
        Run neurokit2 on the rolling window.
    settings : mapping, optional
        More settings stored with the session.
    subscribers : sequence of callable
        Subscribed to the session before the protocol and the study placement.
    owns_store : bool
        Whether the prepared session closes ``store`` once it has run.
    clock : SessionClock
        The session's calendar and monotonic clocks (see :mod:`biofeedback.core.clock`).
    """
    from biofeedback.session.live_session import LiveSession
    from biofeedback.session.protocol_session import ProtocolSession

    policy = durability_policy(request.source_kind, request.speed)
    if store is not None:
        store.sync_every_commit(policy.fsync)
    session = LiveSession(
        source,
        store=store,
        participant_id=request.participant_id,
        protocol_id=None if protocol is None else protocol.id,
        neurokit=neurokit,
        commit_interval_s=policy.commit_interval_s,
        settings=session_settings(protocol, placement, **dict(settings or {})),
        clock=clock,
    )
    for subscriber in subscribers:
        session.subscribe(subscriber)
    protocol_session = None
    if protocol is not None:
        protocol_session = ProtocolSession(
            session, protocol, simulated_participant=request.simulated_participant,
            seed=request.seed or 0,
        )
    if placement is not None and store is not None:
        place_in_study(session, store, placement)
    return PreparedSession(
        request, session, protocol, protocol_session, placement, store, policy,
        owns_store=owns_store,
    )


def resolve_protocol(
    store: SessionStore,
    protocol_spec: str | None,
    *,
    study: str | None = None,
    participant_id: str | None = None,
) -> tuple[PracticeProtocol | None, StudyPlacement | None]:
    """The protocol to run, and the session's study placement when ``study`` is given.

    With a study, the protocol is the participant's next condition in their counterbalanced
    order (:func:`~biofeedback.session.studies.study_plan`; ``practice_comparison`` runs all
    conditions in one session, in that order). Nothing is written: the participant is
    enrolled only once everything is known to be usable (:func:`place_in_study`), so a typo
    never takes up an order of the design.

    Raises
    ------
    SessionSetupError
        No participant, nothing left to run, or a protocol other than the next condition.
    StudyNotFoundError, UnknownProtocolError
        No such study or protocol.
    """
    from biofeedback.session.studies import study_plan
    from protocols.library import get_protocol

    if study is None:
        return (get_protocol(protocol_spec) if protocol_spec else None), None
    if participant_id is None:
        raise SessionSetupError(
            "a study needs a participant id (the study gives that participant's order)"
        )
    plan = study_plan(store, study, participant_id)
    order = plan.order
    if protocol_spec == "practice_comparison":
        spec, position = "practice_comparison:" + ",".join(order), 0
    else:
        if plan.position is None:
            raise SessionSetupError(cast(str, plan.problem))
        position = plan.position
        spec = order[position]
        if protocol_spec is not None and protocol_spec != spec:
            raise SessionSetupError(
                f"participant {participant_id}'s next condition in study {study!r} is "
                f"{spec!r} (order {' -> '.join(order)}), not {protocol_spec!r}"
            )
    return get_protocol(spec), StudyPlacement(study, participant_id, position, order)


def place_in_study(session: LiveSession, store: SessionStore, placement: StudyPlacement) -> None:
    """Enrol the participant now and record the session's study, order and position as soon
    as the session exists (when the source starts streaming)."""
    from biofeedback.session.studies import enrol
    from biofeedback.store.studies import record_session_in_study

    enrol(store, placement.study, placement.participant_id)
    placed: list[bool] = []

    def place(_: object) -> None:
        if session.session_id is not None and not placed:
            placed.append(True)
            record_session_in_study(
                store, session.session_id, placement.study, placement.participant_id,
                placement.position,
            )

    session.subscribe(place)


def make_source(
    spec: str,
    *,
    protocol: PracticeProtocol | None = None,
    seed: int | None = None,
    speed: float | None = 1.0,
    duration_s: float | None = None,
    scan_timeout_s: float = 10.0,
    reconnect_timeout_s: float = 120.0,
    recording: Recording | None = None,
    data_dir: str | Path | None = None,
    body: SimulatedBody | None = None,
    raw_signals: bool = True,
) -> HeartRateSource:
    """Build the source named by ``spec``: ``sim``, ``ble[:ADDRESS]`` or
    ``replay:SESSION_ID_OR_FILE``.

    With a protocol, the simulated strap's breathing and vagal tone follow its phases (unless
    ``body`` gives a schedule), and it runs to the protocol's end plus 2 s. ``speed``
    (multiple of real time, None = max) applies to the simulated strap and replay. A replay
    plays ``recording`` when given, else the spec's target read from ``data_dir``'s store or
    the file (:func:`load_replay_target`). ``raw_signals`` False keeps a Bluetooth strap to
    heart rate and RR (no PMD ECG/accelerometer).

    Raises
    ------
    SourceSpecError
        A spec that names no source, or a replay target that is neither a session id nor a
        file.
    """
    kind, target = parse_source_spec(spec)
    if kind == "sim":
        from sensors.simulated import SimulatedStrap

        body = body or SimulatedBody()
        schedule = body.schedule
        duration = duration_s
        if protocol is not None:
            if schedule is None:
                from sensors.simulated.protocol_schedule import physiology_schedule

                schedule = physiology_schedule(protocol)
            duration = duration or protocol.duration_s + 2.0
        return SimulatedStrap(
            seed=seed if seed is not None else int(time.time()),
            speed=speed, duration_s=duration, schedule=schedule, artifacts=body.artifacts,
            params=body.params,
        )
    if kind == "ble":
        from sensors.ble import BleHeartRateStrap

        return BleHeartRateStrap(
            target or None, scan_timeout_s=scan_timeout_s, give_up_after_s=reconnect_timeout_s,
            pmd=raw_signals,
        )
    from sensors.replay import ReplaySource

    return ReplaySource(
        recording if recording is not None else load_replay_target(target, data_dir),
        speed=speed,
    )


def load_replay_target(target: str, data_dir: str | Path | None, *,
                       signals: Collection[str] | None = None) -> Recording:
    """Read ``SESSION_ID|FILE``: an existing file is read as an import (any format of
    :data:`biofeedback.io.importers.FORMATS`, the R-peaks of an ECG found as an import finds
    them), a whole number as a stored session id.

    ``signals`` are the raw streams read with it (None, the default: every stream of
    :data:`~biofeedback.core.signals.SIGNAL_STREAMS`, which a replay plays; the analysis
    asks for :data:`~biofeedback.core.signals.ANALYSIS_SIGNALS`). A stored
    session's are its recorded ``signal_blocks``. With ``"ecg"``, an imported ECG channel in
    µV (a file's, or a stored import's when it has no recorded ECG) is read as ECG chunks
    too (:func:`~biofeedback.core.signals.chunks_from_channel`), so a replay shows it.

    Raises
    ------
    SourceSpecError
        Neither an existing file nor a whole number (of ASCII digits, up to
        :data:`MAX_SESSION_ID`).
    InputFileError, SessionNotFoundError
        A file that is not a recording this program reads, or no stored session of that id.
    """
    from biofeedback.core.signals import SIGNAL_STREAMS

    signals = tuple(SIGNAL_STREAMS) if signals is None else tuple(signals)
    path = Path(target)
    try:
        exists = path.exists()
    except (ValueError, OSError):  # a NUL byte, or a name too long for the file system
        exists = False
    if exists:
        from biofeedback.importing.single import read_recording

        imported, _ = read_recording(path)
        # What a stored import keeps in its settings (the tool's own results among them).
        imported.recording.metadata["import"] = imported.settings()
        if "ecg" in signals:
            imported.recording.ecg = _imported_ecg(imported.channels)
        return imported.recording
    # ASCII digits only: str.isdigit() also takes '²', which int() refuses.
    if target.isascii() and target.isdigit():
        if int(target) > MAX_SESSION_ID:
            raise SourceSpecError(
                f"{target!r} is not an existing file, and too large for a session id "
                f"(at most {MAX_SESSION_ID})"
            )
        from biofeedback.store.database import SessionStore

        with SessionStore.open_for_reading(data_dir) as store:
            recording = store.load_recording(int(target), signals=signals)
            if "ecg" in signals and not recording.ecg:
                recording.ecg = _imported_ecg(store.load_channels(int(target)))
            return recording
    raise SourceSpecError(f"{target!r} is neither a session id nor an existing file")


def _imported_ecg(channels: Sequence[RawChannel]) -> list[SignalChunk]:
    """The first imported ECG channel that reads as µV chunks (none: empty)."""
    from biofeedback.core.signals import chunks_from_channel

    for channel in channels:
        chunks = chunks_from_channel(channel)
        if chunks:
            return chunks
    return []


def session_settings(
    protocol: PracticeProtocol | None, placement: StudyPlacement | None, **extra: Any
) -> dict[str, Any]:
    """The settings stored with a session about its protocol and study (plus ``extra``)."""
    settings: dict[str, Any] = dict(extra)
    if protocol is not None:
        settings["protocol"] = protocol_summary(protocol)
    if placement is not None:
        settings["study"] = placement.to_dict()
    return settings


def protocol_summary(protocol: PracticeProtocol) -> dict[str, Any]:
    """What is stored with a session about the protocol it ran."""
    return {
        "id": protocol.id,
        "name": protocol.name,
        "category": str(protocol.category),
        "phases": [
            {"id": p.id, "kind": str(p.kind), "duration_s": p.duration_s, "practice": p.practice,
             "category": None if p.category is None else str(p.category),
             "pacer_breaths_per_min": None if p.pacer is None else p.pacer.breaths_per_min}
            for p in protocol.phases
        ],
        "sources": list(protocol.sources),
    }
