"""The ``biofeedback`` command line: one module per command, errors without tracebacks."""
