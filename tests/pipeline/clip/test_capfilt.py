"""Caption and filter (clip.capfilt, BLIP's CapFilt) in the scoring job and the shards.

The model is the bundled CoCa config (interleaf-coca-tiny) with random weights: its captions
are gibberish and every score (web text or caption) is random, so the tests check the
plumbing, not quality: which images get a caption, that the web text never changes, the
byte-identity of runs that must not differ, the pair-text rule, both engines, errors.
"""

from __future__ import annotations

import io
import json
import shutil
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

pytest.importorskip("open_clip", reason="CLIP scoring needs the clip extra")
pytest.importorskip("transformers", reason="CoCa generation needs transformers (clip extra)")

import webdataset as wds  # noqa: E402
from PIL import Image  # noqa: E402

from pipeline.clip.model import ClipSpec, load_clip  # noqa: E402
from pipeline.clip.score import score_documents  # noqa: E402
from pipeline.config import ClipConfig, ConfigError, load_config  # noqa: E402
from pipeline.outputs import OutputExistsError  # noqa: E402
from pipeline.run import run_all, run_score_clip, run_write_pairs  # noqa: E402
from pipeline.shards.pairs import choose_text, pair_files  # noqa: E402
from pipeline.stats import StageStats  # noqa: E402
from pipeline.summary import write_run_manifest  # noqa: E402
from schemas import Document  # noqa: E402
from schemas.arrow import SCORES_SCHEMA  # noqa: E402
from schemas.document import ImageNode, TextNode  # noqa: E402

COCA = "interleaf-coca-tiny"
BASE = ["images.download=false", "dedup.enabled=false", "ocr.enabled=false", "clip.enabled=true",
        f"clip.model={COCA}", "clip.batch_size=4", "select.min_clip_score=-1", "select.pair_min_clip_score=-1",
        "run.progress=false", "run.engine=local"]
CAPFILT_ON = ["clip.capfilt.enabled=true", "clip.capfilt.threshold=2.0"]  # above every cosine: all captioned
WEB_FIELDS = ("doc_id", "image_index", "node_index", "url", "status", "reason", "candidate_sources",
              "candidate_node_indexes", "candidate_scores", "best_source", "best_text", "best_score",
              "matched_text_index", "matched_sim", "model")


def _config(out: Path, warc: Path, *extra: str):
    return load_config(None, [*BASE, f"input.paths={json.dumps([str(warc)])}", f"run.output={json.dumps(str(out))}",
                              *extra])


def _scores(out: Path) -> list[dict]:
    rows = [r for p in sorted((out / "scores").glob("part-*.parquet")) for r in pq.read_table(p).to_pylist()]
    return sorted(rows, key=lambda r: (r["doc_id"], r["image_index"]))


def _data_files(folder: Path) -> dict[str, bytes]:
    """Tars and parquet files (manifests and configs record the config hash: left out)."""
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir()) if p.suffix in (".tar", ".parquet")}


def _samples(out: Path, layout: str) -> list[dict]:
    folder = out / "shards" / layout
    return [s for tar in sorted(folder.glob("shard-*.tar")) for s in wds.WebDataset(str(tar), shardshuffle=False)]


def _image_nodes(out: Path) -> list[dict]:
    return [n for s in _samples(out, "interleaved") for n in json.loads(s["json"])["nodes"] if n["type"] == "image"]


@pytest.fixture(scope="module")
def runs(tmp_path_factory, demo_warc):
    """The demo run with capfilt off and with every scored image captioned (threshold 2.0)."""
    root = tmp_path_factory.mktemp("capfilt")
    off, on = root / "off", root / "on"
    results = {"off": run_all(_config(off, demo_warc)), "on": run_all(_config(on, demo_warc, *CAPFILT_ON))}
    return {"off": off, "on": on, "results": results, "root": root}


def test_threshold_above_every_score_captions_every_scored_image(runs):
    off, on = _scores(runs["off"]), _scores(runs["on"])
    assert len(on) == 6 and [r["status"] for r in on].count("ok") == 5
    for a, b in zip(off, on):
        assert {k: a[k] for k in WEB_FIELDS} == {k: b[k] for k in WEB_FIELDS}  # web text untouched
        assert a["synthetic_caption"] is None and a["synthetic_caption_score"] is None
        if b["status"] == "ok":
            assert b["synthetic_caption"].strip() and -1.0 <= b["synthetic_caption_score"] <= 1.0
        else:  # the image that was not fetched: nothing to caption
            assert b["reason"] == "no_image" and b["synthetic_caption"] is None
    stats = runs["results"]["on"]["scores"]["stats"]["score_clip"]
    assert stats["in"] == stats["out"] == 6
    capfilt = {k: v for k, v in stats["counters"].items() if k.startswith("capfilt:")}
    better = capfilt.pop("capfilt:synthetic_better", 0)
    assert capfilt == {"capfilt:below_threshold": 5, "capfilt:captioned": 5, "capfilt:no_image": 1}
    assert better == sum(r["synthetic_caption_score"] > r["best_score"] for r in on if r["status"] == "ok")
    assert not any(k.startswith("capfilt:") for k in runs["results"]["off"]["scores"]["stats"]["score_clip"]["counters"])

    # The counters reach run_manifest.json.
    manifest = json.loads(write_run_manifest(_config(runs["on"], Path("unused"))).read_text())
    assert manifest["stages"]["score_clip"]["counters"]["capfilt:captioned"] == 5


def test_shards_carry_the_caption_and_keep_the_web_text(runs):
    by_url = {r["url"]: r for r in _scores(runs["on"])}
    off_nodes, on_nodes = _image_nodes(runs["off"]), _image_nodes(runs["on"])
    assert len(on_nodes) == len(off_nodes) > 0
    for a, b in zip(off_nodes, on_nodes):
        assert {k: v for k, v in a.items() if not k.startswith("synthetic_")} == \
            {k: v for k, v in b.items() if not k.startswith("synthetic_")}  # alt, caption, clip_text...
        assert a["synthetic_caption"] is None and a["synthetic_caption_score"] is None  # keys always present
        row = by_url[b["url"]]
        assert b["synthetic_caption"] == row["synthetic_caption"]
        assert b["synthetic_caption_score"] == row["synthetic_caption_score"]
    assert sum(n["synthetic_caption"] is not None for n in on_nodes) == 5
    # Pairs (pair_text=web): the txt is the web text, byte for byte; the json adds the caption.
    off_pairs = {s["__key__"]: s for s in _samples(runs["off"], "pairs")}
    on_pairs = {s["__key__"]: s for s in _samples(runs["on"], "pairs")}
    assert off_pairs.keys() == on_pairs.keys() and len(on_pairs) == 5
    for key, sample in on_pairs.items():
        assert sample["txt"] == off_pairs[key]["txt"] and sample["jpg"] == off_pairs[key]["jpg"]
        meta, before = json.loads(sample["json"]), json.loads(off_pairs[key]["json"])
        row = by_url[meta["image_url"]]
        assert meta["txt_source"] == before["txt_source"] == "web"
        assert meta["synthetic_caption"] == row["synthetic_caption"] and before["synthetic_caption"] is None
        assert meta["synthetic_caption_score"] == pytest.approx(row["synthetic_caption_score"], abs=1e-6)
        assert sample["txt"].decode() == row["best_text"]


def test_threshold_below_every_score_changes_nothing(runs, demo_warc):
    out = runs["root"] / "low"
    result = run_all(_config(out, demo_warc, "clip.capfilt.enabled=true", "clip.capfilt.threshold=-2"))
    counters = result["scores"]["stats"]["score_clip"]["counters"]
    assert counters["capfilt:above_threshold"] == 5 and "capfilt:captioned" not in counters
    off = runs["off"]
    assert _data_files(out / "scores") == _data_files(off / "scores")  # the parquet parts, byte for byte
    assert _data_files(out / "shards" / "interleaved") == _data_files(off / "shards" / "interleaved")
    assert _data_files(out / "shards" / "pairs") == _data_files(off / "shards" / "pairs")


def test_pair_text_best_follows_the_rule(runs, demo_warc):
    """pair_text=best: the caption replaces a web text below the threshold when it scores
    higher; the pair is written when the chosen text reaches the threshold."""
    out = runs["root"] / "best"
    shutil.copytree(runs["on"], out)
    # With random weights a caption seldom beats the best of several web texts (the scores
    # are random but fixed: the weights are seeded), so one web text is made bad by hand, as
    # a score table would show an alt text that does not describe its image.
    (part,) = sorted((out / "scores").glob("part-*.parquet"))
    table = pq.read_table(part).to_pylist()
    row = next(r for r in table if r["status"] == "ok")
    row["best_score"] = row["candidate_scores"][row["candidate_sources"].index(row["best_source"])] = -0.9
    pq.write_table(pa.Table.from_pylist(table, schema=SCORES_SCHEMA), part)
    threshold = float(row["synthetic_caption_score"])  # the caption reaches it exactly (≥)
    rows = [r for r in _scores(out) if r["status"] == "ok"]
    manifest = run_write_pairs(_config(out, demo_warc, *CAPFILT_ON, "select.pair_text=best",
                                       f"select.pair_min_clip_score={threshold!r}", "run.force=true"))
    samples = {json.loads(s["json"])["image_url"]: s for s in _samples(out, "pairs")}
    expected_written, synthetic = 0, 0
    for r in rows:
        use_caption = r["best_score"] < threshold and r["synthetic_caption_score"] > r["best_score"]
        text, score = (r["synthetic_caption"], r["synthetic_caption_score"]) if use_caption else \
            (r["best_text"], r["best_score"])
        if score < threshold:
            assert r["url"] not in samples
            continue
        expected_written += 1
        synthetic += use_caption
        sample = samples[r["url"]]
        assert sample["txt"].decode() == text
        assert json.loads(sample["json"])["txt_source"] == ("synthetic" if use_caption else "web")
    assert synthetic >= 1 and manifest["num_samples"] == expected_written == len(samples)
    assert manifest["pair_text"] == "best"
    assert manifest["stats"]["write_pairs"]["counters"]["txt_source:synthetic"] == synthetic
    sidecars = [r for p in sorted((out / "shards" / "pairs").glob("shard-*.parquet")) for r in pq.read_table(p).to_pylist()]
    assert sorted(r["txt_source"] for r in sidecars) == sorted(json.loads(s["json"])["txt_source"]
                                                               for s in samples.values())


def _row(status="ok", best=0.2, caption="a synthetic caption", caption_score=0.3):
    return {"status": status, "reason": None if status == "ok" else "no_text", "best_text": "web text" if status == "ok" else None,
            "best_score": best if status == "ok" else None, "synthetic_caption": caption,
            "synthetic_caption_score": caption_score}


@pytest.mark.parametrize("row, mode, expected", [
    (_row(), "web", ("web text", 0.2, "web")),  # web: always the web text
    (_row(), "best", ("a synthetic caption", 0.3, "synthetic")),  # web below 0.25, caption higher
    (_row(best=0.26, caption_score=0.9), "best", ("web text", 0.26, "web")),  # web reaches the threshold
    (_row(best=0.2, caption_score=0.1), "best", ("web text", 0.2, "web")),  # caption lower: web (dropped later)
    (_row(best=0.2, caption_score=0.2), "best", ("web text", 0.2, "web")),  # a tie keeps the web text
    (_row(caption=None, caption_score=None), "best", ("web text", 0.2, "web")),  # no caption (capfilt off)
    (_row(status="skipped"), "best", ("a synthetic caption", 0.3, "synthetic")),  # no web text at all
    (_row(status="skipped"), "web", (None, None, "web")),
])
def test_choose_text(row, mode, expected):
    assert choose_text(row, 0.25, mode) == expected


def _jpeg(colour: tuple[int, int, int]) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (80, 64), colour).save(out, "JPEG", quality=90)
    return out.getvalue()


def _docs() -> list[Document]:
    """Three documents; the last has an image with no candidate text (no alt, no text nodes)."""
    docs = []
    for d, colour in enumerate([(200, 30, 30), (30, 160, 40)]):
        nodes = [TextNode(f"Paragraph {d} before."),
                 ImageNode(url=f"https://img.example.com/{d}a.jpg", alt=f"picture {d}", image=_jpeg(colour)),
                 TextNode(f"Paragraph {d} after."),
                 ImageNode(url=f"https://img.example.com/{d}b.jpg", image=_jpeg(colour[::-1]))]
        docs.append(Document(doc_id=f"doc{d}", url=f"https://example.com/{d}", nodes=nodes))
    docs.append(Document(doc_id="bare", url="https://example.com/bare",
                         nodes=[ImageNode(url="https://img.example.com/bare.jpg", image=_jpeg((30, 40, 200)))]))
    for doc in docs:
        doc.renumber()
    return docs


def _score(docs, **capfilt) -> tuple[list[dict], StageStats]:
    config = ClipConfig(model=COCA, device="cpu", batch_size=2)
    for key, value in capfilt.items():
        setattr(config.capfilt, key, value)
    stats = StageStats("score_clip")
    rows = list(score_documents(load_clip(ClipSpec.from_config(config)), docs, config, stats))
    stats.check()
    return rows, stats


def test_images_without_text_are_captioned_and_captions_do_not_depend_on_batches():
    off, _ = _score(_docs())
    on, stats = _score(_docs(), enabled=True, threshold=-2.0, batch_size=2)
    assert [r["reason"] for r in on] == [None, None, None, None, "no_text"]
    # Web columns as without capfilt (the no_text image is encoded now, but not placed).
    assert [{k: r[k] for k in WEB_FIELDS} for r in on] == [{k: r[k] for k in WEB_FIELDS} for r in off]
    assert [r["synthetic_caption"] is not None for r in on] == [False] * 4 + [True]
    assert stats.counters["capfilt:no_text"] == 1 and stats.counters["capfilt:above_threshold"] == 4
    # The same image gets the same caption and score whatever documents share its batches.
    alone, _ = _score(_docs()[2:], enabled=True, threshold=2.0, batch_size=3)
    every, _ = _score(_docs(), enabled=True, threshold=2.0, batch_size=3)
    assert alone[0]["synthetic_caption"] == every[4]["synthetic_caption"] == on[4]["synthetic_caption"]
    assert alone[0]["synthetic_caption_score"] == every[4]["synthetic_caption_score"]
    # A pair is made from the caption alone with pair_text=best, never with web.
    doc, row = _docs()[2], {**on[4], "doc_id": "bare"}
    config = load_config(None, ["select.pair_text=best"])
    files, reason = pair_files(doc, 0, doc.image_nodes[0], row, config, -1.0)
    assert reason == "" and dict(files)["txt"].decode() == row["synthetic_caption"]
    config = load_config(None, [])
    assert pair_files(doc, 0, doc.image_nodes[0], row, config, -1.0) == (None, "not_scored:no_text")


def test_sampled_captions_do_not_depend_on_batch_neighbours():
    docs = _docs()
    every, _ = _score(docs, enabled=True, threshold=2.0, generation="top_k", batch_size=4)
    alone, _ = _score(docs[1:], enabled=True, threshold=2.0, generation="top_k", batch_size=4)
    assert [r["synthetic_caption"] for r in every[2:]] == [r["synthetic_caption"] for r in alone]
    assert all(r["synthetic_caption"] for r in every)


def test_a_model_that_cannot_caption_is_refused_at_job_start(tmp_path, demo_warc):
    config = _config(tmp_path / "out", demo_warc, "clip.model=interleaf-tiny", "clip.capfilt.enabled=true")
    with pytest.raises(ConfigError, match="'interleaf-tiny' cannot .*CoCa"):
        run_score_clip(config)  # before any stage output is touched
    assert not (tmp_path / "out").exists()
    clip_config = ClipConfig(model="interleaf-tiny", device="cpu")
    clip_config.capfilt.enabled = True
    with pytest.raises(ValueError, match="'interleaf-tiny' cannot"):
        list(score_documents(load_clip(ClipSpec.from_config(clip_config)), _docs(), clip_config,
                             StageStats("score_clip")))


@pytest.mark.parametrize("setting, message", [
    ("clip.capfilt.generation=greedy", "clip.capfilt.generation"),
    ("clip.capfilt.max_tokens=3", "clip.capfilt.max_tokens"),
    ("clip.capfilt.batch_size=0", "clip.capfilt.batch_size"),
    ("select.pair_text=synthetic", "select.pair_text"),
])
def test_config_is_validated(setting, message):
    with pytest.raises(ConfigError, match=message):
        load_config(None, [setting])


def test_rescoring_with_another_checkpoint_needs_force(runs, tmp_path, demo_warc):
    import open_clip
    import torch

    out = tmp_path / "out"
    shutil.copytree(runs["on"], out)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(1)  # other weights than the seeded random init the runs used
        model = open_clip.create_model(COCA)
    checkpoint = tmp_path / "coca-epoch_1.pt"  # as open_clip_train saves it after DDP
    torch.save({"epoch": 1, "name": "t", "state_dict": {f"module.{k}": v for k, v in model.state_dict().items()}},
               checkpoint)
    config = _config(out, demo_warc, *CAPFILT_ON, f"clip.checkpoint={checkpoint}")
    with pytest.raises(OutputExistsError, match="--force"):
        run_score_clip(config)
    before = _scores(out)
    run_score_clip(_config(out, demo_warc, *CAPFILT_ON, f"clip.checkpoint={checkpoint}", "run.force=true"))
    after = _scores(out)
    assert {r["model"] for r in after} == {f"{COCA}@coca-epoch_1.pt"}
    ok = [(a, b) for a, b in zip(before, after) if a["status"] == "ok"]
    assert all(b["synthetic_caption"] for _, b in ok)
    assert not np.allclose([a["best_score"] for a, _ in ok], [b["best_score"] for _, b in ok])
    assert [a["best_text"] is not None for a, _ in ok] == [b["best_text"] is not None for _, b in ok]


@pytest.mark.spark
def test_spark_engine_writes_the_same_bytes(runs, tmp_path, demo_warc):
    spark = tmp_path / "spark"
    result = run_all(_config(spark, demo_warc, *CAPFILT_ON, "run.engine=spark", "spark.master=local[2]"))
    local = runs["on"]
    assert result["scores"]["stats"] == runs["results"]["on"]["scores"]["stats"]
    assert _data_files(spark / "scores") == _data_files(local / "scores")
    assert _data_files(spark / "shards" / "interleaved") == _data_files(local / "shards" / "interleaved")
    assert _data_files(spark / "shards" / "pairs") == _data_files(local / "shards" / "pairs")
