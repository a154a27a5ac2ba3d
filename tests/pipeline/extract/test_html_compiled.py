"""pipeline/extract/html.py is compiled by setup.py (Cython pure-Python mode) and runs as plain
Python without a C compiler: both must extract exactly the same documents.

The plain-Python module is loaded here from the same source file under another name, without
Cython's own shadow module (the fallback an install without Cython gets: pipeline.cython_shim).
"""

from __future__ import annotations

import pytest

import pipeline.extract.html as html
from pipeline.extract.charset import decode_html
from pipeline.warc.records import read_records
from tests.compiled import has_c_compiler, load_plain


@pytest.fixture(scope="module")
def pure():
    """The same source as a plain Python module, with ``import cython`` failing as it does
    when Cython is not installed."""
    module = load_plain(["pipeline.extract.html"])["pipeline.extract.html"]
    assert module.COMPILED is False
    return module


def _item(i: int) -> str:
    return (f'<li class="product"><a href="/p/{i}"><img src="/c/{i}.jpg" alt="Cover of the book number {i}">'
            f"</a><h3>Book {i}</h3><p class=price>£{i}.99</p></li>")


# Each page exercises part of the walk: blocks and kinds, links, tables (data and layout),
# figures and captions, pictures, preformatted text, hidden and boilerplate parts, wrappers,
# listings, index pages, broken nesting, CJK, and a <base>.
PAGES: dict[str, str] = {
    "article": """<html><head><title>A  title</title><base href="/sub/"></head><body>
        <nav><a href="/">Home</a> <a href="/x">X</a></nav>
        <header><h1>Site name</h1></header>
        <article><h1>The headline of the story</h1><time datetime="2024-03-02">2 March</time>
        <p>The first paragraph is long enough to count as good text, with <a href="/l">one link</a>
        and <b>bold</b> words, <span>spans</span> and a line<br>break inside it.</p>
        <figure><img src="a.jpg" alt="A harbour at dawn with boats"><figcaption>Boats at dawn</figcaption></figure>
        <picture><source srcset="b.webp 1x, b2.webp 2x"><img src="b.jpg" alt="A lighthouse on the cliff"></picture>
        <pre>  code line one
    code line two  </pre>
        <blockquote>A quotation that is also long enough to be kept as a block of text.</blockquote>
        <ul><li>First item of a list with some words</li><li>Second item of the list, also words</li></ul>
        <table><tr><th>Year</th><th>Count</th></tr><tr><td>2023</td><td>12</td></tr></table>
        <div style="display:none">Hidden text that must never be seen by anyone at all.</div>
        <div hidden>Also hidden text, with the hidden attribute on its element here.</div>
        <div role="navigation">Role navigation text is boilerplate and is left out of it.</div>
        <div class="share-buttons">Share this on the networks of your choice right now please</div>
        <p>© 2024 Example Corp. All rights reserved.</p>
        </article><footer>Footer text <a href="/about">About</a></footer></body></html>""",
    "layout_table": """<html><body><table><tr><td><div>Menu</div></td><td><p>A page laid out with a table
        holds its text in cells, and this long paragraph is the main content of it.</p>
        <p>Another paragraph of the main content, long enough to be good text too.</p></td></tr>
        </table></body></html>""",
    "wrapper": """<html><body><form id="aspnetForm"><div class="sidebar-wrapper"><p>All the page text sits
        inside a form and a sidebar-named wrapper, which the walk must go into, not skip over.</p>
        <p>More text inside the wrapper so that it holds most of what the page says to readers.</p>
        </div></form></body></html>""",
    "listing": "<html><body><h1>Books</h1><ul class=grid>" + "".join(_item(i) for i in range(8))
               + "</ul><div class=footer>Links</div></body></html>",
    "index": "<html><body><ul>" + "".join(f'<li><a href="/n/{i}">Headline number {i} of the day</a></li>'
                                           for i in range(12)) + "</ul></body></html>",
    "broken": "<html><body>" + "<div><span><b>" * 400 + "Deep text inside many unclosed tags, long enough."
              + "<p>After the deep part comes a paragraph that is good text of its own.</p>",
    "cjk": """<html><body><div class="content"><p>这是一个很长的中文段落，用来测试中文文本在抽取时是否和英文一样按字符计算长度。</p>
        <p>第二段中文内容，同样足够长，可以算作正文里的好文本，而不是导航或者页脚的内容。</p>
        <img data-src="/zh.jpg" alt="一张照片"></div><div id="footer">版权所有</div></body></html>""",
    "empty_body": "<html><head><title>Only a title</title></head><body></body></html>",
    "comments": "<!DOCTYPE html><!-- c --><html><body><!-- inside --><p>Text after comments is still"
                " text, and long enough to be good text for the walk.</p><?pi x?></body></html>",
}


def _extract_all(module, pages: dict[str, tuple[str, str]]) -> dict[str, str]:
    return {key: repr(module.extract_document(text, url)) for key, (text, url) in pages.items()}


def _same(pure, pages: dict[str, tuple[str, str]]) -> None:
    compiled, plain = _extract_all(html, pages), _extract_all(pure, pages)
    differing = [key for key in pages if compiled[key] != plain[key]]
    assert not differing, f"compiled and plain extraction differ on {differing[:5]}"


def test_compiled_where_a_c_compiler_is_there():
    if not has_c_compiler():
        pytest.skip("no C compiler: setup.py leaves pipeline.extract.html as plain Python")
    assert html.COMPILED, ("pipeline/extract/html.py is not compiled although a C compiler is there: "
                           "reinstall (pip install -e .) and check the build output")


def test_crafted_pages_extract_the_same(pure):
    pages = {key: (text, "https://example.com/dir/page.html") for key, text in PAGES.items()}
    _same(pure, pages)
    nodes = html.extract_document(*pages["article"]).nodes
    assert any(getattr(n, "caption", None) == "Boats at dawn" for n in nodes)  # the pages do exercise the walk
    assert len([n for n in html.extract_document(*pages["listing"]).nodes if hasattr(n, "alt")]) == 8


def test_demo_pages_extract_the_same(pure, tmp_path):
    from pipeline.demo import build_demo_warc

    warc = build_demo_warc(tmp_path / "demo.warc.gz")
    pages = {r.target_uri: (decode_html(r.payload, r.charset)[0], r.target_uri)
             for r in read_records(str(warc)) if r.record_type == "response" and r.mime == "text/html"}
    assert len(pages) >= 3
    _same(pure, pages)


def test_real_pages_extract_the_same(pure, shared_data):
    from bench.extract import html_files, warc_html_responses
    from pipeline.extract.charset import charset_from_content_type

    pages = {}
    for i, (url, payload, content_type) in enumerate([*html_files(shared_data), *warc_html_responses(shared_data)]):
        pages[f"{i}:{url}"] = (decode_html(payload, charset_from_content_type(content_type))[0], url)
    assert len(pages) > 300
    _same(pure, pages)
