"""Statistics of a finished output root, for ``interleaf report``.

Everything is read from what the stages wrote: ``run_manifest.json`` (the funnel), parquet
tables read a column set and a record batch at a time (images, scores, dedup clusters,
sidecars, exclusions), the interleaved tars streamed sample by sample (document lengths) and
the OCR manifest (CER per group). Distributions are fixed-bin histograms with running
count / sum / min / max, so memory does not grow with the corpus (except the cluster tables,
which are counted per cluster id). A section whose stage folder is absent is
``{"available": false}``: the report says "not run".
"""

from __future__ import annotations

import json
import math
import tarfile
from collections import Counter
from pathlib import Path
from typing import Any, Iterable, Iterator

import pyarrow.parquet as pq

# Stages of run_manifest.json in pipeline order; unknown ones follow in manifest order.
STAGE_ORDER = ("extract", "langid", "filters", "fetch_images", "image_ocr", "image_dedup", "dedup", "score_clip",
               "write_interleaved", "write_pairs", "ocr_text_documents", "ocr_pdfs", "ocr_pdf_pages", "ocr_samples")

BATCH_ROWS = 8192


class Histogram:
    """Fixed bin edges; values outside go to the first / last bin (count, sum, min, max exact)."""

    def __init__(self, edges: list[float]) -> None:
        self.edges = [float(e) for e in edges]
        self.counts = [0] * (len(self.edges) - 1)
        self.n = 0
        self.total = 0.0
        self.min: float | None = None
        self.max: float | None = None

    def add(self, value: float | None) -> None:
        if value is None or (isinstance(value, float) and math.isnan(value)):
            return
        v = float(value)
        self.n += 1
        self.total += v
        self.min = v if self.min is None else min(self.min, v)
        self.max = v if self.max is None else max(self.max, v)
        lo, hi = 0, len(self.counts) - 1
        if v >= self.edges[-1]:
            self.counts[-1] += 1
            return
        while lo < hi:  # last bin whose left edge <= v
            mid = (lo + hi + 1) // 2
            if self.edges[mid] <= v:
                lo = mid
            else:
                hi = mid - 1
        self.counts[lo] += 1

    def add_all(self, values: Iterable[float | None]) -> None:
        for v in values:
            self.add(v)

    def quantile(self, q: float) -> float | None:
        """Approximate (linear within the bin)."""
        if not self.n:
            return None
        target, seen = q * self.n, 0
        for i, c in enumerate(self.counts):
            if c and seen + c >= target:
                lo, hi = self.edges[i], self.edges[i + 1]
                return lo + (hi - lo) * max(0.0, min(1.0, (target - seen) / c))
            seen += c
        return self.edges[-1]

    def to_dict(self) -> dict[str, Any]:
        return {"count": self.n, "sum": self.total, "min": self.min, "max": self.max,
                "mean": self.total / self.n if self.n else None, "median": self.quantile(0.5),
                "edges": self.edges, "counts": self.counts}


def log_edges(top: float, per_decade: int = 4, start: float = 1.0) -> list[float]:
    """0, then start · 10^(k/per_decade) for k = 0, 1, ... up to the first edge >= ``top``."""
    edges = [0.0]
    k = 0
    while not edges[-1] >= top:
        edges.append(round(start * 10 ** (k / per_decade), 3))
        k += 1
    return edges


def linear_edges(lo: float, hi: float, bins: int) -> list[float]:
    return [round(lo + (hi - lo) * i / bins, 6) for i in range(bins + 1)]


# -- readers ---------------------------------------------------------------------------------

def parquet_files(folder: Path, pattern: str = "*.parquet") -> list[Path]:
    """Data files of a parquet folder (no hidden / underscore files, no .crc)."""
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.glob(pattern)
                  if p.is_file() and not p.name.startswith((".", "_")) and p.suffix == ".parquet")


def iter_rows(files: Iterable[Path], columns: list[str]) -> Iterator[dict[str, Any]]:
    """Rows of the given columns (those the file has; missing ones are None), batch by batch."""
    for f in files:
        pf = pq.ParquetFile(f)
        names = set(pf.schema_arrow.names)
        present = [c for c in columns if c in names]
        if not present:
            continue
        for batch in pf.iter_batches(batch_size=BATCH_ROWS, columns=present):
            for row in batch.to_pylist():
                for c in columns:
                    row.setdefault(c, None)
                yield row


def read_json(path: Path) -> dict[str, Any] | None:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def count_words(text: str) -> int:
    """Whitespace words, plus one per CJK character (as interleaf export counts them)."""
    from pipeline.export.selection import count_words as _count

    return _count(text)


def iter_tar_json(tar_path: Path) -> Iterator[tuple[str, dict[str, Any]]]:
    """(key, parsed KEY.json) of each sample of a WebDataset tar, streamed."""
    with tarfile.open(tar_path, mode="r|*") as tar:
        for member in tar:
            if not member.isfile() or not member.name.endswith(".json"):
                continue
            fh = tar.extractfile(member)
            if fh is None:
                continue
            try:
                yield member.name[: -len(".json")], json.loads(fh.read())
            except ValueError:
                continue


# -- sections --------------------------------------------------------------------------------

def funnel_stats(out: Path) -> dict[str, Any]:
    manifest = read_json(out / "run_manifest.json")
    if not manifest or not isinstance(manifest.get("stages"), dict):
        return {"available": False}
    stages = manifest["stages"]
    order = [s for s in STAGE_ORDER if s in stages] + [s for s in stages if s not in STAGE_ORDER]
    rows = []
    for name in order:
        s = stages[name]
        dropped = {str(k): int(v) for k, v in sorted((s.get("dropped") or {}).items(), key=lambda kv: (-kv[1], kv[0]))}
        n_in, n_out = int(s.get("in", 0)), int(s.get("out", 0))
        total = sum(dropped.values())
        rows.append({"stage": name, "in": n_in, "out": n_out, "dropped": dropped, "dropped_total": total,
                     "balanced": n_in == n_out + total, "counters": dict(s.get("counters") or {})})
    return {"available": True, "stages": rows, "shards": manifest.get("shards", {}),
            "config_hash": manifest.get("config_hash"), "file_errors": len(manifest.get("file_errors") or [])}


def exclusion_files(out: Path) -> list[Path]:
    return parquet_files(out / "pages" / "excluded") + sorted(
        f for d in sorted((out / "shards").glob("*/excluded")) for f in parquet_files(d))


def exclusion_stats(out: Path) -> dict[str, Any]:
    files = exclusion_files(out)
    if not (out / "pages").is_dir() and not (out / "shards").is_dir():
        return {"available": False}
    by_reason: Counter = Counter()
    by_stage: Counter = Counter()
    by_language: Counter = Counter()
    n = 0
    for row in iter_rows(files, ["reason", "stage", "language"]):
        n += 1
        by_reason[row["reason"]] += 1
        by_stage[row["stage"] or "-"] += 1
        by_language[row["language"] or "unknown"] += 1
    return {"available": True, "files": len(files), "rows": n, "by_reason": _sorted(by_reason),
            "by_stage": _sorted(by_stage), "by_language": _sorted(by_language)}


def language_stats(out: Path) -> dict[str, Any]:
    pages = out / "pages"
    shards = out / "shards" / "interleaved"
    if not pages.is_dir() and not shards.is_dir():
        return {"available": False}
    extracted: Counter = Counter()
    for row in iter_rows(parquet_files(pages), ["language"]):
        extracted[row["language"] or "unknown"] += 1
    kept: Counter = Counter()
    for row in iter_rows(parquet_files(shards, "shard-*.parquet"), ["language"]):
        kept[row["language"] or "unknown"] += 1
    excluded: Counter = Counter()
    for row in iter_rows(exclusion_files(out), ["language"]):
        excluded[row["language"] or "unknown"] += 1
    return {"available": True, "pages": _sorted(extracted) if pages.is_dir() else None,
            "shards": _sorted(kept) if shards.is_dir() else None, "excluded": _sorted(excluded)}


def clip_stats(out: Path) -> dict[str, Any]:
    folder = out / "scores"
    if not folder.is_dir():
        return {"available": False}
    best = Histogram(linear_edges(-1.0, 1.0, 40))
    candidates = Histogram(linear_edges(-1.0, 1.0, 40))
    status: Counter = Counter()
    sources: Counter = Counter()
    models: Counter = Counter()
    for row in iter_rows(parquet_files(folder), ["status", "best_score", "best_source", "candidate_scores", "model"]):
        status[row["status"] or "-"] += 1
        best.add(row["best_score"])
        candidates.add_all(row["candidate_scores"] or [])
        if row["best_source"]:
            sources[row["best_source"].split(":", 1)[0]] += 1
        if row["model"]:
            models[row["model"]] += 1
    return {"available": True, "images": sum(status.values()), "status": _sorted(status),
            "best_score": best.to_dict(), "candidate_scores": candidates.to_dict(),
            "best_source": _sorted(sources), "models": _sorted(models)}


def image_stats(out: Path) -> dict[str, Any]:
    folder = out / "images"
    if not folder.is_dir():
        return {"available": False}
    edges = log_edges(20000, per_decade=6, start=8)
    width, height, short_side = Histogram(edges), Histogram(edges), Histogram(edges)
    nbytes = Histogram(log_edges(50 << 20, per_decade=4, start=256))
    status: Counter = Counter()
    reasons: Counter = Counter()
    sources: Counter = Counter()
    formats: Counter = Counter()
    for row in iter_rows(parquet_files(folder, "bucket-*.parquet"),
                         ["status", "reason", "source", "width", "height", "original_bytes", "format"]):
        status[row["status"] or "-"] += 1
        if row["reason"]:
            reasons[row["reason"]] += 1
        if row["source"]:
            sources[row["source"]] += 1
        if row["status"] == "ok":
            if row["format"]:
                formats[row["format"]] += 1
            width.add(row["width"])
            height.add(row["height"])
            if row["width"] is not None and row["height"] is not None:
                short_side.add(min(row["width"], row["height"]))
            nbytes.add(row["original_bytes"])
    return {"available": True, "urls": sum(status.values()), "status": _sorted(status), "reasons": _sorted(reasons),
            "sources": _sorted(sources), "formats": _sorted(formats), "width": width.to_dict(),
            "height": height.to_dict(), "short_side": short_side.to_dict(), "bytes": nbytes.to_dict()}


def document_stats(out: Path) -> dict[str, Any]:
    folder = out / "shards" / "interleaved"
    if not folder.is_dir():
        return {"available": False}
    words = Histogram(log_edges(1_000_000, per_decade=4))
    chars = Histogram(log_edges(10_000_000, per_decade=4))
    images = Histogram([float(i) for i in range(0, 32)] + [1000.0])
    image_files = Histogram([float(i) for i in range(0, 32)] + [1000.0])
    by_language: dict[str, dict[str, int]] = {}
    n = 0
    for tar in sorted(folder.glob("shard-*.tar")):
        for _key, sample in iter_tar_json(tar):
            n += 1
            texts = [node.get("text") or "" for node in sample.get("nodes", []) if node.get("type") == "text"]
            imgs = [node for node in sample.get("nodes", []) if node.get("type") == "image"]
            w = sum(count_words(t) for t in texts)
            c = len("\n\n".join(texts))  # as Document.text (the sidecar's text_chars)
            words.add(w)
            chars.add(c)
            images.add(len(imgs))
            image_files.add(sum(1 for i in imgs if i.get("file")))
            lang = by_language.setdefault(sample.get("language") or "unknown", {"documents": 0, "words": 0})
            lang["documents"] += 1
            lang["words"] += w
    return {"available": True, "documents": n, "words": words.to_dict(), "chars": chars.to_dict(),
            "images_per_document": images.to_dict(), "image_files_per_document": image_files.to_dict(),
            "by_language": dict(sorted(by_language.items()))}


def dedup_stats(out: Path) -> dict[str, Any]:
    docs_dir = out / "dedup" / "documents"
    clusters_file = out / "images_dedup" / "clusters.parquet"
    if not (out / "dedup").is_dir() and not (out / "images_dedup").is_dir():
        return {"available": False}
    result: dict[str, Any] = {"available": True, "documents": None, "images": None}
    if (out / "dedup").is_dir():
        members: dict[str, set[str]] = {}
        reasons: Counter = Counter()
        steps: Counter = Counter()
        rows = removed = 0
        for row in iter_rows(parquet_files(docs_dir), ["doc_id", "cluster", "kept", "reason", "step"]):
            rows += 1
            # The table lists removed documents with their kept twin (the cluster id): a
            # cluster is its id plus every document naming it.
            cluster = row["cluster"] or row["doc_id"]
            members.setdefault(cluster, {cluster}).add(row["doc_id"])
            if not row["kept"]:
                removed += 1
                reasons[row["reason"] or "-"] += 1
            if row["step"]:
                steps[row["step"]] += 1
        manifest = read_json(out / "dedup" / "_manifest.json") or {}
        result["documents"] = {"rows": rows, "removed": removed, "by_reason": _sorted(reasons),
                               "by_step": _sorted(steps), "clusters": len(members),
                               "cluster_sizes": _size_counts(Counter({k: len(v) for k, v in members.items()})),
                               "manifest_stats": manifest.get("stats")}
    if clusters_file.is_file():
        sizes: Counter = Counter()
        matches: Counter = Counter()
        repeated = 0
        for row in iter_rows([clusters_file], ["cluster", "url", "match", "repeated"]):
            sizes[row["cluster"] or row["url"]] += 1
            matches[row["match"] or "unique"] += 1
            repeated += bool(row["repeated"])
        result["images"] = {"urls": sum(sizes.values()), "clusters": len(sizes), "repeated_urls": repeated,
                            "match": _sorted(matches), "cluster_sizes": _size_counts(sizes)}
    return result


def ocr_stats(out: Path) -> dict[str, Any]:
    folder = out / "shards" / "ocr"
    if not folder.is_dir():
        return {"available": False}
    manifest = read_json(folder / "manifest.json") or {}
    groups: dict[str, dict[str, Any]] = {}
    for row in iter_rows(parquet_files(folder, "shard-*.parquet"), ["source_type", "language", "cer", "verified"]):
        g = groups.setdefault(f"{row['source_type'] or '-'}:{row['language'] or '-'}",
                              {"samples": 0, "verified": 0, "cer_sum": 0.0, "cer_n": 0, "cer_max": None})
        g["samples"] += 1
        g["verified"] += bool(row["verified"])
        if row["cer"] is not None:
            g["cer_sum"] += row["cer"]
            g["cer_n"] += 1
            g["cer_max"] = row["cer"] if g["cer_max"] is None else max(g["cer_max"], row["cer"])
    per_group = {}
    cer = manifest.get("cer") or {}
    for name in sorted(set(groups) | {k for k in cer if k != "all"}):
        g = groups.get(name, {"samples": 0, "verified": 0, "cer_sum": 0.0, "cer_n": 0, "cer_max": None})
        per_group[name] = {"samples": g["samples"], "verified": g["verified"],
                           "cer": cer.get(name, g["cer_sum"] / g["cer_n"] if g["cer_n"] else None),
                           "mean_sample_cer": g["cer_sum"] / g["cer_n"] if g["cer_n"] else None,
                           "max_sample_cer": g["cer_max"]}
    return {"available": True, "samples": manifest.get("num_samples", sum(g["samples"] for g in groups.values())),
            "engine": manifest.get("engine"), "cer_all": cer.get("all"), "groups": per_group}


def shard_stats(out: Path) -> dict[str, Any]:
    folder = out / "shards"
    if not folder.is_dir():
        return {"available": False}
    layouts = {}
    for d in sorted(p for p in folder.iterdir() if p.is_dir()):
        m = read_json(d / "manifest.json") or {}
        layouts[d.name] = {"shards": m.get("num_shards"), "samples": m.get("num_samples"), "bytes": m.get("num_bytes"),
                           "schema_version": m.get("schema_version")}
    return {"available": True, "layouts": layouts}


SECTIONS = {
    "funnel": funnel_stats,
    "exclusions": exclusion_stats,
    "languages": language_stats,
    "clip_scores": clip_stats,
    "image_sizes": image_stats,
    "documents": document_stats,
    "dedup": dedup_stats,
    "ocr": ocr_stats,
    "shards": shard_stats,
}


def collect_stats(out: str | Path) -> dict[str, Any]:
    out = Path(out)
    if not out.is_dir():
        raise FileNotFoundError(f"no output folder {out}")
    stats: dict[str, Any] = {"output": str(out)}
    for name, fn in SECTIONS.items():
        stats[name] = fn(out)
    return stats


def _sorted(counter: Counter) -> dict[str, int]:
    return {str(k): int(v) for k, v in sorted(counter.items(), key=lambda kv: (-kv[1], str(kv[0])))}


def _size_counts(clusters: Counter) -> dict[str, int]:
    """Cluster size → number of clusters of that size (sizes ascending)."""
    sizes = Counter(clusters.values())
    return {str(k): int(v) for k, v in sorted(sizes.items())}
