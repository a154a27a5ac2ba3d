"""The OCR job: kept documents' text and PDF pages → ``shards/ocr/`` (image + txt + json).

Tasks, planned on the driver in a fixed order:
- text: groups of finished ``shards/interleaved/`` shards. A document is rendered when a hash
  of its id falls under ``ocr.doc_rate`` (reruns pick the same ones), from its text nodes in
  the languages ``ocr.languages`` names;
- pdf: pages parts that hold PDFs set aside by extraction, then ``ocr.pdf.dirs`` files.
Every sample has its own random generator, seeded from ``ocr.seed`` and its key, so the
output does not depend on task boundaries or Spark scheduling. Samples are read back with
rapidocr (``ocr.verify``); those above the CER threshold are dropped with a reason.

Accounting (each stage balanced): ``ocr_text_documents`` (documents read → sampled),
``ocr_pdfs`` (PDFs → opened), ``ocr_pdf_pages`` (pages → rendered), ``ocr_samples``
(rendered samples → written).
"""

from __future__ import annotations

import hashlib
import io
import json
import random
import tarfile
import zlib
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Iterator

import pyarrow.parquet as pq
from PIL import Image

from pipeline.config import Config, OcrConfig
from pipeline.langid import detect_language
from pipeline.ocr.engine import engine_version
from pipeline.ocr.fonts import FontSet, find_fonts
from pipeline.ocr.pdf import PageSkip, PdfPage, close_pdf, open_pdf, pdf_pages
from pipeline.ocr.render import RenderedSample, choose_layout, render_text_sample
from pipeline.ocr.verify import chosen, verify
from pipeline.outputs import atomic_write_json
from pipeline.shards.interleaved import close_shards, finalize_shards, finished_task, start_task
from pipeline.shards.tar import sample_tar_size
from pipeline.stats import RunStats, StageStats
from schemas import SCHEMA_VERSION, Document, DocumentKind
from schemas.ocr import OCR_SIDECAR_SCHEMA
from schemas.samples import document_from_sample

LAYOUT = "ocr"
TEXT_DOCS, PDFS, PDF_PAGES, SAMPLES = "ocr_text_documents", "ocr_pdfs", "ocr_pdf_pages", "ocr_samples"
CER_TOO_HIGH = "verify:cer_above_threshold"


@dataclass(frozen=True)
class OcrTask:
    index: int
    kind: str  # "text" (interleaved shards), "pages" (pages parts with PDFs), "files" (PDF files)
    items: tuple[str, ...]
    duplicates: tuple[str, ...] = ()  # files whose bytes an earlier file already has

    @property
    def name(self) -> str:
        return f"task-{self.index:05d}"


def _group(items: list[tuple[str, int]], per_task: int) -> list[tuple[str, ...]]:
    groups: list[tuple[str, ...]] = []
    current: list[str] = []
    size = 0
    for item, n in items:
        if current and size + n > per_task:
            groups.append(tuple(current))
            current, size = [], 0
        current.append(item)
        size += n
    if current:
        groups.append(tuple(current))
    return groups


def _file_id(data: bytes) -> str:
    return hashlib.sha1(data).hexdigest()[:24]  # content-addressed: the same file, the same id


def _pdf_files(dirs: list[str]) -> list[str]:
    files: set[str] = set()
    for d in dirs:
        path = Path(d)
        if path.is_file():
            files.add(str(path.resolve()))
        elif path.is_dir():
            files.update(str(p.resolve()) for p in path.rglob("*") if p.is_file() and p.suffix.lower() == ".pdf")
        else:
            raise ValueError(f"ocr.pdf.dirs: {d} is neither a file nor a folder")
    return sorted(files)


def _pdf_parts(pages: Path, per_task: int) -> list[tuple[str, ...]]:
    """Pages parts that hold PDFs (read from the small ``kind`` column), grouped."""
    with_pdfs = []
    for part in sorted(pages.glob("part-*.parquet")):
        kinds = pq.read_table(part, columns=["kind"]).column("kind").to_pylist()
        if n := kinds.count(DocumentKind.PDF.value):
            with_pdfs.append((str(part), n))
    return _group(with_pdfs, per_task)


def _duplicate_files(files: list[str]) -> set[str]:
    """Files whose bytes an earlier file has: the same id, so their keys would repeat."""
    seen: set[str] = set()
    duplicates: set[str] = set()
    for path in files:
        digest = _file_id(Path(path).read_bytes())
        if digest in seen:
            duplicates.add(path)
        seen.add(digest)
    return duplicates


def plan_tasks(interleaved: Path | None, pages: Path | None, config: Config) -> list[OcrTask]:
    """Text tasks from the interleaved manifest, then PDF tasks; deterministic order."""
    tasks: list[OcrTask] = []
    if interleaved is not None:
        manifest = json.loads((interleaved / "manifest.json").read_text())
        shards = [(str(interleaved / s["name"]), s["samples"]) for s in manifest["shards"]]
        tasks += [OcrTask(len(tasks) + i, "text", g) for i, g in enumerate(_group(shards, config.ocr.docs_per_task))]
    if not config.ocr.pdf.enabled:
        return tasks
    per_task = config.ocr.pdf.pdfs_per_task
    if pages is not None:
        tasks += [OcrTask(len(tasks) + i, "pages", g) for i, g in enumerate(_pdf_parts(pages, per_task))]
    files = _pdf_files(config.ocr.pdf.dirs)
    duplicates = _duplicate_files(files)
    for group in _group([(f, 1) for f in files], per_task):
        tasks.append(OcrTask(len(tasks), "files", group, tuple(p for p in group if p in duplicates)))
    return tasks


def _seed(seed: int, key: str) -> int:
    return int.from_bytes(hashlib.sha256(f"{seed}:{key}".encode()).digest()[:8], "big")


def sampled(doc_id: str, rate: float, seed: int) -> bool:
    """Whether a document is rendered: a hash, so every rerun and engine picks the same ones."""
    return rate >= 1.0 or zlib.crc32(f"ocr:{seed}:{doc_id}".encode()) / 0xFFFFFFFF < rate


@lru_cache(maxsize=4)
def _fonts(specs: tuple[str, ...]) -> FontSet:
    return FontSet(find_fonts(list(specs)))


def _encode(image: Image.Image, ocr: OcrConfig) -> tuple[bytes, str]:
    out = io.BytesIO()
    if ocr.image_format == "png":
        image.save(out, format="PNG", compress_level=3)
        return out.getvalue(), "png"
    image.save(out, format="JPEG", quality=ocr.jpeg_quality, optimize=False)
    return out.getvalue(), "jpg"


def _json_bytes(obj: dict[str, Any]) -> bytes:
    return json.dumps(obj, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode("utf-8")


class SampleWriter:
    """Encodes, verifies and writes samples of one task; keeps the ``ocr_samples`` counts."""

    def __init__(self, task: OcrTask, config: Config, out_dir: str) -> None:
        self.config, self.ocr = config, config.ocr
        self.tmp, self.writer = start_task(task, config, out_dir)
        self.stats = StageStats(SAMPLES)
        self.sidecars: dict[str, list[dict[str, Any]]] = {}
        self.engine = engine_version()

    def skip(self, reason: str) -> None:
        """A sample attempt that produced nothing (the renderer's reason)."""
        self.stats.n_in += 1
        self.stats.drop(reason)

    def write(self, key: str, image: Image.Image, lines: list[dict[str, Any]], meta: dict[str, Any],
              row: dict[str, Any], max_cer: float, count_unmatched: bool) -> None:
        self.stats.n_in += 1
        data, ext = _encode(image, self.ocr)
        text = "\n".join(line["text"] for line in lines)
        check = None
        if chosen(key, self.ocr.verify.fraction, self.ocr.seed):
            # What is written is what is checked: the encoded bytes, decoded again.
            with Image.open(io.BytesIO(data)) as written:
                result = verify(written, lines, count_unmatched, self.ocr.verify.threads)
            check = result.to_json(self.engine)
            group = f"{row['source_type']}:{row['language']}"
            for name, n in (("verified", 1), ("cer_errors", result.errors), ("cer_chars", result.chars)):
                self.stats.count(name, n)
                self.stats.count(f"{name}:{group}", n)
            if result.cer > max_cer:
                self.stats.drop(CER_TOO_HIGH)
                return
        sample = {"schema_version": SCHEMA_VERSION, "key": key, **meta, "lines": lines, "verify": check,
                  "width": image.width, "height": image.height, "text_sha256": hashlib.sha256(text.encode()).hexdigest()}
        files = [(ext, data), ("txt", text.encode("utf-8")), ("json", _json_bytes(sample))]
        shard = self.writer.write(key, files)
        self.sidecars.setdefault(shard, []).append({
            **row, "key": key, "width": image.width, "height": image.height, "num_lines": len(lines),
            "num_chars": len(text), "verified": check is not None, "cer": check["cer"] if check else None,
            "image_sha256": hashlib.sha256(data).hexdigest(), "sample_bytes": sample_tar_size(files)})
        self.stats.n_out += 1

    def close(self, task: OcrTask, stats: RunStats) -> dict[str, Any]:
        shards = close_shards(self.tmp, self.writer, self.sidecars, OCR_SIDECAR_SCHEMA)
        stats.add(self.stats)
        stats.check()
        result = {"task": task.name, "shards": shards, "stats": stats.to_dict()}
        atomic_write_json(self.tmp / "_DONE.json", result)
        return result


# -- rendered corpus text -------------------------------------------------------------------------

def read_shard_documents(path: str) -> Iterator[Document]:
    """The documents of one interleaved shard, in order, from their json members."""
    with tarfile.open(path) as tar:
        for member in tar:
            if member.isfile() and member.name.endswith(".json"):
                yield document_from_sample(json.loads(tar.extractfile(member).read()))


def _paragraphs(doc: Document, languages: list[str]) -> list[str]:
    """Text nodes in a rendered language (a node's own language, else the document's)."""
    return [n.text for n in doc.text_nodes if (n.language or doc.language) in languages and n.text.strip()]


def render_document(doc: Document, out: SampleWriter, stats: StageStats) -> None:
    ocr = out.ocr
    stats.n_in += 1
    if doc.language not in ocr.languages:
        stats.drop("language:not_rendered")
        return
    if not sampled(doc.doc_id, ocr.doc_rate, ocr.seed):
        stats.drop("sampling:not_sampled")
        return
    paragraphs = _paragraphs(doc, ocr.languages)
    if not paragraphs:
        stats.drop("text:no_paragraphs")
        return
    stats.n_out += 1
    fonts = _fonts(tuple(ocr.render.fonts))
    for k in range(ocr.samples_per_doc):
        key = f"{doc.doc_id}t{k}"
        rng = random.Random(_seed(ocr.seed, key))
        start = rng.randrange(len(paragraphs))
        layout = choose_layout(ocr.render.layouts, rng)
        rendered = render_text_sample(paragraphs[start:], doc.language, layout, fonts, rng, ocr.render)
        if not isinstance(rendered, RenderedSample):
            out.skip(rendered)
            continue
        meta = {"source": {"type": "text", "doc_id": doc.doc_id, "url": doc.url, "paragraph": start,
                           "warc_file": doc.warc_file, "warc_record_id": doc.warc_record_id},
                "language": doc.language, **rendered.meta}
        font = rendered.meta.get("font") or {}
        row = {"source_type": "text", "doc_id": doc.doc_id, "url": doc.url, "language": doc.language,
               "layout": layout, "font": font.get("name"), "font_size": font.get("size"), "page": None,
               "augmentations": [a["name"] for a in rendered.meta.get("augmentations", [])], "garbled": False}
        out.write(key, rendered.image, rendered.lines, meta, row, ocr.verify.max_cer, count_unmatched=True)


# -- PDF pages ----------------------------------------------------------------------------------

@dataclass
class PdfSource:
    doc_id: str
    data: bytes
    source: dict[str, Any]


def _pdf_sources(task: OcrTask) -> Iterator[PdfSource | str]:
    """The task's PDFs in order, or the path of a duplicate file (counted, not rendered)."""
    if task.kind == "pages":
        for part in task.items:
            table = pq.read_table(part, filters=[("kind", "=", DocumentKind.PDF.value)])
            for row in table.to_pylist():
                yield PdfSource(row["doc_id"], bytes(row["source"] or b""),
                                {"type": "pdf", "doc_id": row["doc_id"], "url": row["url"], "warc_file": row["warc_file"],
                                 "warc_record_id": row["warc_record_id"], "warc_offset": row["warc_offset"]})
        return
    for path in task.items:
        if path in task.duplicates:
            yield path
            continue
        data = Path(path).read_bytes()
        doc_id = _file_id(data)
        yield PdfSource(doc_id, data, {"type": "pdf", "doc_id": doc_id, "url": None, "path": path})


def _page_lines(page: PdfPage) -> list[dict[str, Any]]:
    # pdf.py already rounds boxes to 0.01 px; tuples serialise as JSON arrays. Rounding the
    # ~3,000 character boxes of a page again here cost 12 % of the PDF job (bench/ocr.py).
    return [{"text": line.text, "box": list(line.box), "vertical": line.vertical, "chars": line.chars}
            for line in page.lines]


def render_pdf(pdf: PdfSource, out: SampleWriter, pdf_stats: StageStats, page_stats: StageStats) -> None:
    cfg = out.ocr.pdf
    pdf_stats.n_in += 1
    opened = open_pdf(pdf.data, cfg)
    if isinstance(opened, str):
        pdf_stats.drop(opened)
        return
    pdf_stats.n_out += 1
    handle, info = opened
    try:
        for page in pdf_pages(handle, info, cfg):
            page_stats.n_in += 1
            if isinstance(page, PageSkip):
                page_stats.drop(page.reason)
                continue
            page_stats.n_out += 1
            language, _ = detect_language(page.text.replace("\n", " "))
            key = f"{pdf.doc_id}p{page.index:04d}"
            meta = {"source": {**pdf.source, "page": page.index, "pages": info.pages}, "language": language,
                    "layout": "pdf_page", "dpi": page.dpi, "page_size_pt": list(page.page_size_pt),
                    "garbled_ratio": round(page.garbled_ratio, 4), "garbled": page.garbled}
            row = {"source_type": "pdf", "doc_id": pdf.doc_id, "url": pdf.source.get("url"), "language": language,
                   "layout": "pdf_page", "font": None, "font_size": None, "page": page.index, "augmentations": [],
                   "garbled": page.garbled}
            out.write(key, page.image, _page_lines(page), meta, row, out.ocr.verify.max_pdf_cer, count_unmatched=False)
    finally:
        close_pdf(handle)


def render_task(task: OcrTask, config: Config, out_dir: str) -> dict[str, Any]:
    """One task into ``_tmp/<task>/``: shards, sidecars and ``_DONE.json`` (resumable)."""
    if (finished := finished_task(task, out_dir)) is not None:
        return finished
    out = SampleWriter(task, config, out_dir)
    stats = RunStats()
    if task.kind == "text":
        docs = stats.stage(TEXT_DOCS)
        for shard in task.items:
            for doc in read_shard_documents(shard):
                render_document(doc, out, docs)
    else:
        pdfs, pages = stats.stage(PDFS), stats.stage(PDF_PAGES)
        for pdf in _pdf_sources(task):
            if isinstance(pdf, str):
                pdfs.n_in += 1
                pdfs.drop("pdf:duplicate")
            else:
                render_pdf(pdf, out, pdfs, pages)
    return out.close(task, stats)


def finalize_ocr(out_dir: str | Path, results: list[dict[str, Any]], config: Config) -> dict[str, Any]:
    stats = RunStats()
    for r in results:
        stats.merge(RunStats.from_dict(r["stats"]))
    stats.check()
    return finalize_shards(out_dir, results, config, stats.to_dict(),
                           {"layout": LAYOUT, "engine": engine_version(), "cer": cer_summary(stats.stage(SAMPLES))})


def cer_summary(stats: StageStats) -> dict[str, float]:
    """Character error rate of the verified samples, overall and per source type and language
    (errors over ground-truth characters, dropped samples included)."""
    c = stats.counters
    groups = {"all": ("cer_errors", "cer_chars")}
    groups.update({k.removeprefix("cer_chars:"): (k.replace("chars", "errors", 1), k)
                   for k in sorted(c) if k.startswith("cer_chars:")})
    return {g: round(c[e] / c[n], 5) for g, (e, n) in groups.items() if c.get(n)}
