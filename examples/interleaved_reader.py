"""Stream interleaf's interleaved shards into OpenFlamingo-style training batches.

    python examples/interleaved_reader.py OUT                 # OUT: an interleaf output root
    python examples/interleaved_reader.py OUT --tokenizer /models/opt-125m --batch-size 4

Prints the first documents as (text, image) sequences, then builds batches with
``FlamingoCollator`` through a torch DataLoader (2 workers: shards are split between them).
Without ``--tokenizer`` (a local Hugging Face tokenizer folder; nothing is downloaded) a
word-level tokenizer is built from the documents themselves, enough to show the batch layout.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import DataLoader

from pipeline.reader import END_OF_CHUNK, MEDIA_TOKEN, FlamingoCollator, ImageItem, InterleavedDataset, \
    read_interleaved


def word_tokenizer(docs_folder: Path):
    """A real Hugging Face fast tokenizer (WordLevel) over the words of the shards."""
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    words = {w for doc in read_interleaved(docs_folder, decode_images=False) for t in doc.texts
             for w in t.text.split()}
    vocab = {tok: i for i, tok in enumerate(["<pad>", "<unk>", *sorted(words)])}
    core = Tokenizer(models.WordLevel(vocab, unk_token="<unk>"))
    core.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    tok = PreTrainedTokenizerFast(tokenizer_object=core, pad_token="<pad>", unk_token="<unk>")
    tok.add_special_tokens({"additional_special_tokens": [MEDIA_TOKEN, END_OF_CHUNK]})
    return tok


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("output", type=Path, help="interleaf output root (reads shards/interleaved/)")
    parser.add_argument("--tokenizer", help="local Hugging Face tokenizer folder")
    parser.add_argument("--batch-size", type=int, default=2)
    parser.add_argument("--max-images", type=int, default=5)
    parser.add_argument("--max-length", type=int, default=128)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--show", type=int, default=2, help="documents to print")
    args = parser.parse_args()
    folder = args.output / "shards" / "interleaved"

    for n, doc in enumerate(read_interleaved(folder)):
        if n == args.show:
            break
        print(f"document {doc.key} ({doc.language}) {doc.url}")
        for item in doc.items:
            if isinstance(item, ImageItem):
                print(f"  [image {item.member} {item.image.size[0]}x{item.image.size[1]}] alt={item.alt!r}")
            else:
                print(f"  [text] {item.text[:70]!r}")

    if args.tokenizer:
        from transformers import AutoTokenizer

        tokenizer = AutoTokenizer.from_pretrained(args.tokenizer, local_files_only=True)
        tokenizer.add_special_tokens({"additional_special_tokens": [MEDIA_TOKEN, END_OF_CHUNK]})
        if tokenizer.pad_token is None:
            tokenizer.pad_token = tokenizer.eos_token
    else:
        tokenizer = word_tokenizer(folder)

    def to_tensor(image):  # OpenFlamingo uses the vision encoder's preprocess; 64 px is enough here
        return torch.from_numpy(np.asarray(image.resize((64, 64)), dtype=np.float32) / 255).permute(2, 0, 1)

    collate = FlamingoCollator(tokenizer, to_tensor, max_images=args.max_images, max_length=args.max_length)
    loader = DataLoader(InterleavedDataset(folder), batch_size=args.batch_size, num_workers=args.workers,
                        collate_fn=collate)
    batches = 0
    for batch in loader:
        batches += 1
        if batches == 1:
            print("batch:", {k: tuple(v.shape) for k, v in batch.items()})
            print("images per row:", batch["num_images"].tolist(),
                  "media tokens per row:", batch["media_locations"].sum(1).tolist())
            print("row 0:", tokenizer.decode(batch["input_ids"][0][batch["attention_mask"][0].bool()]))
    print(f"{batches} batches")


if __name__ == "__main__":
    main()
