"""Indicators, assessments and the dashboard: every figure the platform reports, defined once."""
