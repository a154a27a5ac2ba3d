"""classifier@1: pluggable scorers (a ``module:factory`` hook defined here, and a fastText
model by path) and the classifier_min / classifier_max rules on both sides."""

from __future__ import annotations

import importlib
from functools import partial

import pytest

from filters.base import Verdict
from filters.classifier import ClassifierFilter, load_scorer
from filters.settings import FiltersConfig, SelectConfig
from pipeline.langid import default_model_path
from schemas import Document, ImageNode
from tests.filters.textdocs import make_doc, tag_with

NAME = "classifier@1"
tag = partial(tag_with, NAME)
HOOK = "tests.filters.test_classifier:make_scorer"
CALLS: list[str] = []


def make_scorer(path: str):
    """The hook factory: ``path`` is the keyword; score = occurrences / 10, at most 1."""
    CALLS.append(path)

    def score(text: str) -> float:
        return min(1.0, text.lower().count(path) / 10)

    return score


def settings(**classifiers: str) -> FiltersConfig:
    return FiltersConfig(classifiers=dict(classifiers), classifier_hooks={name: HOOK for name in classifiers})


def judge(doc: Document, config: FiltersConfig, select: SelectConfig) -> Verdict | None:
    tag(doc, config)
    return ClassifierFilter(config).select(doc, select)


def with_keyword(word: str, n: int, language: str = "en") -> Document:
    if language == "en":
        return make_doc(f"A page about {word}. " * n + "Nothing else here.")
    return make_doc(f"这一页讲{word}。" * n + "没有别的了。", language="zh")


# -- tag -------------------------------------------------------------------------------------------

def test_hook_scores_the_document_text():
    doc = make_doc("Excellent work, excellent results.", ImageNode("https://example.com/i.jpg"),
                   "Truly excellent.", title="excellent title is not scored")
    assert tag(doc, settings(quality="excellent")) == {"classifier.quality": 0.3}


def test_several_classifiers_each_get_a_signal():
    doc = make_doc("spam spam spam and more eggs")
    assert tag(doc, settings(quality="eggs", nsfw="spam")) == {"classifier.nsfw": 0.3, "classifier.quality": 0.1}


def test_scores_are_rounded_to_four_decimals():
    doc = make_doc("x")
    config = FiltersConfig(classifiers={"third": "unused"}, classifier_hooks={"third": f"{__name__}:third"})
    assert tag(doc, config) == {"classifier.third": 0.3333}


def third(path: str):
    return lambda text: 1 / 3


def test_no_classifier_configured_no_signal():
    doc = make_doc("excellent")
    assert tag(doc, FiltersConfig()) == {}
    assert ClassifierFilter(FiltersConfig()).select(doc, SelectConfig(classifier_min={"quality": 0.5})) is None


def test_document_without_text_is_not_scored():
    doc = make_doc(ImageNode("https://example.com/i.jpg"))
    assert tag(doc, settings(quality="excellent")) == {}


def test_scorer_is_loaded_once_per_process():
    # The hook imports this file as tests.filters.test_classifier, which pytest may have
    # imported under another name: look at the calls recorded in that module.
    hook_module = importlib.import_module(HOOK.partition(":")[0])
    load_scorer.cache_clear()
    hook_module.CALLS.clear()
    config = settings(quality="onceonly")
    for _ in range(3):
        tag(make_doc("onceonly"), config)
    assert hook_module.CALLS == ["onceonly"]


def test_hook_without_factory_name_is_rejected():
    config = FiltersConfig(classifiers={"q": "x"}, classifier_hooks={"q": "tests.filters.test_classifier"})
    with pytest.raises(ValueError, match="module:factory"):
        ClassifierFilter(config).setup()


def test_fasttext_model_by_path():
    # lid.176 is a fastText supervised model: score the probability of __label__en.
    config = FiltersConfig(classifiers={"english": default_model_path()}, classifier_labels={"english": "__label__en"})
    en = make_doc("The city council approved the new budget for public libraries on Tuesday evening.")
    zh = make_doc("市议会周二晚上批准了公共图书馆的新预算，这笔资金将用于购买新书和延长开放时间。", language="zh")
    assert tag(en, config)["classifier.english"] > 0.5
    assert tag(zh, config)["classifier.english"] < 0.1
    select = SelectConfig(classifier_min={"english": 0.5})
    assert ClassifierFilter(config).select(en, select) is None
    assert ClassifierFilter(config).select(zh, select).rule == "english_below_min"


def test_missing_model_file_fails_at_setup(tmp_path):
    config = FiltersConfig(classifiers={"quality": str(tmp_path / "missing.bin")})
    with pytest.raises(FileNotFoundError):
        ClassifierFilter(config).setup()


def test_unknown_label_fails_at_setup():
    config = FiltersConfig(classifiers={"q": default_model_path()}, classifier_labels={"q": "__label__good"})
    with pytest.raises(ValueError, match="__label__good"):
        ClassifierFilter(config).setup()


# -- select, both sides ----------------------------------------------------------------------------

@pytest.mark.parametrize("bound, name, language, word, kept, dropped, threshold", [
    ("min", "quality", "en", "excellent", 5, 4, 0.5),
    ("min", "quality", "zh", "优质", 5, 4, 0.5),
    ("max", "nsfw", "en", "casino", 3, 4, 0.3),
    ("max", "nsfw", "zh", "赌场", 3, 4, 0.3),
])
def test_classifier_bound_both_sides(bound, name, language, word, kept, dropped, threshold):
    config = settings(**{name: word})
    select = SelectConfig(**{f"classifier_{bound}": {name: threshold}})
    assert judge(with_keyword(word, kept, language), config, select) is None
    rule = f"{name}_below_min" if bound == "min" else f"{name}_above_max"
    assert judge(with_keyword(word, dropped, language), config, select) == Verdict(
        NAME, rule, f"classifier.{name}", 0.4, threshold)


def test_minimums_are_checked_before_maximums_and_names_in_order():
    doc = make_doc("x")
    doc.signals.update({"classifier.a": 0.1, "classifier.b": 0.1, "classifier.c": 0.9})
    f = ClassifierFilter(FiltersConfig())
    select = SelectConfig(classifier_min={"b": 0.5, "a": 0.5}, classifier_max={"c": 0.5})
    assert f.select(doc, select).rule == "a_below_min"
    assert f.select(doc, SelectConfig(classifier_min={"b": 0.05}, classifier_max={"c": 0.5})).rule == "c_above_max"


def test_missing_signal_never_fails():
    # A threshold for a classifier that did not run at tagging time keeps every document.
    f = ClassifierFilter(FiltersConfig())
    assert f.select(make_doc("x"), SelectConfig(classifier_min={"quality": 0.9})) is None


def test_changed_thresholds_change_the_verdict_without_retagging():
    doc = with_keyword("excellent", 5)
    config = settings(quality="excellent")
    tag(doc, config)
    signals = dict(doc.signals)
    f = ClassifierFilter(FiltersConfig())  # no scorer needed to select
    assert f.select(doc, SelectConfig(classifier_min={"quality": 0.5})) is None
    assert f.select(doc, SelectConfig(classifier_min={"quality": 0.6})).rule == "quality_below_min"
    assert f.select(doc, SelectConfig(classifier_max={"quality": 0.4})).rule == "quality_above_max"
    assert doc.signals == signals
