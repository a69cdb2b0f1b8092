"""View-models: the plain (Qt-free) models behind the window.

A :class:`~biofeedback.viewmodels.session_view.SessionViewModel` subscribes to a session and
owns its plot buffers (``traces``), status line (``status``) and spectrum cadence; the
window's preferences (``preferences``), the pacer (``pacer``), the comparison's wording
(``comparison_format``) and every store read the widgets need (``queries``) live here too.
The widgets in :mod:`biofeedback.ui` only draw these and forward user actions (napari
style), so all of this is testable without Qt.
"""
