"""URL normalisation (pure Python) and URL-duplicate clusters (Spark local mode)."""

from __future__ import annotations

import pytest

from pipeline.dedup.urls import domain_of, normalize_url, url_duplicates


@pytest.fixture(scope="session")
def spark():
    from pipeline.config import SparkConfig
    from pipeline.spark import get_spark

    return get_spark(SparkConfig(master="local[2]", conf={"spark.sql.shuffle.partitions": "4"}))


CASES = [
    # tracking parameters
    ("https://example.com/a?utm_source=x&utm_medium=y", "https://example.com/a"),
    ("https://example.com/a?id=3&gclid=abc&fbclid=def", "https://example.com/a?id=3"),
    ("https://example.com/a?UTM_Campaign=z&mc_cid=1&mc_eid=2&igshid=3&_ga=4", "https://example.com/a"),
    ("https://example.com/a?yclid=1&msclkid=2&ref_src=twsrc&q=x", "https://example.com/a?q=x"),
    ("https://example.com/a?%75tm_source=x&q=1", "https://example.com/a?q=1"),  # escaped name
    # query order, empty items, trailing "?"
    ("https://example.com/a?b=2&a=1", "https://example.com/a?a=1&b=2"),
    ("https://example.com/a?a=2&b=0&a=1", "https://example.com/a?a=2&a=1&b=0"),  # stable
    ("https://example.com/a?&&a=1&", "https://example.com/a?a=1"),
    ("https://example.com/a?", "https://example.com/a"),
    ("https://example.com/a?utm_source=x", "https://example.com/a"),
    # ports, scheme, case, www, fragments, user info
    ("http://example.com:80/a", "https://example.com/a"),
    ("https://example.com:443/a", "https://example.com/a"),
    ("https://example.com:8443/a", "https://example.com:8443/a"),
    ("HTTP://Example.COM/Path", "https://example.com/Path"),  # the path keeps its case
    ("http://www.example.com/a", "https://example.com/a"),
    ("https://example.com/a#section-2", "https://example.com/a"),
    ("https://user:secret@example.com/a", "https://example.com/a"),
    ("https://example.com./a", "https://example.com/a"),
    ("https://example.com", "https://example.com/"),
    # paths: slashes, dot segments, trailing slash kept as is
    ("https://example.com//a///b", "https://example.com/a/b"),
    ("https://example.com/a/./b/../c", "https://example.com/a/c"),
    ("https://example.com/../../a", "https://example.com/a"),
    ("https://example.com/a/b/..", "https://example.com/a/"),
    ("https://example.com/a/", "https://example.com/a/"),
    # percent-encoding and IDNA
    ("https://example.com/caf%c3%a9", "https://example.com/caf%C3%A9"),
    ("https://example.com/café", "https://example.com/caf%C3%A9"),
    ("https://example.com/%7Euser/%41", "https://example.com/~user/A"),  # unreserved decoded
    ("https://example.com/a%2fb", "https://example.com/a%2Fb"),  # reserved stays escaped
    ("https://example.com/a b", "https://example.com/a%20b"),
    ("https://MÜNCHEN.de/", "https://xn--mnchen-3ya.de/"),
    ("https://xn--mnchen-3ya.de/", "https://xn--mnchen-3ya.de/"),
    ("http://[2001:db8::1]:80/x", "https://[2001:db8::1]/x"),
    ("ftp://FILES.example.com/x", "ftp://files.example.com/x"),  # other schemes stay themselves
    # garbage: returned stripped, never raised
    ("  not a url  ", "not a url"),
    ("", ""),
    ("http://example.com:99999/x", "http://example.com:99999/x"),
    ("http://[::1/x", "http://[::1/x"),
    ("mailto:someone@example.com", "mailto:someone@example.com"),
    ("//example.com/a", "//example.com/a"),
]


@pytest.mark.parametrize("url, expected", CASES)
def test_normalize_url(url: str, expected: str) -> None:
    assert normalize_url(url) == expected


def test_normalize_url_is_idempotent() -> None:
    for url, expected in CASES:
        assert normalize_url(expected) == expected, url


def test_normalize_url_never_raises_on_non_strings() -> None:
    assert normalize_url(None) == ""  # type: ignore[arg-type]
    assert normalize_url(b"http://x") == ""  # type: ignore[arg-type]


@pytest.mark.parametrize("url, expected", [
    ("https://www.Example.com:8080/a", "example.com"),
    ("https://blog.example.com/", "blog.example.com"),
    ("https://bücher.de/x", "xn--bcher-kva.de"),
    ("not a url", ""),
    (None, ""),
])
def test_domain_of(url, expected) -> None:
    assert domain_of(url) == expected


# -- url_duplicates ----------------------------------------------------------------------------

DOCS = [
    # one page, three captures: the newest wins (the fraction must not confuse the order)
    ("d1", "http://www.example.com/a?utm_source=x", "2023-01-01T00:00:00Z"),
    ("d2", "https://example.com/a#top", "2023-06-01T00:00:00.5Z"),
    ("d3", "https://example.com/a", "2023-06-01T00:00:00Z"),
    # a tie on the date: the smallest doc_id wins
    ("t2", "https://example.com/tie", "2023-01-01T00:00:00Z"),
    ("t1", "https://example.com/tie?", "2023-01-01T00:00:00Z"),
    # a missing date loses to any date
    ("n1", "https://example.com/n", None),
    ("n2", "https://example.com/n", "2020-01-01T00:00:00Z"),
    # different pages: untouched
    ("u1", "https://example.com/b", "2023-01-01T00:00:00Z"),
    ("u2", "https://example.com/b?page=2", "2023-01-01T00:00:00Z"),
    ("u3", "https://other.example.com/a", "2023-01-01T00:00:00Z"),
    ("u4", "", "2023-01-01T00:00:00Z"),
    ("u5", None, "2023-01-01T00:00:00Z"),
]
SCHEMA = "doc_id string, url string, fetch_date string"


def rows(df) -> list[tuple]:
    return sorted(tuple(r) for r in df.collect())


@pytest.fixture(scope="module")
def url_result(spark) -> list[tuple]:
    return rows(url_duplicates(spark.createDataFrame(DOCS, SCHEMA)))


def test_most_recent_capture_is_kept(url_result) -> None:
    cluster = [r for r in url_result if r[1] == "d2"]
    assert cluster == [
        ("d1", "d2", False, "url_duplicate", None),
        ("d2", "d2", True, None, None),
        ("d3", "d2", False, "url_duplicate", None),
    ]


def test_ties_keep_the_smallest_doc_id(url_result) -> None:
    assert [r for r in url_result if r[0].startswith("t")] == [
        ("t1", "t1", True, None, None),
        ("t2", "t1", False, "url_duplicate", None),
    ]


def test_missing_dates_lose(url_result) -> None:
    assert [r[:3] for r in url_result if r[0].startswith("n")] == [("n1", "n2", False), ("n2", "n2", True)]


def test_different_pages_untouched(url_result) -> None:
    assert not [r for r in url_result if r[0].startswith("u")]
    assert len(url_result) == 7


def test_output_schema(spark) -> None:
    df = url_duplicates(spark.createDataFrame(DOCS, SCHEMA))
    assert df.columns == ["doc_id", "cluster", "kept", "reason", "similarity"]
    assert dict(df.dtypes) == {"doc_id": "string", "cluster": "string", "kept": "boolean",
                               "reason": "string", "similarity": "double"}


def test_timestamp_fetch_dates(spark) -> None:
    df = spark.createDataFrame(DOCS[:3], SCHEMA).selectExpr(
        "doc_id", "url", "cast(fetch_date as timestamp) as fetch_date")
    assert [r[0] for r in rows(url_duplicates(df)) if r[2]] == ["d2"]


def test_deterministic_across_partitions_and_reruns(spark, url_result) -> None:
    # Shuffle the input order too: the result must not depend on which row arrives first.
    docs = spark.createDataFrame(DOCS[::-1] * 1, SCHEMA)
    for n in (1, 3, 8, 8):
        assert rows(url_duplicates(docs.repartition(n))) == url_result, n
