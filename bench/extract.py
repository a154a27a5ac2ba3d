"""Benchmark: our HTML extraction vs trafilatura and resiliparse on real pages, from a WARC.

Packs the HTML pages of ../shared/data (trafilatura and goose3 test pages, HTML responses of
the shared WARCs) into one WARC, repeated to a few thousand records, reads it back and times,
single process (= one core):
  (a) ours, WARC → Documents: the extract stage's own path (pipeline.pages.extract_records over
      pipeline.warc.records.read_records: read, decode HTTP, charset, extract, language id)
  (b) ours, extraction only: decode_html + extract_document per record (``extract_record``)
  (c) trafilatura.extract(html, url=url) on the same records, HTML already decoded for it
  (d) resiliparse extract_plain_text(html, main_content=True), plain text, no images

    python bench/extract.py [--records 3000] [--data ../shared/data]
"""

from __future__ import annotations

import argparse
import io
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from warcio.archiveiterator import ArchiveIterator
from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

from pipeline.extract.charset import charset_from_content_type, decode_html
from pipeline.extract.html import Extracted, extract_document
from schemas.document import ImageNode

DEFAULT_DATA = Path(__file__).resolve().parents[1] / ".." / "shared" / "data"
Page = tuple[str, bytes, str | None]  # url, payload, Content-Type header


def extract_record(payload: bytes, header_charset: str | None, url: str) -> Extracted:
    """The per-record "ours" path: bytes → decoded HTML → extracted document."""
    html, _ = decode_html(payload, header_charset)
    return extract_document(html, url)


def html_files(data: Path) -> Iterator[Page]:
    import json

    evaldata = json.loads((data / "html/trafilatura/evaldata_subset.json").read_text())
    for url, entry in sorted(evaldata.items()):
        yield url, (data / "html/trafilatura/html" / entry["file"]).read_bytes(), "text/html"
    for path in sorted((data / "html/goose3/content").glob("*.html")):
        meta = json.loads(path.with_suffix(".json").read_text())
        yield meta.get("url") or f"http://goose3.test/{path.name}", path.read_bytes(), "text/html"


def warc_html_responses(data: Path) -> Iterator[Page]:
    for path in sorted((data / "warc").rglob("*.warc*")):
        try:
            with path.open("rb") as stream:
                for record in ArchiveIterator(stream):
                    if record.rec_type != "response" or record.http_headers is None:
                        continue
                    content_type = record.http_headers.get_header("Content-Type") or ""
                    if "html" not in content_type.lower():
                        continue
                    url = record.rec_headers.get_header("WARC-Target-URI")
                    yield url, record.content_stream().read(), content_type
        except Exception as error:  # a deliberately broken edge-case WARC: skip the rest of it
            print(f"  skipped rest of {path.name}: {type(error).__name__}")


def write_warc(pages: list[Page], records: int, target: Path) -> int:
    written = 0
    with target.open("wb") as out:
        writer = WARCWriter(out, gzip=True)
        while written < records:
            for url, payload, content_type in pages:
                headers = StatusAndHeaders("200 OK", [("Content-Type", content_type)], protocol="HTTP/1.1")
                record = writer.create_warc_record(
                    url, "response", payload=io.BytesIO(payload), http_headers=headers
                )
                writer.write_record(record)
                written += 1
                if written >= records:
                    break
    return written


def read_warc(path: Path) -> list[Page]:
    pages: list[Page] = []
    with path.open("rb") as stream:
        for record in ArchiveIterator(stream):
            if record.rec_type == "response" and record.http_headers is not None:
                content_type = record.http_headers.get_header("Content-Type")
                url = record.rec_headers.get_header("WARC-Target-URI")
                pages.append((url, record.content_stream().read(), content_type))
    return pages


def time_warc_to_documents(path: Path) -> tuple[float, int]:
    """The extract stage's path over the whole WARC, reading included; returns (docs/s, docs)."""
    from pipeline.config import Config
    from pipeline.pages import document_stages, extract_records
    from pipeline.stage import chain
    from pipeline.stats import StageStats
    from pipeline.warc.records import read_records

    from pipeline.langid import detect_language

    detect_language("load the model once, as a worker does, before timing")
    stats = StageStats("extract")
    config = Config()
    config.extract.archived_images = False
    config.filters.enabled = []  # the text filters have their own benchmark (bench/filters.py)
    stages = document_stages(config)  # language id on the whole text, as the job runs it
    start = time.perf_counter()
    docs = sum(1 for _ in chain(stages, extract_records(read_records(str(path)), config.extract, stats, None)))
    elapsed = time.perf_counter() - start
    rate = stats.n_in / elapsed
    print(f"  {'ours WARC→doc':<12} {rate:8.1f} records/s ({elapsed:.2f} s for {stats.n_in} records, "
          f"{docs} documents, dropped {dict(stats.dropped)})")
    return rate, docs


def time_per_doc(name: str, items: list, run: Callable) -> float:
    start = time.perf_counter()
    for item in items:
        run(item)
    elapsed = time.perf_counter() - start
    rate = len(items) / elapsed
    print(f"  {name:<12} {rate:8.1f} docs/s  ({elapsed:.2f} s for {len(items)})")
    return rate


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="the shared data folder")
    parser.add_argument("--records", type=int, default=3000, help="WARC records to write and time")
    args = parser.parse_args()

    import trafilatura
    from resiliparse.extract.html2text import extract_plain_text

    pages = list(html_files(args.data)) + list(warc_html_responses(args.data))
    print(f"{len(pages)} distinct HTML pages")
    with tempfile.TemporaryDirectory() as tmp:
        warc_path = Path(tmp) / "bench.warc.gz"
        count = write_warc(pages, args.records, warc_path)
        print(f"wrote {count} records to {warc_path.name} ({warc_path.stat().st_size / 1e6:.1f} MB)")
        records = read_warc(warc_path)
        print("single process, per record:")
        full_rate, docs = time_warc_to_documents(warc_path)

    decoded = [
        (url, decode_html(payload, charset_from_content_type(ctype))[0]) for url, payload, ctype in records
    ]
    kept_images = 0

    def ours(record: Page) -> None:
        nonlocal kept_images
        url, payload, ctype = record
        extracted = extract_record(payload, charset_from_content_type(ctype), url)
        kept_images += sum(isinstance(n, ImageNode) for n in extracted.nodes)

    ours_rate = time_per_doc("ours extract", records, ours)
    traf_rate = time_per_doc("trafilatura", decoded, lambda r: trafilatura.extract(r[1], url=r[0]))
    resi_rate = time_per_doc("resiliparse", decoded, lambda r: extract_plain_text(r[1], main_content=True))
    print(f"WARC → Documents / trafilatura: {full_rate / traf_rate:.1f}x   "
          f"/ resiliparse: {full_rate / resi_rate:.2f}x")
    print(f"extraction only  / trafilatura: {ours_rate / traf_rate:.1f}x   "
          f"/ resiliparse: {ours_rate / resi_rate:.2f}x")
    print(f"image nodes kept by ours: {kept_images} ({kept_images / len(records):.1f} per record)")


if __name__ == "__main__":
    main()
