"""Rules of the interleaved set (OBELICS / OmniCorpus): images per document and words per
image. Judged when shards are written, on the images that actually have bytes then."""

from __future__ import annotations

from filters.base import DocumentFilter, Verdict, register
from filters.settings import SelectConfig
from filters.text import TextView, tokenize
from schemas import Document


def usable_images(doc: Document) -> int:
    """Image nodes whose bytes will be in the shard (fetched or archived)."""
    return sum(1 for n in doc.image_nodes if n.image is not None and n.status in (None, "ok"))


def words(doc: Document) -> int:
    return sum(int(n.signals["words"]) if "words" in n.signals else len(tokenize(n.text)) for n in doc.text_nodes)


@register
class InterleavedFilter(DocumentFilter):
    name = "interleaved@1"

    def tag(self, doc: Document, view: TextView) -> None:
        """Nothing to tag at extraction: images are known only after the images stage."""

    def select(self, doc: Document, select: SelectConfig) -> Verdict | None:
        n = usable_images(doc)
        doc.signals["interleaved.images"] = float(n)
        if n < select.min_images:
            return Verdict(self.name, "min_images", "interleaved.images", float(n), select.min_images)
        if n > select.max_images:
            return Verdict(self.name, "max_images", "interleaved.images", float(n), select.max_images)
        per_image = round(words(doc) / n, 2) if n else 0.0
        doc.signals["interleaved.words_per_image"] = per_image
        limit = select.rules(doc.language).min_words_per_image
        if n > select.words_per_image_above and per_image < limit:
            return Verdict(self.name, "min_words_per_image", "interleaved.words_per_image", per_image, limit)
        return None
