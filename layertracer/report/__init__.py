"""The static HTML report of an output folder: gallery, per-icon layer view, failed rows."""

from layertracer.report.site import ReportOptions, ReportResult, write_report

__all__ = ["ReportOptions", "ReportResult", "write_report"]
