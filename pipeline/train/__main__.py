"""``python -m pipeline.train ARGS``: the same as ``interleaf train ARGS``."""

import sys

from pipeline.cli import main

if __name__ == "__main__":
    sys.exit(main(["train", *sys.argv[1:]]))
