"""URL deduplication: captures of the same page, found through a normalised URL key.

``normalize_url`` builds a *key*, not a URL to fetch: two URLs with the same key are taken to
be the same page. Choices beyond RFC 3986 normalisation, and why:

- http and https fold to ``https``: crawls capture both, and they serve the same page.
- A leading ``www.`` label is removed: ``www.example.com`` and ``example.com`` are the same
  site in practice. (FineWeb / CCNet keep URLs verbatim and only dedup on text; here the URL
  key only groups captures, the text dedup still runs after.)
- The fragment, user info, default ports, tracking parameters and empty query items go; the
  remaining query items are sorted by name, stably, so repeated names keep their order
  (``a=2&a=1`` may mean something different from ``a=1&a=2``).
- Percent-escapes of unreserved characters are decoded, other escapes upper-cased, and
  non-ASCII characters encoded as UTF-8 escapes, so every spelling of a path meets.

``url_duplicates`` groups documents on this key and keeps the most recent capture.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING
from urllib.parse import quote, urlsplit

if TYPE_CHECKING:
    from pyspark.sql import Column, DataFrame

# Query parameters that only say how a visitor arrived (campaign, click and session ids):
# they never change the page, and every share of a page carries different ones.
TRACKING_PARAMS: frozenset[str] = frozenset({
    "gclid", "gclsrc", "dclid", "gbraid", "wbraid",  # Google Ads
    "fbclid", "igshid", "igsh",  # Meta
    "mc_cid", "mc_eid",  # Mailchimp
    "_ga", "_gl",  # Google Analytics cross-domain
    "yclid", "ysclid",  # Yandex
    "msclkid",  # Microsoft Ads
    "twclid", "ttclid", "li_fat_id", "epik", "scid",  # Twitter, TikTok, LinkedIn, Pinterest, Snap
    "ref_src", "ref_url",  # Twitter share links
    "_hsenc", "_hsmi", "__hstc", "__hssc", "__hsfp", "hsctatracking",  # HubSpot
    "mkt_tok",  # Marketo
    "oly_anon_id", "oly_enc_id", "vero_id", "wickedid", "rb_clickid", "s_cid",
    "phpsessid", "jsessionid", "sessionid",  # session ids in the query
})
TRACKING_PREFIXES: tuple[str, ...] = ("utm_", "pk_", "mtm_")  # Google, Piwik and Matomo campaigns

DEFAULT_PORTS: dict[str, int] = {"http": 80, "https": 443}
_UNRESERVED = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")
_ESCAPE = re.compile(r"%([0-9A-Fa-f]{2})")
_SLASHES = re.compile(r"/{2,}")
# Characters left as they are when re-encoding: RFC 3986 reserved + unreserved + "%".
_PATH_SAFE = "/:@!$&'()*+,;=-._~%"
_QUERY_SAFE = _PATH_SAFE + "?"


def normalize_url(url: str) -> str:
    """The dedup key of ``url``; never raises (unparsable input comes back stripped)."""
    if not isinstance(url, str):
        return ""
    stripped = url.strip()
    try:
        return _normalize(stripped)
    except (ValueError, UnicodeError):
        return stripped


def _normalize(url: str) -> str:
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if not scheme or not parts.netloc:
        return url
    host = _host(parts.hostname or "")
    if not host:
        return url
    port = parts.port  # raises ValueError on a non-numeric or out-of-range port
    netloc = host if port is None or port == DEFAULT_PORTS.get(scheme) else f"{host}:{port}"
    if scheme in DEFAULT_PORTS:
        scheme = "https"  # http and https captures are the same page
    query = _query(parts.query)
    return f"{scheme}://{netloc}{_path(parts.path)}{'?' + query if query else ''}"


def _host(hostname: str) -> str:
    """Lower case, IDNA (punycode) encoded, without a trailing dot or a leading ``www.``."""
    host = hostname.lower().rstrip(".")
    if ":" in host:  # IPv6 literal: urlsplit removed the brackets
        return f"[{host}]"
    if not host.isascii():
        host = host.encode("idna").decode("ascii")
    return host[4:] if host.startswith("www.") and len(host) > 4 else host


def _escapes(text: str, safe: str) -> str:
    """Decode escapes of unreserved characters, upper-case the others, encode the rest."""

    def fix(match: re.Match[str]) -> str:
        char = chr(int(match.group(1), 16))
        return char if char in _UNRESERVED else "%" + match.group(1).upper()

    return quote(_ESCAPE.sub(fix, text), safe=safe)


def _path(path: str) -> str:
    path = _SLASHES.sub("/", path)
    return _escapes(_remove_dot_segments(path), _PATH_SAFE) or "/"


def _remove_dot_segments(path: str) -> str:
    """RFC 3986 section 5.2.4 on an absolute path; the trailing slash stays as it was."""
    output: list[str] = []
    segments = path.split("/")
    for i, segment in enumerate(segments):
        last = i == len(segments) - 1
        if segment == ".":
            if last:
                output.append("")  # "/a/." is "/a/"
        elif segment == "..":
            if len(output) > 1:
                output.pop()
            if last:
                output.append("")
        else:
            output.append(segment)
    result = "/".join(output)
    return result if result.startswith("/") else "/" + result


def _query(query: str) -> str:
    items = []
    for item in query.split("&"):
        name = item.split("=", 1)[0]
        if not name or _is_tracking(name):
            continue  # "&&", "=x" and tracking parameters
        items.append((_escapes(name, _QUERY_SAFE), _escapes(item, _QUERY_SAFE)))
    items.sort(key=lambda pair: pair[0])  # stable: repeated names keep their order
    return "&".join(item for _, item in items)


def _is_tracking(name: str) -> bool:
    name = _ESCAPE.sub(lambda m: chr(int(m.group(1), 16)), name).lower()
    return name in TRACKING_PARAMS or name.startswith(TRACKING_PREFIXES)


def domain_of(url: str) -> str:
    """The site of ``url`` for per-domain rules: its normalised host ("" when there is none).

    An approximation of the registered domain: ``blog.example.com`` and ``example.com`` stay
    apart (a public-suffix list would be needed to merge them, and must not be fetched at run
    time); ``www.`` is folded away as in ``normalize_url``.
    """
    if not isinstance(url, str):
        return ""
    try:
        return _host(urlsplit(url.strip()).hostname or "")
    except (ValueError, UnicodeError):
        return ""


# -- Spark ----------------------------------------------------------------------------------


def python_udf(fn, return_type):
    """A plain (pickled) Python UDF: the Arrow kind needs pandas, which we do not install.

    Flagged nondeterministic (``fn`` is pure) only so the optimizer computes it once: it
    otherwise copies a deterministic UDF into every filter pushed below the projection.
    """
    from pyspark.sql import functions as F

    return F.udf(fn, return_type, useArrow=False).asNondeterministic()


def normalize_url_col(column: "Column | str") -> "Column":
    """``normalize_url`` as a Spark column expression (a Python UDF)."""
    from pyspark.sql.types import StringType

    return python_udf(normalize_url, StringType())(column)


def domain_of_col(column: "Column | str") -> "Column":
    """``domain_of`` as a Spark column expression (a Python UDF)."""
    from pyspark.sql.types import StringType

    return python_udf(domain_of, StringType())(column)


def register_udfs(spark) -> None:
    """Make ``normalize_url`` and ``domain_of`` callable from Spark SQL."""
    from pyspark.sql.types import StringType

    spark.udf.register("normalize_url", python_udf(normalize_url, StringType()))
    spark.udf.register("domain_of", python_udf(domain_of, StringType()))


def url_duplicates(docs: "DataFrame") -> "DataFrame":
    """Captures of the same page: one row per member of every URL-key group of 2+ documents.

    ``docs`` has ``doc_id``, ``url``, ``fetch_date`` (ISO 8601 string or timestamp). The kept
    document is the most recent capture (ties and unparsable dates: the smallest ``doc_id``);
    ``cluster`` is its id. Returns ``doc_id, cluster, kept, reason, similarity``, where reason
    is "url_duplicate" for the dropped and null for the kept, and similarity is null.
    """
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    keyed = (docs.select("doc_id", "fetch_date", normalize_url_col("url").alias("_key"))
             .where(F.col("_key").isNotNull() & (F.col("_key") != "")))
    # Parsed time first: ISO strings with and without fractions do not sort as text.
    fetched = F.col("fetch_date").try_cast("timestamp")
    newest_first = [fetched.desc_nulls_last(), F.col("fetch_date").cast("string").desc_nulls_last(),
                    F.col("doc_id").asc()]
    group = Window.partitionBy("_key")
    ranked = group.orderBy(*newest_first)
    whole = ranked.rowsBetween(Window.unboundedPreceding, Window.unboundedFollowing)
    members = (keyed
               .withColumn("_size", F.count(F.lit(1)).over(group))
               .where(F.col("_size") >= 2)
               .withColumn("cluster", F.first("doc_id").over(whole))
               .withColumn("kept", F.col("doc_id") == F.col("cluster")))
    return members.select(
        "doc_id",
        "cluster",
        "kept",
        F.when(F.col("kept"), F.lit(None).cast("string")).otherwise(F.lit("url_duplicate")).alias("reason"),
        F.lit(None).cast("double").alias("similarity"),
    )
