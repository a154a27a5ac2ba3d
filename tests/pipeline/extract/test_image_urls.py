"""absolute_url's fast paths (http(s) URLs kept as they are, root-relative paths after the base's
scheme and host) give what urljoin gives, on generated and real URLs."""

from __future__ import annotations

import random
from urllib.parse import urljoin

from pipeline.extract import images
from pipeline.extract.images import absolute_url

BASES = [
    "",
    "http://example.com",
    "http://example.com/",
    "https://example.com/dir/page.html?q=1",
    "https://example.com/a/b/",
    "http://example.com/page?x=1#frag",
    "HTTPS://Example.COM/x;p?q",
    "ftp://files.example.com/pub/",
    "//example.com/x",
    "/relative/base",
    "http://[::1]/x",
    "http://[bad/x",  # urljoin raises: absolute_url says None, even for an absolute URL
    "http://b\u00fccher.de/seite",
    "http://a\u2100.com/",  # NFKC-unsafe netloc: raises
]

# A grammar of image URLs: scheme, separator, netloc, path, params, query, fragment, each with
# the cases urlsplit/urlunsplit treat specially, plus stray characters and surrounding space.
SCHEMES = [
    "http", "https", "HTTP", "Https", "hTtp", "ftp", "data", "javascript", "mailto", "", "h", "http+x", "1http",
]  # fmt: skip
SEPARATORS = ["://", "://", "://", ":", ":/", ":///", "//", "", ":\\\\", ": //"]
NETLOCS = [
    "example.com", "a", "EXAMPLE.com", "img.example.com:8080", "user:pw@host.org", "@host", ":80", "",
    "xn--bcher-kva.ch", "b\u00fccher.de", "\u2100.com", "\uff03x.com", "%41host", "-host", "_host", "9x",
    "[::1]", "[::1]:80", "[::1", "::1]", "[v1.x]", "[1.2.3.4]", "h\tost", "ho st", "h\x7fst",
]  # fmt: skip
PATHS = [
    "", "/", "/a.jpg", "/a/b/../c.png", "/./x.gif", "..", "../img.png", "a/b.jpg", "/img%20x.png",
    "/a;b", "/a;", "/;", ";p", "/a;b/c", "/ a b.jpg", "/\u00e9t\u00e9.jpg", "/x\x00y", "/\x7f", "/a\\b",
    "/a//b", "//c", "/%", "/%zz", "/[x]", "/a:b",
]  # fmt: skip
QUERIES = ["", "", "", "?", "?x=1", "?a;b", "??", "?x=[1]", "?w=600&h=400", "?%20", "?\u00e9"]
FRAGMENTS = ["", "", "", "#", "#f", "#?x", "##", "#a#"]
SPACES = ["", "", "", " ", "\t", "\n", "\r\n", "\x00", "\x1f", "\x0b", "\xa0", "\u3000", " \t "]
STRAYS = list(";?#[]\t\r\n \x00\x01\x1f\x7f%./\\:@\u00e9\u2100\uff03\u3000\xa0")
# Plain http(s) URLs: the fast path's case (a stray character often added to them).
PLAIN_SCHEMES = ["http://", "https://"]
PLAIN_HOSTS = ["example.com", "img.example.org", "cdn1.example.net:8443", "a", "9gag.com", "x-y.example.com"]
PLAIN_PATHS = [
    "", "/", "/img/photo.jpg", "/a/b/../c.png", "/./x.gif", "/wp-content/uploads/2020/01/a-b_c.jpeg",
    "/i/%E2%9C%93.png", "/a//b", "/~u/$x!'()*+,=@:.webp",
]  # fmt: skip
ROOT_PATHS = [p for p in PLAIN_PATHS + PATHS if p.startswith("/")] + [
    "/images/star.png", "/_next/static/a-2e2f.png", "/sites/default/files/x_0.jpg", "/.well-known/x.png", "/a/./b.gif",
]  # fmt: skip
PLAIN_TAILS = ["", "", "?w=600&h=400", "?v=1.2", "#top", "?a=1#b", "?x?y", "#a#b"]
SPECIALS = [
    "http://", "https://", "http:///x.jpg", "http:x.jpg", "https:/x.jpg", "http://?x", "http://#x",
    "//host/x.jpg", "///x.jpg", "data:image/png;base64,AAAA", "javascript:void(0)", "about:blank",
    "http://a?", "http://a#", "http://a?#", "http://a/b?#c", "http://a/b?c#", "http://a/b#c?",
]  # fmt: skip


def generated_urls(count: int, seed: int = 0) -> list[str]:
    rng = random.Random(seed)
    urls = list(SPECIALS)
    while len(urls) < count:
        roll = rng.random()
        if roll < 0.4:  # anything the grammar makes
            parts = (SCHEMES, SEPARATORS, NETLOCS, PATHS, QUERIES, FRAGMENTS)
        elif roll < 0.8:
            parts = (PLAIN_SCHEMES, PLAIN_HOSTS, PLAIN_PATHS, PLAIN_TAILS)
        else:  # root-relative: the other fast path's case
            parts = (ROOT_PATHS, PLAIN_TAILS + QUERIES + FRAGMENTS)
        url = "".join(rng.choice(part) for part in parts)
        if rng.random() < 0.3:  # a stray character anywhere
            at = rng.randrange(len(url) + 1)
            url = url[:at] + rng.choice(STRAYS) + url[at:]
        urls.append(rng.choice(SPACES) + url + rng.choice(SPACES))
    return urls


def reference_absolute_url(url: str, base_url: str) -> str | None:
    """absolute_url as it was before the fast path: always urljoin."""
    try:
        resolved = urljoin(base_url, url.strip())
    except ValueError:
        return None
    if resolved.startswith("//"):
        resolved = "https:" + resolved
    return resolved if resolved.startswith(("http://", "https://")) else None


def _compare(urls: list[str], bases: list[str]) -> int:
    """Assert absolute_url == the reference on every pair; returns how many took the fast path."""
    fast = 0
    mismatches = []
    for base in bases:
        for url in urls:
            stripped = url.strip()
            # The fast paths' claims themselves, before absolute_url's own post-processing.
            if images._is_verbatim_url(stripped, base):
                fast += 1
                if urljoin(base, stripped) != stripped:
                    mismatches.append((url, base, "urljoin", urljoin(base, stripped)))
            if stripped[:1] == "/" and (root := images._root_relative(stripped, base)) is not None:
                fast += 1
                if urljoin(base, stripped) != root:
                    mismatches.append((url, base, root, urljoin(base, stripped)))
            expected = reference_absolute_url(url, base)
            if absolute_url(url, base) != expected:
                mismatches.append((url, base, absolute_url(url, base), expected))
    assert not mismatches, mismatches[:20]
    return fast


def test_generated_urls_match_urljoin():
    urls = generated_urls(4000)
    fast = _compare(urls, BASES)
    # Both paths are exercised: a good share of the pairs go fast, most of them do not.
    assert 10000 < fast < len(urls) * len(BASES) // 2


def test_fast_path_only_for_urls_urljoin_keeps():
    base = "https://example.com/dir/page.html"
    for url in ["http://a.com/x.jpg", "https://a.com/x.jpg?w=1", "https://a.com?x#y", "http://a.com/b c#d"]:
        assert images._is_verbatim_url(url, base), url
    for url in [
        "HTTP://a.com/x", "http:///x", "http://", "http://a/x?", "http://a/x#", "http://a/x?#y",
        "http://a/x;p", "http://a/x;", "http://[::1]/x", "http://\u00e9.com/", "http://a/\tx", "http:a",
        "//a/x", "/x.jpg",
    ]:  # fmt: skip
        assert not images._is_verbatim_url(url, base), url
    assert not images._is_verbatim_url("http://a.com/x", "http://[bad/")
    assert absolute_url("http://a.com/x", "http://[bad/") is None


def test_real_image_urls_match_urljoin(shared_data):
    from selectolax.lexbor import LexborHTMLParser

    from bench.extract import html_files, warc_html_responses
    from pipeline.extract.charset import charset_from_content_type, decode_html

    urls: set[str] = set()
    pairs: list[tuple[str, str]] = []
    pages = 0
    for page_url, payload, content_type in [*html_files(shared_data), *warc_html_responses(shared_data)]:
        html, _ = decode_html(payload, charset_from_content_type(content_type))
        pages += 1
        for img in LexborHTMLParser(html).css("img"):
            attrs = img.attributes
            values = [attrs.get(name) for name in ("src", "data-src")]
            srcset = attrs.get("srcset")
            if srcset:
                values += [srcset, *(c.split()[0] for c in images._split_srcset(srcset) if c.split())]
            values.append(images.choose_source(attrs))
            for value in values:
                if value:
                    urls.add(value)
                    pairs.append((value, page_url))
    assert pages > 300 and len(pairs) > 3000
    mismatches = [
        (url, base, absolute_url(url, base), reference_absolute_url(url, base))
        for url, base in pairs
        if absolute_url(url, base) != reference_absolute_url(url, base)
    ]
    assert not mismatches, mismatches[:20]
    # The same URLs against the other bases (other scheme, none, bad ones).
    assert _compare(sorted(urls), BASES) > 1000


def test_placeholder_pre_check_keeps_the_regex_answer():
    """is_placeholder skips its regex for ASCII URLs without ".gif", ".png" or ".svg"; the
    answer must be the regex's for every URL, including IGNORECASE's non-ASCII folds."""
    words = ["", "blank", "Spacer", "pixel-1", "transparent_x", "loading", "lazy", "logo", "GRAY", "img"]
    extensions = [".gif", ".PNG", ".svg", ".ſvg", ".jpg", ".webp", ".gi", "gif", ".png.jpg", ""]
    tails = ["", "?v=1", "#x", "/", "&a=.gif"]
    heads = ["", "/", "https://example.com/", "https://example.com/a/", "data:", "  ", "İ/", "x"]
    urls = [h + w + e + t for h in heads for w in words for e in extensions for t in tails]
    assert len(urls) > 3000

    def reference(url: str) -> bool:
        if not url or not url.strip():
            return True
        lowered = url.strip().lower()
        return lowered.startswith(("data:", "about:", "javascript:")) or bool(images._PLACEHOLDER_RE.search(lowered))

    assert sum(map(reference, urls)) > 300
    assert [u for u in urls if images.is_placeholder(u) != reference(u)] == []


def test_choose_source_without_lazy_attributes_is_unchanged():
    """The set test that skips the lazy attributes gives the same source as looking them up."""
    names = ["src", "srcset", "data-src", "data-srcset", "data-lazy-src", "lazy-src", "data-echo", "alt", "class"]
    values = [None, "", " ", "/a.jpg", "data:image/gif;base64,R0", "/spacer.gif", "/b.jpg 2x, /c.jpg 3x"]
    rng = random.Random(7)

    def reference(attrs: dict, picture: str | None) -> str | None:
        for name in images.LAZY_SRCSET_ATTRS:
            value = attrs.get(name)
            if value and (url := images.parse_srcset(value)) and not images.is_placeholder(url):
                return url
        for name in images.LAZY_SRC_ATTRS:
            value = attrs.get(name)
            if value and not images.is_placeholder(value):
                return value.strip()
        for srcset in (attrs.get("srcset"), picture):
            if srcset and (url := images.parse_srcset(srcset)) and not images.is_placeholder(url):
                return url
        src = attrs.get("src")
        return None if images.is_placeholder(src) else src.strip()

    for _ in range(5000):
        attrs = {name: rng.choice(values) for name in rng.sample(names, rng.randrange(len(names)))}
        picture = rng.choice(values)
        assert images.choose_source(attrs, picture) == reference(attrs, picture), (attrs, picture)


def test_root_relative_fast_path_only_where_urljoin_appends_the_path():
    base = "HTTPS://Img.Example.com:8080/dir/page.html?q=1#f"
    for url in ["/a.jpg", "/", "/a/b/", "/~u/$x!'()*+,=@:%20.webp"]:
        assert images._root_relative(url, base) == urljoin(base, url) == "https://Img.Example.com:8080" + url
    for url in ["/a//b.jpg", "//cdn/x.jpg", "/./x.gif", "/a/../b.gif", "/a/..", "/a;p", "/a?x", "/a#f", "/a b",
                "/\u00e9.jpg", "/a\tb", "/[x]", "/a\\b"]:
        assert images._root_relative(url, base) is None, url
    for other in ["ftp://files.example.com/", "http://[::1]/x", "http://b\u00fccher.de/", "/relative/base", "", "http:///x"]:
        assert images._root_relative("/a.jpg", other) is None, other


def test_parse_dimension_fast_path_matches_the_pattern():
    """"640" skips the regex; every value still parses as the pattern alone would."""

    def reference(value):
        match = images._LEADING_INT_RE.match(value) if value else None
        return int(match.group(1)) if match else None

    rng = random.Random(3)
    parts = ["", "0", "7", "640", "0640", "12345678901234567890", " ", "\t", "px", "PX", ".5", ".", "²", "٣", "１", "-", "+", "e3", "%"]
    values = [None, "", *parts] + ["".join(rng.choice(parts) for _ in range(rng.randrange(1, 4))) for _ in range(3000)]
    fast = 0
    for value in values:
        assert images.parse_dimension(value) == reference(value), repr(value)
        fast += bool(value) and value.isascii() and value.isdigit()
    assert fast > 300


def test_decorative_pre_check_is_exact():
    """_decorative_name skips the search only where it cannot match: checked on every word
    of the pattern in many spellings and contexts, and on random names."""
    words = ["logo", "logos", "icon", "icons", "favicon", "favicons", "avatar", "avatars", "gravatar", "sprite",
             "sprites", "emoji", "emojis", "smilies", "spinner", "ads", "advert", "adverts", "advertisement",
             "advertisements", "adserver", "iconic", "catalogue", "loads", "uploads", "header", "ad", "a-d-s"]
    contexts = ["{}", "/{}.png", "x-{}-y", "{}_1", "9{}", "a{}", "{}b", "img/{}/x.jpg", "{} {}", "é{}", "{}é"]
    rng = random.Random(5)
    names = [c.format(w, w) for w in words for c in contexts]
    alphabet = "abcdefghilmnoprstuvdgsv-_/.0 é"
    names += ["".join(rng.choice(alphabet) for _ in range(rng.randrange(1, 30))) for _ in range(20000)]
    matched = 0
    for name in names:
        assert images._decorative_name(name) == (images._DECORATIVE_RE.search(name) is not None), name
        matched += images._decorative_name(name)
    assert matched > 100
