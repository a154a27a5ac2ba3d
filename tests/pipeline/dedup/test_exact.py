"""Exact-text and identical-image-set duplicates (Spark local mode)."""

from __future__ import annotations

import pytest

from pipeline.dedup.exact import exact_duplicates, normalize_text, text_hash


@pytest.fixture(scope="session")
def spark():
    from pipeline.config import SparkConfig
    from pipeline.spark import get_spark

    return get_spark(SparkConfig(master="local[2]", conf={"spark.sql.shuffle.partitions": "4"}))


@pytest.mark.parametrize("text, expected", [
    ("Hello,  World!", "hello world"),
    ("ＨＥＬＬＯ\u3000Ｗｏｒｌｄ", "hello world"),  # NFKC folds full-width forms
    ("end.Next\tline\n\nthree", "end next line three"),  # punctuation becomes a space
    ("l'été — déjà vu…", "l été déjà vu"),
    ("Page 2 of 10", "page 2 of 10"),  # digits kept
    ("Price: $5 😀", "price $5 😀"),  # symbols kept
    ("  ... !!! ", ""),
    ("", ""),
    (None, ""),
])
def test_normalize_text(text, expected) -> None:
    assert normalize_text(text) == expected


def test_text_hash() -> None:
    assert text_hash("Hello, world!") == text_hash("hello world")
    assert text_hash("hello world") != text_hash("hello world 2")
    assert text_hash(" ?! ") is None and text_hash(None) is None
    assert len(text_hash("x")) == 32


DOCS = [
    ("b", "The quick brown fox.\n\nJumps over the dog!"),
    ("a", "the QUICK brown fox jumps over the dog"),
    ("c", "The quick, brown fox -- jumps  over the dog"),
    ("z", "Ｔｈｅ quick brown fox jumps over the dog…"),
    ("d", "The quick brown fox jumps over the dog 2"),  # a digit makes it different
    ("e", "Something else entirely."),
    ("f", ""),
    ("g", "   "),
    ("h", "..."),
    ("i", None),
]
SCHEMA = "doc_id string, text string"


def rows(df) -> list[tuple]:
    return sorted(tuple(r) for r in df.collect())


@pytest.fixture(scope="module")
def exact_result(spark) -> list[tuple]:
    return rows(exact_duplicates(spark.createDataFrame(DOCS, SCHEMA)))


def test_variants_grouped_and_smallest_doc_id_kept(exact_result) -> None:
    assert exact_result == [
        ("a", "a", True, None, 1.0),
        ("b", "a", False, "exact_duplicate", 1.0),
        ("c", "a", False, "exact_duplicate", 1.0),
        ("z", "a", False, "exact_duplicate", 1.0),
    ]


def test_empty_texts_are_ignored(spark) -> None:
    # Four empty-ish texts would form a group if they were hashed.
    result = rows(exact_duplicates(spark.createDataFrame(DOCS[5:], SCHEMA)))
    assert result == []


def test_output_schema(spark) -> None:
    df = exact_duplicates(spark.createDataFrame(DOCS, SCHEMA))
    assert dict(df.dtypes) == {"doc_id": "string", "cluster": "string", "kept": "boolean",
                               "reason": "string", "similarity": "double"}
    assert df.columns == ["doc_id", "cluster", "kept", "reason", "similarity"]


def test_image_set_mode(spark) -> None:
    docs = spark.createDataFrame([
        ("d3", "h1"), ("d1", "h1"), ("d2", "H1"),  # no normalisation: case matters
        ("d4", "h2"), ("d5", "h2"),
        ("d6", "h3"),
        ("d7", ""), ("d8", ""), ("d9", None), ("d10", None),
    ], "doc_id string, image_set string")
    result = rows(exact_duplicates(docs, column="image_set", reason="image_set_duplicate",
                                   normalize=False))
    assert result == [
        ("d1", "d1", True, None, 1.0),
        ("d3", "d1", False, "image_set_duplicate", 1.0),
        ("d4", "d4", True, None, 1.0),
        ("d5", "d4", False, "image_set_duplicate", 1.0),
    ]


def test_deterministic_across_partitions_and_reruns(spark, exact_result) -> None:
    docs = spark.createDataFrame(DOCS[::-1], SCHEMA)
    for n in (1, 3, 8, 8):
        assert rows(exact_duplicates(docs.repartition(n))) == exact_result, n
