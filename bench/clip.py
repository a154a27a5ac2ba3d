"""The CLIP scoring job against a bare open_clip loop: same model, same images, same texts, one run.

Documents (built in memory, not timed): the conceptual_captions photos (``--data``, ~680x450
JPEGs) plus the same photos upscaled to ``--big-side`` px (bench/images.py's ``load_photos``),
each passed through the images stage's ``decode_image`` with the default ``images`` settings
(what the images table holds and the job reads), cycled to ``--images`` image nodes. Without
photos, drawn pictures stand in. The images are grouped (seeded) into HTML documents of 1-4
images: a title, one or two paragraphs before each image, zero to two closing paragraphs;
each image has an alt text (80 %: its photo's caption) and a caption (30 %), status "ok".
Every paragraph is distinct (it names its document), so nothing is shared across documents.

Ours: the real job path, ``score_task_docs(WriteTask(0, ()), docs, config, out_dir)``:
``load_clip`` (cached by the warm-up, as in a Spark worker that scored a task before),
``score_documents`` (decode with the decompression-bomb guard, open_clip's val transform,
candidate extraction, image batches padded to ``--batch-size``, each finished group's
distinct texts (candidates and every text node, for placement) encoded in padded batches,
cosine, linear-assignment placement) and the zstd parquet part with its stats file. Timed
from the call to the part and stats written.
Bare: the least a script would do over the same pairs: for each run of ``--batch-size``
images, ``PIL.Image.open(...).convert("RGB")``, the same open_clip preprocess,
``model.encode_image`` on the stacked batch, then the batch's distinct candidate texts
(the texts our ``candidates`` picks for each image, listed before timing) tokenised with
the open_clip tokenizer and ``model.encode_text`` ``--batch-size`` at a time, L2-normalised,
cosine per image and the best kept. No padding, no candidate logic, no placement, no parquet.
Both use the same model object (``load_clip(...).model``) under ``torch.inference_mode``,
each side warmed up on one batch first. ``--rounds`` alternates ours then bare; the fastest
round of each counts.

Figures: images/s is scored images per wall second of the whole process: torch uses
``torch.get_num_threads()`` threads (printed; 2 on the 2-core dev machine), so it is per
process, not per core; ``--threads 1`` gives the per-core figure. "CPU s" is the process's
CPU time. Weights are random (``clip.model=ViT-B-32``, no checkpoint: open_clip builds it
offline): throughput does not depend on them. ``--model interleaf-tiny`` (the bundled test
config) shows the overhead when the model costs almost nothing. The breakdown of our time
comes from timers wrapped around the job's steps during the timed run (a few
microseconds per call against tens of milliseconds per image); ``--profile [N]`` also runs
cProfile over one more pass of ours and prints the top N functions.

    /work/venv/bin/python bench/clip.py [--images 256] [--batch-size 32] [--model ViT-B-32]
        [--device cpu] [--precision fp32] [--threads N] [--rounds 1] [--profile [10]]
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.util
import io
import json
import logging
import math
import os
import random
import shutil
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow.parquet as pq

# Python puts this folder first on the import path, where bench/filters.py would shadow the
# ``filters`` package that pipeline.config imports: take the folder off (as bench/filters.py does).
BENCH = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or os.getcwd()).resolve() != BENCH]

from pipeline.clip import job, score
from pipeline.clip.model import ClipSpec, LoadedClip, load_clip
from pipeline.config import Config
from pipeline.images.decode import decode_image as stage_decode_image
from pipeline.images.fetch import decode_settings
from pipeline.shards.interleaved import WriteTask
from schemas import Document
from schemas.document import BlockKind, ImageNode, TextNode


def _bench_module(name: str):
    """A sibling bench script as a module (bench/ is not a package, nor on the path)."""
    spec = importlib.util.spec_from_file_location(f"bench_{name}", BENCH / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


images_bench = _bench_module("images")
DEFAULT_DATA = images_bench.DEFAULT_DATA


# -- documents (not timed) ---------------------------------------------------------------------


def load_images(data: Path, big_side: int, cfg: Config) -> tuple[list[bytes], list[str], str]:
    """(stored image bytes, a caption per image, where they came from): the photos as the
    images stage stores them (its decode_image with the default settings)."""
    if sorted(data.glob("*.jpg")):
        raw = images_bench.load_photos(data, big_side)  # the real photos, then upscaled copies
        names = [p.name for p in sorted(data.glob("*.jpg"))]
        captions_by_name: dict[str, str] = {}
        pairs = data / "pairs.jsonl"
        if pairs.exists():
            for line in pairs.read_text().splitlines():
                row = json.loads(line)
                captions_by_name[row["image"]] = row["text"]
        captions = [captions_by_name.get(names[i % len(names)], f"photo {i % len(names)}") for i in range(len(raw))]
        source = f"{len(names)} photos from {data} + the same upscaled to {big_side}px"
    else:
        raw, captions = drawn_images()
        source = f"{len(raw)} drawn pictures (no photos under {data})"
    settings = decode_settings(cfg.images)
    stored = []
    for data_bytes in raw:
        decoded = stage_decode_image(data_bytes, settings)
        if isinstance(decoded, str):
            raise SystemExit(f"the images stage refuses a test image: {decoded}")
        stored.append(decoded.data)
    return stored, captions, source


def drawn_images(n: int = 18) -> tuple[list[bytes], list[str]]:
    from PIL import Image, ImageDraw

    rng = random.Random(0)
    colours = {"red": (200, 40, 40), "green": (40, 160, 60), "blue": (40, 70, 200), "yellow": (230, 200, 40)}
    out, captions = [], []
    for i in range(n):
        bg, fg = rng.sample(sorted(colours), 2)
        im = Image.new("RGB", (640, 480), colours[bg])
        draw = ImageDraw.Draw(im)
        for _ in range(30):  # some texture, so the JPEG is not trivially small
            x, y = rng.randrange(640), rng.randrange(480)
            draw.line((x, y, x + rng.randrange(-80, 80), y + rng.randrange(-80, 80)),
                      fill=tuple(rng.randrange(256) for _ in range(3)), width=3)
        shape = "circle" if i % 2 else "square"
        box = (200, 120, 440, 360)
        (draw.ellipse if shape == "circle" else draw.rectangle)(box, fill=colours[fg])
        buf = io.BytesIO()
        im.save(buf, format="JPEG", quality=90)
        out.append(buf.getvalue())
        captions.append(f"a {fg} {shape} on a {bg} background")
    return out, captions


FILLER = [
    "The photograph was taken early in the morning, before the crowds arrived.",
    "Readers have asked where this was; the details are in the notes below.",
    "We spent most of the afternoon walking around and talking to people who live nearby.",
    "It is one of the places we keep coming back to, whatever the season.",
    "Prices have gone up a little since last year, but it is still worth the trip.",
    "The light changes quickly here, so plan for an hour rather than ten minutes.",
    "Several of the buildings date from the late nineteenth century.",
    "If you go, bring water and comfortable shoes: the paths are steep in places.",
]


def make_documents(images: list[bytes], captions: list[str], n_images: int, seed: int) -> list[Document]:
    rng = random.Random(seed)
    docs: list[Document] = []
    placed = 0
    while placed < n_images:
        d = len(docs)
        count = min(rng.randint(1, 4), n_images - placed)

        def paragraph(k: int, d: int = d) -> TextNode:
            sentences = rng.sample(FILLER, rng.randint(2, 4))
            return TextNode(text=f"Part {k} of article {d}. " + " ".join(sentences))

        nodes: list[Any] = [TextNode(text=f"Article {d}: notes and pictures", kind=BlockKind.HEADING.value)]
        k = 0
        for j in range(count):
            for _ in range(rng.randint(1, 2)):
                k += 1
                nodes.append(paragraph(k))
            i = placed + j
            photo = i % len(images)
            nodes.append(ImageNode(
                url=f"https://example.com/{d}/img{j}.jpg", image=images[photo], image_mime="image/jpeg",
                image_source="download", status="ok",
                alt=captions[photo] if rng.random() < 0.8 else None,
                caption=f"Figure {j + 1}: {captions[photo].lower()} (article {d})" if rng.random() < 0.3 else None))
        for _ in range(rng.randint(0, 2)):
            k += 1
            nodes.append(paragraph(k))
        doc = Document(doc_id=f"doc-{d:05d}", url=f"https://example.com/{d}", nodes=nodes)
        doc.renumber()
        docs.append(doc)
        placed += count
    return docs


def bare_pairs(docs: list[Document], cfg: Config) -> list[tuple[bytes, list[str]]]:
    """(image bytes, candidate texts) per image node, as our ``candidates`` picks them: the
    bare loop scores the same pairs without our candidate logic in its timed part."""
    c = cfg.clip
    out = []
    for doc in docs:
        for i, node in enumerate(doc.nodes):
            if isinstance(node, ImageNode):
                cands = score.candidates(doc, i, c.text_window, c.max_candidates, c.max_text_chars)
                out.append((node.image, [cand.text for cand in cands]))
    return out


# -- ours: the job, with timers around its steps ------------------------------------------------


@dataclass
class Steps:
    """Seconds and counts per step of one timed run."""

    seconds: dict[str, float]
    counts: dict[str, int]


@contextlib.contextmanager
def instrumented(clip: LoadedClip, batch_size: int) -> Iterator[Steps]:
    """Timers around the job's steps: score.decode_image, the clip's preprocess / tokenize /
    encode_pixels / encode_texts, placement, and the time spent inside score_documents'
    generator (the rest of the job: load_clip lookup, parquet, stats). Restored on exit."""
    steps = Steps(defaultdict(float), defaultdict(int))
    clock = time.perf_counter

    def timed(name: str, fn: Callable, count: Callable[..., dict[str, int]] | None = None) -> Callable:
        def wrapper(*args, **kwargs):
            start = clock()
            try:
                return fn(*args, **kwargs)
            finally:
                steps.seconds[name] += clock() - start
                if count is not None:
                    for key, value in count(*args, **kwargs).items():
                        steps.counts[key] += value
        return wrapper

    def generator_time(fn: Callable) -> Callable:
        def wrapper(*args, **kwargs):
            it = fn(*args, **kwargs)
            while True:
                start = clock()
                try:
                    row = next(it)
                except StopIteration:
                    return
                finally:
                    steps.seconds["score_documents"] += clock() - start
                yield row
        return wrapper

    def padded(n: int) -> int:
        return math.ceil(n / batch_size) * batch_size

    patches = [
        (score, "decode_image", timed("decode", score.decode_image)),
        (score, "assign", timed("placement (assign)", score.assign)),
        (job, "score_documents", generator_time(job.score_documents)),
        (clip, "preprocess_image", timed("preprocess", clip.preprocess_image)),
        (clip, "tokenize", timed("tokenize", clip.tokenize)),
        (clip, "encode_pixels", timed("encode images", clip.encode_pixels,
                                      lambda pixels, bs: {"image rows": len(pixels),
                                                          "image rows padded": padded(len(pixels))})),
        (clip, "encode_texts", timed("encode texts", clip.encode_texts,
                                     lambda texts, bs: {"text rows": len(texts),
                                                        "text rows padded": padded(len(texts)),
                                                        "text groups": 1})),
    ]
    saved = [(obj, name, obj.__dict__.get(name, _MISSING)) for obj, name, _ in patches]
    for obj, name, value in patches:
        setattr(obj, name, value)
    try:
        yield steps
    finally:
        for obj, name, value in saved:
            if value is _MISSING:
                delattr(obj, name)
            else:
                setattr(obj, name, value)


_MISSING = object()


def run_ours(docs: list[Document], cfg: Config, work: Path, name: str, clip: LoadedClip | None = None
             ) -> dict[str, Any]:
    """One pass of the job into a fresh folder; with ``clip``, the steps are timed too."""
    out = work / name
    out.mkdir()
    ctx = instrumented(clip, cfg.clip.batch_size) if clip is not None else contextlib.nullcontext()
    with ctx as steps:
        start, cpu_start = time.perf_counter(), time.process_time()
        result = job.score_task_docs(WriteTask(0, ()), docs, cfg, str(out))
        seconds, cpu = time.perf_counter() - start, time.process_time() - cpu_start
    rows = pq.read_table(out / result["part"]).to_pylist()
    scored = [r for r in rows if r["status"] == "ok"]
    res = {"seconds": seconds, "cpu": cpu, "images": len(scored), "rows": len(rows),
           "best": [r["best_score"] for r in scored], "part_bytes": (out / result["part"]).stat().st_size}
    if steps is not None:
        inner = steps.seconds.pop("score_documents", 0.0)
        steps.seconds["encode texts"] -= steps.seconds["tokenize"]  # tokenize runs inside encode_texts
        named = sum(steps.seconds.values())
        steps.seconds["candidates, batching, cosine, rows (rest of score_documents)"] = inner - named
        steps.seconds["job: parquet part, stats file (outside score_documents)"] = seconds - inner
        res["steps"] = dict(steps.seconds)
        res["counts"] = dict(steps.counts)
    shutil.rmtree(out, ignore_errors=True)
    return res


# -- bare open_clip ----------------------------------------------------------------------------


def run_bare(clip: LoadedClip, pairs: list[tuple[bytes, list[str]]], batch_size: int) -> dict[str, Any]:
    """The plain loop over ``pairs``; returns timings, counts and each image's best score."""
    import torch
    import torch.nn.functional as F
    from PIL import Image

    model, preprocess, tokenizer, device = clip.model, clip.preprocess, clip.tokenizer, clip.device
    autocast = (torch.autocast(device_type="cuda", dtype=clip.dtype)
                if device.startswith("cuda") and clip.dtype != torch.float32 else contextlib.nullcontext())
    clock = time.perf_counter
    steps: dict[str, float] = defaultdict(float)
    counts: dict[str, int] = defaultdict(int)
    best: list[float] = []
    start, cpu_start = clock(), time.process_time()
    with torch.inference_mode(), autocast:
        for lo in range(0, len(pairs), batch_size):
            batch = pairs[lo:lo + batch_size]
            t = clock()
            images = [Image.open(io.BytesIO(data)).convert("RGB") for data, _ in batch]
            t1 = clock()
            pixels = torch.stack([preprocess(im) for im in images]).to(device)
            t2 = clock()
            image_emb = F.normalize(model.encode_image(pixels).float(), dim=-1)
            t3 = clock()
            texts = list(dict.fromkeys(text for _, cands in batch for text in cands))
            text_emb, tok_s, enc_s = [], 0.0, 0.0
            for tlo in range(0, len(texts), batch_size):
                a = clock()
                tokens = tokenizer(texts[tlo:tlo + batch_size]).to(device)
                b = clock()
                text_emb.append(F.normalize(model.encode_text(tokens).float(), dim=-1))
                tok_s, enc_s = tok_s + b - a, enc_s + clock() - b
            t4 = clock()
            column = {text: k for k, text in enumerate(texts)}
            sim = image_emb @ torch.cat(text_emb).T
            for r, (_, cands) in enumerate(batch):
                best.append(float(sim[r, [column[c] for c in cands]].max()))
            t5 = clock()
            steps["decode"] += t1 - t
            steps["preprocess"] += t2 - t1
            steps["encode images"] += t3 - t2
            steps["tokenize"] += tok_s
            steps["encode texts"] += enc_s
            steps["cosine, best"] += t5 - t4
            counts["image rows"] += len(batch)
            counts["text rows"] += len(texts)
    seconds, cpu = clock() - start, time.process_time() - cpu_start
    return {"seconds": seconds, "cpu": cpu, "images": len(pairs), "best": best, "steps": dict(steps),
            "counts": dict(counts)}


# -- main --------------------------------------------------------------------------------------


def profile_ours(docs: list[Document], cfg: Config, work: Path, top: int) -> None:
    _bench_module("filters").print_profile(lambda: run_ours(docs, cfg, work, "profile"), f"{len(docs)} documents",
                                           top)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--images", type=int, default=256, help="image nodes in all (default 256)")
    parser.add_argument("--batch-size", type=int, default=32, help="images (and texts) per forward pass")
    parser.add_argument("--model", default="ViT-B-32", help="open_clip model name, random weights "
                        "(ViT-B-32, or interleaf-tiny: the bundled test config)")
    parser.add_argument("--device", default="cpu", help="clip.device: cpu, cuda[:N] or auto")
    parser.add_argument("--precision", default="fp32", help="clip.precision: auto, fp32, bf16, fp16")
    parser.add_argument("--threads", type=int, default=0, help="torch.set_num_threads (0: torch's default)")
    parser.add_argument("--rounds", type=int, default=1, help="timed rounds per side, alternating; fastest counts")
    parser.add_argument("--big-side", type=int, default=1024,
                        help="longer side of the upscaled copies of the photos (images.max_side: 1024)")
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="conceptual_captions photos + pairs.jsonl")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--profile", type=int, nargs="?", const=10, default=0, metavar="N",
                        help="also cProfile one more pass of ours and print the top N functions (default 10)")
    args = parser.parse_args()

    import torch

    logging.basicConfig(level=logging.ERROR)  # the random-weights warnings are expected here
    logging.getLogger("pipeline.clip.model").setLevel(logging.ERROR)
    if args.threads:
        torch.set_num_threads(args.threads)
    cfg = Config()
    c = cfg.clip
    c.enabled, c.model, c.device, c.precision, c.batch_size = True, args.model, args.device, args.precision, args.batch_size

    images, captions, source = load_images(args.data, args.big_side, cfg)
    docs = make_documents(images, captions, args.images, args.seed)
    pairs = bare_pairs(docs, cfg)
    n_texts = sum(len(d.text_nodes) for d in docs)
    n_cands = sum(len(cands) for _, cands in pairs)
    clip = load_clip(ClipSpec.from_config(c))  # what score_task_docs loads (device cpu/cuda as given)
    device_note = "CPU only here (no GPU on this machine)" if clip.device == "cpu" else f"device {clip.device}"
    print(f"{len(pairs)} images in {len(docs)} documents ({source}; images as the images stage stores them: "
          f"max_side {cfg.images.max_side}, mean {sum(map(len, images)) / len(images) / 1024:.0f} KiB); "
          f"{n_texts} text nodes, {n_cands} candidate texts ({n_cands / len(pairs):.2f} per image)")
    print(f"model {args.model} (random weights), {device_note}, {str(clip.dtype).removeprefix('torch.')}, "
          f"batch size {args.batch_size}, torch threads {torch.get_num_threads()}, "
          f"torch {torch.__version__}, best of {args.rounds} round(s)", flush=True)

    work = Path(tempfile.mkdtemp(prefix="bench-clip-"))
    try:
        # Warm-up, one batch each: ours through the job (the model is already in load_clip's cache).
        warm, k = [], 0
        for doc in docs:
            warm.append(doc)
            k += len(doc.image_nodes)
            if k >= args.batch_size:
                break
        run_ours(warm, cfg, work, "warm-up")
        run_bare(clip, pairs[:args.batch_size], args.batch_size)

        ours_rounds, bare_rounds = [], []
        for r in range(args.rounds):
            ours_rounds.append(run_ours(docs, cfg, work, f"round-{r}", clip))
            bare_rounds.append(run_bare(clip, pairs, args.batch_size))
        ours = min(ours_rounds, key=lambda x: x["seconds"])
        bare = min(bare_rounds, key=lambda x: x["seconds"])
        if args.profile:
            profile_ours(docs, cfg, work, args.profile)
    finally:
        shutil.rmtree(work, ignore_errors=True)

    if ours["images"] != bare["images"]:
        raise SystemExit(f"ours scored {ours['images']} images, bare {bare['images']}")
    diff = float(np.max(np.abs(np.asarray(ours["best"]) - np.asarray(bare["best"]))))

    def rate(side: dict) -> float:
        return side["images"] / side["seconds"]

    ratio = rate(ours) / rate(bare)
    print()
    print(f"{'side':<44} {'images':>7} {'wall s':>7} {'images/s':>9} {'ratio':>6} {'CPU s':>7} {'img/CPU s':>10}")
    for name, side in (("ours: score_task_docs (job -> parquet part)", ours),
                       ("bare: open_clip encode_image + encode_text", bare)):
        print(f"{name:<44} {side['images']:>7} {side['seconds']:>7.2f} {rate(side):>9.2f} "
              f"{rate(side) / rate(bare):>6.3f} {side['cpu']:>7.2f} {side['images'] / side['cpu']:>10.2f}")
    print("  (rounds, wall s: ours " + ", ".join(f"{x['seconds']:.2f}" for x in ours_rounds)
          + "; bare " + ", ".join(f"{x['seconds']:.2f}" for x in bare_rounds) + ")")
    print(f"ratio ours/bare (images/s): {ratio:.3f}  (our overhead: {100 * (1 / ratio - 1):+.1f} % time)")
    print(f"forward rows: ours {ours['counts'].get('image rows padded', 0)} image "
          f"({ours['counts'].get('image rows', 0)} real) + {ours['counts'].get('text rows padded', 0)} text "
          f"({ours['counts'].get('text rows', 0)} distinct, in {ours['counts'].get('text groups', 0)} groups); "
          f"bare {bare['counts']['image rows']} image + {bare['counts']['text rows']} text")
    print(f"best scores agree with the bare loop to {diff:.1e} (max abs difference)")

    print("\nper step, wall s (timers in the timed runs):")
    names = list(dict.fromkeys([*ours["steps"], *bare["steps"]]))
    print(f"  {'step':<62} {'ours':>8} {'%':>6} {'bare':>8} {'%':>6}")
    for name in names:
        o, b = ours["steps"].get(name), bare["steps"].get(name)
        print(f"  {name:<62} "
              + (f"{o:>8.2f} {100 * o / ours['seconds']:>5.1f}%" if o is not None else f"{'':>8} {'':>6}") + " "
              + (f"{b:>8.2f} {100 * b / bare['seconds']:>5.1f}%" if b is not None else f"{'':>8} {'':>6}"))

    result = {
        "bench": "clip", "model": args.model, "device": clip.device, "precision": str(clip.dtype).removeprefix("torch."),
        "batch_size": args.batch_size, "torch_threads": torch.get_num_threads(), "images": len(pairs),
        "documents": len(docs), "text_nodes": n_texts, "candidate_texts": n_cands, "rounds": args.rounds,
        "ours": {"seconds": ours["seconds"], "cpu_seconds": ours["cpu"], "images_per_s": rate(ours),
                 "steps_s": ours["steps"], "counts": ours["counts"], "part_bytes": ours["part_bytes"]},
        "bare": {"seconds": bare["seconds"], "cpu_seconds": bare["cpu"], "images_per_s": rate(bare),
                 "steps_s": bare["steps"], "counts": bare["counts"]},
        "ratio": ratio, "max_abs_best_score_diff": diff,
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
