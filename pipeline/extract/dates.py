"""Publication date from the page's own metadata (meta tags, JSON-LD, <time>), as yyyy-mm-dd."""

from __future__ import annotations

import re

from selectolax.lexbor import LexborHTMLParser, LexborNode

# Meta names/properties carrying the publication date, most reliable first.
DATE_META_KEYS: tuple[str, ...] = (
    "article:published_time",
    "og:published_time",
    "datepublished",
    "pubdate",
    "publishdate",
    "publish-date",
    "publish_date",
    "published_time",
    "article.published",
    "dc.date.issued",
    "dcterms.issued",
    "dc.date",
    "dcterms.date",
    "date",
    "sailthru.date",
    "parsely-pub-date",
    "citation_publication_date",
    "citation_date",
)
_DATE_META_RANK = {key: rank for rank, key in enumerate(DATE_META_KEYS)}

_ISO_RE = re.compile(r"((?:19|20)\d\d)[-/.]([01]?\d)[-/.]([0-3]?\d)")
_COMPACT_RE = re.compile(r"(?<!\d)((?:19|20)\d\d)([01]\d)([0-3]\d)(?!\d)")
_JSONLD_DATE_RE = re.compile(r'"datePublished"\s*:\s*"([^"]+)"')


def normalize_date(value: str | None) -> str | None:
    """yyyy-mm-dd from the first year-month-day written in ``value``; None when not a real date."""
    if not value:
        return None
    match = _ISO_RE.search(value) or _COMPACT_RE.search(value)
    if not match:
        return None
    year, month, day = (int(part) for part in match.groups())
    if not (1 <= month <= 12 and 1 <= day <= 31):
        return None
    return f"{year:04d}-{month:02d}-{day:02d}"


def _meta_date(metas: list[LexborNode]) -> str | None:
    best: tuple[int, str] | None = None
    for meta in metas:
        attrs = meta.attributes
        key = (attrs.get("property") or attrs.get("name") or attrs.get("itemprop") or "").lower()
        rank = _DATE_META_RANK.get(key.strip())
        if rank is None or (best is not None and rank >= best[0]):
            continue
        date = normalize_date(attrs.get("content"))
        if date is not None:
            best = (rank, date)
    return best[1] if best else None


def _jsonld_date(scripts: list[LexborNode]) -> str | None:
    for script in scripts:
        match = _JSONLD_DATE_RE.search(script.text(deep=True) or "")
        if match and (date := normalize_date(match.group(1))):
            return date
    return None


# A <time> marked as the publication date beats any element marked so, which beats the first
# dated <time> on the page.
_TIME_SELECTOR = "time[itemprop=datePublished], time[pubdate], [itemprop=datePublished], time[datetime]"
# Everything find_date reads, in one CSS query (each query walks the whole tree).
_META_SELECTOR = "meta[content]"
_JSONLD_SELECTOR = 'script[type="application/ld+json"]'
_DATE_SELECTOR = f"{_META_SELECTOR}, {_JSONLD_SELECTOR}, {_TIME_SELECTOR}"


def _time_rank(node: LexborNode) -> tuple[int, ...]:
    """The _TIME_SELECTOR alternatives (by index) a node matches."""
    attrs = node.attributes
    published = attrs.get("itemprop") == "datePublished"
    if node.tag != "time":
        return (2,) if published else ()
    return tuple(rank for rank, hit in enumerate((published, "pubdate" in attrs, published, "datetime" in attrs))
                 if hit)


def _time_date(nodes: list[LexborNode]) -> str | None:
    matches = [(node, _time_rank(node)) for node in nodes]
    for rank in range(4):
        # The first node (document order) matching this alternative, as css_first would give.
        node = next((n for n, ranks in matches if rank in ranks), None)
        if node is not None:
            attrs = node.attributes
            value = attrs.get("datetime") or attrs.get("content") or node.text(deep=True)
            if date := normalize_date(value):
                return date
    return None


def find_date(tree: LexborHTMLParser, candidates: list[LexborNode] | None = None) -> str | None:
    """The publication date of the page, or None. Call before scripts are stripped (JSON-LD).

    One query finds the meta tags, JSON-LD scripts and dated elements, in document order;
    each source then reads its own in that order, as its own query would have given them.
    ``candidates``, when given, replaces the query: elements in document order including at
    least those it selects (html.py's native walk has them for a tenth of a query's cost)."""
    metas: list[LexborNode] = []
    scripts: list[LexborNode] = []
    dated: list[LexborNode] = []
    for node in tree.css(_DATE_SELECTOR) if candidates is None else candidates:
        tag = node.tag
        if tag == "meta" and "content" in node.attributes:
            metas.append(node)
        # (CSS matches the type attribute's value ignoring ASCII case, as HTML says.)
        if tag == "script" and (node.attributes.get("type") or "").lower() == "application/ld+json":
            scripts.append(node)
        if _time_rank(node):
            dated.append(node)
    return _meta_date(metas) or _jsonld_date(scripts) or _time_date(dated)
