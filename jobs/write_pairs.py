"""spark-submit entry point: scores/ + images → shards/pairs/ (jpg + txt + json, trains with open_clip_train).

    spark-submit --py-files interleaf.zip jobs/write_pairs.py --output /shared/out
"""

import sys

from pipeline.cli import main

if __name__ == "__main__":
    sys.exit(main(["write-pairs", *sys.argv[1:]]))
