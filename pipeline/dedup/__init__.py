"""Document deduplication: URL, exact-text, near-duplicate, paragraph and image-set repeats."""
