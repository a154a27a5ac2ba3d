"""The ``ocr/`` shard layout: key = sample id; ``jpg`` (or ``png``) + ``txt`` + ``json``.

``txt`` is the exact text drawn (lines joined by newlines, in reading order). ``json`` holds
the lines with their boxes in image pixels (a quadrilateral for rendered text, which may be
rotated or warped; ``[x0, y0, x1, y1]`` plus per-character boxes for PDF pages), the font,
size and colours, the augmentations, the source document, and the OCR read-back (CER).
"""

from __future__ import annotations

import pyarrow as pa

# One row per sample in each shard's parquet sidecar.
OCR_SIDECAR_SCHEMA = pa.schema([
    ("key", pa.string()),
    ("source_type", pa.string()),  # "text" (rendered corpus text) or "pdf" (a PDF page)
    ("doc_id", pa.string()),
    ("url", pa.string()),
    ("language", pa.string()),
    ("layout", pa.string()),  # line, paragraph, columns, pdf_page
    ("font", pa.string()),  # null for PDF pages (their own fonts)
    ("font_size", pa.int32()),
    ("page", pa.int32()),  # PDF page index (0-based), null for rendered text
    ("width", pa.int32()),
    ("height", pa.int32()),
    ("num_lines", pa.int32()),
    ("num_chars", pa.int32()),
    ("augmentations", pa.list_(pa.string())),
    ("verified", pa.bool_()),
    ("cer", pa.float64()),  # null when not verified
    ("garbled", pa.bool_()),
    ("image_sha256", pa.string()),
    ("sample_bytes", pa.int64()),
])
