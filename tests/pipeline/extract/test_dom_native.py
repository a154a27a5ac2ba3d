"""pipeline/extract/dom_native.pyx walks lexbor's structs in C; html.py's Python walk over
selectolax's objects is the reference. Both must give the same walk (blocks, element ids,
listing signatures, containers) and so the same documents, on crafted, generated and real pages.
"""

from __future__ import annotations

import random

import pytest

import pipeline.extract.html as html
from pipeline.extract.charset import decode_html
from pipeline.warc.records import read_records
from tests.compiled import has_c_compiler
from tests.pipeline.extract.test_html_compiled import PAGES

native_only = pytest.mark.skipif(not html.NATIVE_WALK, reason="the native DOM walk is not in use here")

URL = "https://example.com/dir/page.html"


def _documents(pages: dict[str, tuple[str, str]], native: bool) -> dict[str, str]:
    saved = html.NATIVE_WALK
    html.NATIVE_WALK = native
    try:
        return {key: repr(html.extract_document(text, url)) for key, (text, url) in pages.items()}
    finally:
        html.NATIVE_WALK = saved


def _same(pages: dict[str, tuple[str, str]]) -> None:
    """Same walk and same document from both walks, on every page."""
    walks = [key for key, (text, url) in pages.items() if not _walks_agree(text, url)]
    assert not walks, f"the native walk differs on {len(walks)} pages, e.g. {walks[:5]}"
    native, python = _documents(pages, True), _documents(pages, False)
    documents = [key for key in pages if native[key] != python[key]]
    assert not documents, f"documents differ on {documents[:5]}"


def _walks_agree(text: str, url: str) -> bool:
    python, native = html._walk_both(text, url)
    return python == native


def test_native_walk_is_used_where_it_can_be():
    import selectolax

    from pipeline.extract import dom_native

    if not has_c_compiler():
        pytest.skip("no C compiler: setup.py builds neither html.py nor dom_native")
    if selectolax.__version__ not in dom_native.CHECKED_SELECTOLAX:
        pytest.skip(f"selectolax {selectolax.__version__} is not among the versions whose lexbor struct "
                    f"layouts dom_native was checked against {dom_native.CHECKED_SELECTOLAX}")
    assert html.COMPILED and html.NATIVE_WALK, (
        "the native DOM walk is built for a checked selectolax but not in use: reinstall (pip install -e .) "
        "and check the build output, or its probe page walked differently (html._walk_both(html._PROBE_PAGE, ...))")


@native_only
def test_crafted_pages():
    pages = {key: (text, URL) for key, text in PAGES.items()}
    pages["probe"] = (html._PROBE_PAGE, URL)
    _same(pages)
    assert "Boats at dawn" in _documents({"a": pages["article"]}, True)["a"]  # the walk ran


# -- generated pages -----------------------------------------------------------------------
_TAGS = (
    "div", "p", "span", "a", "b", "section", "article", "main", "header", "footer", "nav", "aside",
    "form", "ul", "ol", "li", "dl", "dt", "dd", "table", "tr", "td", "th", "tbody", "figure",
    "figcaption", "pre", "blockquote", "h1", "h2", "h3", "center", "details", "summary", "font",
    "noscript", "svg", "button", "select", "object", "my-card", "x-widget", "script", "style",
    "template", "iframe", "textarea", "ruby", "rt", "rp", "caption", "label", "time", "menu",
)  # fmt: skip
_VOID = ("img", "br", "hr", "input", "wbr")
_CLASSES = (
    "", "content", "post-content", "entry-content", "article-body", "sidebar", "nav-menu", "widget",
    "share-buttons", "comments", "footer", "header", "entry-header", "item", "card", "product",
    "tag-news", "ad", "related-posts", "main", "x y z", "copyright", "visually-hidden", "date",
)  # fmt: skip
_WORDS = (
    "the", "harbour", "boats", "at", "dawn", "history", "of", "a", "small", "town", "©", "2024",
    "all rights reserved", "这是", "中文", "段落", "テキスト", "&amp;", "&nbsp;", "|", "  ", "\n", "\t",
    "\u3000", "\xa0", "copyright", "\u2009", "\u200b", "\x1c", "a\u202fb",
)  # fmt: skip


# Every character str.isspace() takes, and characters that share a whitespace character's
# first UTF-8 bytes without being one: the native walk finds whitespace in UTF-8 bytes.
_SPACES = tuple(c for c in map(chr, range(0x110000)) if c.isspace())
_NEAR_SPACES = ("\x00", "\x08", "\x0e", "\x1b", "\x7f", "\x80", "\x84", "\x86", "\x9f", "\xa1", "\u167f",
                "\u1681", "\u200b", "\u2027", "\u202a", "\u202e", "\u205e", "\u2060", "\u2f00", "\u3001")


def _attributes(rng: random.Random, tag: str) -> str:
    attrs = []
    if rng.random() < 0.35:
        attrs.append(f'class="{rng.choice(_CLASSES)}"')
    if rng.random() < 0.15:
        attrs.append(f'id="{rng.choice(_CLASSES)}-{rng.randrange(9)}"')
    if rng.random() < 0.04:
        attrs.append(rng.choice(("hidden", 'style="display: none"', 'style="color:red"', 'aria-hidden="true"')))
    if rng.random() < 0.05:
        attrs.append(f'role="{rng.choice(("navigation", "main", "banner", "article", " Menu "))}"')
    if rng.random() < 0.03:
        attrs.append('itemprop="articleBody"')
    if tag == "img" or (tag == "source" and rng.random() < 0.8):
        name = rng.choice(("src", "data-src", "srcset", "data-srcset", "data-lazy-src"))
        attrs.append(f'{name}="/img/{rng.randrange(50)}.jpg{" 2x" if "srcset" in name else ""}"')
        if rng.random() < 0.6:
            attrs.append(f'alt="{rng.choice(("", "image", "A photo of boats at dawn", "港口的照片"))}"')
        if rng.random() < 0.3:
            attrs.append(f'width="{rng.choice((1, 16, 300, 640))}" height="{rng.choice((1, 16, 200))}"')
    if tag == "a" and rng.random() < 0.7:
        attrs.append(f'href="/p/{rng.randrange(100)}"')
    return (" " + " ".join(attrs)) if attrs else ""


def _fragment(rng: random.Random, depth: int) -> str:
    parts = []
    for _ in range(rng.randrange(1, 5)):
        roll = rng.random()
        if roll < 0.35:
            parts.append(" ".join(rng.choice(_WORDS) for _ in range(rng.randrange(1, 25))))
        elif roll < 0.45:
            tag = rng.choice(_VOID)
            parts.append(f"<{tag}{_attributes(rng, tag)}>")
        elif roll < 0.5:
            parts.append(f"<picture><source{_attributes(rng, 'source')}>"
                         f"<img{_attributes(rng, 'img')}></picture>")
        elif roll < 0.52:
            parts.append(rng.choice(("<!-- a comment -->", *_DATED)))
        elif roll < 0.56:  # a data table: cells of words, no block inside
            rows = ("<tr>" + "".join(f"<td{_attributes(rng, 'td')}>{rng.choice(_WORDS)} {rng.choice(_WORDS)}</td>"
                                     for _ in range(rng.randrange(1, 4))) + "</tr>" for _ in range(rng.randrange(1, 4)))
            parts.append(f"<table>{''.join(rows)}</table>")
        elif depth < 7:
            tag = rng.choice(_TAGS)
            close = f"</{tag}>" if rng.random() < 0.9 else ""  # some left unclosed
            parts.append(f"<{tag}{_attributes(rng, tag)}>{_fragment(rng, depth + 1)}{close}")
    return "".join(parts)


_DATED = (
    '<meta property="article:published_time" content="2021-03-04T10:00:00Z">',
    '<meta name="date" content="20190102">', '<meta name="Date" content="n/a">', "<meta content>",
    '<meta name="dc.date" content="2020/13/40">', '<meta itemprop="datePublished" content="2018-05-06">',
    '<script type="application/ld+json">{"datePublished": "2017-08-09"}</script>',
    '<script type="Application/LD+JSON">{"datePublished":"2016-01-02T00:00"}</script>',
    '<script type="application/ld+json ">{"datePublished": "2015-01-02"}</script>',
    '<script>{"datePublished": "2014-01-02"}</script>', '<time datetime="2013-02-03">3 Feb</time>',
    "<time pubdate>2012-03-04</time>", '<time itemprop="datePublished">2011.04.05</time>',
    '<span itemprop="datePublished">2010-05-06</span>', '<span itemprop="datepublished">2009-06-07</span>',
    "<time>2008-07-08</time>",
)  # fmt: skip


def generated_page(seed: int) -> str:
    rng = random.Random(seed)
    dated = "".join(rng.sample(_DATED, rng.randrange(4)))
    head = f'<head><title>Page</title>{dated}<base href="/b/"></head>' if rng.random() < 0.3 else ""
    return f"<!DOCTYPE html><html>{head}<body{_attributes(rng, 'body')}>{_fragment(rng, 0)}</body></html>"


@native_only
def test_generated_pages():
    pages = {str(seed): (generated_page(seed), URL) for seed in range(600)}
    _same(pages)
    # The generator does reach the walk's branches.
    documents = _documents(pages, True)
    assert sum("ImageNode" in d for d in documents.values()) > 100
    assert sum("kind='table'" in d for d in documents.values()) > 5
    assert sum("kind='list'" in d for d in documents.values()) > 10


@native_only
def test_whitespace_is_read_as_python_reads_it():
    """Whitespace-only text nodes, runs inside and around words and lines, link text, table
    cells and preformatted text, for every whitespace character and its near misses."""
    pages = {}
    for i, c in enumerate(_SPACES + _NEAR_SPACES):
        pages[f"U+{ord(c):04X}"] = (
            f"<p>{c}</p><p>a{c}{c}b{c}</p><p>{c}<a href='/x'>{c}link{c}text{c}{c}</a>{c}after</p>"
            f"<div>one{c}<br>{c}<br>two{c}\n{c}three\n{c}\n</div><pre>{c}x{c}y\n{c}</pre>"
            f"<table><tr><td>{c}</td><td>{c}cell{c}</td></tr></table><p>{c}<b>{c}</b>{c}</p>", URL)
    _same(pages)


def _table_pages() -> dict[str, str]:
    """Tables with layout elements outside, inside and around junk containers of either fate
    (short ones are removed, ones holding most of the page's text unwrapped), nested tables,
    and tables inside junk and junk containers."""
    long = "a long text that makes its container hold most of the page " * 20
    cells = {
        "data": "<td>1</td><td>2</td>",
        "layout": "<td><div>x</div></td>",
        "in_short_noscript": "<td><noscript><p>hidden</p></noscript>y</td>",
        "in_long_noscript": f"<td><noscript><p>{long}</p></noscript></td>",
        "in_svg_object": "<td><svg><object><div>z</div></object></svg></td>",
        "in_script": "<td><script>document.write('<div>s</div>')</script>w</td>",
        "nested_data": "<td><table><tr><td>n</td></tr></table></td>",
        "nested_layout": "<td><table><tr><td><p>n</p></td></tr></table></td>",
        "nested_in_noscript": f"<td><noscript><table><tr><td><ul><li>{long}</li></ul></td></tr></table></noscript></td>",
        "layout_after_rows": "<td>a</td></tr>" + "<tr><td>b</td></tr>" * 30 + "<tr><td><h2>late</h2></td>",
    }
    pages = {}
    for name, cell in cells.items():
        for around in ("{}", "<noscript>{}</noscript>", f"<noscript>{{}}<p>{long}</p></noscript>", "<template>{}</template>",
                       "<div><table><tr><td>{}</td></tr></table></div>"):
            table = f"<table><tr>{cell}</tr></table>"
            pages[f"{name}/{around[:12]}"] = f"<html><body><p>Intro text.</p>{around.format(table)}<p>End.</p></body></html>"
    return pages


@native_only
def test_scan_table_bits_decide_tables_as_searching_them_does():
    """The walk takes a table's layout answer from scan's bits where they settle it; walking
    with them and with a search of every table must give the same walk."""
    pages = _table_pages()
    pages.update({f"generated {seed}": generated_page(seed) for seed in range(600)})
    differ = []
    for key, text in pages.items():
        results = []
        for use_bits in (True, False):
            tree = html.LexborHTMLParser(text)
            href, _, page_chars, tables, _ = html.dom_native.scan(tree.root.mem_id, tree.body.mem_id)
            walker = html._Walker(html._resolve_base(URL, href), page_chars)
            html.dom_native.walk(walker, tree.body.mem_id, tables if use_bits else None)
            results.append(html._walk_result(walker))
        if results[0] != results[1]:
            differ.append(key)
    assert not differ, differ[:10]
    _same({key: (text, URL) for key, text in _table_pages().items()})


@native_only
def test_demo_pages(tmp_path):
    from pipeline.demo import build_demo_warc

    warc = build_demo_warc(tmp_path / "demo.warc.gz")
    pages = {r.target_uri: (decode_html(r.payload, r.charset)[0], r.target_uri)
             for r in read_records(str(warc)) if r.record_type == "response" and r.mime == "text/html"}
    assert len(pages) >= 3
    _same(pages)


@native_only
def test_real_pages(shared_data):
    from bench.extract import html_files, warc_html_responses
    from pipeline.extract.charset import charset_from_content_type

    pages = {}
    for i, (url, payload, content_type) in enumerate([*html_files(shared_data), *warc_html_responses(shared_data)]):
        pages[f"{i}:{url}"] = (decode_html(payload, charset_from_content_type(content_type))[0], url)
    assert len(pages) > 300
    _same(pages)


@native_only
def test_date_candidates_are_what_the_date_query_selects():
    from selectolax.lexbor import LexborHTMLParser

    from pipeline.extract.dates import _DATE_SELECTOR, find_date

    def described(nodes) -> list[tuple]:
        return [(n.tag, n.attributes, n.text(deep=True)) for n in nodes]

    def once(nodes) -> list:  # the query gives a node once per part of it that selects it
        return list({n.mem_id: n for n in nodes}.values())

    found = 0
    for seed in range(300):
        tree = LexborHTMLParser(generated_page(seed))
        _, candidates, _, _, _ = html.dom_native.scan(tree.root.mem_id, tree.body.mem_id)
        assert described(candidates) == described(once(tree.css(_DATE_SELECTOR))), seed
        assert find_date(tree, candidates) == find_date(tree)
        found += find_date(tree) is not None
    assert found > 50


_TITLE_PARTS = (
    "<title>Site title</title>", "<title>  </title>", "<title>late</title>", "<svg><title>icon</title></svg>",
    '<meta property="og:title" content="Open Graph">', '<meta property="og:title">', '<meta property="OG:TITLE" content="x">',
    '<meta PROPERTY="og:title" content="upper name">', '<meta property="og:title " content="space">',
    '<meta name="twitter:title" content="Tweet">', '<meta name="Twitter:Title" content="y">', '<meta content="z" name="twitter:title">',
    "<h1>Heading <b>bold</b></h1>", "<h1></h1>", "<noscript><h1>in noscript</h1></noscript>",
    "<template><title>in template</title></template>", "<h2>not a title</h2>",
)


@native_only
def test_title_candidates_are_what_each_title_query_selects():
    """scan's four title elements are what find_title's four css_first queries give, so the
    title is the same; pages mix titles, og/twitter metas (with and without content, other
    cases), an svg <title>, <h1>s in and out of junk."""
    from selectolax.lexbor import LexborHTMLParser

    titled = 0
    for seed in range(400):
        rng = random.Random(seed)
        parts = rng.sample(_TITLE_PARTS, rng.randrange(5))
        cut = rng.randrange(len(parts) + 1)
        page = generated_page(seed).replace("<body", "<head>" + "".join(parts[:cut]) + "</head><body", 1)
        page = page.replace("</body>", "".join(parts[cut:]) + "</body>", 1)
        tree = LexborHTMLParser(page)
        *_, titles = html.dom_native.scan(tree.root.mem_id, tree.body.mem_id)
        queried = [tree.css_first(selector) for selector, _ in html._TITLE_QUERIES]
        assert [t is None for t in titles] == [q is None for q in queried], (seed, page)
        assert [(t.tag, t.attributes, t.text()) for t in titles if t is not None] == [
            (q.tag, q.attributes, q.text()) for q in queried if q is not None], seed
        assert html.find_title(tree, titles) == html.find_title(tree)
        titled += html.find_title(tree) is not None
    assert titled > 200


@native_only
def test_scan_finds_the_base_and_the_text_length_without_junk():
    from selectolax.lexbor import LexborHTMLParser

    bases = 0
    for seed in range(300):
        page = generated_page(seed)
        tree, stripped = LexborHTMLParser(page), LexborHTMLParser(page)
        base = stripped.css_first("base[href]")
        html.strip_junk(stripped)  # the scan leaves junk out without changing the tree
        href, _, page_chars, _, _ = html.dom_native.scan(tree.root.mem_id, tree.body.mem_id)
        assert href == (base.attributes["href"] if base is not None else None)
        assert page_chars == len(stripped.body.text(deep=True))
        bases += href is not None
    assert bases > 20


@native_only
def test_another_selectolax_is_not_trusted(monkeypatch):
    """Struct layouts are only read for selectolax versions they were checked against."""
    import selectolax

    from pipeline.extract import dom_native

    monkeypatch.setattr(selectolax, "__version__", "99.0.0")
    monkeypatch.setitem(dom_native._state, "linked", None)
    assert dom_native.link() is False
    monkeypatch.undo()
    assert dom_native.link() is True


def test_cell_separator_is_html_py_s():
    """dom_native writes html.CELL_SEPARATOR's bytes itself (a C literal)."""
    if html.dom_native is None:
        pytest.skip("dom_native is not built here")
    assert html.dom_native.CELL_SEPARATOR_TEXT == html.CELL_SEPARATOR


LONG_TEXT = "A paragraph of the article with enough words in it to count as the good main text of the page. " * 2
_NOTICES = [
    "Copyright 2021 Example Media", "COPYRIGHT (C) 2020", "copyright (c) 1999 the authors", "(c) 2019 Example",
    "(C) 2018", "All Rights Reserved.", "ALL RIGHTS RESERVED", "© 2020 Example", "Text © Example", "版权所有 ©",
    "京ICP备12345678号", "粤公网安备 44030502000001号", "Copyrighted material follows, all reused",
    "the copy right holder", "call refunds", "ab(c)d", "x" * 290 + " copyright 2020", "y" * 301 + " (c) 2020",
    "A plain sentence about nothing in particular, long enough to be good text on a page.",
]


@native_only
def test_native_blocks_preset_notice_only_where_it_is_false():
    """The native walk marks a block "not a notice" itself where is_legal_notice's own pre-check
    (may_be_legal_notice) would say so and leaves the others to it; the documents are the
    Python walk's."""
    from selectolax.lexbor import LexborHTMLParser

    from pipeline.extract.boilerplate import is_legal_notice, may_be_legal_notice

    def surely_not(text: str) -> bool:
        return not may_be_legal_notice(text)

    pages = {f"notice {i}": (f"<html><body><p>{LONG_TEXT}</p><div><p>{t}</p></div><p>{LONG_TEXT}</p></body></html>", URL)
             for i, t in enumerate(_NOTICES)}
    pages.update({f"generated {seed}": (generated_page(seed), URL) for seed in range(200)})
    preset = lazy = 0
    for text, url in pages.values():
        _, _, walker = html._native_walk(LexborHTMLParser(text), url)
        for block in walker.blocks:
            if block.text:
                assert (block._notice is False) == surely_not(block.text), block.text
                assert block._notice is None or not is_legal_notice(block.text)
                preset += block._notice is False
                lazy += block._notice is None
    assert len([t for t in _NOTICES if is_legal_notice(t)]) >= 10 and preset > 100 and lazy > 100
    _same({key: value for key, value in pages.items() if key.startswith("notice")})
