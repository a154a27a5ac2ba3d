"""Settings of the text filters, as two config sections.

``filters`` says what is computed when documents are tagged (at extraction): which filters
run, their word lists, block lists and models. Changing it means re-tagging, so it is part of
the pages table's config hash. ``select`` holds every threshold; it is applied when shards
are written, so changing a threshold rewrites shards without re-extracting. A filter listed
in ``filters.drop`` applies its ``select`` thresholds already at extraction (then ``select``
joins the pages hash).

Defaults: OBELICS (Laurençon et al. 2023) for the paragraph and document rules, Gopher
(Rae et al. 2021) and C4 (Raffel et al. 2020) for the rest; the Chinese values count
characters and were set on real Chinese news and spam pages (tests/filters/).
"""

from __future__ import annotations

from dataclasses import dataclass, field

DEFAULT_FILTERS = ["blocklist@1", "language@1", "flagged@1", "classifier@1", "quality@1", "gopher@1", "c4@1"]


@dataclass
class FiltersConfig:
    enabled: list[str] = field(default_factory=lambda: list(DEFAULT_FILTERS))
    drop: list[str] = field(default_factory=list)  # filters that drop at extraction
    paragraph_language_min_chars: int = 20  # shorter paragraphs are not language-tagged
    paragraph_language_max_chars: int = 300  # a paragraph's language is read from its start
    wordlists: str | None = None  # folder with files overriding the shipped lists
    blocklist: list[str] = field(default_factory=list)  # UT1-style folders or domain/URL files
    blocklist_categories: list[str] = field(default_factory=list)  # UT1 categories (empty: all)
    classifiers: dict[str, str] = field(default_factory=dict)  # name → local model path
    classifier_labels: dict[str, str] = field(default_factory=dict)  # name → label (default __label__good)
    classifier_hooks: dict[str, str] = field(default_factory=dict)  # name → "module:factory"


@dataclass
class TextRules:
    """Thresholds for one language family; "words" are tokens (characters for Chinese)."""

    # Paragraph level (OBELICS): a failing paragraph is removed, the document stays.
    paragraph_min_words: int = 4
    paragraph_max_words: int = 1000
    paragraph_min_stopword_ratio: float = 0.3
    paragraph_max_special_ratio: float = 0.3
    paragraph_max_char_repetition: float = 0.1
    paragraph_max_word_repetition: float = 0.1
    # Document level (OBELICS).
    min_words: int = 10
    max_words: int = 2000
    min_stopword_ratio: float = 0.35
    max_special_ratio: float = 0.275
    min_punctuation_ratio: float = 0.03
    max_char_repetition: float = 0.1
    max_word_repetition: float = 0.1
    # Gopher quality.
    min_mean_word_length: float = 3.0  # Latin words only; not applied to Chinese
    max_mean_word_length: float = 10.0
    max_symbol_ratio: float = 0.1  # "#" and ellipses per word
    max_bullet_lines: float = 0.9
    max_ellipsis_lines: float = 0.3
    min_alpha_words: float = 0.8
    min_stop_words: int = 2
    # Gopher repetition.
    max_dup_line_fraction: float = 0.3
    max_dup_line_chars: float = 0.2
    max_dup_paragraph_fraction: float = 0.3
    max_dup_paragraph_chars: float = 0.2
    max_top_ngram_chars: list[float] = field(default_factory=lambda: [0.2, 0.18, 0.16])  # n = 2, 3, 4
    max_dup_ngram_chars: list[float] = field(default_factory=lambda: [0.15, 0.14, 0.13, 0.12, 0.11, 0.10])  # n = 5..10
    # C4.
    lorem_ipsum: bool = True  # drop documents containing "lorem ipsum"
    curly_bracket: bool = True  # drop documents containing "{" (code, templates)
    javascript_lines: bool = True  # remove paragraphs mentioning javascript
    policy_lines: bool = True  # remove cookie / terms-of-use / privacy notices
    error_pages: bool = True  # drop short "page not found" pages (soft 404s)
    min_sentences: int = 0  # C4 uses 5; 0 = off (image-rich pages are often short)
    # Flagged content: matched words / words, per category, and at least this many matches.
    max_flagged_ratio: float = 0.01
    min_flagged_terms: int = 2
    # Interleaved set (OmniCorpus): words per image when the document has more than 2 images.
    min_words_per_image: int = 50


def zh_rules() -> TextRules:
    """Chinese: counts in characters, a Chinese stop-word list, repetition on characters."""
    return TextRules(
        paragraph_min_words=6, paragraph_max_words=2500, paragraph_min_stopword_ratio=0.05,
        paragraph_max_char_repetition=0.1, paragraph_max_word_repetition=0.2,
        min_words=20, max_words=5000, min_stopword_ratio=0.08, min_punctuation_ratio=0.02,
        max_char_repetition=0.1, max_word_repetition=0.2,
        min_mean_word_length=0.0, max_mean_word_length=100.0,
        max_top_ngram_chars=[0.2, 0.18, 0.16], max_dup_ngram_chars=[0.25, 0.22, 0.2, 0.18, 0.16, 0.15],
        max_flagged_ratio=0.005, min_flagged_terms=1, min_words_per_image=100,
    )


@dataclass
class SelectConfig:
    enabled: bool = True  # false: write every document with its signals, drop nothing
    languages: list[str] = field(default_factory=lambda: ["en", "zh"])  # empty: any language
    min_language_score: float = 0.65
    foreign_paragraphs: str = "keep"  # "keep" or "drop" paragraphs in another language
    paragraph_kinds: list[str] = field(default_factory=lambda: ["paragraph", "list", "quote"])
    en: TextRules = field(default_factory=TextRules)  # also used for languages without own rules
    zh: TextRules = field(default_factory=zh_rules)
    blocklist: bool = True  # drop documents whose URL is on the block list
    classifier_min: dict[str, float] = field(default_factory=dict)  # e.g. quality: 0.5
    classifier_max: dict[str, float] = field(default_factory=dict)  # e.g. nsfw: 0.5
    # CLIP scores (when the scoring job ran; defaults for ViT-B/32-class models): an image
    # stays in the interleaved set if its best text scores at least this (MMC4 used 0.15 with
    # ViT-L/14), a pair is written if it scores at least pair_min_clip_score (LAION-400M: 0.28).
    min_clip_score: float = 0.15
    pair_min_clip_score: float = 0.28
    # The txt member of a pair: "web" (the best web text, always) or "best": the synthetic
    # caption (clip.capfilt) when the web text scores below pair_min_clip_score and the
    # caption scores higher than it (or the image has no web text); either way the pair is
    # written only if the chosen text scores at least pair_min_clip_score.
    pair_text: str = "web"
    # Interleaved set: images with bytes per document.
    min_images: int = 1
    max_images: int = 30
    words_per_image_above: int = 2  # the words-per-image rule applies above this many images

    def rules(self, language: str | None) -> TextRules:
        return self.zh if language == "zh" else self.en
