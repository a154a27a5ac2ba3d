"""Golden tests: product grids and galleries keep their images; footer lines are never content."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from pipeline.extract.charset import decode_html
from pipeline.extract.html import extract_document
from pipeline.extract.images import has_meaningful_alt, is_decorative
from schemas.document import ImageNode, TextNode

SHARED_DATA = (Path(__file__).resolve().parents[3] / ".." / "shared" / "data").resolve()
SHOP = "https://shop.example.com/catalogue/index.html"
HAN = re.compile(r"[\u4e00-\u9fff]")
TITLES = [
    "The Silent Harbour",
    "A Field Guide to Mosses",
    "Winter in Lisbon",
    "Bread and Salt: A Memoir",
    "Clockwork Gardens",
    "The Cartographer's Daughter",
]


def texts(nodes: list) -> list[str]:
    return [n.text for n in nodes if isinstance(n, TextNode)]


def images(nodes: list) -> list[ImageNode]:
    return [n for n in nodes if isinstance(n, ImageNode)]


def product(i: int, title: str) -> str:
    short = title[:10] + "..."
    star = "<img src='/static/icons/star.png' width='16' height='16' alt='star'>"
    cover = f'<a href="/p/{i}/"><img src="../media/{i}.jpg" alt="{title}"></a>'
    return (
        "<li class='col-xs-6 col-md-3'><article class='product_pod'>"
        f"<div class='image_container'>{cover}</div><p class='star-rating'>{star * 3}</p>"
        f'<h3><a href="/p/{i}/" title="{title}">{short}</a></h3>'
        f"<div class='product_price'><p class='price_color'>£{10 + i}.99</p><p>In stock</p>"
        "<form><button>Add to basket</button></form></div>"
        "</article></li>"
    )


def shop_page() -> str:
    categories = "".join(f"<li><a href='/c/{c.lower()}'>{c}</a></li>" for c in ("Travel", "Mystery", "Poetry"))
    grid = "".join(product(i, t) for i, t in enumerate(TITLES))
    return (
        "<html><head><title>All products | Example Shop</title></head><body>"
        "<header class='header'><a href='/'><img src='/static/logo.png' alt='Example Shop'></a>"
        "<nav><ul><li><a href='/'>Home</a></li><li><a href='/offers'>Special offers</a></li></ul></nav></header>"
        "<div class='page'><div class='row'>"
        f"<aside class='sidebar'><h3>Categories</h3><ul class='nav-list'>{categories}</ul></aside>"
        "<div class='col-md-9'><h1>All products</h1>"
        "<div class='ad-slot'><img src='/promo/sale.jpg' alt='Half price on all cookbooks this week'></div>"
        f"<section><ol class='row'>{grid}</ol>"
        "<ul class='pager'><li>Page 1 of 50</li><li><a href='?page=2'>next</a></li></ul></section>"
        "</div></div></div>"
        "<footer><img src='/static/brand.png' alt='Example Shop Ltd'><p>© 2024 Example Shop Ltd</p></footer>"
        "</body></html>"
    )


def test_product_grid_keeps_each_cover_with_its_title() -> None:
    nodes = extract_document(shop_page(), SHOP).nodes
    covers = images(nodes)
    assert [i.alt for i in covers] == TITLES
    assert [i.url for i in covers] == [f"https://shop.example.com/media/{i}.jpg" for i in range(6)]
    assert [i.position for i in covers] == [nodes.index(i) for i in covers]
    joined = "\n".join(texts(nodes))
    for junk in ("Home", "Special offers", "Categories", "Travel", "Poetry", "£", "In stock",
                 "Add to basket", "Page 1 of 50", "©"):
        assert junk not in joined, junk


def test_product_grid_leaves_logos_icons_and_ads_out() -> None:
    urls = [i.url for i in images(extract_document(shop_page(), SHOP).nodes)]
    assert not any(part in u for u in urls for part in ("logo", "star", "brand", "promo"))


def test_gallery_keeps_intro_text_and_pictures() -> None:
    intro = "Photographs from our week on the northern coast, taken on an old film camera."
    alts = ["Fishing boats at dawn", "A lighthouse in fog", "Seals on the rocks", "Cliffs above the bay",
            "Nets drying on the quay", "The ferry leaving at dusk"]
    figures = "".join(
        f"<div class='photo'><a href='/full/{i}.jpg'><img src='/thumb/{i}.jpg' alt='{alt}'></a>"
        f"<span>#{i}</span></div>"
        for i, alt in enumerate(alts)
    )
    html = (
        "<html><body><div id='menu'><a href='/'>Home</a> <a href='/blog'>Blog</a></div>"
        f"<div id='content'><h1>Coast trip</h1><p>{intro}</p><div class='gallery'>{figures}</div></div>"
        "<div id='bottom'><img src='/img/avatar.png' alt='Photo of the author'>Copyright 2021 Jo</div>"
        "</body></html>"
    )
    nodes = extract_document(html, "https://photos.example.org/coast/").nodes
    assert texts(nodes)[:2] == ["Coast trip", intro]
    assert [i.alt for i in images(nodes)] == alts
    assert not any("Copyright" in t or t.startswith("#") for t in texts(nodes))


def test_article_with_a_few_pictures_is_not_a_listing() -> None:
    para = "The harbour authority approved the new breakwater after a decade of storms and debate. "
    pictures = "".join(f"<div class='wp-block-image'><img src='/{i}.jpg' alt='Breakwater view {i}'></div>"
                       f"<div class='wp-block-image'><p>Short caption {i}</p></div>" for i in range(3))
    body = f"<h1>Breakwater</h1><p>{para * 3}</p>{pictures}<p>{para * 2}</p>"
    html = f"<html><body><article>{body}</article></body></html>"
    nodes = extract_document(html, "https://news.example.com/a").nodes
    assert len(images(nodes)) == 3
    assert "Short caption 1" in texts(nodes)  # an article's short texts are not item furniture


def test_decorative_images_and_meaningful_alts() -> None:
    assert is_decorative("https://x.com/static/logo.png", {}, None, None)
    assert is_decorative("https://x.com/icons/search.svg", {}, None, None)
    assert is_decorative("https://x.com/u/1.jpg", {"class": "avatar avatar-96"}, None, None)
    assert is_decorative("https://x.com/p/1.jpg", {}, 24, 24)
    assert is_decorative("https://x.com/ads/300x250.jpg", {}, None, None)
    assert not is_decorative("https://x.com/media/iconic-bridge.jpg", {}, 800, 600)
    assert not is_decorative("https://x.com/catalogue/cover.jpg", {}, None, None)
    assert has_meaningful_alt("A Light in the Attic") and has_meaningful_alt("渔港的清晨")
    for alt in (None, "", "image", "Photo", "IMG_2041.JPG", "dsc-0042", "→"):
        assert not has_meaningful_alt(alt), alt


def test_copyright_footer_alone_is_not_content() -> None:
    headlines = [f"第{i}期 市场行情与价格走势分析报告" for i in range(1, 9)]
    items = "".join(f"<li><span>2020-08-0{i}</span><a href='/n/{i}.html'>{h}</a></li>"
                    for i, h in enumerate(headlines, 1))
    html = (
        "<html><head><title>列表_主页</title></head><body>"
        "<div class='blog_menu'><a href='/'>首页</a><a href='/a/'>新闻</a></div>"
        "<div id='left'><a href='/x'>产品分类</a><br><a href='/y'>联系我们</a></div>"
        f"<div id='list'><ul>{items}</ul></div>"
        "<div class='pages'><a href='?p=1'>1</a> <a href='?p=2'>2</a></div>"
        "<div id='foot'>Copyright 2017-2023 http://www.example.cn All Rights Reserved.</div>"
        "</body></html>"
    )
    nodes = extract_document(html, "http://www.example.cn/list_1.html").nodes
    joined = "\n".join(texts(nodes))
    assert "Copyright" not in joined and "Rights Reserved" not in joined
    # An index page: its list of headlines is its content.
    assert all(n.kind == "list" for n in nodes) and all(h in joined for h in headlines)


def test_page_of_links_and_a_footer_gives_nothing() -> None:
    links = "".join(f"<a href='/t/{i}'>Topic {i}</a> " for i in range(10))
    html = (
        f"<html><body><div>{links}</div>"
        "<div>© 2023 Example Corp. All rights reserved. 粤ICP备12345678号</div></body></html>"
    )
    assert extract_document(html, "https://example.com/").nodes == []


def test_copyright_line_dropped_from_article_but_copyright_prose_kept() -> None:
    prose = ("The court held that copyright in the photograph belonged to the agency, not to the "
             "freelancer who took it, because of the contract signed in 2015. ")
    html = (
        f"<html><body><article><p>{prose}</p><p>{prose}</p>"
        "<p>© 2024 Example News Group. All rights reserved.</p></article></body></html>"
    )
    assert texts(extract_document(html, "https://news.example.com/a").nodes) == [prose.strip()] * 2


# -- real pages from ../shared/data --------------------------------------------------------
def _warc_html(path: Path, urls: set[str] | None = None) -> dict[str, str]:
    warcio = pytest.importorskip("warcio.archiveiterator")
    found: dict[str, str] = {}
    with open(path, "rb") as f:
        for record in warcio.ArchiveIterator(f):
            if record.rec_type != "response" or record.http_headers is None:
                continue
            if not (record.http_headers.get_header("Content-Type") or "").startswith("text/html"):
                continue
            url = record.rec_headers.get_header("WARC-Target-URI")
            if urls is None or url in urls:
                found[url], _ = decode_html(record.content_stream().read(), None)
    return found


def _shared(relative: str) -> Path:
    path = SHARED_DATA / relative
    if not path.is_file():
        pytest.skip(f"real-world sample {relative} not found under {SHARED_DATA} (no ../shared/data)")
    return path


def test_books_toscrape_home_page_keeps_its_20_covers() -> None:
    (url, html), = _warc_html(_shared("warc/with-images/nodewarc_books.toscrape.warc")).items()
    nodes = extract_document(html, url).nodes
    covers = images(nodes)
    assert len(covers) == 20
    assert covers[0].alt == "A Light in the Attic" and covers[-1].alt == "It's Only the Himalayas"
    assert all(i.alt and i.url.startswith("http://books.toscrape.com/media/cache/") for i in covers)
    joined = "\n".join(texts(nodes))
    for junk in ("Travel", "Historical Fiction", "We love being scraped", "£", "Add to basket"):
        assert junk not in joined, junk


def test_chinese_list_pages_are_not_their_copyright_footer() -> None:
    urls = {"http://0755krk.com/76104/list_4_1.html", "http://077678u.info/erxiaoshujinguang/list_6_2.html"}
    pages = _warc_html(_shared("warc/cc-main/resiliparse_CC-MAIN-2020-34_warcfile.warc.gz"), urls)
    assert set(pages) == urls
    for url, html in pages.items():
        joined = "\n".join(texts(extract_document(html, url).nodes))
        assert "Copyright" not in joined, url
        assert not joined or HAN.search(joined), url
