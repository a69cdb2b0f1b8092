"""Comparing the vagal response across practices: data set, statistics, reports (issue 6)."""
