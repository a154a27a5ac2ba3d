"""Paragraph deduplication rules (a) in-domain repeats and (b) corpus-wide boilerplate."""

from __future__ import annotations

import pytest

from pipeline.dedup.paragraphs import domain_of, paragraph_duplicates, paragraph_key


@pytest.fixture(scope="session")
def spark():
    from pipeline.config import SparkConfig
    from pipeline.spark import get_spark

    return get_spark(SparkConfig(master="local[2]", conf={"spark.sql.shuffle.partitions": "4"}))


SCHEMA = "doc_id string, domain string, node_index int, text string, order string"
BIO = "About the author: Jane writes about gardens and birds."
COOKIES = "We use cookies to improve your experience on this site."


def doc(doc_id: str, domain: str, order: str, texts: list[str]) -> list[tuple]:
    return [(doc_id, domain, i, text, order) for i, text in enumerate(texts)]


def corpus() -> list[tuple]:
    rows: list[tuple] = []
    # Rule (a): the same bio on three pages of one site, once on another site.
    rows += doc("p1", "garden.example", "003", ["Roses need sun and well drained soil.", BIO])
    rows += doc("p2", "garden.example", "001", ["Tulips are planted in autumn, not spring.", BIO,
                                                "Share"])
    rows += doc("p3", "garden.example", "002", ["Robins sing at dawn in the early spring.",
                                                "about the AUTHOR - Jane writes about gardens, and birds",
                                                "Share"])
    rows += doc("q1", "other.example", "004", ["A page on another site quoting the bio.", BIO])
    # A document whose every paragraph is unique loses nothing.
    rows += doc("u1", "garden.example", "000", ["Completely unique opening paragraph here.",
                                                "And a unique second paragraph as well.", ""])
    # (The bio is on 4 documents: not above max_docs=4, so rule (b) leaves it to rule (a).)
    # The same paragraph twice in one document: the second one goes.
    rows += doc("r1", "twice.example", "005", ["Repeated within the very same document.",
                                               "Something in between the two copies.",
                                               "Repeated within the very same document."])
    # Rule (b): a cookie note (and a short "Menu") on 5 documents of 5 domains, max_docs=4.
    for k in range(5):
        rows += doc(f"c{k}", f"site{k}.example", f"1{k}", [f"Unique content number {k} of this page.",
                                                           COOKIES, "Menu"])
    return rows


def rows(df) -> list[tuple]:
    return sorted(tuple(r) for r in df.collect())


@pytest.fixture(scope="module")
def marked(spark) -> list[tuple]:
    return rows(paragraph_duplicates(spark.createDataFrame(corpus(), SCHEMA), max_docs=4))


def test_rule_a_keeps_the_first_occurrence_in_the_domain(marked) -> None:
    # p2 has the smallest order: its bio stays; p1 and p3 (a punctuation/case variant) lose it.
    in_domain = [r for r in marked if r[2] == "paragraph_in_domain"]
    assert in_domain == [("p1", 1, "paragraph_in_domain"), ("p3", 1, "paragraph_in_domain"),
                         ("r1", 2, "paragraph_in_domain")]


def test_rule_a_is_per_domain(marked) -> None:
    assert not [r for r in marked if r[0] == "q1"]


def test_rule_a_leaves_short_paragraphs(marked) -> None:
    # "Share" repeats on garden.example but is under min_chars.
    assert ("p3", 2, "paragraph_in_domain") not in marked


def test_rule_b_marks_every_occurrence_even_short_ones(marked) -> None:
    repeated = [r for r in marked if r[2] == "paragraph_repeated"]
    assert repeated == [(f"c{k}", i, "paragraph_repeated") for k in range(5) for i in (1, 2)]


def test_rule_b_wins_over_rule_a(spark) -> None:
    # Five docs of one domain: above max_docs=3, every copy is "repeated", the first one too.
    data = [row for k in range(5) for row in doc(f"d{k}", "one.example", f"{k}", [COOKIES])]
    result = rows(paragraph_duplicates(spark.createDataFrame(data, SCHEMA), max_docs=3))
    assert result == [(f"d{k}", 0, "paragraph_repeated") for k in range(5)]
    # At exactly max_docs documents rule (b) does not apply: rule (a) keeps the first.
    result = rows(paragraph_duplicates(spark.createDataFrame(data[:3], SCHEMA), max_docs=3))
    assert result == [("d1", 0, "paragraph_in_domain"), ("d2", 0, "paragraph_in_domain")]


def test_rule_b_counts_distinct_documents(spark) -> None:
    # One document repeating a line many times is rule (a)'s business, not boilerplate.
    data = doc("x", "x.example", "0", [COOKIES] * 10)
    result = rows(paragraph_duplicates(spark.createDataFrame(data, SCHEMA), max_docs=3))
    assert result == [("x", i, "paragraph_in_domain") for i in range(1, 10)]


def test_unique_text_is_kept(marked) -> None:
    docs = {}
    for doc_id, _domain, index, text, _order in corpus():
        docs.setdefault(doc_id, {})[index] = text
    dropped = {(d, i) for d, i, _ in marked}
    # A document whose paragraphs are all unique loses nothing.
    assert not [key for key in dropped if key[0] in ("u1", "p2")]
    # Documents with a repeated paragraph keep all the others.
    for doc_id, nodes in docs.items():
        assert [i for i in nodes if (doc_id, i) not in dropped], doc_id
    assert sorted(i for i in docs["p1"] if ("p1", i) not in dropped) == [0]
    assert sorted(i for i in docs["c0"] if ("c0", i) not in dropped) == [0]
    assert sorted(i for i in docs["r1"] if ("r1", i) not in dropped) == [0, 1]


def test_paragraph_key() -> None:
    assert paragraph_key("Hello,  World!") == paragraph_key("hello world")
    assert paragraph_key("Hello,  World!")[1] == len("hello world")
    assert paragraph_key(" -- ") is None


def test_null_domain_and_order(spark) -> None:
    data = [("a", None, 0, BIO, None), ("b", None, 0, BIO, "9")]
    result = rows(paragraph_duplicates(spark.createDataFrame(data, SCHEMA)))
    assert result == [("a", 0, "paragraph_in_domain")]  # a null order sorts last


def test_output_schema(spark) -> None:
    df = paragraph_duplicates(spark.createDataFrame(corpus(), SCHEMA))
    assert df.columns == ["doc_id", "node_index", "reason"]


def test_domain_of() -> None:
    assert domain_of("https://www.Garden.example/a") == "garden.example"
    assert domain_of("garbage") == ""


def test_deterministic_across_partitions_and_reruns(spark, marked) -> None:
    data = spark.createDataFrame(corpus()[::-1], SCHEMA)
    for n in (1, 3, 8, 8):
        assert rows(paragraph_duplicates(data.repartition(n), max_docs=4)) == marked, n
