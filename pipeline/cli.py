"""The ``interleaf`` command line.

    interleaf run --input WARCS... --output DIR        extract → shards (Spark local[*] default)
    interleaf extract --input WARCS... --output DIR    only pages/
    interleaf fetch-images --output DIR                only images/ from a finished pages/
    interleaf dedup --output DIR                       only dedup/ (find step) from pages/ (+ images/)
    interleaf dedup-report --output DIR [--limit N]    removed documents beside their kept twin
    interleaf score-clip --output DIR                  only scores/ (open_clip) from pages/ (+ images/, dedup/)
    interleaf write-shards --output DIR                only shards/ from finished pages/ (+ images/)
    interleaf write-pairs --output DIR                 only shards/pairs/ from scores/ (+ images/)
    interleaf extract-html PATH [--url URL]            one HTML file → Document JSON, signals, verdict
    interleaf exclusions --output DIR [--reason R]     dropped documents and why, counts by reason
    interleaf train-quality --good F --bad F -o MODEL  a fastText quality classifier (filters.classifiers)
    interleaf show-config [--config F] [--set a.b=c]   the resolved config as YAML
    interleaf demo [--output DIR]                      build a sample WARC and run on it
    interleaf index --output DIR --checkpoint F --model M   embed shards → DIR/index/ (search index)
    interleaf serve --checkpoint F --model M [--index D]    HTTP API: embed, score, caption, search
    interleaf export --output DIR --to URL [--format F]       selected shards → URL, manifest, card, verified
    interleaf train --output DIR [--preset tiny|base|large]  open_clip_train on shards/pairs/ → DIR/train/NAME/
    interleaf package --dist DIR                       interleaf.zip (--py-files), jobs/, conf template, manifest
    interleaf report --output DIR                      DIR/report/index.html + stats.json: funnel, distributions
    interleaf view SHARDS [--port 0] [--host H]        browse shards (documents, images, exclusions) on 127.0.0.1

Options common to jobs: --config FILE, --set a.b=c (repeatable), --master URL,
--conf key=value (Spark conf, repeatable), --engine spark|local, --force.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path
from typing import Any, Callable

from pipeline.config import Config, ConfigError, load_config
from pipeline.outputs import OutputExistsError
from pipeline.summary import print_summary, write_run_manifest


def _add_job_options(p: argparse.ArgumentParser, needs_input: bool) -> None:
    if needs_input:
        p.add_argument("--input", "-i", action="append", default=[], metavar="SPEC",
                       help="WARC file, glob, folder, .txt list, warc.paths.gz, http(s)/s3 URL "
                            "(repeatable)")
        p.add_argument("--base-url", help="prefix for paths in a warc.paths.gz listing")
        p.add_argument("--limit", type=int, help="only the first N WARCs of the sorted input")
    p.add_argument("--output", "-o", help="output root (pages/, shards/ ...)")
    p.add_argument("--config", "-c", help="YAML config file")
    p.add_argument("--set", action="append", default=[], dest="overrides", metavar="KEY=VALUE",
                   help="override a config value, e.g. --set shards.max_samples=500")
    p.add_argument("--master", help="Spark master (default local[*], or spark-submit's)")
    p.add_argument("--conf", action="append", default=[], metavar="KEY=VALUE", help="Spark conf")
    p.add_argument("--engine", choices=["spark", "local"], help="spark (default) or a local loop")
    p.add_argument("--force", action="store_true", help="redo finished stages")
    p.add_argument("--retry-failed", action="store_true",
                   help="fetch again images that failed permanently (404, opted out...) before")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")


def config_from_args(args: argparse.Namespace) -> Config:
    overrides = list(args.overrides)
    inputs = getattr(args, "input", None)
    if inputs:
        overrides.append("input.paths=" + json.dumps(inputs))
    if getattr(args, "base_url", None):
        overrides.append(f"input.base_url={json.dumps(args.base_url)}")
    if getattr(args, "limit", None) is not None:
        overrides.append(f"input.limit={args.limit}")
    if args.output:
        overrides.append(f"run.output={json.dumps(args.output)}")
    if args.master:
        overrides.append(f"spark.master={json.dumps(args.master)}")
    for kv in args.conf:
        key, sep, value = kv.partition("=")
        if not sep:
            raise ConfigError(f"--conf expects key=value, got {kv!r}")
        overrides.append(f"spark.conf.{key}={json.dumps(value)}")
    if args.engine:
        overrides.append(f"run.engine={args.engine}")
    if args.force:
        overrides.append("run.force=true")
    if getattr(args, "pdf_dir", None):
        overrides.append("ocr.pdf.dirs=" + json.dumps(args.pdf_dir))
    if getattr(args, "retry_failed", False):
        overrides.append("run.retry_failed=true")
    if args.no_progress:
        overrides.append("run.progress=false")
    return load_config(args.config, overrides)


def _run_job(job: str, config: Config) -> dict[str, Any]:
    from pipeline import run

    if job == "extract":
        return {"extract": run.run_extract(config), "output": config.run.output}
    if job == "image-ocr":
        return {"image_ocr": run.run_image_ocr(config), "output": config.run.output}
    if job == "dedup":
        return {"dedup": run.run_dedup(config), "output": config.run.output}
    if job == "fetch-images":
        return {"images": run.run_fetch_images(config), "output": config.run.output}
    if job == "score-clip":
        return {"scores": run.run_score_clip(config), "output": config.run.output}
    if job == "write-pairs":
        return {"pairs": run.run_write_pairs(config), "output": config.run.output}
    if job == "write-shards":
        return {"shards": run.run_write_shards(config), "output": config.run.output}
    if job == "render-ocr":
        return {"ocr": run.run_render_ocr(config), "output": config.run.output}
    return run.run_all(config)


def cmd_job(job: str) -> Callable[[argparse.Namespace], int]:
    def handler(args: argparse.Namespace) -> int:
        config = config_from_args(args)
        if job in ("run", "extract") and not config.input.paths:
            raise ConfigError("no input: give --input (or input.paths in the config file)")
        result = _run_job(job, config)
        write_run_manifest(config)
        print_summary(result)
        return 0

    return handler


def cmd_extract_html(args: argparse.Namespace) -> int:
    from filters.chain import FilterChain
    from pipeline.extract.charset import decode_html
    from pipeline.extract.html import extract_document
    from pipeline.langid import detect_language
    from schemas import Document, document_id
    from schemas.samples import interleaved_json

    path = Path(args.path)
    url = args.url or path.resolve().as_uri()
    html, charset = decode_html(path.read_bytes(), args.charset)
    extracted = extract_document(html, url)
    doc = Document(doc_id=document_id(url, str(path)), url=url, nodes=list(extracted.nodes),
                   title=extracted.title, date=extracted.date, charset=charset, content_type="text/html")
    doc.renumber()
    doc.language, doc.language_score = detect_language(doc.text)
    config = load_config(args.config, args.overrides)
    chain = FilterChain(config.filters)
    chain.setup()
    chain.tag(doc)
    sample = interleaved_json(doc, {})  # as tagged, before selection removes paragraphs
    selection = chain.select(doc, config.select)
    sample["selection"] = {
        "kept": selection.kept,
        "verdict": None if selection.kept else {**vars(selection.verdict), "reason": selection.verdict.reason},
        "removed_paragraphs": {str(i): v.reason for i, v in sorted(selection.removed.items())},
    }
    print(json.dumps(sample, ensure_ascii=False, indent=2))
    return 0


def cmd_exclusions(args: argparse.Namespace) -> int:
    import pyarrow.dataset as ds

    files = sorted(Path(args.output).glob("pages/excluded/*.parquet")) + \
        sorted(Path(args.output).glob("shards/*/excluded/*.parquet"))
    if not files:
        print(f"no exclusions under {args.output}")
        return 0
    rows = ds.dataset([str(f) for f in files], format="parquet").to_table().to_pylist()
    if args.reason:
        rows = [r for r in rows if r["reason"] == args.reason or r["reason"].startswith(args.reason + ":")]
    counts: dict[str, int] = {}
    for r in rows:
        counts[r["reason"]] = counts.get(r["reason"], 0) + 1
    for reason, n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])):
        print(f"{n:8d}  {reason}")
    for r in rows[: args.limit or None]:
        detail = f"{r['signal']}={r['value']} (threshold {r['threshold']})" if r["signal"] else ""
        print(f"{r['stage']:8s} {r['reason']:40s} {r['language'] or '-':3s} {r['url']}  {detail}")
    return 0


def cmd_train_quality(args: argparse.Namespace) -> int:
    from filters.quality_model import train_quality_model

    metrics = train_quality_model(args.good, args.bad, args.output, epoch=args.epoch, lr=args.lr,
                                  word_ngrams=args.word_ngrams, dim=args.dim, seed=args.seed,
                                  threads=args.threads, bucket=args.bucket, max_chars=args.max_chars,
                                  validation_fraction=args.validation_fraction, examples=args.examples)
    print(json.dumps(metrics, indent=2, sort_keys=True))
    print(f"use it with: --set filters.classifiers.quality={args.output} --set select.classifier_min.quality=0.5")
    return 0


def cmd_dedup_report(args: argparse.Namespace) -> int:
    from pipeline.dedup.report import dedup_report

    for line in dedup_report(Path(args.output), args.limit):
        print(line)
    return 0


def cmd_show_config(args: argparse.Namespace) -> int:
    """Print the resolved config tree as YAML: a starting point for a config file."""
    import yaml

    config = load_config(args.config, args.overrides)
    print(yaml.safe_dump(config.to_dict(), sort_keys=False, allow_unicode=True), end="")
    print(f"# config hash (data sections): {config.hash()}")
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    from pipeline.demo import build_demo_warc

    output = Path(args.output or "interleaf-demo")
    warc = build_demo_warc(output / "input" / "demo.warc.gz")
    args.input = [str(warc)]
    args.base_url = args.limit = None
    args.output = str(output / "out")
    args.pdf_dir = []
    # Three pages only: render every one as OCR samples rather than the default sample rate.
    args.overrides = ["ocr.doc_rate=1", *args.overrides]
    return cmd_job("run")(args)


def _add_model_options(p: argparse.ArgumentParser) -> None:
    """The model behind interleaf index / serve (pipeline/serve/loading.py)."""
    p.add_argument("--checkpoint", help="open_clip(_train) checkpoint file (.pt)")
    p.add_argument("--model", required=True, help="open_clip model name, e.g. interleaf-coca-tiny, ViT-B-32")
    p.add_argument("--model-config", help="JSON config file of a model open_clip does not know")
    p.add_argument("--random-weights", action="store_true",
                   help="no checkpoint: seeded random weights (smoke tests; results are meaningless)")
    p.add_argument("--device", default="auto", help="auto (GPU when present), cpu, cuda, cuda:N")


def _model_source(args: argparse.Namespace) -> Any:
    from pipeline.serve.loading import ModelSource

    return ModelSource(model=args.model, checkpoint=args.checkpoint, model_config=args.model_config,
                       random_weights=args.random_weights, device=args.device)


def cmd_index(args: argparse.Namespace) -> int:
    from pipeline.serve.index import IndexRequest, build_index

    manifest = build_index(IndexRequest(output=args.output, source=args.source, batch_size=args.batch_size,
                                        force=args.force), _model_source(args))
    print(json.dumps(manifest, indent=2, sort_keys=True))
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    from pipeline.serve.app import ServeSettings
    from pipeline.serve.server import ServeOptions, serve

    settings = ServeSettings(max_image_bytes=args.max_image_bytes, max_files=args.max_files,
                             max_batch=args.max_batch, batch_wait_ms=args.batch_wait_ms,
                             caption_batch=args.caption_batch)
    serve(ServeOptions(model=_model_source(args), settings=settings, index=args.index, host=args.host,
                       port=args.port))
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    from pipeline.export import ExportOptions, Selection, VerificationError, run_export, verify_export

    try:
        if args.verify:
            report = verify_export(args.verify)
            print(f"export {args.verify}: ok, {report['files']} files, {report['samples']} samples verified")
            return 0
        if not (args.output and args.to):
            print("interleaf: export needs --output and --to (or --verify URL)", file=sys.stderr)
            return 2
        selection = Selection(
            languages=tuple(x for x in (args.languages or "").split(",") if x), min_clip_score=args.min_clip_score,
            min_image_side=args.min_image_side, min_images=args.min_images, max_images=args.max_images,
            min_words=args.min_words, max_words=args.max_words, sample_rate=args.sample_rate, seed=args.seed,
            max_samples=args.max_samples)
        manifest = run_export(ExportOptions(output=args.output, dest=args.to, fmt=args.format, source=args.source,
                                            selection=selection, samples_per_file=args.samples_per_file,
                                            name=args.name, force=args.force))
    except VerificationError as e:
        print(f"interleaf: export verification failed: {e}", file=sys.stderr)
        return 1
    except (ValueError, FileNotFoundError, OutputExistsError) as e:
        print(f"interleaf: export: {e}", file=sys.stderr)
        return 2
    c = manifest["counts"]
    state = "already finished" if manifest.get("skipped") else "written and verified"
    print(f"export {args.to}: {state}; {c['out']} of {c['in']} samples in {len(manifest['files'])} files "
          f"({manifest['format']}), dropped {c['dropped'] or 'none'}")
    return 0


def cmd_train(args: argparse.Namespace) -> int:
    from pipeline.train import TrainError, TrainOptions, train

    # Training takes minutes to days: show the trainer's progress without -v.
    logging.getLogger("pipeline.train").setLevel(logging.INFO)
    options = TrainOptions(
        output=args.output, train_data=args.train_data, preset=args.preset, model=args.model,
        model_config=args.model_config, name=args.name, epochs=args.epochs, batch_size=args.batch_size, lr=args.lr,
        wd=args.wd, warmup=args.warmup, precision=args.precision, workers=args.workers, device=args.device,
        seed=args.seed, save_frequency=args.save_frequency, keep_checkpoints=args.keep_checkpoints,
        log_every_n_steps=args.log_every_n_steps,
        coca_contrastive_loss_weight=args.coca_contrastive_loss_weight,
        coca_caption_loss_weight=args.coca_caption_loss_weight, samples_per_epoch=args.samples_per_epoch,
        gpus=args.gpus, resume=args.resume, force=args.force, extra_args=tuple(args.extra))
    try:
        manifest = train(options)
    except TrainError as e:
        print(f"interleaf: train failed: {e}", file=sys.stderr)
        return 1
    state = "already finished (--force to retrain)" if manifest.get("skipped") else "finished"
    print(f"train {manifest['name']}: {state}; {manifest['steps']} steps, loss {manifest['loss']['first']:.4f} → "
          f"{manifest['loss']['last']:.4f}, {manifest['wall_seconds']:.0f} s")
    print(f"checkpoint: {manifest['checkpoint']}")
    print("score with: --set clip.enabled=true " + " ".join(f"--set {k}={v}" for k, v in manifest["load"].items()))
    return 0


def cmd_package(args: argparse.Namespace) -> int:
    from pipeline.package import ZIP_NAME, build_package

    manifest = build_package(args.dist)
    dist = Path(args.dist)
    print(f"package {dist}: {ZIP_NAME} ({len(manifest['zip_entries'])} files, version {manifest['version']}), "
          f"{len(manifest['jobs'])} job scripts in jobs/, spark-defaults.conf.template, manifest.json")
    print(f"spark-submit --py-files {dist / ZIP_NAME} {dist / 'jobs' / 'run_pipeline.py'} --input ... --output ...")
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    from pipeline.report import write_report

    dest = Path(args.dest) if args.dest else Path(args.output) / "report"
    stats = write_report(args.output, dest)
    missing = [k for k, v in stats.items() if isinstance(v, dict) and not v.get("available")]
    print(f"report: {dest / 'index.html'} and {dest / 'stats.json'}"
          + (f" (not run: {', '.join(missing)})" if missing else ""))
    return 0


def cmd_view(args: argparse.Namespace) -> int:
    from pipeline.view import make_server, server_url

    server = make_server(args.shards, host=args.host, port=args.port)
    index = server.RequestHandlerClass.index
    print(f"view {index.root}: {len(index.samples)} documents, {len(index.members)} shards at {server_url(server)}/ "
          "(Ctrl-C to stop)", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="interleaf", description=__doc__.split("\n")[0])
    parser.add_argument("-v", "--verbose", action="store_true", help="log at INFO level")
    sub = parser.add_subparsers(dest="command", required=True)
    for name, help_text, needs_input in (
        ("run", "extract documents, fetch images and write shards", True),
        ("extract", "WARC → pages/ parquet", True),
        ("fetch-images", "pages/ image URLs → images/ (archived, else downloaded)", False),
        ("image-ocr", "read text in downloaded images → image_ocr/ (optional; image_ocr.enabled)", False),
        ("dedup", "find duplicates: pages/ (+ images/) → dedup/ tables", False),
        ("score-clip", "CLIP scores of every image against its candidate texts → scores/", False),
        ("write-shards", "pages/ (+ images/) → shards/interleaved/", False),
        ("write-pairs", "images + their best CLIP text → shards/pairs/ (open_clip_train-ready)", False),
        ("render-ocr", "kept text and PDF pages → shards/ocr/ (image + exact text, read back by OCR)", False),
    ):
        p = sub.add_parser(name, help=help_text)
        _add_job_options(p, needs_input)
        if name in ("run", "render-ocr"):
            p.add_argument("--pdf-dir", action="append", default=[], metavar="DIR",
                           help="a folder (or file) of PDFs to render as OCR samples; repeatable")
        p.set_defaults(func=cmd_job(name))
    p = sub.add_parser("package", help="build DIR/interleaf.zip (--py-files), DIR/jobs/, a Spark conf template "
                                       "and DIR/manifest.json for spark-submit on a cluster")
    p.add_argument("--dist", required=True, metavar="DIR", help="folder to write (files in it are replaced)")
    p.set_defaults(func=cmd_package)
    p = sub.add_parser("report", help="statistics of a finished output → OUT/report/index.html (self-contained) "
                                      "and stats.json")
    p.add_argument("--output", "-o", required=True, metavar="OUT", help="run output root")
    p.add_argument("--dest", metavar="DIR", help="where to write (default OUT/report)")
    p.set_defaults(func=cmd_report)
    p = sub.add_parser("view", help="browse interleaved shards in a browser: documents as training sees them, "
                                    "filters, excluded documents")
    p.add_argument("shards", metavar="SHARDS", help="a shards/interleaved folder (or an output root)")
    p.add_argument("--host", default="127.0.0.1", help="bind address (default loopback only)")
    p.add_argument("--port", type=int, default=0, help="port (default 0: a free one, printed)")
    p.set_defaults(func=cmd_view)
    p = sub.add_parser("extract-html", help="print the Document of one HTML file as JSON")
    p.add_argument("path")
    p.add_argument("--url", help="the page's URL (resolves relative image URLs)")
    p.add_argument("--charset", help="charset from the HTTP header, if known")
    p.add_argument("--config", "-c", help="YAML config file (filters / select sections)")
    p.add_argument("--set", action="append", default=[], dest="overrides", metavar="KEY=VALUE")
    p.set_defaults(func=cmd_extract_html)
    p = sub.add_parser("exclusions", help="documents dropped by filters and dedup, with why")
    p.add_argument("--output", "-o", required=True)
    p.add_argument("--reason", help="only this reason, or a family such as 'quality'")
    p.add_argument("--limit", type=int, default=50, help="rows to print (0: all)")
    p.set_defaults(func=cmd_exclusions)
    p = sub.add_parser("train-quality", help="train a fastText quality classifier from good / bad text files")
    p.add_argument("--good", required=True, help="text file of good examples (e.g. reference prose)")
    p.add_argument("--bad", required=True, help="text file of bad examples (e.g. random crawl text)")
    p.add_argument("--output", "-o", required=True, help="model file to write")
    p.add_argument("--epoch", type=int, default=10)
    p.add_argument("--lr", type=float, default=0.5)
    p.add_argument("--word-ngrams", type=int, default=2)
    p.add_argument("--dim", type=int, default=64)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=1, help="1 keeps training deterministic")
    p.add_argument("--bucket", type=int, default=200_000, help="hash buckets for word n-grams (model size)")
    p.add_argument("--max-chars", type=int, default=10_000, help="characters of each example used")
    p.add_argument("--validation-fraction", type=float, default=0.1, help="held out for the metrics")
    p.add_argument("--examples", choices=["line", "block"], default="line",
                   help="one example per line, or per blank-line-separated block")
    p.set_defaults(func=cmd_train_quality)
    p = sub.add_parser("dedup-report", help="list removed documents with their kept twin")
    p.add_argument("--output", "-o", required=True)
    p.add_argument("--limit", type=int, default=50, help="rows to print (0: all)")
    p.set_defaults(func=cmd_dedup_report)
    p = sub.add_parser("show-config", help="print the resolved config (defaults + file + --set) as YAML")
    p.add_argument("--config", "-c", help="YAML config file")
    p.add_argument("--set", action="append", default=[], dest="overrides", metavar="KEY=VALUE")
    p.set_defaults(func=cmd_show_config)
    p = sub.add_parser("demo", help="build a sample WARC with our own pages and images, run on it")
    _add_job_options(p, needs_input=False)
    p.set_defaults(func=cmd_demo)
    p = sub.add_parser("index", help="embed the images and texts of finished shards → OUT/index/ (for serve --index)")
    p.add_argument("--output", "-o", required=True, help="run output root: reads shards/<source>/, writes index/")
    p.add_argument("--source", choices=["pairs", "interleaved"], default="pairs", help="which shards to index")
    p.add_argument("--batch-size", type=int, default=64, help="images per forward pass (match serve --max-batch "
                                                              "for bit-identical query embeddings)")
    p.add_argument("--force", action="store_true", help="rebuild a finished index")
    _add_model_options(p)
    p.set_defaults(func=cmd_index)
    p = sub.add_parser("serve", help="HTTP API over a trained model: embed, score, caption (CoCa), search an index")
    _add_model_options(p)
    p.add_argument("--index", help="an index folder (OUT/index, or OUT) built by interleaf index, for /search")
    p.add_argument("--host", default="127.0.0.1", help="bind address (default loopback only)")
    p.add_argument("--port", type=int, default=8000)
    p.add_argument("--max-image-bytes", type=int, default=10 << 20, help="per uploaded image (413 above)")
    p.add_argument("--max-files", type=int, default=16, help="images per /embed/image request")
    p.add_argument("--max-batch", type=int, default=64, help="items per model call (every pass is padded to it)")
    p.add_argument("--batch-wait-ms", type=float, default=5.0,
                   help="how long the first request of a batch waits for others")
    p.add_argument("--caption-batch", type=int, default=4, help="images per caption call (beam search is slow)")
    p.set_defaults(func=cmd_serve)
    p = sub.add_parser("export", help="selected samples of finished shards → any fsspec URL, with manifest, "
                                      "dataset card and verification")
    p.add_argument("--output", "-o", metavar="OUT", help="run output root: reads OUT/shards/<source>/")
    p.add_argument("--to", metavar="URL", help="destination folder: a path or fsspec URL (s3://bucket/slice)")
    p.add_argument("--format", default="webdataset", choices=["webdataset", "parquet", "obelics", "mmc4"])
    p.add_argument("--source", default="interleaved", choices=["interleaved", "pairs"])
    p.add_argument("--languages", metavar="en,zh", help="keep these languages only")
    p.add_argument("--min-clip-score", type=float, metavar="F", help="drop images (pairs) scoring below")
    p.add_argument("--min-image-side", type=int, metavar="PX", help="drop images whose shorter side is smaller")
    p.add_argument("--min-images", type=int, default=0, metavar="N", help="interleaved: documents with fewer "
                                                                          "images left are dropped")
    p.add_argument("--max-images", type=int, metavar="N")
    p.add_argument("--min-words", type=int, default=0, metavar="N", help="interleaved: words (CJK characters)")
    p.add_argument("--max-words", type=int, metavar="N")
    p.add_argument("--sample-rate", type=float, default=1.0, metavar="F", help="keep this share, by a hash of the key")
    p.add_argument("--seed", type=int, default=0, help="seed of --sample-rate")
    p.add_argument("--max-samples", type=int, metavar="N", help="stop after N samples")
    p.add_argument("--samples-per-file", type=int, default=1000, metavar="N")
    p.add_argument("--name", help="dataset name in the card (default interleaf-SOURCE-FORMAT)")
    p.add_argument("--force", action="store_true", help="replace what is at the destination")
    p.add_argument("--verify", metavar="URL", help="only check a finished export against its manifest")
    p.set_defaults(func=cmd_export)
    p = sub.add_parser("train", help="train CLIP / CoCa with open_clip_train on shards/pairs/ → OUT/train/NAME/",
                       description="Runs python -m open_clip_train.main (torchrun with --gpus N > 1). Options "
                                   "left out take the preset's value. Arguments after -- go to open_clip_train.")
    p.add_argument("--output", "-o", required=True, metavar="OUT", help="run output root: reads shards/pairs/, writes train/NAME/")
    p.add_argument("--train-data", metavar="PATTERN",
                   help="WebDataset shards to train on instead of OUT/shards/pairs/ (brace pattern; '::' joins)")
    p.add_argument("--preset", default="tiny", metavar="tiny|base|large",
                   help="tiny (bundled 6.8M CoCa, CPU, minutes; default), base (coca_ViT-B-32, GPU), "
                        "large (coca_ViT-L-14, GPU)")
    p.add_argument("--model", metavar="NAME", help="open_clip model name or bundled config instead of the preset's")
    p.add_argument("--model-config", metavar="FILE", help="JSON model config (open_clip layout); named by its stem")
    p.add_argument("--name", help="run name: OUT/train/NAME/ (default: the preset's name)")
    p.add_argument("--epochs", type=int, metavar="N")
    p.add_argument("--batch-size", type=int, metavar="N", help="per process (per GPU)")
    p.add_argument("--lr", type=float, metavar="F", help="peak learning rate (cosine schedule)")
    p.add_argument("--wd", type=float, metavar="F", help="weight decay")
    p.add_argument("--warmup", type=int, metavar="N", help="warm-up steps")
    p.add_argument("--precision", metavar="P", help="fp32, amp, amp_bf16, bf16, fp16, pure_bf16, pure_fp16")
    p.add_argument("--workers", type=int, metavar="N", help="dataloader workers per process")
    p.add_argument("--device", metavar="cpu|cuda", help="cpu or cuda")
    p.add_argument("--gpus", type=int, default=1, metavar="N", help="processes (GPUs) on this node; > 1 runs under torchrun")
    p.add_argument("--seed", type=int, default=0, metavar="N")
    p.add_argument("--save-frequency", type=int, metavar="N", help="save a checkpoint every N epochs (the last one always)")
    p.add_argument("--keep-checkpoints", metavar="all|last",
                   help="keep every saved epoch, or only the last (tiny's default: 80 MB each)")
    p.add_argument("--samples-per-epoch", type=int, metavar="N",
                   help="sample shards with replacement, N samples per epoch (small data; decouples epochs "
                        "from the data size)")
    p.add_argument("--resume", metavar="PATH|latest",
                   help="continue from a checkpoint file, or this run's latest one")
    p.add_argument("--coca-contrastive-loss-weight", type=float, metavar="F", help="CoCa: weight of the contrastive loss (1)")
    p.add_argument("--coca-caption-loss-weight", type=float, metavar="F", help="CoCa: weight of the caption loss (2)")
    p.add_argument("--log-every-n-steps", type=int, metavar="N", help="loss.csv gets one row per logged step")
    p.add_argument("--force", action="store_true", help="retrain a finished run (its folder is replaced)")
    p.add_argument("extra", nargs="*", metavar="-- EXTRA",
                   help="after --: more open_clip_train arguments (they override ours)")
    p.set_defaults(func=cmd_train)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING,
                        format="%(levelname)s %(name)s: %(message)s")
    try:
        return args.func(args)
    except (ConfigError, OutputExistsError, FileNotFoundError, ValueError) as e:
        # Misconfiguration: a clear message, no traceback.
        print(f"interleaf: error: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
