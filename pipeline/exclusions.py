"""The exclusions table: every document a filter or dedup dropped, with why.

One row per dropped document: its id, URL, language, the reason counted in the manifest and,
for filter drops, the rule's signal, value and threshold. Written beside the output of the
stage that dropped it (``pages/excluded/`` for filters in drop mode, ``shards/interleaved/
excluded/`` for selection at write time), for audits, the report and the viewer.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from filters.base import Verdict
from schemas import Document
from schemas.arrow import EXCLUSIONS_SCHEMA


@dataclass
class Dropped:
    """A document leaving a stage, and why (a verdict when a filter decided)."""

    doc: Document
    reason: str
    verdict: Verdict | None = None


def exclusion_row(dropped: Dropped, stage: str) -> dict[str, Any]:
    doc, v = dropped.doc, dropped.verdict
    threshold = v.threshold if v is not None else None
    return {
        "doc_id": doc.doc_id,
        "url": doc.url,
        "warc_file": doc.warc_file,
        "warc_offset": doc.warc_offset,
        "language": doc.language,
        "stage": stage,
        "reason": dropped.reason,
        "filter": v.filter if v is not None else dropped.reason.split(":", 1)[0],
        "signal": v.signal if v is not None else None,
        "value": v.value if v is not None else None,
        "threshold": None if threshold is None else str(threshold),
    }


def write_exclusions(path: Path, rows: list[dict[str, Any]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    pq.write_table(pa.Table.from_pylist(rows, schema=EXCLUSIONS_SCHEMA), tmp, compression="zstd")
    tmp.replace(path)
