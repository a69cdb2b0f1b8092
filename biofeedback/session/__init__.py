"""The live session: the chain from a source to the store and the subscribers.

:mod:`~biofeedback.session.launch` puts a session together (the one composition root);
:mod:`~biofeedback.session.studies` holds the study rules (Williams orders, the next
condition); :mod:`~biofeedback.session.live_session` and
:mod:`~biofeedback.session.protocol_session` run it.
"""
