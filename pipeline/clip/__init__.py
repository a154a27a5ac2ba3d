"""CLIP scoring of images against their candidate texts (open_clip), and MMC4 placement."""
