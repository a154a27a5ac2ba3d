"""spark-submit entry point: pages/ → shards/interleaved/ (WebDataset tars + sidecars + manifest).

    spark-submit --py-files interleaf.zip jobs/write_shards.py --output /shared/out
"""

import sys

from pipeline.cli import main

if __name__ == "__main__":
    sys.exit(main(["write-shards", *sys.argv[1:]]))
