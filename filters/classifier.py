"""Pluggable document classifiers (quality, NSFW, ...) loaded from local model paths.

``filters.classifiers`` maps a name to a model path; by default the model is a fastText
supervised model (e.g. one made by ``interleaf train-quality``) and the score is the
probability of ``filters.classifier_labels[name]`` (default ``__label__good``). Any other
model plugs in through ``filters.classifier_hooks[name] = "module:factory"``:
``factory(path) -> callable(text) -> float``. Tag: ``classifier.<name>`` = score. Select:
``select.classifier_min`` / ``classifier_max`` per name.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from functools import lru_cache

from filters.base import DocumentFilter, Verdict, register
from filters.settings import SelectConfig
from filters.text import TextView
from schemas import Document

Scorer = Callable[[str], float]


@lru_cache(maxsize=16)
def load_scorer(path: str, label: str, hook: str | None) -> Scorer:
    if hook:
        module, _, attr = hook.partition(":")
        if not attr:
            raise ValueError(f"classifier hook must be 'module:factory', got {hook!r}")
        return getattr(importlib.import_module(module), attr)(path)
    from filters.quality_model import QualityModel

    return QualityModel(path, label=label).score


@register
class ClassifierFilter(DocumentFilter):
    name = "classifier@1"

    def _scorers(self) -> list[tuple[str, Scorer]]:
        s = self.settings
        return [(name, load_scorer(path, s.classifier_labels.get(name, "__label__good"), s.classifier_hooks.get(name)))
                for name, path in sorted(s.classifiers.items())]

    def setup(self) -> None:
        self._scorers()

    def tag(self, doc: Document, view: TextView) -> None:
        if not self.settings.classifiers or not view.paragraphs:
            return
        for name, score in self._scorers():
            doc.signals[f"classifier.{name}"] = round(float(score(view.text)), 4)

    def select(self, doc: Document, select: SelectConfig) -> Verdict | None:
        for name, low in sorted(select.classifier_min.items()):
            verdict = self.below(doc, f"classifier.{name}", low, f"{name}_below_min")
            if verdict is not None:
                return verdict
        for name, high in sorted(select.classifier_max.items()):
            verdict = self.above(doc, f"classifier.{name}", high, f"{name}_above_max")
            if verdict is not None:
                return verdict
        return None
