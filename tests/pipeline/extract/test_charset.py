from __future__ import annotations

import codecs
import re

import pytest

from pipeline.extract.charset import charset_from_content_type, decode_html, decode_html_source, normalize_charset

CHINESE = "中文网页标题，简体字测试"
RUSSIAN = "О компании - Стратегия пожарной безопасности"


def page(body: str, head: str = "") -> str:
    return f"<html><head>{head}<title>{body}</title></head><body><p>{body}</p></body></html>"


def test_bom_wins_over_declarations() -> None:
    payload = codecs.BOM_UTF8 + page(CHINESE).encode("utf-8")
    text, encoding = decode_html(payload, "iso-8859-1")
    assert encoding == "utf-8" and CHINESE in text and not text.startswith("\ufeff")


def test_header_charset_used() -> None:
    text, encoding = decode_html(page(RUSSIAN).encode("cp1251"), "windows-1251")
    assert encoding == "cp1251" and RUSSIAN in text


def test_meta_charset_used() -> None:
    payload = page(CHINESE, '<meta charset="gb2312">').encode("gbk")
    text, encoding = decode_html(payload, None)
    assert encoding == "gb18030" and CHINESE in text


def test_meta_http_equiv_charset() -> None:
    meta = '<meta http-equiv="Content-Type" content="text/html; charset=windows-1251">'
    text, encoding = decode_html(page(RUSSIAN, meta).encode("cp1251"), None)
    assert encoding == "cp1251" and RUSSIAN in text


def test_gbk_bytes_without_declaration_detected() -> None:
    body = (CHINESE + "。这是一个用于检测编码的较长段落，包含足够多的汉字。") * 5
    text, _ = decode_html(page(body).encode("gbk"), None)
    assert body in text and "\ufffd" not in text


def test_windows_1251_without_declaration_detected() -> None:
    body = (RUSSIAN + ". Мы предлагаем полный комплекс услуг по защите объектов. ") * 5
    text, _ = decode_html(page(body).encode("cp1251"), None)
    assert body in text


def test_wrong_declared_charset_falls_through() -> None:
    # Declared utf-8, really gbk: strict utf-8 fails, detection finds the Chinese text.
    body = (CHINESE + "。这是一个用于检测编码的较长段落。") * 5
    text, encoding = decode_html(page(body, '<meta charset="utf-8">').encode("gbk"), "utf-8")
    assert body in text and encoding != "utf-8"


def test_utf8_page_declared_latin1_stays_utf8() -> None:
    text, encoding = decode_html(page("Grüße aus Köln").encode("utf-8"), "iso-8859-1")
    assert encoding == "utf-8" and "Grüße aus Köln" in text


def test_whatwg_label_mapping() -> None:
    assert normalize_charset("GB2312") == "gb18030"
    assert normalize_charset("x-gbk") == "gb18030"
    assert normalize_charset("ISO-8859-1") == "cp1252"
    assert normalize_charset("us-ascii") == "cp1252"
    assert normalize_charset("no-such-charset") is None
    assert charset_from_content_type('text/html; charset="GBK"') == "GBK"


@pytest.mark.parametrize("payload", [b"", b"\xff\xfe\xfd" * 10, bytes(range(256)) * 3])
def test_never_raises(payload: bytes) -> None:
    text, encoding = decode_html(payload, "no-such-charset")
    assert isinstance(text, str) and encoding


def test_common_crawl_pages_decode(shared_data) -> None:
    from warcio.archiveiterator import ArchiveIterator

    warc = shared_data / "warc/cc-main/resiliparse_CC-MAIN-2020-34_warcfile.warc.gz"
    seen: set[str] = set()
    with warc.open("rb") as stream:
        for record in ArchiveIterator(stream):
            if record.rec_type != "response":
                continue
            payload = record.content_stream().read()
            declared = re.search(rb"charset=[\"']?([\w-]+)", payload[:4096])
            label = declared.group(1).decode().lower() if declared else ""
            if label not in ("gb2312", "gbk", "windows-1251"):
                continue
            content_type = record.http_headers.get_header("Content-Type")
            text, _ = decode_html(payload, charset_from_content_type(content_type))
            title = re.search(r"<title[^>]*>(.*?)</title>", text, re.S | re.I)
            assert "\ufffd" not in text, record.rec_headers.get_header("WARC-Target-URI")
            assert title is not None
            script = r"[\u0400-\u04ff]" if label == "windows-1251" else r"[\u4e00-\u9fff]|&#"
            assert re.search(script, title.group(1)), title.group(1)
            seen.add(label)
    assert seen == {"gb2312", "gbk", "windows-1251"}


SOURCE_CASES = [
    (b"", None), (b"<p>plain ascii</p>", None), (b"<p>ascii declared</p>", "iso-8859-1"),
    (page(CHINESE).encode("utf-8"), None), (page(CHINESE).encode("utf-8"), "gbk"),
    (codecs.BOM_UTF8 + page(CHINESE).encode("utf-8"), None),  # text without the BOM: not the payload
    (codecs.BOM_UTF16_LE + page(CHINESE).encode("utf-16-le"), None),
    (page(CHINESE).encode("gbk"), "gbk"), (page(CHINESE).encode("gbk"), None),
    (page(RUSSIAN).encode("cp1251"), None), (page("caf\u00e9").encode("latin-1"), "iso-8859-1"),
    (page(CHINESE).encode("utf-8")[:-9] + b"\xff\xfe" + b"</html>", None),  # invalid utf-8: replaced
    (b"\xff\xfe\xfd" * 10, "no-such-charset"), (bytes(range(256)) * 3, None), (b"\x00<p>nul</p>", None),
]


@pytest.mark.parametrize(("payload", "header"), SOURCE_CASES)
def test_source_is_the_payload_exactly_when_it_is_the_text_in_utf8(payload: bytes, header: str | None) -> None:
    text, name, source = decode_html_source(payload, header)
    assert (text, name) == decode_html(payload, header)
    if source is not None:
        assert source is payload and text.encode("utf-8") == payload
    else:  # None only where the payload is not the text in UTF-8 (or is empty)
        assert not payload or payload.startswith(codecs.BOM_UTF8) or text.encode("utf-8", "surrogatepass") != payload
