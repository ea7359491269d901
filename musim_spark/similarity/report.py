"""The pair report, kept here for existing imports: it lives in :mod:`musim_spark.report`."""

from __future__ import annotations

from ..report.page import render_report, write_report

__all__ = ["render_report", "write_report"]
