from __future__ import annotations

import pytest

from pipeline.extract.html import Extracted, extract_document
from schemas.document import ImageNode, TextNode

URL = "https://example.com/news/2024/story.html"
LONG = "This paragraph carries enough real words to count as the main text of the article. "


def body_page(body: str, head: str = "<title>Story</title>") -> str:
    return f"<!doctype html><html><head>{head}</head><body>{body}</body></html>"


def article(inner: str) -> str:
    nav = '<nav><ul><li><a href="/">Home</a></li><li><a href="/a">About</a></li></ul></nav>'
    return body_page(f"{nav}<article>{inner}</article><footer>Copyright footer text</footer>")


def texts(extracted: Extracted) -> list[str]:
    return [n.text for n in extracted.nodes if isinstance(n, TextNode)]


def images(extracted: Extracted) -> list[ImageNode]:
    return [n for n in extracted.nodes if isinstance(n, ImageNode)]


def test_image_between_paragraphs_stays_between() -> None:
    html = article(f"<p>First {LONG}</p><img src='/img/a.jpg' alt=' A cat '><p>Second {LONG}</p>")
    nodes = extract_document(html, URL).nodes
    assert [type(n).__name__ for n in nodes] == ["TextNode", "ImageNode", "TextNode"]
    assert nodes[0].text.startswith("First") and nodes[2].text.startswith("Second")
    assert nodes[1].url == "https://example.com/img/a.jpg" and nodes[1].alt == "A cat"
    assert nodes[1].position == 1


def test_srcset_picks_largest_candidate() -> None:
    html = article(
        f"<p>{LONG}</p><img src='s.jpg' srcset='s.jpg 320w, l.jpg 1280w, m.jpg 640w'><p>{LONG}</p>"
        f"<img src='a.jpg' srcset='a1.jpg 1x, a2.jpg 2x'><p>{LONG}</p>"
    )
    urls = [i.url for i in images(extract_document(html, URL))]
    assert urls == ["https://example.com/news/2024/l.jpg", "https://example.com/news/2024/a2.jpg"]


def test_lazy_attributes_beat_placeholder_src() -> None:
    html = article(
        f"<p>{LONG}</p>"
        "<img src='data:image/gif;base64,R0lGODlhAQABAAAAACw=' data-src='/real/one.jpg'>"
        f"<p>{LONG}</p><img src='/spacer.gif' data-lazy-src='/real/two.png'>"
        f"<p>{LONG}</p><img src='/blank.gif' data-srcset='/r/3s.jpg 300w, /r/3l.jpg 900w'>"
        f"<p>{LONG}</p><img data-original='/real/four.webp'><p>{LONG}</p>"
    )
    urls = [i.url for i in images(extract_document(html, URL))]
    assert urls == [
        "https://example.com/real/one.jpg",
        "https://example.com/real/two.png",
        "https://example.com/r/3l.jpg",
        "https://example.com/real/four.webp",
    ]


def test_base_href_used_for_resolution() -> None:
    head = '<title>t</title><base href="https://cdn.example.org/assets/">'
    html = body_page(f"<article><p>{LONG}</p><img src='pic.jpg'><p>{LONG}</p></article>", head)
    assert images(extract_document(html, URL))[0].url == "https://cdn.example.org/assets/pic.jpg"


def test_picture_source_srcset() -> None:
    html = article(
        f"<p>{LONG}</p><picture><source type='image/webp' srcset='/p/small.webp 400w, /p/big.webp 1600w'>"
        f"<img src='data:image/png;base64,AAAA'></picture><p>{LONG}</p>"
    )
    assert [i.url for i in images(extract_document(html, URL))] == ["https://example.com/p/big.webp"]


def test_figcaption_goes_on_image_not_text() -> None:
    html = article(
        f"<p>{LONG}</p><figure><img src='/f.jpg' width='800' height='600px'>"
        f"<figcaption>The  harbour at dawn</figcaption></figure><p>{LONG}</p>"
    )
    extracted = extract_document(html, URL)
    image = images(extracted)[0]
    assert image.caption == "The harbour at dawn"
    assert (image.width, image.height) == (800, 600)
    assert not any("harbour" in t for t in texts(extracted))


def test_size_hints_from_style_and_garbage() -> None:
    html = article(
        f"<p>{LONG}</p><img src='/a.jpg' style='width: 300px; height:200px'>"
        f"<p>{LONG}</p><img src='/b.jpg' width='auto' height='50%'><p>{LONG}</p>"
    )
    first, second = images(extract_document(html, URL))
    assert (first.width, first.height) == (300, 200)
    assert (second.width, second.height) == (None, None)


def test_tracking_pixels_data_uris_and_adjacent_duplicates_dropped() -> None:
    html = article(
        f"<p>{LONG}</p><img src='/t.gif' width='1' height='1'><img src='data:image/png;base64,AA'>"
        f"<img src='/x.jpg'><img src='/x.jpg'><p>{LONG}</p>"
    )
    assert [i.url for i in images(extract_document(html, URL))] == ["https://example.com/x.jpg"]


def test_boilerplate_removed() -> None:
    html = body_page(
        "<header><a href='/'>Logo</a><ul class='menu'><li><a href='/x'>Section</a></li></ul></header>"
        "<div class='cookie-banner'>We use cookies to improve your experience on this site.</div>"
        "<div id='main'>"
        f"<p>{LONG}</p><p>{LONG} Second.</p>"
        "<div class='ad-slot'>Buy our amazing product now, limited offer for everyone.</div>"
        "<div class='share-buttons'><span>Share this article with your friends today</span></div>"
        f"<p>{LONG} Third.</p>"
        "<div class='related-posts'><h3>Related</h3><ul><li><a href='/1'>Other story one</a></li>"
        "<li><a href='/2'>Other story two</a></li></ul></div>"
        "</div>"
        "<aside><p>Sidebar text about the author and other unrelated material here.</p></aside>"
        "<div class='comments'><p>First comment: I totally disagree with this article content.</p>"
        "<form><textarea></textarea></form></div>"
        "<footer><p>Copyright 2024 Example Inc. All rights reserved.</p></footer>"
        "<div style='display:none'>Hidden text that nobody sees on this page at all.</div>"
    )
    joined = "\n".join(texts(extract_document(html, URL)))
    for junk in ("Logo", "cookies", "Buy our", "Share this", "Other story", "Related", "Sidebar",
                 "comment", "Copyright", "Hidden"):
        assert junk not in joined, junk
    assert joined.count("main text") == 3


def test_link_dense_block_dropped() -> None:
    links = " ".join(f"<a href='/t{i}'>Topic number {i}</a>" for i in range(12))
    html = article(f"<p>{LONG}</p><div>{links}</div><p>{LONG}</p>")
    assert not any("Topic number" in t for t in texts(extract_document(html, URL)))


def test_block_kinds() -> None:
    html = article(
        "<h1>Big  Title</h1>"
        f"<p>{LONG}</p><h2>Section</h2><p>{LONG}</p>"
        "<ul><li>first item of the list</li><li>second item</li></ul>"
        "<table><tr><th>Name</th><th>Value</th></tr><tr><td>alpha</td><td>1</td></tr></table>"
        "<blockquote>A quoted sentence from someone important.</blockquote>"
        "<pre>def f(x):\n    return x</pre>"
        f"<p>Line one<br>line two {LONG}</p>"
    )
    nodes = [n for n in extract_document(html, URL).nodes if isinstance(n, TextNode)]
    kinds = {n.text: n.kind for n in nodes}
    assert kinds["Big Title"] == "heading" and kinds["Section"] == "heading"
    assert kinds["first item of the list"] == "list"
    assert kinds["Name | Value"] == "table" and kinds["alpha | 1"] == "table"
    assert kinds["A quoted sentence from someone important."] == "quote"
    assert kinds["def f(x):\n    return x"] == "code"
    assert any(t.startswith("Line one\nline two") and k == "paragraph" for t, k in kinds.items())


def test_title_and_date() -> None:
    head = (
        "<title> Page  Title </title>"
        '<meta property="article:published_time" content="2021-03-04T10:00:00+00:00">'
    )
    extracted = extract_document(body_page(f"<article><p>{LONG}</p></article>", head), URL)
    assert extracted.title == "Page Title" and extracted.date == "2021-03-04"


def test_title_fallbacks_and_jsonld_and_time_dates() -> None:
    og = '<meta property="og:title" content="OG title">'
    jsonld = '<script type="application/ld+json">{"@type":"NewsArticle","datePublished":"2019-12-31"}</script>'
    assert extract_document(body_page(f"<p>{LONG}</p>", og + jsonld), URL).title == "OG title"
    assert extract_document(body_page(f"<p>{LONG}</p>", og + jsonld), URL).date == "2019-12-31"
    timed = body_page(f"<h1>H1 title</h1><time datetime='2020-02-29'>yesterday</time><p>{LONG}</p>", "")
    extracted = extract_document(timed, URL)
    assert extracted.title == "H1 title" and extracted.date == "2020-02-29"


def test_time_dates_rank_marked_publication_dates_first() -> None:
    # A marked <time> beats any element marked datePublished, which beats the first dated <time>;
    # an alternative whose first match holds no date gives way to the next one.
    def date(body: str) -> str | None:
        return extract_document(body_page(f"{body}<p>{LONG}</p>", ""), URL).date

    assert date("<time datetime='2020-01-02'>x</time><span itemprop='datePublished' content='2019-05-06'>y</span>"
                "") == "2019-05-06"
    assert date("<time datetime='2020-01-02'>x</time><time itemprop='datePublished'>2018-07-08</time>") == "2018-07-08"
    assert date("<time pubdate>2018-03-04</time><time itemprop='datePublished'>bad</time>"
                "<div itemprop='datePublished'>2017-01-01</div>") == "2018-03-04"
    assert date("<time datetime='2015-02-02T10:00:00Z'>Monday</time>") == "2015-02-02"
    assert date("<time>no date here</time>") is None


def test_base_href_found_in_any_letter_case() -> None:
    page = body_page(f"<p>{LONG}<img src='pic.jpg' alt='a lighthouse at dusk'></p>",
                     '<BASE\nHREF="https://cdn.example.org/assets/">')
    assert extract_document(page, URL).nodes[-1].url == "https://cdn.example.org/assets/pic.jpg"


def test_chinese_page_kept() -> None:
    sentence = "北京时间今天上午，国家统计局发布了最新的经济数据，显示经济稳定增长。"
    html = body_page(
        "<div class='nav'><a href='/'>首页</a><a href='/n'>新闻</a></div>"
        f"<div class='content'><p>{sentence}</p><img src='/a.jpg' alt='图片'><p>{sentence * 2}</p></div>"
        "<div class='footer'>版权所有</div>"
    )
    nodes = extract_document(html, "http://news.example.cn/a.html").nodes
    assert [type(n).__name__ for n in nodes] == ["TextNode", "ImageNode", "TextNode"]
    assert nodes[0].text == sentence


def test_ruby_readings_not_spliced_into_text() -> None:
    html = article(f"<p><ruby>漢字<rt>かんじ</rt></ruby>の読み方を学ぶための長い文章です。{LONG}</p>")
    assert texts(extract_document(html, URL))[0].startswith("漢字の読み方")


@pytest.mark.parametrize(
    "html",
    ["", "   ", "<", "<html>", "<p>unclosed <b>bold <i>italic", "\x00\x01 binary \xff",
     "<div>" * 5000 + "deep text" + "</div>" * 10, "<img src='http://[bad'>", "<table><td>x"],
)
def test_broken_and_empty_input_does_not_raise(html: str) -> None:
    extracted = extract_document(html, "not a url")
    assert isinstance(extracted, Extracted) and isinstance(extracted.nodes, list)


def test_empty_input_has_no_nodes() -> None:
    assert extract_document("", URL) == Extracted(title=None, date=None, nodes=[])


def test_utf8_source_gives_the_same_document_as_the_text(shared_data) -> None:
    """The parser reads the page's own UTF-8 bytes where decode_html_source has them: the same
    title, date and nodes as from the decoded text, on the real pages."""
    from bench.extract import html_files, warc_html_responses
    from pipeline.extract.charset import charset_from_content_type, decode_html_source

    with_source = 0
    for url, payload, content_type in [*html_files(shared_data), *warc_html_responses(shared_data)]:
        text, _, source = decode_html_source(payload, charset_from_content_type(content_type))
        if source is None:
            continue
        with_source += 1
        assert extract_document(text, url, source) == extract_document(text, url), url
    assert with_source > 250


@pytest.mark.parametrize("html", ["", " ", "\n\t ", "\u3000\xa0\u2028", " <p>x</p> "])
def test_blank_pages_give_nothing(html: str) -> None:
    expected = Extracted(title=None, date=None, nodes=[]) if not html.strip() else None
    result = extract_document(html, URL, html.encode())
    assert result == extract_document(html, URL)
    if expected is not None:
        assert result == expected
