"""Image filters: small, named, independent checks that each return a drop reason or None.

Each filter looks at one ``ImageFacts`` (URL, size, byte count). Facts may be partial: a
filter whose input is unknown (``None``) passes, so the same filters run on HTML size hints
before download and on decoded images after. Registry names carry a version (``min_side@1``):
changing what a filter does means a new name, so recorded decisions stay explainable.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import lru_cache
from typing import Protocol
from urllib.parse import unquote, urlsplit


@dataclass(frozen=True)
class ImageFilterSettings:
    min_side: int = 150  # shorter side in pixels, below it: icons, thumbnails, spacers
    max_aspect: float = 3.0  # longer / shorter side, above it: banners, rules, strips
    min_bytes: int = 1024  # smaller files are placeholders and tracking pixels
    url_keywords: tuple[str, ...] = (
        "logo", "icon", "button", "avatar", "sprite", "banner", "ad", "ads", "advert",
        "advertisement", "pixel", "tracking", "tracker", "spacer", "blank", "badge", "emoji",
        "emoticon", "smiley", "favicon", "placeholder", "spinner", "loader",
    )


@dataclass(frozen=True)
class ImageFacts:
    url: str
    width: int | None = None
    height: int | None = None
    n_bytes: int | None = None


class HasSize(Protocol):
    width: int
    height: int


ImageFilter = Callable[[ImageFacts, ImageFilterSettings], "str | None"]


def min_side(facts: ImageFacts, settings: ImageFilterSettings) -> str | None:
    if facts.width is None or facts.height is None:
        return None
    return "min_side" if min(facts.width, facts.height) < settings.min_side else None


def max_aspect(facts: ImageFacts, settings: ImageFilterSettings) -> str | None:
    if not facts.width or not facts.height:  # unknown, or 0 (decode already refused it)
        return None
    ratio = max(facts.width, facts.height) / min(facts.width, facts.height)
    return "max_aspect" if ratio > settings.max_aspect else None


def min_bytes(facts: ImageFacts, settings: ImageFilterSettings) -> str | None:
    if facts.n_bytes is None:
        return None
    return "min_bytes" if facts.n_bytes < settings.min_bytes else None


def url_keywords(facts: ImageFacts, settings: ImageFilterSettings) -> str | None:
    """A keyword that is a whole token of the URL path (a plural 's' allowed): 'logo' hits
    /img/site-logo.png and /logos/a.jpg, never /catalogue/ or adsorption.jpg."""
    keywords = _keyword_forms(settings.url_keywords)
    for token in url_tokens(facts.url):
        if token in keywords:
            return f"url_keyword:{keywords[token]}"
    return None


IMAGE_FILTERS: dict[str, ImageFilter] = {
    "url_keywords@1": url_keywords,
    "min_bytes@1": min_bytes,
    "min_side@1": min_side,
    "max_aspect@1": max_aspect,
}


def apply_image_filters(
    url: str,
    decoded_or_info: HasSize | None,
    n_bytes: int | None,
    settings: ImageFilterSettings,
    enabled: Iterable[str] | None = None,
) -> str | None:
    """The first failing filter's reason, or None. ``decoded_or_info`` is anything with
    ``width`` / ``height`` (a DecodedImage, HTML hints) or None; a DecodedImage is judged on its
    original size, not the resized output. ``enabled``: registry names, in order (None = all)."""
    facts = ImageFacts(url, *_source_size(decoded_or_info), n_bytes)
    for name in _resolve(enabled):
        reason = IMAGE_FILTERS[name](facts, settings)
        if reason is not None:
            return reason
    return None


def url_tokens(url: str) -> list[str]:
    """Lower-case word tokens of the URL path: split on non-alphanumerics, camelCase and
    letter/digit boundaries ('siteLogo2x.png' -> site, logo, 2, x, png). The host and query are
    left out: 'ads.example.com/photo.jpg' names a server, not a picture."""
    try:
        path = unquote(urlsplit(url).path)
    except ValueError:  # malformed (e.g. a broken IPv6 host): tokenise what there is
        path = url
    return [t.lower() for t in _TOKEN.findall(path)]


# Upper-case runs (keeping 'HTTPServer' -> HTTP, Server), capitalised or lower words, digits.
_TOKEN = re.compile(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+|[0-9]+")


@lru_cache(maxsize=16)
def _keyword_forms(keywords: tuple[str, ...]) -> dict[str, str]:
    forms: dict[str, str] = {}
    for keyword in keywords:
        forms.setdefault(keyword + "s", keyword)
    for keyword in keywords:
        forms[keyword] = keyword  # an exact keyword wins over another's plural ('ads' vs 'ad')
    return forms


def _source_size(obj: HasSize | None) -> tuple[int | None, int | None]:
    if obj is None:
        return None, None
    width = getattr(obj, "original_width", None) or getattr(obj, "width", None)
    height = getattr(obj, "original_height", None) or getattr(obj, "height", None)
    return width, height


def _resolve(enabled: Iterable[str] | None) -> list[str]:
    if enabled is None:
        return list(IMAGE_FILTERS)
    names = list(enabled)
    unknown = [name for name in names if name not in IMAGE_FILTERS]
    if unknown:  # misconfiguration: stop with a message
        raise ValueError(f"unknown image filters {unknown}; known: {sorted(IMAGE_FILTERS)}")
    return names
