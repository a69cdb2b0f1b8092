"""Publication figures (issue 18): matplotlib's object API, no pyplot, no display.

Each figure is one function taking the results it draws (a session's recording, per-phase
analysis and trajectory bins, or the comparison result of
:func:`biofeedback.comparison.compare.compare`), never the database, and returning a
:class:`matplotlib.figure.Figure` sized for a journal column (:mod:`.style`).
:mod:`.render` writes it as PNG, SVG or PDF; :mod:`.catalog` names every figure for
``biofeedback plot``, the reports and the window.

matplotlib is imported by the modules below, never by this package's ``__init__``: the
window and a live session never load it (tests/test_import_contract.py).
"""
