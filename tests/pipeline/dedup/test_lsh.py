"""MinHash-LSH near-duplicate clusters on Spark: planted duplicates (real pages, generated
English and Chinese text), no low-similarity merges, and partition-independent results."""

from __future__ import annotations

import itertools
import json
import random
from dataclasses import dataclass
from pathlib import Path

import pytest

from pipeline.dedup.minhash import jaccard, shingles

SHARED_DATA = Path(__file__).resolve().parents[3] / ".." / "shared" / "data"
VOCAB = [f"term{i}" for i in range(3000)]
# Common Chinese characters: generated Chinese "sentences" draw from these.
HANZI = ("的一是在不了有和人这中大为上个国我以要他时来用们生到作地于出就分对成会可主发年动同工"
         "也能下过子说产种面而方后多定行学法所民得经十三之进着等部度家电力里如水化高自二理起小物"
         "现实加量都两体制机当使点从业本去把性好应开它合还因由其些然前外天政四日那社义事平形相全"
         "表间样与关各重新线内数正心反你明看原又么利比或但质气第向道命此变条只没结解问意建月公无"
         "系军很情者最立代想已通并提直题党程展五果料象员革位入常文总次品式活设及管特件长求老头基")
BOILERPLATE = ("Subscribe to our newsletter for the latest updates. Share this article on social "
               "media. All rights reserved. Privacy policy. Terms of use. Contact us for more.")
ZH_BOILERPLATE = "版权所有，未经许可不得转载。关注我们的公众号获取最新消息。"
MIN_CHARS = 500


@dataclass(frozen=True)
class Doc:
    doc_id: str
    family: str
    text: str
    language: str | None


# -- Spark ------------------------------------------------------------------------------------

@pytest.fixture(scope="session")
def spark():
    from pipeline.config import SparkConfig
    from pipeline.spark import get_spark

    # Not stopped at teardown: getOrCreate may hand the same session to other test modules.
    return get_spark(SparkConfig(master="local[2]",
                                 conf={"spark.sql.shuffle.partitions": "4"}))


def run_near_duplicates(spark, docs: list[Doc], partitions: int | None = None) -> list[tuple]:
    from pipeline.dedup.lsh import near_duplicates

    frame = spark.createDataFrame([(d.doc_id, d.text, d.language) for d in docs],
                                  "doc_id string, text string, language string")
    if partitions:
        frame = frame.repartition(partitions)
    return sorted(tuple(row) for row in near_duplicates(spark, frame).collect())


# -- edits at controlled similarity -----------------------------------------------------------

def _edit_units(units: list[str], rng: random.Random, fraction: float, pool: list[str],
                kind: str) -> list[str]:
    units = list(units)
    for _ in range(max(1, round(len(units) * fraction))):
        i = rng.randrange(len(units))
        if kind == "swap":
            units[i] = rng.choice(pool)
        elif kind == "insert":
            units.insert(i, rng.choice(pool))
        elif kind == "delete" and len(units) > 1:
            del units[i]
    return units


def edit(paragraphs: list[str], rng: random.Random, kind: str, fraction: float, cjk: bool,
         pool: list[str]) -> str:
    """One edited copy: unit (word / character) swaps, insertions, deletions, reordered
    paragraphs or appended boilerplate."""
    sep = "" if cjk else " "
    if kind == "reorder":
        paragraphs = list(paragraphs)
        rng.shuffle(paragraphs)
    elif kind == "boilerplate":
        paragraphs = paragraphs + [ZH_BOILERPLATE if cjk else BOILERPLATE]
    else:
        paragraphs = [sep.join(_edit_units(list(p) if cjk else p.split(), rng, fraction, pool, kind))
                      for p in paragraphs]
    return "\n\n".join(paragraphs)


# (kind, fraction of units edited): light edits stay well above 0.8 true Jaccard on 5-grams,
# "heavy" lands far below 0.5 and must never be merged with its original.
EDITS = [("swap", 0.01), ("insert", 0.01), ("delete", 0.015), ("reorder", 0.0),
         ("boilerplate", 0.0), ("swap", 0.3)]


def family(prefix: str, index: int, paragraphs: list[str], rng: random.Random, cjk: bool,
           pool: list[str], language: str | None) -> list[Doc]:
    """The original (copy 0, the smallest doc_id) and its edited copies."""
    name = f"{prefix}{index:03d}"
    docs = [Doc(f"{name}-0", name, "\n\n".join(paragraphs), language)]
    for k, (kind, fraction) in enumerate(EDITS, start=1):
        # Every other copy carries no language label: detection must still shingle it right.
        label = language if k % 2 else None
        docs.append(Doc(f"{name}-{k}", name, edit(paragraphs, rng, kind, fraction, cjk, pool), label))
    return docs


def generated_english(count: int = 30, seed: int = 11) -> list[Doc]:
    rng = random.Random(seed)
    docs = []
    for i in range(count):
        paragraphs = [" ".join(rng.choice(VOCAB) for _ in range(rng.randint(40, 90)))
                      for _ in range(rng.randint(3, 6))]
        docs += family("gen", i, paragraphs, rng, cjk=False, pool=VOCAB, language="en")
    return docs


def generated_chinese(count: int = 20, seed: int = 12) -> list[Doc]:
    rng = random.Random(seed)
    docs = []
    for i in range(count):
        paragraphs = ["".join(rng.choice(HANZI) for _ in range(rng.randint(60, 150))) + "。"
                      for _ in range(rng.randint(3, 5))]
        docs += family("zh", i, paragraphs, rng, cjk=True, pool=list(HANZI), language="zh")
    return docs


def shared_data() -> Path:
    if not SHARED_DATA.is_dir():
        pytest.skip(f"real-world sample data not found at {SHARED_DATA.resolve()} "
                    "(a fresh clone has no ../shared): real-page dedup tests skipped")
    return SHARED_DATA


def page_paragraphs(path: Path) -> list[str]:
    from pipeline.extract.charset import decode_html
    from pipeline.extract.html import extract_document
    from schemas import TextNode

    html, _ = decode_html(path.read_bytes(), None)
    nodes = extract_document(html, f"https://example.com/{path.name}").nodes
    return [n.text for n in nodes if isinstance(n, TextNode) and n.text.strip()]


def real_pages(root: Path) -> list[Doc]:
    """Trafilatura's sample pages (>= 500 chars of text) and goose3's Chinese pages, edited."""
    rng = random.Random(13)
    docs: list[Doc] = []
    pages = sorted((root / "html" / "trafilatura" / "html").glob("*.html"))
    for i, path in enumerate(pages):
        paragraphs = page_paragraphs(path)
        if len("\n\n".join(paragraphs)) >= MIN_CHARS:
            words = " ".join(paragraphs).split()
            docs += family("web", i, paragraphs, rng, cjk=False, pool=words, language=None)
    for i, path in enumerate(sorted((root / "html" / "goose3" / "content").glob("*.html"))):
        meta = path.with_suffix(".json")
        expected = json.loads(meta.read_text()).get("expected", {}) if meta.exists() else {}
        if expected.get("meta_lang") == "zh":
            paragraphs = page_paragraphs(path)
            if len("".join(paragraphs)) >= 200:  # 200 hanzi ~ 500 chars of English
                pool = [c for c in "".join(paragraphs) if not c.isspace()]
                docs += family("webzh", i, paragraphs, rng, cjk=True, pool=pool, language="zh")
    return docs


# -- assertions -------------------------------------------------------------------------------

def check_clusters(docs: list[Doc], result: list[tuple]) -> dict[str, float]:
    """Recall over planted pairs with true Jaccard >= 0.8, no merged pair below 0.5, and the
    component id is the smallest doc_id of its members. Returns the measured figures."""
    component = {doc_id: comp for doc_id, comp, _ in result}
    grams = {d.doc_id: shingles(d.text, d.language) for d in docs}
    by_id = {d.doc_id: d for d in docs}
    members: dict[str, list[str]] = {}
    for doc_id, comp in component.items():
        members.setdefault(comp, []).append(doc_id)
    for comp, ids in members.items():
        assert len(ids) >= 2 and comp == min(ids), (comp, ids)
    for doc_id, _, similarity in result:
        assert 0.7 <= similarity <= 1.0

    high = found = 0
    for d in docs:
        if d.doc_id.endswith("-0"):
            continue
        original = f"{d.family}-0"
        if jaccard(grams[original], grams[d.doc_id]) >= 0.8:
            high += 1
            found += component.get(d.doc_id, d.doc_id) == component.get(original, original)
    assert high > 0
    recall = found / high
    assert recall >= 0.95, f"recall {recall:.3f} over {high} planted pairs with Jaccard >= 0.8"

    # Every pair merged into one component, across originals too, is truly similar.
    worst = 1.0
    for ids in members.values():
        for a, b in itertools.combinations(sorted(ids), 2):
            similarity = jaccard(grams[a], grams[b])
            worst = min(worst, similarity)
            assert similarity >= 0.5, (a, b, similarity, by_id[a].family, by_id[b].family)
    return {"recall": recall, "pairs": high, "worst": worst}


# -- tests ------------------------------------------------------------------------------------

def test_generated_english_duplicates(spark):
    docs = generated_english()
    figures = check_clusters(docs, run_near_duplicates(spark, docs))
    assert figures["pairs"] >= 100


def test_generated_chinese_duplicates(spark):
    docs = generated_chinese()
    result = run_near_duplicates(spark, docs)
    figures = check_clusters(docs, result)
    assert figures["pairs"] >= 60
    # The heavily edited copy (30 % of characters swapped) stays out.
    component = {doc_id: comp for doc_id, comp, _ in result}
    assert all(f"zh{i:03d}-6" not in component or component[f"zh{i:03d}-6"] != f"zh{i:03d}-0"
               for i in range(20))


def test_real_pages_duplicates(spark):
    docs = real_pages(shared_data())
    assert len({d.family for d in docs}) >= 20
    assert any(d.family.startswith("webzh") for d in docs), "no Chinese goose3 page found"
    check_clusters(docs, run_near_duplicates(spark, docs))


def test_identical_with_1_3_8_partitions_and_rerun(spark):
    docs = generated_english(count=12, seed=21) + generated_chinese(count=6, seed=22)
    if SHARED_DATA.is_dir():
        docs += real_pages(SHARED_DATA)[:70]
    first = run_near_duplicates(spark, docs, partitions=1)
    assert first
    assert run_near_duplicates(spark, docs, partitions=3) == first
    assert run_near_duplicates(spark, docs, partitions=8) == first
    assert run_near_duplicates(spark, docs, partitions=8) == first  # rerun


def test_empty_and_unrelated_documents_are_never_grouped(spark):
    docs = [Doc("a", "a", "", "en"), Doc("b", "b", "", None), Doc("c", "c", "   ...  ", "en"),
            Doc("d", "d", "completely different words here", "en"),
            Doc("e", "e", "nothing in common with the others at all", "en")]
    assert run_near_duplicates(spark, docs) == []


def test_connected_components_follow_chains(spark):
    from pipeline.dedup.lsh import connected_components

    # A path whose smallest id sits at the far end needs several propagation rounds.
    chain = [("n5", "n4"), ("n4", "n3"), ("n3", "n2"), ("n2", "n1"), ("x2", "x1")]
    edges = spark.createDataFrame(chain, "src string, dst string").repartition(3)
    labels = dict(tuple(r) for r in connected_components(edges).collect())
    assert labels == {"n1": "n1", "n2": "n1", "n3": "n1", "n4": "n1", "n5": "n1",
                      "x1": "x1", "x2": "x1"}


def test_candidate_edges_are_stars(spark):
    from pipeline.dedup.lsh import candidate_edges

    keyed = spark.createDataFrame(
        [(0, 7, "d"), (0, 7, "b"), (0, 7, "c"), (1, 9, "c"), (1, 9, "d"), (2, 5, "a")],
        "band int, key long, doc_id string")
    edges = sorted(tuple(r) for r in candidate_edges(keyed).collect())
    assert edges == [("b", "c"), ("b", "d"), ("c", "d")]
