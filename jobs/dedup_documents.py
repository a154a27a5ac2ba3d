"""spark-submit entry point: the find step of dedup, pages/ (+ images/) → dedup/ tables.

    spark-submit --py-files interleaf.zip jobs/dedup_documents.py --output /shared/out
"""

import sys

from pipeline.cli import main

if __name__ == "__main__":
    sys.exit(main(["dedup", *sys.argv[1:]]))
