"""Cheap boilerplate signals: tags, roles, class/id tokens and hidden-element checks.

Everything here looks at one element at a time (no text statistics) so the DOM walk can skip a
whole boilerplate subtree the moment it enters it.
"""

from __future__ import annotations

import re
from functools import lru_cache

# Never content, and parsed as raw text or never wrapping the page: removed in C before the
# walk. rt/rp are ruby readings (furigana, pinyin) that would be spliced into CJK text.
JUNK_TAGS: tuple[str, ...] = (
    "script",
    "style",
    "template",
    "head",
    "iframe",
    "textarea",
    "rt",
    "rp",
)
# Never content either, but a stray unclosed one (e.g. "<noscript><div></noscript>") makes the
# parser nest the rest of the page inside it: removed only when not holding most of the page.
JUNK_CONTAINER_TAGS: tuple[str, ...] = (
    "noscript",
    "svg",
    "object",
    "embed",
    "canvas",
    "map",
    "button",
    "select",
    "dialog",
)

# Boilerplate by tag, skipped with their subtree during the walk. <header> is handled apart:
# a page header is boilerplate, an article's header holds its headline.
BOILERPLATE_TAGS: frozenset[str] = frozenset({"nav", "aside", "footer", "menu", "form"})

BOILERPLATE_ROLES: frozenset[str] = frozenset(
    {
        "navigation",
        "banner",
        "contentinfo",
        "complementary",
        "menu",
        "menubar",
        "search",
        "dialog",
        "alertdialog",
        "toolbar",
        "tablist",
    }
)

# Class/id words naming boilerplate, matched at the start of a class/id token (tokens split on
# space, "-" and "_"), so "navbar", "post-comments", "jp-relatedposts" match, "canvas" doesn't.
_NEGATIVE_PREFIXES = (
    "nav",
    "menu",
    "sidebar",
    "footer",
    "breadcrumb",
    "comment",
    "disqus",
    "cookie",
    "consent",
    "gdpr",
    "share",
    "sharing",
    "sharedaddy",
    "social",
    "related",
    "recommend",
    "advert",
    "sponsor",
    "promo",
    "newsletter",
    "subscri",
    "signup",
    "popup",
    "modal",
    "pagination",
    "pager",
    "widget",
    "banner",
    "masthead",
    "toolbar",
    "skiplink",
    "tagcloud",
    "trackback",
    "pingback",
    "outbrain",
    "taboola",
    "byline",
    "author",
    "postmeta",
    "entrymeta",
    "copyright",
    "login",
    "signin",
    "adsbygoogle",
    "date",
    "timestamp",
    "linklist",
)
# Whole tokens only: too short or too common as prefixes.
_NEGATIVE_TOKENS = (
    "ad",
    "ads",
    "adv",
    "meta",
    "tags",
    "tag-list",
    "respond",
    "reply",
    "replies",
    "rss",
    "topics",
    "links",
    "sidebar",
    "aside",
    "cite-this",
    "sr-only",
    "screen-reader-text",
    "visually-hidden",
)


def _by_first_letter(alternatives: list[tuple[str, str]]) -> str:
    """A regex alternation of (word, pattern after it) pairs, factored by first letter: the same
    strings match (ab|ac = a(?:b|c)), but at each token start the engine tests a letter once
    instead of every word: _NEGATIVE_RE searches 1.7x faster."""
    groups: dict[str, list[str]] = {}
    for word, after in alternatives:
        groups.setdefault(re.escape(word[0]), []).append(re.escape(word[1:]) + after)
    return "(?:" + "|".join(f"{first}(?:{'|'.join(rest)})" for first, rest in groups.items()) + ")"


# A prefix word and letters or digits up to the end of its token, or a whole token, at the start
# of a token: (?<![^\s_-]) is (?:^|[\s_-]) without taking the separator.
_NEGATIVE_RE = re.compile(
    r"(?<![^\s_-])"
    + _by_first_letter([(w, "[a-z0-9]*") for w in _NEGATIVE_PREFIXES] + [(w, "") for w in _NEGATIVE_TOKENS])
    + r"(?=$|[\s_-])"
)
_HEADER_RE = re.compile(r"(?:^|[\s_-])header[a-z0-9]*(?=$|[\s_-])")
# A class/id naming the article itself overrides a "header" word (e.g. "entry-header").
_POSITIVE_RE = re.compile(
    r"(?:^|[\s_-])(?:article|entry|post|story|content|body|text|main|blog|news)[a-z0-9]*(?=$|[\s_-])"
)
# Strong signs of the main-content container.
MAIN_CONTAINER_RE = re.compile(
    r"articlebody|article[_-]?(?:body|content|text)|post[_-]?(?:body|content|text|entry)"
    r"|entry[_-]?(?:content|body|text)|story[_-]?(?:body|content|text)|main[_-]?content"
    r"|blog[_-]?(?:post|entry|content)|news[_-]?(?:body|content|text)|content[_-]?(?:body|main)"
)

# Copyright and site-registration lines (Chinese sites show their ICP licence in the footer).
# A bare "copyright" is not enough: articles discuss copyright.
_LEGAL_NOTICE_RE = re.compile(
    r"©|copyright\s*(?:\(c\)|\d{4})|\(c\)\s*(?:19|20)\d\d|all rights reserved"
    r"|版权所有|版權所有|保留所有权利|icp\s*[备證证]|公网安备",
    re.IGNORECASE,
)
# Longer blocks mentioning these are text that happens to quote a notice.
MAX_LEGAL_NOTICE_CHARS = 300

_HIDDEN_STYLE_RE = re.compile(r"display\s*:\s*none|visibility\s*:\s*hidden")


# Taxonomy classes CMSs put on posts ("tag-sponsoring", "category-news") name the topic.
_TAXONOMY_CLASS_RE = re.compile(r"(?:^|\s)(?:tag|category|categories|term|topic|postid|format)-\S*")


def class_words(cls: str | None) -> str:
    """An element's class, lowercased, without CMS taxonomy classes ("tag-x", "category-y")."""
    cls = (cls or "").lower()
    # Exact pre-check: each _TAXONOMY_CLASS_RE match holds one of these literally.
    if "-" in cls and ("tag-" in cls or "categor" in cls or "term-" in cls or "topic-" in cls
                       or "postid-" in cls or "format-" in cls):
        return _TAXONOMY_CLASS_RE.sub(" ", cls)
    return cls


# Bits of one class or id string's words (_name_flags); name_signals ORs those of class and id.
_NEG, _HEADER, _MAIN = 1, 2, 4
# name_signals' answer per OR of the bits; None where it also needs the article words: a
# "header" word and no boilerplate word.
_SIGNALS: tuple[tuple[bool, bool] | None, ...] = tuple(
    None if flags & (_NEG | _HEADER) == _HEADER else (bool(flags & _NEG), bool(flags & _MAIN))
    for flags in range(8)
)


def _name_flags(names: str) -> int:
    """_NEG, _HEADER and _MAIN bits of one lowercased class or id string: boilerplate words,
    a "header" word, main-container words. _HEADER is left out when _NEG is set: it only
    matters without a boilerplate word."""
    flags = 0
    # Exact pre-check: each MAIN_CONTAINER_RE alternative holds one of these words literally.
    if ("content" in names or "body" in names or "text" in names or "post" in names
            or "entry" in names) and MAIN_CONTAINER_RE.search(names):
        flags = _MAIN
    if _NEGATIVE_RE.search(names):
        return flags | _NEG
    # Exact pre-check: "header" is literally in every _HEADER_RE match.
    if "header" in names and _HEADER_RE.search(names):
        return flags | _HEADER
    return flags


@lru_cache(maxsize=16384)
def _class_flags(cls: str) -> int:
    return _name_flags(class_words(cls))


@lru_cache(maxsize=16384)
def _id_flags(ident: str) -> int:
    return _name_flags(ident.lower())


def name_signals(cls: str | None, ident: str | None) -> tuple[bool, bool]:
    """(names boilerplate, names the main container) for an element's class and id attributes:
    boilerplate words (navigation, comments, ads, sharing, banners...), or a "header" word
    without an article word ("entry-header" is the post's own).

    Class and id are matched and cached each on its own (no regex matches across the space
    between them): a page repeats a few class strings on elements with unique ids, and these
    regexes were the walk's costliest step per element."""
    flags = (_class_flags(cls) if cls else 0) | (_id_flags(ident) if ident else 0)
    return _SIGNALS[flags] or _header_signals(cls, ident, flags)


def _header_signals(cls: str | None, ident: str | None, flags: int) -> tuple[bool, bool]:
    """name_signals for a "header" word without boilerplate words (rare, so not cached): an
    article word in the class or the id makes it the post's own header."""
    article = bool(cls) and _POSITIVE_RE.search(class_words(cls)) is not None
    article = article or (bool(ident) and _POSITIVE_RE.search(ident.lower()) is not None)
    return not article, bool(flags & _MAIN)


def is_legal_notice(text: str) -> bool:
    """A copyright / licence footer line: page furniture, never main text."""
    return may_be_legal_notice(text) and _LEGAL_NOTICE_RE.search(text) is not None


def may_be_legal_notice(text: str) -> bool:
    """False where is_legal_notice(text) is surely False without its regex: the text is too
    long, or holds none of the strings every match holds. dom_native's ``_not_a_notice`` is the
    same check in C (tests/pipeline/extract/test_dom_native.py compares them)."""
    if len(text) > MAX_LEGAL_NOTICE_CHARS:
        return False
    # Exact: each _LEGAL_NOTICE_RE alternative holds one of these strings literally, and
    # IGNORECASE lets their characters match only ones lowercasing to them (no 'i', 's' or 'k',
    # which also match 'İ', 'ı', 'ſ' and 'K'; tested over all code points), so a match leaves
    # one in text.lower(). The non-ASCII ones cannot be in an ASCII text.
    low = text.lower()
    return ("copyr" in low or "(c)" in low or "all r" in low) or (
        not text.isascii() and ("©" in low or "所有" in low or "备" in low or "证" in low or "證" in low)
    )


def is_hidden(attrs: dict[str, str | None]) -> bool:
    """Hidden by attribute or inline style: not shown to readers, so not main text."""
    if "hidden" in attrs:
        return True
    style = attrs.get("style")
    return bool(style) and hiding_style(style)


@lru_cache(maxsize=4096)
def hiding_style(style: str) -> bool:
    """An inline style hiding its element. Cached: rows and cells of a table repeat one style."""
    return _HIDDEN_STYLE_RE.search(style.lower()) is not None


def is_boilerplate_role(attrs: dict[str, str | None]) -> bool:
    role = attrs.get("role")
    return bool(role) and role.strip().lower() in BOILERPLATE_ROLES
