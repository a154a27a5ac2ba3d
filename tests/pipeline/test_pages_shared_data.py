"""The extract stage on the real WARCs of ../shared/data (skipped when absent)."""

from __future__ import annotations

import html
import re
from pathlib import Path

import pytest
from warcio.archiveiterator import ArchiveIterator

from pipeline.config import load_config
from pipeline.pages import WarcTask, extract_warc, read_pages

HAN = re.compile(r"[\u4e00-\u9fff]")
HTML_DROPS = ("too_little_text", "html_too_large", "content_encoding_error")


def extract(path: Path, tmp_path: Path, *overrides: str) -> tuple[dict, list]:
    config = load_config(None, ["run.engine=local", *overrides])
    out = tmp_path / path.name
    result = extract_warc(WarcTask(0, str(path)), config=config, out_dir=str(out))
    return result, list(read_pages(out / "part-00000.parquet"))


def html_responses(path: Path) -> list[tuple[str, bytes, str | None]]:
    """Independent count with warcio: (url, body, declared charset) of 200 text/html responses."""
    found = []
    with open(path, "rb") as f:
        for r in ArchiveIterator(f, arc2warc=True):
            if r.rec_type != "response" or r.http_headers is None:
                continue
            ctype = (r.http_headers.get_header("Content-Type") or "").lower()
            if r.http_headers.get_statuscode() == "200" and ctype.startswith("text/html"):
                m = re.search(r"charset=([\w-]+)", ctype)
                found.append((r.rec_headers.get_header("WARC-Target-URI"), r.content_stream().read(),
                              m and m.group(1)))
    return found


@pytest.mark.parametrize("name,records", [("cc-main/resiliparse_CC-MAIN-2020-34_warcfile.warc.gz", 50),
                                          ("with-images/aut_example_IAH-2008-archive.org.warc.gz", 822)])
def test_every_html_response_is_accounted_for(shared_data, tmp_path, name, records):
    path = shared_data / "warc" / name
    result, docs = extract(path, tmp_path)
    stats = result["stats"]["extract"]
    assert stats["in"] == records
    assert stats["in"] == stats["out"] + sum(stats["dropped"].values())
    html = html_responses(path)
    html_docs = [d for d in docs if d.kind == "html"]
    assert len(html_docs) + sum(stats["dropped"].get(r, 0) for r in HTML_DROPS) == len(html)
    assert {d.url for d in html_docs} <= {u for u, _, _ in html}
    assert result["file"]["error"] is None


def test_chinese_pages_decode(shared_data, tmp_path):
    path = shared_data / "warc" / "cc-main" / "resiliparse_CC-MAIN-2020-34_warcfile.warc.gz"
    _, docs = extract(path, tmp_path)
    by_url = {d.url: d for d in docs}
    checked = han_text = 0
    for url, body, header_charset in html_responses(path):
        declared = header_charset or re.search(rb"charset=[\"']?([\w-]+)", body[:4000]).group(1).decode()
        if declared.lower() not in ("gb2312", "gbk", "windows-1251") and url not in by_url:
            continue
        # Ground truth: the <title> decoded with the codec the page declares (GB18030 is the
        # superset browsers use for gb2312 / gbk labels).
        codec = "gb18030" if declared.lower() in ("gb2312", "gbk") else declared
        m = re.search(rb"<title>(.*?)</title>", body, re.S | re.I)
        truth = html.unescape(m.group(1).decode(codec, errors="replace")).strip() if m else ""
        if not HAN.search(truth) or url not in by_url:
            continue
        doc = by_url[url]
        assert "\ufffd" not in doc.text and "\ufffd" not in (doc.title or ""), url
        title_han = "".join(HAN.findall(truth))
        assert "".join(HAN.findall(doc.title or "")) == title_han, (url, doc.title, truth)
        han_text += bool(HAN.search(doc.text))
        checked += 1
    # The sample holds 12 pages with Chinese titles; a few are spam whose body is English.
    assert checked >= 10 and han_text >= checked - 2
    ru = next(d for d in docs if "01spb.ru" in d.url)
    assert ru.charset in ("cp1251", "windows-1251") and re.search("[а-яА-Я]{4}", ru.text)


def test_books_toscrape_images_attached_from_the_warc(shared_data, tmp_path):
    path = shared_data / "warc" / "with-images" / "nodewarc_books.toscrape.warc"
    result, docs = extract(path, tmp_path)
    (home,) = [d for d in docs if d.kind == "html"]
    images = home.image_nodes
    assert len(images) == 20
    assert all(i.image and i.image[:2] == b"\xff\xd8" and i.image_source == "warc" for i in images)
    assert all(i.alt for i in images)
    assert images[0].alt == "A Light in the Attic"
    assert result["stats"]["extract"]["counters"]["images_from_warc"] == 20


def test_archive_org_crawl_attaches_archived_images(shared_data, tmp_path):
    path = shared_data / "warc" / "with-images" / "aut_example_IAH-2008-archive.org.warc.gz"
    result, docs = extract(path, tmp_path)
    counters = result["stats"]["extract"]["counters"]
    assert counters["archived_image_records"] >= 50
    assert counters["images_from_warc"] > 100
    attached = [n for d in docs for n in d.image_nodes if n.image]
    assert all(n.image_mime.startswith("image/") for n in attached)


def test_pdfs_are_set_aside_and_office_documents_counted(shared_data, tmp_path):
    result, docs = extract(shared_data / "warc" / "pdf" / "aut_example.pdf.warc.gz", tmp_path)
    pdfs = [d for d in docs if d.kind == "pdf"]
    assert len(pdfs) == 2 and all(d.source.startswith(b"%PDF") for d in pdfs)
    assert result["stats"]["extract"]["dropped"]["revisit"] == 2
    result, docs = extract(shared_data / "warc" / "pdf" / "aut_example.docs.warc.gz", tmp_path)
    dropped = result["stats"]["extract"]["dropped"]
    assert sum(n for r, n in dropped.items() if r.startswith("non_html:")) >= 9
    assert not [d for d in docs if d.kind == "pdf"]


def test_edge_case_warcs(shared_data, tmp_path):
    edge = shared_data / "warc" / "edge-cases"
    result, docs = extract(edge / "warcio_example.warc.gz", tmp_path)
    assert result["stats"]["extract"]["dropped"].get("revisit") == 1
    result, docs = extract(edge / "warcio_example.arc.gz", tmp_path)
    assert result["file"]["error"] is None and result["stats"]["extract"]["in"] >= 1
    result, docs = extract(edge / "warcio_example-iana.org-chunked.warc", tmp_path)
    assert any("iana" in d.url.lower() and d.text for d in docs)
    result, docs = extract(edge / "warcio_example-bad-non-chunked.warc.gz", tmp_path)
    assert result["file"]["error"] == "whole_file_gzip" and docs == []
    stats = result["stats"]["extract"]
    assert stats["counters"]["file_error:whole_file_gzip"] == 1 and stats["in"] == stats["out"] == 0


def test_truncated_warc_keeps_what_was_read(shared_data, tmp_path):
    src = shared_data / "warc" / "cc-main" / "resiliparse_CC-MAIN-2020-34_warcfile.warc.gz"
    data = src.read_bytes()
    cut = tmp_path / "cut.warc.gz"
    cut.write_bytes(data[: len(data) * 2 // 3])
    full, full_docs = extract(src, tmp_path / "full")
    result, docs = extract(cut, tmp_path / "cut")
    assert result["file"]["truncated"] and result["stats"]["extract"]["counters"]["files_truncated"] == 1
    assert 0 < len(docs) < len(full_docs)
    assert [d.doc_id for d in docs] == [d.doc_id for d in full_docs[: len(docs)]]
