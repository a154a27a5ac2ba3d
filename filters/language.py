"""Language: fastText lid.176 on the whole document and on each paragraph.

Tag: the document's language (already set by the extract stage's LanguageId, computed here
when it did not run) and, for every paragraph of at least
``filters.paragraph_language_min_chars`` characters, ``node.language`` with its score; the
document counts its tagged paragraphs and those in another language (mixed pages). Select:
the document's language must be allowed with at least the minimum score; paragraphs in
another language (confidently) are removed when ``select.foreign_paragraphs = drop``.
"""

from __future__ import annotations

from filters.base import DocumentFilter, Verdict, register
from filters.settings import SelectConfig
from filters.text import TextView
from pipeline.langid import default_model_path, detect_language, detect_languages, predictor
from schemas import Document, TextNode


@register
class LanguageFilter(DocumentFilter):
    name = "language@1"

    model_path: str | None = None

    def setup(self) -> None:
        self.model_path = default_model_path()  # resolved once, not per paragraph
        predictor(self.model_path)

    def tag(self, doc: Document, view: TextView) -> None:
        if doc.language is None and view.paragraphs:
            doc.language, doc.language_score = detect_language(view.text, self.model_path)
        tagged = foreign = 0
        min_chars = self.settings.paragraph_language_min_chars
        paragraphs = [p for p in view.paragraphs if len(p.text) >= min_chars]
        results = detect_languages([p.text for p in paragraphs], self.model_path,
                                   self.settings.paragraph_language_max_chars)
        for p, (language, score) in zip(paragraphs, results):
            if language is None:
                continue
            p.node.language = language
            p.node.signals["language_score"] = float(score or 0.0)
            tagged += 1
            foreign += language != doc.language
        doc.signals["language.paragraphs"] = float(tagged)
        doc.signals["language.foreign_paragraphs"] = float(foreign)

    def select(self, doc: Document, select: SelectConfig) -> Verdict | None:
        if select.languages and doc.language not in select.languages:
            return Verdict(self.name, "not_allowed", "language", None, ",".join(select.languages))
        score = doc.language_score
        if score is not None and score < select.min_language_score:
            return Verdict(self.name, "low_score", "language_score", score, select.min_language_score)
        return None

    def paragraphs(self, doc: Document, select: SelectConfig) -> dict[int, Verdict]:
        if select.foreign_paragraphs != "drop":
            return {}
        out = {}
        for i, node in enumerate(doc.nodes):
            if (isinstance(node, TextNode) and node.language and node.language != doc.language
                    and node.signals.get("language_score", 0.0) >= select.min_language_score):
                out[i] = Verdict(self.name, "foreign_paragraph", "language_score",
                                 node.signals["language_score"], select.min_language_score)
        return out
