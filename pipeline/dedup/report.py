"""`interleaf dedup-report`: every removed document beside the twin that was kept."""

from __future__ import annotations

from pathlib import Path
from typing import Iterator

import pyarrow.dataset as ds

from pipeline.dedup.find import DOCUMENTS


def _urls(pages_dir: Path) -> dict[str, str]:
    table = ds.dataset(pages_dir, format="parquet").to_table(columns=["doc_id", "url"])
    return dict(zip(table.column("doc_id").to_pylist(), table.column("url").to_pylist()))


def dedup_report(output: Path, limit: int = 50) -> Iterator[str]:
    folder = output / "dedup" / DOCUMENTS
    if not folder.exists():
        raise FileNotFoundError(f"no dedup table under {output} (run `interleaf dedup` first)")
    rows = ds.dataset(folder, format="parquet").to_table().to_pylist()
    removed = sorted((r for r in rows if not r["kept"]), key=lambda r: (r["step"], r["reason"], r["doc_id"]))
    urls = _urls(output / "pages")
    yield f"{len(removed)} documents removed, {sum(r['kept'] for r in rows)} kept representatives"
    for r in removed[: limit or None]:
        sim = "" if r["similarity"] is None else f" sim={r['similarity']:.2f}"
        yield f"{r['reason']:<20}{sim:>9}  {urls.get(r['doc_id'], r['doc_id'])}  ->  kept {urls.get(r['cluster'], r['cluster'])}"
