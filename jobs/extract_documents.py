"""spark-submit entry point: WARC files → pages/ (interleaved Documents as parquet).

    spark-submit --py-files interleaf.zip jobs/extract_documents.py \
        --input s3://bucket/warc.paths.gz --output /shared/out [--set extract.langid=false]
"""

import sys

from pipeline.cli import main

if __name__ == "__main__":
    sys.exit(main(["extract", *sys.argv[1:]]))
