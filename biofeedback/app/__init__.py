"""Plain (Qt-free) models behind the window: settings, plot buffers, status, pacer.

The widgets in :mod:`biofeedback.ui` only draw these and forward user actions to them
(napari style), so all of this is testable and reusable without Qt.
"""
