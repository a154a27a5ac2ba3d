"""OCR samples: our renderer and PDF page job against a bare Pillow draw and a bare pypdfium2 render.

Inputs (built before timing): the HTML documents bench/filters.py's ``load_documents`` makes
from ``--data`` (WARCs under warc/ and the trafilatura + goose3 test pages), language by
fastText lid.176 (``detect_language``), the English and Chinese ones kept and cycled to
``--docs`` documents, languages alternating (each copy its own id, so its own seed: a different layout, font, size and
style); the PDFs of ``--data``/pdf plus the two PDF responses of pdf/aut_example.pdf.warc.gz.

Text pages, per core (one process pinned to ``--cpu``):
  ours: the render-ocr job's path for a document, ``render_document`` into a ``SampleWriter``
  (paragraph choice, layout line / paragraph / columns at the default weights, font choice
  with the glyph-coverage check, wrapping with kinsoku for CJK, colours and textures, seeded
  augmentations, JPEG q92, the json with per-line boxes, the tar shard and its parquet
  sidecar). Verification off here (``ocr.verify.fraction=0``): timed on its own below.
  bare: for every page ours wrote, the same lines drawn by ``ImageDraw.text`` at the same
  positions, in the same font file, size and colours, on a canvas of the same size, then
  ``Image.save(path, JPEG, quality=92)``. No layout, coverage, augmentation, json or tar.
PDF pages at ``--dpi``, per core:
  ours: ``render_task`` on one task of the PDF files (open with the byte limit and the
  encryption check, per page: size check, text layer with character boxes, lines in reading
  order, garbled check, render into a white RGB buffer, language id of the page text, JPEG,
  json with line + character boxes, tar + sidecar).
  bare: ``pdfium.PdfDocument(path)``, ``page.render(scale=dpi/72).to_pil()`` and
  ``save(path, JPEG, quality=92)`` for the same pages ours wrote (ours stops at
  ``ocr.pdf.max_pages`` per document and skips text-less pages).
Verification (rapidocr PP-OCR det + rec, onnxruntime with one thread): ``verify`` on up to
``--verify`` written samples per group (text en, text zh, pdf), decoded from the written
bytes as the job does; samples/s and the CER per group.

Figures are CPU seconds of the pinned process (``time.process_time``; wall printed beside):
pages per CPU second = pages/s per core. ``--rounds`` alternate ours then bare; the fastest
round of each counts. Goals (issue 7): >= 50 text pages/s and >= 80 PDF pages/s per core.

    /work/venv/bin/python bench/ocr.py [--data ../shared/data] [--docs 150] [--rounds 3]
        [--cpu 0] [--dpi 150] [--verify 20] [--profile [15]]
"""

from __future__ import annotations

import argparse
import importlib.util
import io
import json
import os
import shutil
import sys
import tarfile
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH.parent))

import pypdfium2 as pdfium  # noqa: E402
from PIL import Image, ImageDraw, ImageFont  # noqa: E402

from pipeline.config import Config, load_config  # noqa: E402
from pipeline.langid import detect_language  # noqa: E402
from pipeline.ocr.job import (PDF_PAGES, TEXT_DOCS, OcrTask, SampleWriter, _file_id,  # noqa: E402
                              render_document, render_task)
from pipeline.ocr.verify import verify  # noqa: E402
from pipeline.stats import RunStats, StageStats  # noqa: E402
from schemas import Document  # noqa: E402


def _bench_module(name: str):
    """A sibling bench script as a module (bench/ is not a package, nor on the path)."""
    spec = importlib.util.spec_from_file_location(f"bench_{name}", BENCH / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# -- inputs (not timed) ----------------------------------------------------------------------


def load_text_documents(data: Path, cfg: Config, count: int) -> tuple[list[Document], dict[str, int]]:
    docs, _ = _bench_module("filters").load_documents(data, cfg)
    chosen = []
    for doc in docs:
        doc.language, doc.language_score = detect_language(doc.text.replace("\n", " "))
        if doc.language in cfg.ocr.languages and any(n.text.strip() for n in doc.text_nodes):
            chosen.append(doc)
    if not chosen:
        sys.exit(f"no English or Chinese documents under {data}")
    # Languages alternate (the data holds far more English pages than Chinese ones).
    pools: dict[str, list[Document]] = defaultdict(list)
    for doc in chosen:
        pools[doc.language].append(doc)
    order = sorted(pools)
    out = []
    for i in range(count):
        pool = pools[order[i % len(order)]]
        doc = pool[(i // len(order)) % len(pool)]
        out.append(replace(doc, doc_id=f"{doc.doc_id}-{i}"))
    languages: dict[str, int] = defaultdict(int)
    for doc in out:
        languages[doc.language] += 1
    return out, dict(languages)


def pdf_files(data: Path, work: Path) -> list[str]:
    """The PDFs of data/pdf, plus the PDF responses of the aut WARC written out as files."""
    from warcio.archiveiterator import ArchiveIterator

    paths = [str(p) for p in sorted((data / "pdf").glob("*.pdf"))]
    warc = data / "warc/pdf/aut_example.pdf.warc.gz"
    if warc.exists():
        with warc.open("rb") as fh:
            for i, record in enumerate(ArchiveIterator(fh)):
                kind = record.http_headers.get_header("Content-Type", "") if record.http_headers else ""
                if record.rec_type == "response" and kind.startswith("application/pdf"):
                    target = work / f"warc-{i}.pdf"
                    target.write_bytes(record.content_stream().read())
                    paths.append(str(target))
    return paths


# -- the timed sides ---------------------------------------------------------------------------


def clock() -> tuple[float, float]:
    return time.process_time(), time.perf_counter()


def elapsed(start: tuple[float, float]) -> tuple[float, float]:
    cpu, wall = clock()
    return cpu - start[0], wall - start[1]


def ours_text(docs: list[Document], cfg: Config, out_dir: Path) -> tuple[float, float, int]:
    shutil.rmtree(out_dir, ignore_errors=True)
    task = OcrTask(0, "text", ())
    start = clock()
    writer = SampleWriter(task, cfg, str(out_dir))
    stats = StageStats(TEXT_DOCS)
    for doc in docs:
        render_document(doc, writer, stats)
    run = RunStats()
    run.add(stats)
    writer.close(task, run)
    cpu, wall = elapsed(start)
    return cpu, wall, writer.stats.n_out


def ours_pdf(paths: list[str], cfg: Config, out_dir: Path) -> tuple[float, float, int]:
    shutil.rmtree(out_dir, ignore_errors=True)
    start = clock()
    result = render_task(OcrTask(0, "files", tuple(paths)), cfg, str(out_dir))
    cpu, wall = elapsed(start)
    return cpu, wall, result["stats"][PDF_PAGES]["out"]


def written_samples(out_dir: Path) -> list[dict[str, Any]]:
    """Every sample ours wrote: its json, plus the image bytes (for verification)."""
    samples = []
    for shard in sorted(out_dir.rglob("*.tar")):
        with tarfile.open(shard) as tar:
            members: dict[str, dict[str, bytes]] = defaultdict(dict)
            for m in tar:
                key, ext = m.name.split(".", 1)
                members[key][ext] = tar.extractfile(m).read()
        for files in members.values():
            meta = json.loads(files["json"])
            meta["_image"] = files.get("jpg") or files.get("png")
            samples.append(meta)
    return samples


def bare_text(specs: list[dict[str, Any]], out_dir: Path) -> tuple[float, float, int]:
    """Pillow draws each page's lines at their boxes in the same font, size and colours."""
    shutil.rmtree(out_dir, ignore_errors=True)
    out_dir.mkdir(parents=True)
    fonts: dict[tuple[str, int, int], ImageFont.FreeTypeFont] = {}
    start = clock()
    for i, s in enumerate(specs):
        key = (s["font"]["path"], s["font"]["index"], s["font"]["size"])
        if key not in fonts:
            fonts[key] = ImageFont.truetype(key[0], key[2], index=key[1])
        image = Image.new("RGB", (s["width"], s["height"]), tuple(s["colours"]["background"]))
        draw = ImageDraw.Draw(image)
        fill = tuple(s["colours"]["text"])
        for line in s["lines"]:
            x0 = min(p[0] for p in line["box"])
            y0 = min(p[1] for p in line["box"])
            draw.text((x0, y0), line["text"], font=fonts[key], fill=fill)
        image.save(out_dir / f"{i:06d}.jpg", format="JPEG", quality=92)
    cpu, wall = elapsed(start)
    return cpu, wall, len(specs)


def bare_pdf(pages: list[tuple[str, int]], dpi: int, out_dir: Path) -> tuple[float, float, int]:
    shutil.rmtree(out_dir, ignore_errors=True)
    out_dir.mkdir(parents=True)
    by_file: dict[str, list[int]] = defaultdict(list)
    for path, index in pages:
        by_file[path].append(index)
    start = clock()
    n = 0
    for path, indices in by_file.items():
        doc = pdfium.PdfDocument(path)
        for index in indices:
            page = doc[index]
            page.render(scale=dpi / 72).to_pil().save(out_dir / f"{n:06d}.jpg", format="JPEG", quality=92)
            page.close()
            n += 1
        doc.close()
    cpu, wall = elapsed(start)
    return cpu, wall, n


def fastest(rounds: int, sides: list[tuple[str, Callable[[], tuple[float, float, int]]]]) -> dict[str, tuple]:
    best: dict[str, tuple[float, float, int]] = {}
    for r in range(rounds):
        for name, run in sides:
            cpu, wall, n = run()
            print(f"  round {r + 1} {name:<5} {n:5d} pages  {cpu:7.2f} CPU s  {wall:7.2f} wall s  "
                  f"{n / cpu:7.1f} pages/CPU s", flush=True)
            if name not in best or cpu < best[name][0]:
                best[name] = (cpu, wall, n)
    return best


def report(what: str, best: dict[str, tuple], goal: float) -> None:
    (o_cpu, o_wall, o_n), (b_cpu, b_wall, b_n) = best["ours"], best["bare"]
    ours, bare = o_n / o_cpu, b_n / b_cpu
    print(f"{what}: ours {ours:.1f} pages/s per core ({o_n} pages, {o_cpu:.2f} CPU s, {o_wall:.2f} wall s), "
          f"bare {bare:.1f} pages/s per core ({b_n} pages, {b_cpu:.2f} CPU s, {b_wall:.2f} wall s); ours/bare = {ours / bare:.2f}; "
          f"goal >= {goal:.0f}: {'met' if ours >= goal else 'NOT met'}")


def verification(samples: list[dict[str, Any]], cfg: Config, per_group: int) -> None:
    groups: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for s in samples:
        group = f"{s['source']['type']}:{s['language']}"
        if len(groups[group]) < per_group:
            groups[group].append(s)
    print(f"\nverification (rapidocr, {cfg.ocr.verify.threads} onnxruntime thread), up to {per_group} samples per group:")
    for group, chosen in sorted(groups.items()):
        errors = chars = 0
        start = clock()
        for s in chosen:
            with Image.open(io.BytesIO(s["_image"])) as image:
                result = verify(image, s["lines"], s["source"]["type"] == "text", cfg.ocr.verify.threads)
            errors, chars = errors + result.errors, chars + result.chars
        cpu, wall = elapsed(start)
        print(f"  {group:<10} {len(chosen):3d} samples  {len(chosen) / cpu:6.2f} samples/CPU s  "
              f"({wall / len(chosen) * 1000:6.0f} ms wall each)  CER {errors / max(chars, 1):.2%} "
              f"({errors} errors / {chars} chars)")


def profile(run: Callable[[], object], what: str, top: int) -> None:
    print_profile = _bench_module("filters").print_profile
    print_profile(run, what, top)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, default=BENCH.parent.parent / "shared" / "data")
    parser.add_argument("--docs", type=int, default=150, help="text documents (cycled), one sample each")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--cpu", type=int, default=0, help="the core both sides are pinned to")
    parser.add_argument("--dpi", type=int, default=150)
    parser.add_argument("--verify", type=int, default=20, help="samples verified per group (0: skip)")
    parser.add_argument("--profile", type=int, nargs="?", const=15, default=0,
                        help="also cProfile one more pass of ours (text, PDF) and print the top N")
    args = parser.parse_args()
    if not args.data.exists():
        sys.exit(f"{args.data} not found: this benchmark reads the shared sample data (see its README)")
    os.sched_setaffinity(0, {args.cpu})
    import cv2

    cv2.setNumThreads(1)

    cfg = load_config(None, ["ocr.doc_rate=1", "ocr.verify.fraction=0", f"ocr.pdf.dpi={args.dpi}",
                             "run.progress=false"])
    work = Path(tempfile.mkdtemp(prefix="bench-ocr-"))
    try:
        docs, languages = load_text_documents(args.data, cfg, args.docs)
        pdfs = pdf_files(args.data, work)
        print(f"inputs: {len(docs)} text documents {languages}, {len(pdfs)} PDF files; pinned to CPU {args.cpu}; "
              f"ocr.render defaults, JPEG q{cfg.ocr.jpeg_quality}, PDFs at {args.dpi} dpi, "
              f"max {cfg.ocr.pdf.max_pages} pages per PDF")

        ours_text(docs[:5], cfg, work / "warm")  # fonts found, glyph caches, lid model loaded
        specs = written_samples(work / "warm")
        bare_text(specs, work / "warm-bare")
        ours_text(docs, cfg, work / "ours-text")
        text_samples = written_samples(work / "ours-text")
        print("\ntext pages (render + augment + encode + write):")
        report("text pages", fastest(args.rounds, [
            ("ours", lambda: ours_text(docs, cfg, work / "ours-text")),
            ("bare", lambda: bare_text(text_samples, work / "bare-text"))]), 50)
        layouts: dict[str, int] = defaultdict(int)
        for s in text_samples:
            layouts[f"{s['language']}:{s['layout']}"] += 1
        lines = sum(len(s["lines"]) for s in text_samples)
        chars = sum(len(line["text"]) for s in text_samples for line in s["lines"])
        print(f"  samples by language:layout {dict(sorted(layouts.items()))}; {lines} lines, {chars} chars")

        ours_pdf(pdfs[:1], cfg, work / "warm-pdf")
        ours_pdf(pdfs, cfg, work / "ours-pdf")
        pdf_samples = written_samples(work / "ours-pdf")
        by_id = {_file_id(Path(path).read_bytes()): path for path in pdfs}
        pages = sorted((by_id[s["source"]["doc_id"]], s["source"]["page"]) for s in pdf_samples)
        print(f"\nPDF pages at {args.dpi} dpi (open + text layer + lines + render + encode + write):")
        report("PDF pages", fastest(args.rounds, [
            ("ours", lambda: ours_pdf(pdfs, cfg, work / "ours-pdf")),
            ("bare", lambda: bare_pdf(pages, args.dpi, work / "bare-pdf"))]), 80)

        if args.verify:
            verification(text_samples + pdf_samples, cfg, args.verify)
        if args.profile:
            profile(lambda: ours_text(docs, cfg, work / "prof-text"), "text pages", args.profile)
            profile(lambda: ours_pdf(pdfs, cfg, work / "prof-pdf"), "PDF pages", args.profile)
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
