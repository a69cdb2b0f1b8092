"""Audio guidance, Qt-free: the cue schedule on the session clock, its sounds and their mix.

``cues`` lays out what a protocol plays (chimes, bell, speech, recordings, the audio pacer) as
plain data following the protocol runner; ``synth``, ``speech`` and ``recordings`` make the
sounds; ``program`` mixes them into any span of session time (:class:`AudioProgram`, what the
window's audio output and the headless renderer of ``wav`` both play) and stores each cue's
onset as an ``audio`` marker.
"""
