"""Arrow schemas derived from the Document contract (pages table, shard sidecars)."""

from __future__ import annotations

from typing import Any, Iterable

import pyarrow as pa

from schemas.document import NODE_FIELDS, SCHEMA_VERSION, Document

NODE_TYPE = pa.struct(
    [
        pa.field("type", pa.string(), nullable=False),
        pa.field("kind", pa.string()),
        pa.field("text", pa.string()),
        pa.field("url", pa.string()),
        pa.field("alt", pa.string()),
        pa.field("caption", pa.string()),
        pa.field("width", pa.int32()),
        pa.field("height", pa.int32()),
        pa.field("position", pa.int32()),
        pa.field("image", pa.binary()),
        pa.field("image_mime", pa.string()),
        pa.field("image_source", pa.string()),
        pa.field("status", pa.string()),
        pa.field("reason", pa.string()),
        pa.field("language", pa.string()),
        pa.field("signals", pa.map_(pa.string(), pa.float64())),
        pa.field("clip_score", pa.float32()),
        pa.field("clip_text", pa.string()),
        pa.field("clip_source", pa.string()),
        pa.field("matched_text_index", pa.int32()),
        pa.field("matched_sim", pa.float32()),
        # Added in 1.4; pages written before lack them and still load (absent → None).
        pa.field("ocr_text", pa.string()),
        pa.field("ocr_score", pa.float64()),
        pa.field("ocr_lines", pa.string()),
        # Added in 1.5 (clip.capfilt): absent in older pages → None.
        pa.field("synthetic_caption", pa.string()),
        pa.field("synthetic_caption_score", pa.float32()),
    ]
)
assert tuple(f.name for f in NODE_TYPE) == NODE_FIELDS

DOCUMENT_SCHEMA = pa.schema(
    [
        pa.field("doc_id", pa.string(), nullable=False),
        pa.field("url", pa.string(), nullable=False),
        pa.field("kind", pa.string(), nullable=False),
        pa.field("nodes", pa.list_(NODE_TYPE)),
        pa.field("title", pa.string()),
        pa.field("date", pa.string()),
        pa.field("warc_file", pa.string()),
        pa.field("warc_record_id", pa.string()),
        pa.field("warc_offset", pa.int64()),
        pa.field("fetch_date", pa.string()),
        pa.field("http_status", pa.int32()),
        pa.field("content_type", pa.string()),
        pa.field("charset", pa.string()),
        pa.field("language", pa.string()),
        pa.field("language_score", pa.float64()),
        pa.field("signals", pa.map_(pa.string(), pa.float64())),
        pa.field("source", pa.binary()),
    ],
    metadata={"interleaf.schema_version": SCHEMA_VERSION, "interleaf.table": "pages"},
)

# One row per sample of an interleaved shard (sidecar file = shard name with .parquet):
# enough to select and audit samples without opening tars.
INTERLEAVED_SIDECAR_SCHEMA = pa.schema(
    [
        pa.field("key", pa.string(), nullable=False),
        pa.field("url", pa.string()),
        pa.field("language", pa.string()),
        pa.field("language_score", pa.float64()),
        pa.field("num_text_nodes", pa.int32()),
        pa.field("num_images", pa.int32()),
        pa.field("num_image_files", pa.int32()),
        pa.field("text_chars", pa.int64()),
        pa.field("sample_bytes", pa.int64()),
        pa.field("json_sha256", pa.string()),
    ],
    metadata={"interleaf.schema_version": SCHEMA_VERSION, "interleaf.table": "interleaved_sidecar"},
)

# One row per sample of a pairs shard (pipeline/shards/pairs.py): one image and its best text.
PAIRS_SIDECAR_SCHEMA = pa.schema(
    [
        pa.field("key", pa.string(), nullable=False),  # f"{doc_id}_{image_index:04d}"
        pa.field("doc_id", pa.string(), nullable=False),
        pa.field("image_index", pa.int32(), nullable=False),  # among the document's image nodes
        pa.field("url", pa.string()),  # of the image (the page is in the sample's json)
        pa.field("best_score", pa.float32()),  # of the best web text, as in the scores/ table
        pa.field("txt_source", pa.string()),  # what the txt member holds: "web" | "synthetic" (1.5)
        pa.field("text_chars", pa.int64()),
        pa.field("sample_bytes", pa.int64()),
        pa.field("jpg_sha256", pa.string()),
    ],
    metadata={"interleaf.schema_version": SCHEMA_VERSION, "interleaf.table": "pairs_sidecar"},
)


# Documents dropped by a filter or by dedup, with the rule that decided (pipeline/exclusions.py).
EXCLUSIONS_SCHEMA = pa.schema(
    [
        pa.field("doc_id", pa.string(), nullable=False),
        pa.field("url", pa.string()),
        pa.field("warc_file", pa.string()),
        pa.field("warc_offset", pa.int64()),
        pa.field("language", pa.string()),
        pa.field("stage", pa.string()),  # "extract" (drop mode) or "write" (selection)
        pa.field("reason", pa.string(), nullable=False),  # as counted in the manifest
        pa.field("filter", pa.string()),  # registry name, or "dedup"
        pa.field("signal", pa.string()),
        pa.field("value", pa.float64()),
        pa.field("threshold", pa.string()),
    ],
    metadata={"interleaf.schema_version": SCHEMA_VERSION, "interleaf.table": "exclusions"},
)


# The scores/ table: one row per image node of a scored document (pipeline/clip/).
SCORES_SCHEMA = pa.schema(
    [
        pa.field("doc_id", pa.string(), nullable=False),
        pa.field("image_index", pa.int32(), nullable=False),  # among the document's image nodes
        pa.field("node_index", pa.int32(), nullable=False),  # in doc.nodes
        pa.field("url", pa.string()),
        pa.field("status", pa.string(), nullable=False),  # "ok" | "skipped"
        pa.field("reason", pa.string()),  # why skipped: no_image, undecodable_image, no_text
        pa.field("candidate_sources", pa.list_(pa.string())),  # "alt", "caption", "before:1", "after:2"
        pa.field("candidate_node_indexes", pa.list_(pa.int32())),  # text node in doc.nodes, -1: alt/caption
        pa.field("candidate_scores", pa.list_(pa.float32())),  # cosine similarity per candidate
        pa.field("best_source", pa.string()),
        pa.field("best_text", pa.string()),
        pa.field("best_score", pa.float32()),
        # MMC4 placement: index into the document's text nodes (text_list), by linear assignment.
        pa.field("matched_text_index", pa.int32()),
        pa.field("matched_sim", pa.float32()),
        pa.field("model", pa.string()),
        # Caption and filter (clip.capfilt, 1.5): a caption generated by the model for an image
        # whose best web text scored below capfilt.threshold (or that had none), and its score
        # against the image. Null otherwise; the web-text columns above never change.
        pa.field("synthetic_caption", pa.string()),
        pa.field("synthetic_caption_score", pa.float32()),
    ],
    metadata={"interleaf.schema_version": SCHEMA_VERSION, "interleaf.table": "scores"},
)


# The images/ table: one row per distinct image URL (the latest attempt wins on resume).
IMAGES_SCHEMA = pa.schema(
    [
        pa.field("url", pa.string(), nullable=False),
        pa.field("status", pa.string(), nullable=False),  # "ok" | "failed" | "dropped"
        pa.field("reason", pa.string()),  # why not ok: fetch, decode or filter reason
        pa.field("transient", pa.bool_()),  # a rerun should try again
        pa.field("source", pa.string()),  # "warc" | "download" | "none" (not archived, downloads off)
        pa.field("http_status", pa.int32()),
        pa.field("final_url", pa.string()),
        pa.field("content_type", pa.string()),
        pa.field("fetched_at", pa.string()),
        pa.field("attempts", pa.int32()),
        pa.field("original_bytes", pa.int64()),
        pa.field("image", pa.binary()),  # normalised (resized, re-encoded) bytes when ok
        pa.field("format", pa.string()),
        pa.field("source_format", pa.string()),
        pa.field("width", pa.int32()),
        pa.field("height", pa.int32()),
        pa.field("original_width", pa.int32()),
        pa.field("original_height", pa.int32()),
        pa.field("sha256", pa.string()),  # of the fetched bytes
        pa.field("pixel_sha256", pa.string()),  # of the decoded pixels
        pa.field("phash", pa.int64()),  # 64-bit pHash stored as a signed int64
    ],
    metadata={"interleaf.schema_version": SCHEMA_VERSION, "interleaf.table": "images"},
)


# The image_ocr/ table (pipeline/ocr/annotate.py): one row per ok image in which OCR read
# enough confident text; images without an annotation have no row.
IMAGE_OCR_SCHEMA = pa.schema(
    [
        pa.field("url", pa.string(), nullable=False),
        pa.field("text", pa.string(), nullable=False),  # lines joined by "\n", reading order
        pa.field("score", pa.float64(), nullable=False),  # mean line confidence
        pa.field("lines", pa.string(), nullable=False),  # JSON [{"text", "score", "box"}]
        pa.field("n_lines", pa.int32(), nullable=False),
        # Size of the stored image (images/ table); boxes are in its pixels.
        pa.field("width", pa.int32()),
        pa.field("height", pa.int32()),
    ],
    metadata={"interleaf.schema_version": SCHEMA_VERSION, "interleaf.table": "image_ocr"},
)


def documents_to_table(docs: Iterable[Document]) -> pa.Table:
    rows: list[dict[str, Any]] = []
    for doc in docs:
        row = doc.to_row()
        row["signals"] = list(row["signals"].items())
        rows.append(row)
    return pa.Table.from_pylist(rows, schema=DOCUMENT_SCHEMA)


def table_to_documents(table: pa.Table) -> list[Document]:
    return [Document.from_row(row) for row in table.to_pylist()]


def spark_schema_ddl() -> str:
    """The pages schema as a Spark DDL string (keeps Spark and Arrow in one place)."""
    return spark_ddl(DOCUMENT_SCHEMA)


def spark_ddl(schema: pa.Schema) -> str:
    """An Arrow schema as a Spark DDL string."""
    def ddl(t: pa.DataType) -> str:
        if pa.types.is_string(t):
            return "STRING"
        if pa.types.is_binary(t):
            return "BINARY"
        if pa.types.is_int32(t):
            return "INT"
        if pa.types.is_int64(t):
            return "BIGINT"
        if pa.types.is_float64(t):
            return "DOUBLE"
        if pa.types.is_float32(t):
            return "FLOAT"
        if pa.types.is_boolean(t):
            return "BOOLEAN"
        if pa.types.is_map(t):
            return f"MAP<{ddl(t.key_type)}, {ddl(t.item_type)}>"
        if pa.types.is_list(t):
            return f"ARRAY<{ddl(t.value_type)}>"
        if pa.types.is_struct(t):
            return "STRUCT<" + ", ".join(f"`{f.name}`: {ddl(f.type)}" for f in t) + ">"
        raise TypeError(f"no Spark type for {t}")

    return ", ".join(f"`{f.name}` {ddl(f.type)}" for f in schema)
