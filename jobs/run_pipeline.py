"""spark-submit entry point for the whole pipeline (same as ``interleaf run``).

    spark-submit --py-files interleaf.zip jobs/run_pipeline.py --input ... --output ...
"""

import sys

from pipeline.cli import main

if __name__ == "__main__":
    sys.exit(main(["run", *sys.argv[1:]]))
