"""spark-submit entry point: shards/interleaved/ text + PDF pages → shards/ocr/ (image + txt + json).

    spark-submit --py-files interleaf.zip jobs/render_ocr.py --output /shared/out \
        --pdf-dir /shared/pdfs --set ocr.doc_rate=0.02

Executors need the fonts named in ``ocr.render.fonts`` (e.g. Debian's fonts-noto-cjk and
fonts-dejavu); rapidocr's PP-OCR models come inside the package.
"""

import sys

from pipeline.cli import main

if __name__ == "__main__":
    sys.exit(main(["render-ocr", *sys.argv[1:]]))
