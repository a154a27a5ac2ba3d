"""``interleaf report``: statistics of a finished output root as stats.json and a
self-contained HTML page (plots embedded as PNG data URIs)."""

from pipeline.report.html import write_report
from pipeline.report.stats import collect_stats

__all__ = ["collect_stats", "write_report"]
