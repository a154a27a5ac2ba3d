"""The extract stage's parquet parts: row groups bounded by documents and by bytes."""

import pyarrow.parquet as pq

from pipeline import pages
from pipeline.pages import _write_parquet, read_pages
from schemas import Document, ImageNode, TextNode


def doc(i: int, image_bytes: int) -> Document:
    return Document(doc_id=f"d{i}", url=f"https://x/{i}",
                    nodes=[TextNode(f"text {i}"), ImageNode(url=f"https://x/{i}.jpg", image=b"\xff" * image_bytes)])


def test_row_groups_close_on_count_and_on_bytes(tmp_path, monkeypatch):
    monkeypatch.setattr(pages, "ROWS_PER_GROUP", 4)
    monkeypatch.setattr(pages, "GROUP_BYTES", 10_000)
    path = tmp_path / "p.parquet"
    docs = [doc(i, 10) for i in range(4)] + [doc(i, 6_000) for i in range(4, 10)]
    assert _write_parquet(iter(docs), path) == 10
    pf = pq.ParquetFile(path)
    assert [pf.metadata.row_group(i).num_rows for i in range(pf.num_row_groups)] == [4, 2, 2, 2]
    assert [d.doc_id for d in read_pages(path)] == [d.doc_id for d in docs]


def test_empty_part_is_a_valid_file(tmp_path):
    path = tmp_path / "empty.parquet"
    assert _write_parquet(iter([]), path) == 0
    assert list(read_pages(path)) == [] and pq.ParquetFile(path).metadata.num_rows == 0
