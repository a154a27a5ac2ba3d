"""spark-submit entry point: pages/ image URLs → images/ (archived in the WARCs, else downloaded).

    spark-submit --py-files interleaf.zip jobs/fetch_images.py --output /shared/out [--retry-failed]
"""

import sys

from pipeline.cli import main

if __name__ == "__main__":
    sys.exit(main(["fetch-images", *sys.argv[1:]]))
