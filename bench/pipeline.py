"""Benchmark: cost per WARC. The text chain, then the whole pipeline, on one multi-thousand-page
WARC, beside the same text chain built from trafilatura and from resiliparse.

The WARC is packed from the real HTML pages of ../shared/data (trafilatura and goose3 test
pages, HTML responses of the shared WARCs; bench/extract.py's packing), repeated to
``--records`` responses. Everything runs in one process pinned to one core
(``os.sched_setaffinity``), timed in CPU seconds of that process (``time.process_time``):

  text chain, ours         read (FastWARC) → HTTP decode, charset, HTML → interleaved nodes
                           (images kept in place) → lid.176 language id → every text filter
                           (quality, repetition, C4, word lists) → MinHash signature (112 perms)
  text chain, trafilatura  same reader → trafilatura.extract → lid.176 (the same wrapper) →
                           datasketch MinHash (128 perms): text only, no quality filters
  text chain, resiliparse  same, with resiliparse extract_plain_text(main_content=True)
  full pipeline            `interleaf run --engine local` (extract, images from the WARC, dedup
                           on Spark local[1], shards), CPU of the process and its JVM, on N
                           and on 2N pages: the difference gives the marginal cost per page
                           without Spark's fixed start-up

Reported: documents/s per core and CPU-minutes per Common Crawl-sized WARC (56.6k pages,
1.05 GB): CPU seconds per page x 56,600 / 60; and by size, CPU seconds per compressed response
byte x the ~1.0 GB of responses in such a WARC / 60 (CPU grows with page size).

    python bench/pipeline.py [--records 5000] [--data ../shared/data] [--skip-full] [--profile 25]
"""

from __future__ import annotations

import argparse
import cProfile
import json
import os
import pstats
import subprocess
import sys
import tempfile
import time
from pathlib import Path

# This file is named for what it measures, which shadows the pipeline package when Python
# puts bench/ first on sys.path: import from the repository root instead.
_BENCH = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _BENCH]
sys.path.insert(0, str(_BENCH.parent))

from bench.extract import html_files, warc_html_responses, write_warc  # noqa: E402

CC_PAGES = 56_600  # responses in a Common Crawl WARC of about 1.05 GB
CC_BYTES = 1.05e9
# Each response comes with a request and a metadata record: 448 + 442 bytes gz on average in the
# head of a real CC-MAIN-2020-34 WARC (../shared/data/warc/cc-main). What is left is the
# responses' share, ~17.7 KB gz each; the bench WARC holds responses only.
CC_OTHER_BYTES_PER_PAGE = 890
CC_RESPONSE_BYTES = CC_BYTES - CC_PAGES * CC_OTHER_BYTES_PER_PAGE
DEFAULT_DATA = Path(__file__).resolve().parents[1] / ".." / "shared" / "data"


def cpu_minutes_per_warc(cpu_seconds: float, pages: int) -> float:
    return cpu_seconds / pages * CC_PAGES / 60


def ours_chain(path: Path) -> tuple[int, int]:
    """(records read, documents signed): the extract task's own code, then signatures."""
    from pipeline.config import Config
    from pipeline.dedup.minhash import MinHasher
    from pipeline.pages import document_stages, extract_records
    from pipeline.stage import chain
    from pipeline.stats import StageStats
    from pipeline.warc.records import read_records

    config = Config()
    config.extract.archived_images = False
    stats = StageStats("extract")
    hasher = MinHasher(num_perm=config.dedup.bands * config.dedup.rows, seed=config.dedup.seed)
    signed = 0
    for doc in chain(document_stages(config), extract_records(read_records(str(path)), config.extract, stats, None)):
        hasher.text_signature(doc.text, doc.language, config.dedup.ngram)
        signed += 1
    return stats.n_in, signed


def peer_chain(path: Path, extract) -> tuple[int, int]:
    """Same reader and language model; the peer's extractor; datasketch MinHash."""
    from datasketch import MinHash

    from pipeline.extract.charset import decode_html
    from pipeline.langid import detect_language
    from pipeline.warc.records import read_records

    read = signed = 0
    for record in read_records(str(path)):
        read += 1
        if record.record_type != "response" or "html" not in (record.mime or ""):
            continue
        html, _ = decode_html(record.payload, record.charset)
        text = extract(html, record.target_uri) or ""
        if not text.strip():
            continue
        detect_language(text)
        words = text.lower().split()
        m = MinHash(num_perm=128, seed=1)
        m.update_batch([" ".join(words[i:i + 5]).encode() for i in range(max(1, len(words) - 4))])
        signed += 1
    return read, signed


def timed(name: str, fn, path: Path, pages: int, profile: int = 0) -> float:
    prof = cProfile.Profile() if profile else None
    start_cpu, start = time.process_time(), time.perf_counter()
    if prof:
        prof.enable()
    read, docs = fn(path)
    if prof:
        prof.disable()
    cpu, wall = time.process_time() - start_cpu, time.perf_counter() - start
    rate = pages / cpu
    print(f"  {name:<24} {rate:8.1f} pages/s per core  {cpu:7.2f} CPU s  ({wall:.2f} s wall, {read} records, "
          f"{docs} documents)  → {cpu_minutes_per_warc(cpu, pages):5.2f} CPU-min per CC WARC")
    if prof:
        pstats.Stats(prof).sort_stats("cumulative").print_stats(profile)
    return rate


def tree_cpu_seconds(proc: subprocess.Popen) -> float:
    """CPU seconds of a child and every descendant (its Spark JVM included), sampled until it
    exits: getrusage only counts descendants that were waited for, and the JVM is not."""
    import psutil

    seen: dict[int, float] = {}
    root = psutil.Process(proc.pid)
    while proc.poll() is None:
        try:
            for p in [root, *root.children(recursive=True)]:
                t = p.cpu_times()
                seen[p.pid] = t.user + t.system + t.children_user + t.children_system
        except psutil.NoSuchProcess:
            pass
        time.sleep(0.2)
    return sum(seen.values())


def full_pipeline(path: Path, pages: int, workdir: Path) -> float:
    """``interleaf run --engine local`` in a child pinned to one core; CPU of it and its JVM."""
    start = time.perf_counter()
    proc = subprocess.Popen(
        ["taskset", "-c", str(min(os.sched_getaffinity(0))), sys.executable, "-m", "pipeline.cli", "run",
         "--input", str(path), "--output", str(workdir / "out"), "--engine", "local", "--no-progress",
         "--conf", "spark.master=local[1]", "--set", "images.download=false", "--set", "ocr.enabled=false"],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, cwd=Path(__file__).resolve().parents[1])
    cpu = tree_cpu_seconds(proc)  # the last sample before exit: the final < 0.2 s are not counted
    stderr = proc.stderr.read()
    wall = time.perf_counter() - start
    if proc.wait() != 0:
        raise SystemExit(f"interleaf run failed:\n{stderr[-3000:]}")
    stages = json.loads((workdir / "out" / "run_manifest.json").read_text())["stages"]
    # Kept documents are few: the pages' images are not in this WARC and downloads are off, so
    # the interleaved-set rule (at least one image) drops most of them at write time.
    print(f"  {'full pipeline (run)':<24} {pages / cpu:8.1f} pages/s per core  {cpu:7.2f} CPU s  ({wall:.2f} s wall; "
          f"docs kept {stages['write_interleaved']['out']})  → {cpu_minutes_per_warc(cpu, pages):5.2f} "
          f"CPU-min per CC WARC")
    return pages / cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--records", type=int, default=5000, help="HTML responses in the WARC")
    parser.add_argument("--skip-full", action="store_true", help="only the text chains")
    parser.add_argument("--profile", type=int, default=0, metavar="N", help="print the top N functions of ours")
    args = parser.parse_args()
    if not (args.data / "html").is_dir():
        raise SystemExit(f"needs the shared sample data at {args.data} (real HTML pages)")
    os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})  # one core: rates are per core

    import trafilatura
    from resiliparse.extract.html2text import extract_plain_text

    import filters.text
    import pipeline.dedup.minhash
    import pipeline.extract.html
    from pipeline.langid import detect_language, predictor

    detect_language("load lid.176 before timing, as a worker does once")
    # The figures depend on setup.py's C extensions: say which ones this run has.
    walk = "native" if pipeline.extract.html.NATIVE_WALK else "compiled" if pipeline.extract.html.COMPILED else "Python"
    print(f"C extensions: HTML walk {walk}, text filters "
          f"{'compiled' if filters.text.COMPILED else 'Python'}, language id "
          f"{'native' if predictor().__name__ == 'fast' else 'fastText binding'}, MinHash minima "
          f"{'C' if pipeline.dedup.minhash.min_products is not None else 'numpy'}")
    pages = list(html_files(args.data)) + list(warc_html_responses(args.data))
    with tempfile.TemporaryDirectory() as tmp:
        warc = Path(tmp) / "bench.warc.gz"
        count = write_warc(pages, args.records, warc)
        print(f"{len(pages)} distinct real pages → {count} responses, {warc.stat().st_size / 1e6:.1f} MB gz; "
              f"one core, CPU time")
        ours = timed("text chain, ours", ours_chain, warc, count, args.profile)
        traf = timed("text chain, trafilatura", lambda p: peer_chain(p, lambda h, u: trafilatura.extract(h, url=u)),
                     warc, count)
        resi = timed("text chain, resiliparse",
                     lambda p: peer_chain(p, lambda h, u: extract_plain_text(h, main_content=True)), warc, count)
        print(f"ours / trafilatura: {ours / traf:.2f}x   ours / resiliparse: {ours / resi:.2f}x   "
              f"(goal: ≤ 3 CPU-min per CC WARC = ≥ {CC_PAGES / 180:.0f} pages/s per core)")
        # CPU grows with page size, and a CC WARC's responses are larger than these pages: the
        # same chains by compressed response bytes.
        size = warc.stat().st_size
        print(f"by size: {size / count / 1e3:.1f} KB gz per response here, {CC_RESPONSE_BYTES / CC_PAGES / 1e3:.1f} KB "
              f"in a CC WARC; at each chain's CPU per byte a CC WARC's {CC_RESPONSE_BYTES / 1e9:.2f} GB of responses take")
        for name, rate in (("ours", ours), ("trafilatura", traf), ("resiliparse", resi)):
            print(f"  {name:<12} {count / rate / size * CC_RESPONSE_BYTES / 60:5.2f} CPU-min")
        if not args.skip_full:
            # Twice, on N and 2N pages: the difference is the cost per page without Spark's
            # fixed start-up (JVM, session, first tasks), which a real 56.6k-page WARC amortises.
            cpu_n = count / full_pipeline(warc, count, Path(tmp) / "n")
            warc2 = Path(tmp) / "bench2.warc.gz"
            count2 = write_warc(pages, 2 * args.records, warc2)
            cpu_2n = count2 / full_pipeline(warc2, count2, Path(tmp) / "2n")
            marginal = (cpu_2n - cpu_n) / (count2 - count)
            print(f"  {'full pipeline, marginal':<24} {1 / marginal:8.1f} pages/s per core  (CPU of the {count2 - count} "
                  f"extra pages; fixed start-up {cpu_n - marginal * count:.1f} CPU s)  → "
                  f"{marginal * CC_PAGES / 60:5.2f} CPU-min per CC WARC")


if __name__ == "__main__":
    main()
