"""``interleaf export``: finished shards → selected slices for training teams (see job.py)."""

from pipeline.export.job import ExportOptions, VerificationError, run_export, verify_export
from pipeline.export.selection import Selection

__all__ = ["ExportOptions", "Selection", "VerificationError", "run_export", "verify_export"]
