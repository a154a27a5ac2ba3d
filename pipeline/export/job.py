"""``interleaf export``: selected samples of finished shards → any fsspec URL, verified.

The source shards are streamed in manifest order; each part file is written to a local
staging folder, hashed, uploaded (``fs.put_file``: local paths, s3://, gs://, ...) and
deleted before the next one starts, so neither memory nor local disk grows with the export.
manifest.json (files with sha256, bytes and samples; counts with drops by reason; the
selection; statistics) and README.md (the dataset card) follow; then every file is read back
(sha256, bytes, samples parsed by the format's reader) and only then ``_SUCCESS`` is
written. A finished export with the same digest (source manifest, format, selection, part
size) is skipped; anything else already at the destination needs ``force``.
"""

from __future__ import annotations

import hashlib
import json
import logging
import tempfile
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import fsspec

from pipeline.export.card import ExportStats, dataset_card
from pipeline.export.formats import EXTENSIONS, FORMATS, INTERLEAVED_ONLY, count, open_part
from pipeline.export.selection import Selection, select_interleaved, select_pair
from pipeline.outputs import OutputExistsError, is_finished
from pipeline.shards.tar import read_samples

log = logging.getLogger(__name__)

SOURCES = ("interleaved", "pairs")
MANIFEST = "manifest.json"


class VerificationError(RuntimeError):
    """What an export holds does not match its manifest."""


@dataclass(frozen=True)
class ExportOptions:
    output: str  # the run's output root: reads OUT/shards/<source>/
    dest: str  # any fsspec URL or local path
    fmt: str = "webdataset"
    source: str = "interleaved"
    selection: Selection = field(default_factory=Selection)
    samples_per_file: int = 1000
    name: str | None = None
    force: bool = False

    def check(self) -> None:
        if self.fmt not in FORMATS:
            raise ValueError(f"--format must be one of {', '.join(FORMATS)}, not {self.fmt!r}")
        if self.source not in SOURCES:
            raise ValueError(f"--source must be interleaved or pairs, not {self.source!r}")
        if self.fmt in INTERLEAVED_ONLY and self.source != "interleaved":
            raise ValueError(f"the {self.fmt} format holds interleaved documents: use --source interleaved")
        if self.samples_per_file < 1:
            raise ValueError(f"--samples-per-file must be >= 1, not {self.samples_per_file}")


def _sha256_stream(f: Any) -> tuple[str, int]:
    h, size = hashlib.sha256(), 0
    for chunk in iter(lambda: f.read(1 << 20), b""):
        h.update(chunk)
        size += len(chunk)
    return h.hexdigest(), size


def _prepare_dest(fs: Any, root: str, digest: str, force: bool) -> dict[str, Any] | None:
    """The finished manifest to reuse (same digest), or None after making the destination ready."""
    if fs.exists(f"{root}/_SUCCESS") and not force:
        with fs.open(f"{root}/{MANIFEST}", "rb") as f:
            previous = json.load(f)
        if previous.get("digest") == digest:
            return previous
        raise OutputExistsError(f"{root} holds another finished export (digest {previous.get('digest')}, now "
                                f"{digest}): choose another destination or add --force")
    if fs.exists(root) and fs.ls(root):
        if not force:
            raise OutputExistsError(f"{root} is not empty (an unfinished export?): add --force to replace it")
        fs.rm(root, recursive=True)
    fs.makedirs(root, exist_ok=True)
    return None


def run_export(opts: ExportOptions) -> dict[str, Any]:
    opts.check()
    src = Path(opts.output) / "shards" / opts.source
    if not (src / MANIFEST).is_file() or not is_finished(src):
        raise FileNotFoundError(f"{src} holds no finished shards (manifest.json and _SUCCESS): write them first")
    src_manifest_bytes = (src / MANIFEST).read_bytes()
    src_manifest = json.loads(src_manifest_bytes)
    sel = opts.selection
    digest = hashlib.sha256(json.dumps({
        "source": hashlib.sha256(src_manifest_bytes).hexdigest(), "format": opts.fmt,
        "selection": sel.to_dict(), "samples_per_file": opts.samples_per_file}, sort_keys=True).encode()
    ).hexdigest()[:16]
    fs, root = fsspec.core.url_to_fs(opts.dest)
    root = root.rstrip("/")
    previous = _prepare_dest(fs, root, digest, opts.force)
    if previous is not None:
        log.info("export: %s is finished with the same selection, skipping", opts.dest)
        return {**previous, "skipped": True}

    select = select_interleaved if opts.source == "interleaved" else select_pair
    dropped: Counter = Counter()
    counters: Counter = Counter()
    stats = ExportStats()
    files: list[dict[str, Any]] = []
    read = written = 0
    total_in = int(src_manifest.get("num_samples", 0))
    with tempfile.TemporaryDirectory(prefix="interleaf-export-") as staging:
        part = None

        def finish_part() -> None:
            nonlocal part
            samples = part.close()
            with open(part.path, "rb") as f:
                sha, size = _sha256_stream(f)
            fs.put_file(str(part.path), f"{root}/{part.path.name}")
            part.path.unlink()
            files.append({"name": part.path.name, "sha256": sha, "bytes": size, "samples": samples})
            part = None

        done = False
        for shard in src_manifest["shards"]:
            for key, members in read_samples(src / shard["name"]):
                read += 1
                kept, reason, c = select(sel, key, members)
                counters.update(c)
                if kept is None:
                    dropped[reason] += 1
                    continue
                if part is None:
                    part = open_part(opts.fmt, Path(staging) / f"part-{len(files):06d}{EXTENSIONS[opts.fmt]}",
                                     opts.source)
                part.add(key, kept)
                stats.add(opts.source, kept)
                written += 1
                if part.samples == opts.samples_per_file:
                    finish_part()
                if sel.max_samples is not None and written == sel.max_samples:
                    done = True
                    break
            if done:
                break
        if part is not None:
            finish_part()
    if read < total_in:  # not read: the max_samples cut
        dropped["max_samples"] += total_in - read
    total_in = max(total_in, read)
    name = opts.name or f"interleaf-{opts.source}-{opts.fmt}"
    manifest: dict[str, Any] = {
        "name": name, "format": opts.fmt, "source": opts.source, "digest": digest,
        "source_manifest_sha256": hashlib.sha256(src_manifest_bytes).hexdigest(),
        "schema_version": src_manifest.get("schema_version"), "selection": sel.to_dict(),
        "samples_per_file": opts.samples_per_file,
        "counts": {"in": total_in, "out": written, "dropped": dict(sorted(dropped.items())),
                   "images_in": counters["images_in"], "images_dropped": counters["images_dropped"]},
        "statistics": stats.to_dict(), "files": files, "bytes": sum(f["bytes"] for f in files),
    }
    if opts.fmt == "webdataset" and files:
        manifest["url_pattern"] = f"part-{{000000..{len(files) - 1:06d}}}.tar"
    assert total_in == written + sum(dropped.values()), (total_in, written, dropped)
    fs.pipe(f"{root}/{MANIFEST}", json.dumps(manifest, indent=2, sort_keys=True, ensure_ascii=False).encode())
    fs.pipe(f"{root}/README.md", dataset_card(manifest, opts.dest.rstrip("/")).encode())
    verify_export(opts.dest, require_success=False)
    fs.pipe(f"{root}/_SUCCESS", b"")
    log.info("export: %d of %d samples → %s (%d files)", written, total_in, opts.dest, len(files))
    return manifest


def verify_export(dest: str, require_success: bool = True) -> dict[str, Any]:
    """Every file of the manifest: present, same bytes and sha256, samples parsed back.

    Raises VerificationError listing every problem; returns a summary when all is well.
    """
    fs, root = fsspec.core.url_to_fs(dest)
    root = root.rstrip("/")
    if require_success and not fs.exists(f"{root}/_SUCCESS"):
        raise VerificationError(f"{dest} is not a finished export (no _SUCCESS)")
    try:
        with fs.open(f"{root}/{MANIFEST}", "rb") as f:
            manifest = json.load(f)
    except FileNotFoundError:
        raise VerificationError(f"{dest} has no {MANIFEST}") from None
    problems: list[str] = []
    samples = 0
    for entry in manifest["files"]:
        path = f"{root}/{entry['name']}"
        if not fs.exists(path):
            problems.append(f"{entry['name']}: missing")
            continue
        with fs.open(path, "rb") as f:
            sha, size = _sha256_stream(f)
        if (sha, size) != (entry["sha256"], entry["bytes"]):
            problems.append(f"{entry['name']}: sha256/bytes {sha[:12]}…/{size} != manifest "
                            f"{entry['sha256'][:12]}…/{entry['bytes']}")
            continue
        try:
            with fs.open(path, "rb") as f:
                n = count(manifest["format"], f)
        except Exception as e:  # a corrupt file: the reader's own error says why
            problems.append(f"{entry['name']}: unreadable as {manifest['format']}: {e}")
            continue
        if n != entry["samples"]:
            problems.append(f"{entry['name']}: {n} samples read back, manifest says {entry['samples']}")
        samples += n
    if not problems and samples != manifest["counts"]["out"]:
        problems.append(f"{samples} samples in the files, manifest counts {manifest['counts']['out']}")
    if problems:
        raise VerificationError(f"{dest}: {len(problems)} problem(s):\n" + "\n".join(problems))
    return {"dest": dest, "files": len(manifest["files"]), "samples": samples, "ok": True}
