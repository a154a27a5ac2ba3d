"""Image nodes from <img> / <picture>: the real URL behind lazy loading, made absolute."""

from __future__ import annotations

import re
from functools import lru_cache
from urllib.parse import urljoin, urlsplit

from schemas.document import ImageNode

# Attributes lazy-loading scripts read the real URL from, most specific first.
LAZY_SRCSET_ATTRS: tuple[str, ...] = ("data-srcset", "data-lazy-srcset")
LAZY_SRC_ATTRS: tuple[str, ...] = (
    "data-src",
    "data-lazy-src",
    "data-original",
    "data-lazy",
    "data-url",
    "data-hi-res-src",
    "data-full-src",
    "data-actualsrc",
    "data-echo",
    "lazy-src",
)

_PLACEHOLDER_RE = re.compile(
    r"(?:^|/)(?:blank|spacer|pixel|transparent|empty|placeholder|grey|gray|loading|lazy)"
    r"[\w-]*\.(?:gif|png|svg)(?:$|\?)",
    re.IGNORECASE,
)
# Site furniture and ads named in the file name, its folder or the <img> class: "logo.png",
# "icon-search.svg", "user_avatar.jpg", "/ads/300x250.jpg". Whole tokens, so "iconic" or
# "catalogue" don't match.
_DECORATIVE_RE = re.compile(
    r"(?:^|[^a-z0-9])(?:logos?|icons?|favicons?|avatars?|gravatar|sprites?|emojis?|smilies|spinner"
    r"|ads|adverts?|advertisements?|adserver)(?=$|[^a-z])",
)
# Both sides at most this many pixels: an icon, bullet or button, not a picture.
MAX_ICON_PX = 40
# Alt texts that only say "there is an image here".
_GENERIC_ALTS: frozenset[str] = frozenset(
    {"image", "img", "photo", "picture", "pic", "thumbnail", "thumb", "logo", "icon", "banner",
     "placeholder", "untitled", "product image", "featured image", "no image", "default"}
)  # fmt: skip
_FILENAME_ALT_RE = re.compile(
    r"\.(?:jpe?g|png|gif|webp|svg|bmp)$|^(?:img|dsc|image)[_-]?\d+$", re.IGNORECASE
)
# A meaningful alt names something: a few letters, or a two-character CJK word.
MIN_ALT_LETTERS = 4
MIN_ALT_HAN = 2
_HAN_RE = re.compile(r"[\u3040-\u30ff\u3400-\u9fff\uac00-\ud7af]")
_LEADING_INT_RE = re.compile(r"\s*(\d+)(?:\.\d+)?\s*(?:px)?\s*$")
_STYLE_DIM_RE = re.compile(r"(?<![-\w])(width|height)\s*:\s*(\d+)(?:\.\d+)?\s*px", re.IGNORECASE)
_DESCRIPTOR_RE = re.compile(r"^(\d+(?:\.\d+)?)([wx])$", re.IGNORECASE)


def parse_srcset(srcset: str) -> str | None:
    """The largest candidate of a srcset, by its ``w`` (or else ``x``) descriptor."""
    best_url: str | None = None
    best_size = -1.0
    for candidate in _split_srcset(srcset):
        parts = candidate.split()
        if not parts:
            continue
        url, size = parts[0], 1.0
        if len(parts) > 1:
            match = _DESCRIPTOR_RE.match(parts[-1])
            if match:
                value = float(match.group(1))
                # w descriptors are pixels, x descriptors densities: rank any w above any x.
                size = value * 1e6 if match.group(2).lower() == "w" else value
        if size > best_size:
            best_url, best_size = url, size
    return best_url


def _split_srcset(srcset: str) -> list[str]:
    """Split on the commas that separate candidates, not those inside a URL (e.g. Cloudinary)."""
    return [c for c in re.split(r",\s+|,(?=\s*(?:https?:)?/)", srcset.strip()) if c.strip()]


def is_placeholder(url: str | None) -> bool:
    """A URL that is not the real image: data: URI, blank/spacer gif, or nothing at all."""
    if not url or not url.strip():
        return True
    lowered = url.strip().lower()
    if lowered.startswith(("data:", "about:", "javascript:")):
        return True
    # Exact pre-check: a match holds ".gif", ".png" or ".svg" literally in an ASCII URL (in
    # others IGNORECASE could match "ſ" for "s"), so most URLs skip the regex.
    if lowered.isascii() and not (".gif" in lowered or ".png" in lowered or ".svg" in lowered):
        return False
    return _PLACEHOLDER_RE.search(lowered) is not None


def parse_dimension(value: str | None) -> int | None:
    """An integer pixel hint from an attribute like "640", "640px" or "640.0"; None otherwise."""
    if not value:
        return None
    if value.isascii() and value.isdigit():  # "640": what the pattern would match, whole
        return int(value)
    match = _LEADING_INT_RE.match(value)
    return int(match.group(1)) if match else None


def dimensions(attrs: dict[str, str | None]) -> tuple[int | None, int | None]:
    """Width/height hints from attributes, else from inline style pixels."""
    width = parse_dimension(attrs.get("width"))
    height = parse_dimension(attrs.get("height"))
    style = attrs.get("style")
    if style and (width is None or height is None):
        for name, value in _STYLE_DIM_RE.findall(style):
            if name.lower() == "width" and width is None:
                width = int(value)
            elif name.lower() == "height" and height is None:
                height = int(value)
    return width, height


_LAZY_ATTRS = frozenset(LAZY_SRCSET_ATTRS + LAZY_SRC_ATTRS)


def choose_source(attrs: dict[str, str | None], picture_srcset: str | None = None) -> str | None:
    """The real image URL: lazy attributes, then srcset (largest), then <picture>, then src."""
    if _LAZY_ATTRS.isdisjoint(attrs):  # most images: one set test instead of twelve look-ups
        return _plain_source(attrs, picture_srcset)
    for name in LAZY_SRCSET_ATTRS:
        value = attrs.get(name)
        if value and (url := parse_srcset(value)) and not is_placeholder(url):
            return url
    for name in LAZY_SRC_ATTRS:
        value = attrs.get(name)
        if value and not is_placeholder(value):
            return value.strip()
    return _plain_source(attrs, picture_srcset)


def _plain_source(attrs: dict[str, str | None], picture_srcset: str | None) -> str | None:
    """choose_source past the lazy attributes: srcset, then <picture>, then src."""
    for srcset in (attrs.get("srcset"), picture_srcset):
        if srcset and (url := parse_srcset(srcset)) and not is_placeholder(url):
            return url
    src = attrs.get("src")
    return None if is_placeholder(src) else src.strip()  # type: ignore[union-attr]


# An http(s) URL that urljoin (CPython 3.11 urllib.parse) returns unchanged, so the common case
# skips its ~5 µs. A base of another scheme gets the URL back as given, one of the same scheme
# urlunparse(urlparse(url)), which rebuilds exactly the input when: the scheme is lowercase
# (urlsplit lowercases it); a letter or digit follows "//" (an empty netloc takes the base's);
# there is no tab/CR/LF (removed), no ';' (an empty param is dropped), no empty query or
# fragment (dropped: no "?#", no trailing '?' or '#'); it is ASCII without '[' or ']' (the
# NFKC and IPv6 netloc checks can raise). Leading C0 controls and spaces: none, it starts "h".
_VERBATIM_URL_RE = re.compile(r"https?://[A-Za-z0-9][^\t\r\n;\[\]]*(?<![?#])")


def _is_verbatim_url(url: str, base_url: str) -> bool:
    """urljoin(base_url, url) would return ``url`` itself, without raising."""
    return (
        _VERBATIM_URL_RE.fullmatch(url) is not None
        and url.isascii()
        and "?#" not in url
        and _base_parses(base_url)
    )


def _base_parses(base_url: str) -> bool:
    """urljoin's parse of the base cannot raise: it raises ValueError only for a non-ASCII
    netloc or brackets."""
    return base_url.isascii() and "[" not in base_url and "]" not in base_url


# A root-relative path ("/img/a.jpg", most relative image URLs) that urljoin appends as it is
# to the base's "scheme://netloc": no "//" (urljoin drops empty segments), no "/." (dot
# segments are resolved), no ';', '?' or '#' (params, query and fragment are re-joined), only
# characters urlsplit keeps (no tab/CR/LF, ASCII).
_ROOT_PATH_RE = re.compile(r"/[A-Za-z0-9\-_.~!$&'()*+,=:@%/]*")


@lru_cache(maxsize=256)
def _origin(base_url: str) -> str | None:
    """The "scheme://netloc" urljoin puts before a root-relative path, for an http(s) base with
    a host that parses without error (ASCII, no brackets); else None (urljoin decides)."""
    if not _base_parses(base_url):
        return None
    parts = urlsplit(base_url)
    return f"{parts.scheme}://{parts.netloc}" if parts.scheme in ("http", "https") and parts.netloc else None


def _root_relative(url: str, base_url: str) -> str | None:
    """urljoin(base_url, url) for a plain root-relative ``url`` without its ~5 µs, or None
    where urljoin must decide."""
    if "//" in url or "/." in url or _ROOT_PATH_RE.fullmatch(url) is None:
        return None
    origin = _origin(base_url)
    return None if origin is None else origin + url


def absolute_url(url: str, base_url: str) -> str | None:
    """Resolve against the base; keep only http(s) results."""
    url = url.strip()
    if url[:1] == "/":
        resolved = _root_relative(url, base_url)
        if resolved is not None:
            return resolved
    elif _is_verbatim_url(url, base_url):
        return url
    try:
        resolved = urljoin(base_url, url)
    except ValueError:
        return None
    if resolved.startswith("//"):
        resolved = "https:" + resolved
    return resolved if resolved.startswith(("http://", "https://")) else None


def is_tracking_pixel(width: int | None, height: int | None) -> bool:
    return (width is not None and width <= 1) or (height is not None and height <= 1)


def is_decorative(
    url: str, attrs: dict[str, str | None], width: int | None, height: int | None
) -> bool:
    """A logo, icon, avatar, sprite or ad (by file name, class or tiny size): not content."""
    if width is not None and height is not None and max(width, height) <= MAX_ICON_PX:
        return True
    path = url.split("?", 1)[0].lower()
    tail = "/".join(path.rsplit("/", 2)[-2:])  # the file and its folder ("/icons/x.png")
    if _decorative_name(tail):
        return True
    cls = attrs.get("class")
    return bool(cls) and _decorative_name(cls.lower())


def _decorative_name(name: str) -> bool:
    """_DECORATIVE_RE finds a word in ``name`` (lower case). Exact pre-check, three times
    cheaper than the search: every match holds one of these strings literally."""
    return ("logo" in name or "icon" in name or "avatar" in name or "sprite" in name or "emoji" in name
            or "smilies" in name or "spinner" in name or "ads" in name or "advert" in name) and (
        _DECORATIVE_RE.search(name) is not None)


def has_meaningful_alt(alt: str | None) -> bool:
    """An alt text that describes the image (a title, a caption), not a file name or "image"."""
    if not alt:
        return False
    lowered = alt.lower().strip(" .:-_()[]")
    if lowered in _GENERIC_ALTS or _FILENAME_ALT_RE.search(lowered):
        return False
    if len(_HAN_RE.findall(alt)) >= MIN_ALT_HAN:
        return True
    letters = 0
    for c in alt:  # stops at the MIN_ALT_LETTERS-th letter, mostly within the first word
        if c.isalpha():
            letters += 1
            if letters >= MIN_ALT_LETTERS:
                return True
    return False


def image_node(
    attrs: dict[str, str | None],
    base_url: str,
    picture_srcset: str | None = None,
    caption: str | None = None,
) -> ImageNode | None:
    """An ImageNode for an <img>, or None for placeholders, tracking pixels, logos and icons
    and non-http URLs."""
    source = choose_source(attrs, picture_srcset)
    if source is None:
        return None
    width, height = dimensions(attrs)
    if is_tracking_pixel(width, height):
        return None
    url = absolute_url(source, base_url)
    if url is None or is_decorative(url, attrs, width, height):
        return None
    alt = (attrs.get("alt") or "").strip() or None
    if alt is not None:
        alt = " ".join(alt.split())
    return ImageNode(url=url, alt=alt, caption=caption, width=width, height=height)
