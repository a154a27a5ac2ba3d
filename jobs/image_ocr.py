"""spark-submit entry point: images/ (downloaded or archived images) → image_ocr/ (text read in them).

    spark-submit --py-files interleaf.zip jobs/image_ocr.py --output /shared/out \
        --set image_ocr.enabled=true --set image_ocr.min_score=0.8

Runs between fetch-images and write-shards; with ``image_ocr.enabled`` the shard jobs attach
the text to image nodes as an ``ocr`` field.
"""

import sys

from pipeline.cli import main

if __name__ == "__main__":
    sys.exit(main(["image-ocr", *sys.argv[1:]]))
