"""interleaf export: selections of finished shards written as WebDataset, parquet, OBELICS and
MMC4 JSONL to local folders and to S3 (moto on 127.0.0.1 stands in for the cloud), each read
back by its own reader; manifests with sha256 per file; corruption detected.

The source shards are written by the project's own writers from documents made here: 12
interleaved documents (en / zh, 1-3 images of 24-72 px, CLIP scores on the image nodes, one
failed image each) and 12 pairs."""

from __future__ import annotations

import gzip
import hashlib
import io
import json
from pathlib import Path

import pytest
from PIL import Image

from pipeline.cli import main
from pipeline.config import load_config
from pipeline.export import ExportOptions, Selection, VerificationError, run_export, verify_export
from pipeline.outputs import OutputExistsError, mark_finished
from pipeline.shards.tar import read_samples
from pipeline.shards.interleaved import WriteTask, finalize_interleaved, write_task_docs
from pipeline.shards.pairs import finalize_pairs, write_pair_task
from pipeline.stats import RunStats
from schemas import Document, ImageNode, TextNode

EN = "the keepers of the north coast light trimmed the wicks at dusk"
ZH = "海边灯塔的守护者每到黄昏修剪灯芯"


def _jpeg(size: int, shade: int) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (size + 10, size), (shade, 120, 255 - shade)).save(out, "JPEG", quality=90)
    return out.getvalue()


def _doc(d: int) -> Document:
    zh = d % 3 == 2
    nodes: list[TextNode | ImageNode] = [TextNode(ZH if zh else EN)]
    for j in range(d % 3 + 1):
        side = 24 + 24 * ((d + j) % 3)  # 24, 48, 72 px
        nodes.append(ImageNode(url=f"https://img.example.com/{d}/{j}.jpg", alt=f"alt {d} {j}",
                               image=_jpeg(side, 20 * d + j), image_mime="image/jpeg", status="ok",
                               width=side + 10, height=side, clip_score=round(0.1 + 0.05 * ((d + j) % 5), 3),
                               matched_text_index=0, matched_sim=0.3))
        nodes.append(TextNode((ZH if zh else EN) + f" {d} {j}"))
    nodes.append(ImageNode(url=f"https://img.example.com/{d}/gone.jpg", status="failed", reason="http_404"))
    doc = Document(doc_id=f"doc{d:02d}", url=f"https://example.com/{d}", nodes=nodes, language="zh" if zh else "en")
    doc.renumber()
    return doc


def _finish(folder: Path, results: list[dict], config, finalize) -> None:
    run = RunStats()
    for r in results:
        run.merge(RunStats.from_dict(r["stats"]))
    finalize(folder, results, config, run.to_dict())
    mark_finished(folder)


@pytest.fixture(scope="module")
def out(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("export") / "out"
    config = load_config(None, [f"run.output={out}", "shards.max_samples=5", "select.enabled=false"])
    docs = [_doc(d) for d in range(12)]
    inter = out / "shards" / "interleaved"
    _finish(inter, [write_task_docs(WriteTask(0, ()), docs[:6], config, str(inter)),
                    write_task_docs(WriteTask(1, ()), docs[6:], config, str(inter))], config, finalize_interleaved)
    pairs = []
    for d, doc in enumerate(docs):
        node = doc.image_nodes[0]
        row = {"doc_id": doc.doc_id, "image_index": 0, "url": node.url, "status": "ok", "reason": None,
               "candidate_sources": ["alt"], "candidate_node_indexes": [-1], "candidate_scores": [node.clip_score],
               "best_source": "alt", "best_text": node.alt, "best_score": node.clip_score,
               "matched_text_index": 0, "matched_sim": 0.3, "model": "test"}
        pairs.append((doc, [row]))
    folder = out / "shards" / "pairs"
    _finish(folder, [write_pair_task(WriteTask(0, ()), pairs, config, folder, -1.0)], config, finalize_pairs)
    return out


def _export(out: Path, dest, fmt: str = "webdataset", source: str = "interleaved", **sel) -> dict:
    return run_export(ExportOptions(output=str(out), dest=str(dest), fmt=fmt, source=source,
                                    selection=Selection(**sel), samples_per_file=4))


def _balanced(m: dict) -> None:
    c = m["counts"]
    assert c["in"] == c["out"] + sum(c["dropped"].values())


def test_webdataset_export_reads_back_with_webdataset(out, tmp_path):
    import webdataset as wds

    m = _export(out, tmp_path / "wds", languages=("en",), min_clip_score=0.2)
    _balanced(m)
    assert m["counts"]["dropped"] == {"language": 4}
    samples = list(wds.WebDataset(str(tmp_path / "wds" / m["url_pattern"]), shardshuffle=False))
    assert len(samples) == m["counts"]["out"] > 0 and [f["samples"] for f in m["files"]][0] == 4
    for s in samples:
        doc = json.loads(s["json"])
        assert doc["language"] == "en"
        for node in doc["nodes"]:
            if node["type"] != "image" or node["status"] == "failed":
                continue
            if node["clip_score"] < 0.2:  # removed by the selection, kept as a node that says why
                assert (node["file"], node["status"], node["reason"]) == (None, "dropped", "export:min_clip_score")
                assert node["file"] not in s
            else:
                assert node["file"] in s
    assert m["statistics"]["clip_score"]["p0"] >= 0.2
    card = (tmp_path / "wds" / "README.md").read_text()
    assert "import webdataset" in card and "| language | 4 |" in card


def test_parquet_export_loads_with_datasets(out, tmp_path):
    datasets = pytest.importorskip("datasets")

    m = _export(out, tmp_path / "pq", "parquet")
    assert m["counts"]["out"] == 12 and len(m["files"]) == 3
    ds = datasets.load_dataset("parquet", data_files=str(tmp_path / "pq" / "*.parquet"), split="train",
                               cache_dir=str(tmp_path / "cache"))
    assert len(ds) == 12
    row = ds[5]  # doc05: 3 images, one failed (no slot)
    assert [t is None for t in row["texts"]] == [i is not None for i in row["images"]]
    images = [i for i in row["images"] if i is not None]
    assert len(images) == 3 and all(isinstance(i, Image.Image) for i in images)
    assert [i.size for i in images] == [(82, 72), (34, 24), (58, 48)]
    pairs = _export(out, tmp_path / "pq-pairs", "parquet", source="pairs", min_clip_score=0.2)
    ds = datasets.load_dataset("parquet", data_files=str(tmp_path / "pq-pairs" / "*.parquet"), split="train",
                               cache_dir=str(tmp_path / "cache2"))
    assert len(ds) == pairs["counts"]["out"] > 0 and all(s >= 0.2 for s in ds["clip_score"])
    assert isinstance(ds[0]["image"], Image.Image) and ds[0]["text"].startswith("alt ")
    _balanced(pairs)


def test_obelics_and_mmc4_jsonl(out, tmp_path):
    ob = _export(out, tmp_path / "ob", "obelics", min_images=2)
    rows = [json.loads(line) for f in ob["files"] for line in gzip.open(tmp_path / "ob" / f["name"])]
    assert len(rows) == ob["counts"]["out"] == 8 and ob["counts"]["dropped"] == {"image_count": 4}
    for r in rows:
        assert len(r["texts"]) == len(r["images"]) and all((t is None) != (i is None) for t, i in
                                                           zip(r["texts"], r["images"]))
        assert json.loads(r["general_metadata"])["doc_id"] == r["key"]
    mm = _export(out, tmp_path / "mm", "mmc4", max_samples=5)
    rows = [json.loads(line) for f in mm["files"] for line in gzip.open(tmp_path / "mm" / f["name"])]
    assert [r["key"] for r in rows] == [f"doc{d:02d}" for d in range(5)]
    assert mm["counts"]["dropped"] == {"max_samples": 7}
    assert rows[2]["image_info"][2] == {"image_name": "doc02.2.jpg", "raw_url": "https://img.example.com/2/2.jpg",
                                        "matched_text_index": 0, "matched_sim": 0.3}
    with pytest.raises(ValueError, match="use --source interleaved"):
        _export(out, tmp_path / "x", "mmc4", source="pairs")


def _keys(m: dict, folder: Path) -> list[str]:
    if m["format"] == "webdataset":
        return [key for f in m["files"] for key, _ in read_samples(folder / f["name"])]
    return [json.loads(line)["key"] for f in m["files"] for line in gzip.open(folder / f["name"])]


def test_sampling_is_stable_and_image_filters_apply(out, tmp_path):
    a = _export(out, tmp_path / "a", sample_rate=0.5, seed=7)
    b = _export(out, tmp_path / "b", "obelics", sample_rate=0.5, seed=7)
    assert _keys(a, tmp_path / "a") == _keys(b, tmp_path / "b") and 0 < a["counts"]["out"] < 12
    assert a["counts"]["dropped"] == {"sample_rate": 12 - a["counts"]["out"]}
    # Words: English documents have 26 or 40, Chinese ones 74 (a CJK character counts as a word).
    small = _export(out, tmp_path / "side", min_image_side=40, min_words=60)
    _balanced(small)
    assert small["counts"]["dropped"] == {"words": 8} and small["statistics"]["languages"] == {"zh": 4}
    assert small["statistics"]["image_min_side"]["p0"] >= 48
    assert small["counts"]["images_dropped"] > 0


def test_same_input_gives_identical_files_and_reruns_skip(out, tmp_path):
    first = _export(out, tmp_path / "one", "parquet", min_clip_score=0.15)
    second = _export(out, tmp_path / "two", "parquet", min_clip_score=0.15)
    assert [f["sha256"] for f in first["files"]] == [f["sha256"] for f in second["files"]]
    assert _export(out, tmp_path / "one", "parquet", min_clip_score=0.15)["skipped"]
    with pytest.raises(OutputExistsError, match="another finished export"):
        _export(out, tmp_path / "one", "parquet", min_clip_score=0.3)


def test_corruption_is_detected(out, tmp_path, capsys):
    m = _export(out, tmp_path / "c", "webdataset")
    assert verify_export(str(tmp_path / "c"))["samples"] == 12
    part = tmp_path / "c" / m["files"][1]["name"]
    data = bytearray(part.read_bytes())
    data[700] ^= 0xFF
    part.write_bytes(bytes(data))
    with pytest.raises(VerificationError, match=f"{part.name}: sha256/bytes"):
        verify_export(str(tmp_path / "c"))
    assert main(["export", "--verify", str(tmp_path / "c")]) == 1
    assert "problem" in capsys.readouterr().err
    (tmp_path / "c" / m["files"][0]["name"]).unlink()
    with pytest.raises(VerificationError, match="missing"):
        verify_export(str(tmp_path / "c"))
    # A file whose manifest entry matches but which its reader cannot parse.
    pq = _export(out, tmp_path / "p", "parquet")
    bad = tmp_path / "p" / pq["files"][0]["name"]
    bad.write_bytes(bad.read_bytes()[:100])
    manifest = json.loads((tmp_path / "p" / "manifest.json").read_text())
    manifest["files"][0].update(sha256=hashlib.sha256(bad.read_bytes()).hexdigest(), bytes=100)
    (tmp_path / "p" / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(VerificationError, match="unreadable as parquet"):
        verify_export(str(tmp_path / "p"))


def test_export_to_s3_and_the_cli(out, s3_endpoint, s3_bucket, monkeypatch, capsys):
    import s3fs

    monkeypatch.setenv("AWS_ENDPOINT_URL", s3_endpoint)
    dest = f"s3://{s3_bucket}/slices/en"
    assert main(["export", "--output", str(out), "--to", dest, "--format", "webdataset", "--languages", "en",
                 "--samples-per-file", "3"]) == 0
    assert "8 of 12 samples in 3 files" in capsys.readouterr().out
    fs = s3fs.S3FileSystem(endpoint_url=s3_endpoint)
    names = sorted(p.rsplit("/", 1)[1] for p in fs.ls(f"{s3_bucket}/slices/en"))
    assert names == ["README.md", "_SUCCESS", "manifest.json", "part-000000.tar", "part-000001.tar",
                     "part-000002.tar"]
    assert main(["export", "--verify", dest]) == 0
    assert main(["export", "--output", str(out), "--to", dest, "--languages", "en", "--samples-per-file", "3"]) == 0
    assert "already finished" in capsys.readouterr().out
