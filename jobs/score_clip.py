"""spark-submit entry point: pages/ (+ images/, dedup/) → scores/ (open_clip, batched per worker).

    spark-submit --py-files interleaf.zip jobs/score_clip.py --output /shared/out \
        --set clip.model=ViT-B-32 --set clip.checkpoint=/models/vit-b-32.pt

On GPU executors request one GPU per task (see README, "On a cluster"): the model then runs
on CUDA in bf16 (or fp16) with ``clip.device=auto``.
"""

import sys

from pipeline.cli import main

if __name__ == "__main__":
    sys.exit(main(["score-clip", *sys.argv[1:]]))
