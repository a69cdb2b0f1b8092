"""Practice and lab protocols (no Qt).

:mod:`~protocols.model` (PracticeProtocol, Phase...), :mod:`~protocols.loader` (TOML files),
:mod:`~protocols.library` (built-ins and templates), :mod:`~protocols.runner` (phases on the
session clock), :mod:`~protocols.stressor` (serial subtraction), :mod:`~protocols.self_report`,
:mod:`~protocols.design` (Williams designs). What the simulated strap does in each phase
is the simulator's business (:mod:`sensors.simulated.protocol_schedule`).
"""
