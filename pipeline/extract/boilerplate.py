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
_NEGATIVE_RE = re.compile(
    r"(?:^|[\s_-])(?:(?:" + "|".join(_NEGATIVE_PREFIXES) + r")[a-z0-9]*"
    r"|(?:" + "|".join(_NEGATIVE_TOKENS) + r"))(?=$|[\s_-])"
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
    return _TAXONOMY_CLASS_RE.sub(" ", cls) if "-" in cls else cls


@lru_cache(maxsize=16384)
def name_words(names: str) -> tuple[bool, bool, bool, bool]:
    """Whether one lowercased class or id string has (boilerplate, header, article, main
    container) words."""
    if not names:
        return False, False, False, False
    return (_NEGATIVE_RE.search(names) is not None, _HEADER_RE.search(names) is not None,
            _POSITIVE_RE.search(names) is not None, MAIN_CONTAINER_RE.search(names) is not None)


@lru_cache(maxsize=8192)
def name_signals(cls: str | None, ident: str | None) -> tuple[bool, bool]:
    """(names boilerplate, names the main container) for an element's class and id attributes:
    boilerplate words (navigation, comments, ads, sharing, banners...), or a "header" word
    without an article word ("entry-header" is the post's own).

    Cached per distinct class/id pair, and each string on its own (no regex matches across the
    space between class and id): a page repeats a few class strings on elements with distinct
    ids, and these regexes were the walk's costliest step per element."""
    c, i = name_words(class_words(cls)), name_words((ident or "").lower())
    boilerplate = c[0] or i[0] or ((c[1] or i[1]) and not (c[2] or i[2]))
    return boilerplate, c[3] or i[3]


def is_legal_notice(text: str) -> bool:
    """A copyright / licence footer line: page furniture, never main text."""
    return len(text) <= MAX_LEGAL_NOTICE_CHARS and _LEGAL_NOTICE_RE.search(text) is not None


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
