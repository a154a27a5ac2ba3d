"""The run manifest (all stages' accounting in one file) and the end-of-run summary."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from pipeline.config import Config
from pipeline.outputs import atomic_write_json, read_json
from pipeline.stats import RunStats

RUN_MANIFEST = "run_manifest.json"
STAGES = ("extract", "images", "image_ocr", "dedup", "scores", "shards", "pairs", "ocr")  # result keys, in pipeline order


def run_stats(result: dict[str, Any]) -> RunStats:
    stats = RunStats()
    for stage in STAGES:
        if stage in result:
            stats.merge(RunStats.from_dict(result[stage]["stats"]))
    return stats


def write_run_manifest(config: Config) -> Path:
    """Merge the manifests of every finished stage under the output root into one file.

    Read from disk, not from this process's results, so separate spark-submit jobs still
    leave one complete account of the run.
    """
    from pipeline.ocr.annotate import image_ocr_dir
    from pipeline.run import (TABLE_MANIFEST, dedup_dir, images_dir, interleaved_dir, ocr_dir, pages_dir,
                              pairs_dir, scores_dir)

    found: dict[str, Any] = {}
    for stage, path in (("extract", pages_dir(config) / TABLE_MANIFEST),
                        ("images", images_dir(config) / TABLE_MANIFEST),
                        ("image_ocr", image_ocr_dir(config) / TABLE_MANIFEST),
                        ("dedup", dedup_dir(config) / TABLE_MANIFEST),
                        ("scores", scores_dir(config) / TABLE_MANIFEST),
                        ("shards", interleaved_dir(config) / "manifest.json"),
                        ("pairs", pairs_dir(config) / "manifest.json"),
                        ("ocr", ocr_dir(config) / "manifest.json")):
        if path.exists():
            found[stage] = read_json(path)
    stats = run_stats(found)
    stats.check()
    manifest = {
        "output": str(Path(config.run.output)),
        "config_hash": config.hash(),
        "stages": stats.to_dict(),
        "file_errors": found.get("extract", {}).get("file_errors", []),
        "shards": {layout: {k: found[stage][k] for k in ("num_shards", "num_samples", "num_bytes")}
                   for stage, layout in (("shards", "interleaved"), ("pairs", "pairs"), ("ocr", "ocr")) if stage in found},
    }
    path = Path(config.run.output) / RUN_MANIFEST
    atomic_write_json(path, manifest)
    return path


def print_summary(result: dict[str, Any], console: Console | None = None) -> None:
    console = console or Console()
    stats = run_stats(result)
    table = Table(title="interleaf run", show_lines=False)
    for column in ("stage", "in", "out", "dropped", "top drop reasons"):
        table.add_column(column, justify="right" if column in ("in", "out", "dropped") else "left")
    for name, s in stats.stages.items():
        top = ", ".join(f"{r} {n}" for r, n in s.dropped.most_common(6))
        table.add_row(name, str(s.n_in), str(s.n_out), str(s.n_dropped), top)
    console.print(table)
    extract = stats.stages.get("extract")
    if extract:
        c = extract.counters
        console.print(
            f"documents: {c.get('kind:html', 0)} html, {c.get('kind:pdf', 0)} pdf set aside; "
            f"image nodes: {c.get('image_nodes', 0)}, bytes from the WARC: {c.get('images_from_warc', 0)}; "
            f"files: {c.get('files', 0)} ({c.get('files_truncated', 0)} truncated)"
        )
    langid = stats.stages.get("langid")
    if langid:
        languages = sorted(((n, k.split(":", 1)[1]) for k, n in langid.counters.items()
                            if k.startswith("language:")), reverse=True)
        console.print("languages: " + ", ".join(f"{lang} {n}" for n, lang in languages[:10]))
    for error in result.get("extract", {}).get("file_errors", []):
        console.print(f"[yellow]file error[/] {error['uri']}: {error['error']} {error.get('detail') or ''}")
    shards = result.get("shards")
    if shards:
        written = stats.stages.get("write_interleaved")
        images = written.counters.get("images_written", 0) if written else 0
        folder = Path(result["output"]) / "shards" / "interleaved"
        console.print(f"shards: {shards['num_shards']} tar(s), {shards['num_samples']} samples, "
                      f"{images} images, {shards['num_bytes']} bytes in {folder}")
    ocr = result.get("ocr")
    if ocr:
        cer = ", ".join(f"{group} {value:.2%}" for group, value in (ocr.get("cer") or {}).items())
        console.print(f"ocr: {ocr['num_samples']} samples in {ocr['num_shards']} tar(s), "
                      f"character error rate read back: {cer or 'not verified'}")
    fetched = stats.stages.get("fetch_images")
    if fetched:
        c = fetched.counters
        console.print(f"images: {fetched.n_in} distinct URLs, {fetched.n_out} ok "
                      f"({c.get('source:warc', 0)} taken from the WARCs, {c.get('source:download', 0)} fetched over HTTP, "
                      f"{c.get('resumed', 0)} kept from an earlier run)")
    for stage in STAGES:
        if result.get(stage, {}).get("skipped"):
            console.print(f"[dim]{stage}: already finished, skipped (use --force to redo)[/]")
