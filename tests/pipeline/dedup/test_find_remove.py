"""Dedup end to end: planted duplicates in a WARC the test writes → dedup/ tables → shards."""

from __future__ import annotations

import io
import json
import random

import pytest
import webdataset as wds
from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

from pipeline.cli import main
from pipeline.config import load_config
from pipeline.run import run_all

WORDS = ("river mountain harbour lantern orchard meadow granite willow copper thistle ember "
         "falcon quarry summit valley beacon cedar glacier marsh pebble tide canyon prairie "
         "basalt fjord heron lichen moss delta dune").split()
BOILERPLATE = "Subscribe to our newsletter for weekly stories from the coast and the hills."


def paragraphs(seed: int, n: int = 6) -> list[str]:
    rng = random.Random(seed)
    return [" ".join(rng.choice(WORDS) for _ in range(40)).capitalize() + "." for _ in range(n)]


def page(title: str, paras: list[str]) -> bytes:
    body = "".join(f"<p>{p}</p>" for p in paras)
    return f"<html><head><title>{title}</title></head><body><article><h1>{title}</h1>{body}</article></body></html>".encode()


def write_warc(path, records: list[tuple[str, str, bytes]]) -> None:
    with open(path, "wb") as f:
        w = WARCWriter(f, gzip=True)
        for url, date, html in records:
            http = StatusAndHeaders("200 OK", [("Content-Type", "text/html; charset=utf-8")], protocol="HTTP/1.1")
            w.write_record(w.create_warc_record(url, "response", payload=io.BytesIO(html),
                                                http_headers=http, warc_headers_dict={"WARC-Date": date}))


@pytest.fixture
def planted(tmp_path):
    base = "https://stories.example.org"
    records = []
    for i in range(24):  # 24 distinct stories, each ending with the same newsletter line
        records.append((f"{base}/story/{i}", "2024-01-01T00:00:00Z", page(f"Story {i}", paragraphs(i) + [BOILERPLATE])))
    original = paragraphs(100)
    records += [
        # the same URL captured twice (tracking parameter, later date): the later one stays
        (f"{base}/news/a?utm_source=x", "2024-03-01T00:00:00Z", page("News A", original)),
        (f"{base}/news/a", "2024-01-15T00:00:00Z", page("News A", original[:3] + paragraphs(101)[:3])),
        # an exact copy under another site, only case and spacing differ
        ("https://mirror.example.net/copy", "2024-01-02T00:00:00Z",
         page("news a", [p.upper().replace(" ", "  ") for p in original])),
        # a near copy: a few words of the last paragraph rewritten
        ("https://other.example.com/near", "2024-01-03T00:00:00Z",
         page("News A", original[:5] + ["Rewritten opening words here " + original[5].split(" ", 5)[5]])),
        # one paragraph twice in the same domain: the second occurrence goes
        (f"{base}/repeat", "2024-01-04T00:00:00Z", page("Repeat", paragraphs(200)[:2] + paragraphs(201)[:1])),
        (f"{base}/repeat-2", "2024-01-05T00:00:00Z", page("Repeat 2", paragraphs(200)[:1] + paragraphs(202))),
    ]
    write_warc(tmp_path / "planted.warc.gz", records)
    return tmp_path / "planted.warc.gz"


def test_planted_duplicates_removed_with_reasons(tmp_path, planted, capsys):
    out = tmp_path / "out"
    config = load_config(None, [f"input.paths=[{planted}]", f"run.output={out}", "run.engine=local",
                                "run.progress=false", "images.enabled=false", "dedup.paragraph_max_docs=20",
                                "select.enabled=false"])  # about dedup: the text filters select nothing
    result = run_all(config)
    stats = result["dedup"]["stats"]["dedup"]
    assert stats["in"] == 30
    assert stats["dropped"] == {"url_duplicate": 1, "exact_duplicate": 1, "near_duplicate": 1}
    assert stats["counters"]["paragraphs:paragraph_repeated"] == 24
    assert stats["counters"]["paragraphs:paragraph_in_domain"] == 1
    written = result["shards"]["stats"]["write_interleaved"]
    assert written["in"] == 30 and written["out"] == 27
    assert written["dropped"] == {"dedup:url_duplicate": 1, "dedup:exact_duplicate": 1, "dedup:near_duplicate": 1}

    folder = out / "shards" / "interleaved"
    docs = {}
    for shard in json.loads((folder / "manifest.json").read_text())["shards"]:
        for sample in wds.WebDataset(str(folder / shard["name"]), shardshuffle=False):
            doc = json.loads(sample["json"])
            docs[doc["url"]] = "\n".join(n["text"] for n in doc["nodes"] if n["type"] == "text")
    assert "https://stories.example.org/news/a" not in docs  # the older capture of the same page
    # Of the latest capture, its exact mirror and its near copy, one document stays.
    trio = {"https://stories.example.org/news/a?utm_source=x", "https://mirror.example.net/copy",
            "https://other.example.com/near"}
    assert len(trio & set(docs)) == 1
    assert not any(BOILERPLATE in text for text in docs.values())
    repeated = paragraphs(200)[0]
    assert repeated in docs["https://stories.example.org/repeat"]
    assert repeated not in docs["https://stories.example.org/repeat-2"]
    # Unique text is never lost: every story keeps its own six paragraphs.
    for i in range(24):
        assert all(p in docs[f"https://stories.example.org/story/{i}"] for p in paragraphs(i))

    assert main(["dedup-report", "--output", str(out)]) == 0
    report = capsys.readouterr().out
    assert report.startswith("3 documents removed")
    assert "near_duplicate" in report and "url_duplicate" in report and "exact_duplicate" in report


def test_a_cjk_label_on_latin_text_does_not_switch_to_character_shingles():
    from pipeline.dedup.minhash import is_cjk, shingles

    latin = "ORCHARD VALLEY VALLEY FJORD MEADOW PRAIRIE QUARRY BASALT FALCON SUMMIT"
    # language id called this "zh" in a real run; it must still shingle by words
    assert not is_cjk(latin.lower(), "zh")
    assert shingles(latin, "zh") == shingles(latin, "en")
    assert is_cjk("北海岸的灯塔由住在灯旁的家庭看守", None) and is_cjk("灯塔 lighthouse 北海岸的家庭", "zh")
