"""The comparison view, self-soothing vs attention practices: chooser, tables and plots."""

from biofeedback.ui.comparison.view import ComparisonView

__all__ = ["ComparisonView"]
