"""Round trips of the Document contract: dataclass ↔ Arrow (parquet) ↔ shard JSON."""

import io
import json

import pyarrow as pa
import pyarrow.parquet as pq

from schemas import SCHEMA_VERSION, Document, ImageNode, TextNode, document_id
from schemas.arrow import DOCUMENT_SCHEMA, documents_to_table, spark_schema_ddl, table_to_documents
from schemas.samples import document_from_sample, dump_ocr_lines, interleaved_json, interleaved_json_bytes

OCR_LINES = [{"text": "SALE 50%", "score": 0.9731, "box": [[4.0, 5.0], [90.0, 5.0], [90.0, 30.0], [4.0, 30.0]]}]


def make_doc() -> Document:
    doc = Document(
        doc_id=document_id("https://example.com/a", "<urn:uuid:1>"),
        url="https://example.com/a",
        nodes=[
            TextNode("Title of the page", kind="heading"),
            TextNode("第一段文字。First paragraph.", language="zh"),
            ImageNode(url="https://example.com/a.jpg", alt="an apple", caption="Fig. 1",
                      width=640, height=None, image=b"\xff\xd8jpeg", image_mime="image/jpeg",
                      image_source="warc", status="ok", ocr_text="SALE 50%", ocr_score=0.9731,
                      ocr_lines=dump_ocr_lines(OCR_LINES)),
            TextNode("- item one\n- item two", kind="list"),
            ImageNode(url="https://example.com/b.png", synthetic_caption="a red apple on a table",
                      synthetic_caption_score=0.3125),
        ],
        title="Title", date="2024-05-01", warc_file="x.warc.gz", warc_record_id="<urn:uuid:1>",
        warc_offset=1234, fetch_date="2024-05-02T00:00:00Z", http_status=200,
        content_type="text/html", charset="utf-8", language="en", language_score=0.93,
        signals={"text_chars": 42.0, "b": 1.0},
    )
    doc.renumber()
    return doc


def test_renumber_sets_positions():
    doc = make_doc()
    assert [n.position for n in doc.image_nodes] == [2, 4]
    assert doc.text.startswith("Title of the page\n\n第一段")


def test_document_id_is_stable_and_distinct():
    assert document_id("u", "r") == document_id("u", "r")
    assert document_id("u", "r1") != document_id("u", "r2")
    assert len(document_id("u", "r")) == 24 and "." not in document_id("u", "r")


def test_arrow_round_trip_through_parquet():
    doc = make_doc()
    pdf = Document(doc_id="p", url="https://example.com/x.pdf", kind="pdf", source=b"%PDF-1.4")
    table = documents_to_table([doc, pdf])
    assert table.schema.equals(DOCUMENT_SCHEMA)
    buf = io.BytesIO()
    pq.write_table(table, buf)
    back = table_to_documents(pq.read_table(io.BytesIO(buf.getvalue())))
    assert back == [doc, pdf]
    assert pq.read_schema(io.BytesIO(buf.getvalue())).metadata[b"interleaf.schema_version"] == SCHEMA_VERSION.encode()


def test_json_sample_round_trip():
    doc = make_doc()
    files = {2: "0.jpg"}
    sample = json.loads(interleaved_json_bytes(doc, files))
    assert sample["schema_version"] == SCHEMA_VERSION
    images = [n for n in sample["nodes"] if n["type"] == "image"]
    assert [(n["image_index"], n["position"], n["file"]) for n in images] == [(0, 2, "0.jpg"), (1, 4, None)]
    assert "image" not in images[0] and "source" not in sample
    assert images[0]["ocr"] == {"text": "SALE 50%", "score": 0.9731, "lines": OCR_LINES} and images[1]["ocr"] is None
    # 1.5: every image node has the capfilt keys, null when the scoring job made no caption.
    assert (images[0]["synthetic_caption"], images[0]["synthetic_caption_score"]) == (None, None)
    assert (images[1]["synthetic_caption"], images[1]["synthetic_caption_score"]) == ("a red apple on a table", 0.3125)
    texts = [n for n in sample["nodes"] if n["type"] == "text"]
    assert [n["language"] for n in texts] == [None, "zh", None]
    back = document_from_sample(sample, {"0.jpg": doc.image_nodes[0].image})
    assert back == doc


def test_pages_written_before_ocr_fields_still_load(tmp_path):
    """A pages part from schema 1.3 (node struct without ocr_* and synthetic_caption*) reads as
    before, those fields None."""
    from pipeline.pages import read_pages
    from schemas.arrow import NODE_TYPE

    newer = ("ocr_", "synthetic_caption")
    old_node = pa.struct([f for f in NODE_TYPE if not f.name.startswith(newer)])
    old_schema = DOCUMENT_SCHEMA.set(DOCUMENT_SCHEMA.get_field_index("nodes"), pa.field("nodes", pa.list_(old_node)))
    rows = documents_to_table([make_doc()]).to_pylist()
    for row in rows:
        row["nodes"] = [{k: v for k, v in n.items() if not k.startswith(newer)} for n in row["nodes"]]
    pq.write_table(pa.Table.from_pylist(rows, schema=old_schema), tmp_path / "part-00000.parquet")
    (doc,) = read_pages(tmp_path / "part-00000.parquet")
    expected = make_doc()
    expected.image_nodes[0].ocr_text = expected.image_nodes[0].ocr_score = expected.image_nodes[0].ocr_lines = None
    expected.image_nodes[1].synthetic_caption = expected.image_nodes[1].synthetic_caption_score = None
    assert doc == expected


def test_json_is_deterministic_and_unicode():
    a = interleaved_json_bytes(make_doc(), {})
    b = interleaved_json_bytes(make_doc(), {})
    assert a == b and "第一段".encode() in a
    assert interleaved_json(make_doc(), {})["signals"] == {"b": 1.0, "text_chars": 42.0}


def test_spark_ddl_covers_every_field():
    ddl = spark_schema_ddl()
    for field in DOCUMENT_SCHEMA:
        assert f"`{field.name}`" in ddl
    assert "MAP<STRING, DOUBLE>" in ddl and "ARRAY<STRUCT<" in ddl
