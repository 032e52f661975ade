"""The run report: one email (text + HTML) per run of the daily cycle."""

from alchemiser.reporting.report import RunReport, render_failure_report, render_report

__all__ = ["RunReport", "render_failure_report", "render_report"]
