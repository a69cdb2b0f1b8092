"""Headless rendering of a session's audio to a WAV file, on the session clock.

:class:`WavRenderer` renders what an output would play, span by span as session time passes
(on each session event, up to the time the protocol runner was just ticked to), so it works at
any speed, ``max`` included; at the end of the session it renders up to the end and lets the
last chime ring out. Each cue rendered is confirmed at the frame it was rendered on (its audio
marker's onset). The file is written beside the target under a hidden temporary name and
renamed over it only when the session ended without an error (flushed to the disk first, as
:mod:`biofeedback.core.atomic_files` does), so a failure leaves no half-written file.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path
from typing import Any

from biofeedback.audio.program import AudioProgram
from biofeedback.core.atomic_files import default_mode, fsync_path
from biofeedback.core.types import Marker

__all__ = ["RING_OUT_S", "WavRenderer"]

RING_OUT_S = 3.0
"""Rendered after the session's end, s: the final chime rings out."""

_MAX_SPAN_S = 5.0
"""Longest span rendered at once, s (bounds the memory of a long stretch between events)."""


class WavRenderer:
    """Render ``program`` to ``path`` (16-bit PCM WAV at the program's rate).

    Parameters
    ----------
    program : AudioProgram
        What plays.
    path : path-like
        The WAV file to write (replaced whole when done).
    """

    def __init__(self, program: AudioProgram, path: str | os.PathLike[str]) -> None:
        import soundfile

        self.program = program
        self.path = Path(path)
        fd, tmp = tempfile.mkstemp(prefix=f".{self.path.stem}.", suffix=".wav",
                                   dir=self.path.parent)
        os.close(fd)
        self._tmp = Path(tmp)
        self._file: Any = soundfile.SoundFile(str(self._tmp), "w",
                                              samplerate=program.sample_rate, channels=1,
                                              subtype="PCM_16", format="WAV")
        self.rendered_to_frame = 0
        self._busy = False

    @property
    def rendered_to_s(self) -> float:
        """Session time rendered so far, s."""
        return self.rendered_to_frame / self.program.sample_rate

    def render_until(self, t_s: float) -> None:
        """Render (and confirm the cues of) everything up to session time ``t_s``."""
        if self._busy or self._file is None:
            return  # a marker this renderer stored came back as a session event
        self._busy = True
        try:
            sr = self.program.sample_rate
            target = round(t_s * sr)
            step = round(_MAX_SPAN_S * sr)
            while self.rendered_to_frame < target:
                first = self.rendered_to_frame
                n = min(step, target - first)
                block = self.program.render(first / sr, n)
                self._file.write(block)
                self.rendered_to_frame = first + n
                for cue in self.program.cues_in(first / sr, (first + n) / sr):
                    # Played where it was rendered: its onset to the nearest frame.
                    self.program.confirm_played(cue, round(cue.onset_s * sr) / sr)
        finally:
            self._busy = False

    def on_session_event(self, event: object) -> None:
        """Session subscriber: render up to the time the runner has just been ticked to."""
        if isinstance(event, Marker):
            return  # markers are stored from inside a tick; the next event renders
        self.render_until(self.program.schedule.runner.now_s)

    def finish(self, end_s: float | None = None) -> Path:
        """Render up to ``end_s`` plus :data:`RING_OUT_S` (None: what was rendered is all) and
        put the file in place."""
        if end_s is not None:
            self.render_until(end_s + RING_OUT_S)
        file, self._file = self._file, None
        if file is None:
            raise ValueError("the audio file was finished or discarded already")
        file.close()
        os.chmod(self._tmp, default_mode())
        fsync_path(self._tmp)
        os.replace(self._tmp, self.path)
        fsync_path(self.path.parent)
        return self.path

    def discard(self) -> None:
        """Stop and remove the temporary file (the session failed): nothing is left."""
        if self._file is not None:
            with contextlib.suppress(Exception):
                self._file.close()
            self._file = None
        self._tmp.unlink(missing_ok=True)
