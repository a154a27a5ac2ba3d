"""The Stage contract: ``process(iterator of Document) -> iterator of Document``.

A stage is built from plain config (picklable, so Spark can ship it), loads heavy resources
once per Python worker in ``setup()``, and counts every item in its ``stats``. The same
stage runs under Spark ``mapPartitions`` (pipeline/spark.py) and under ``run_local`` here,
which the unit tests use.
"""

from __future__ import annotations

from typing import Any, Iterable, Iterator, Sequence

from pipeline.stats import RunStats, StageStats
from schemas import Document


class Stage:
    name: str = "stage"

    def __init__(self, config: Any = None) -> None:
        self.config = config
        self.stats = StageStats(self.name)

    def setup(self) -> None:
        """Load models and other per-worker resources. Called once before ``process``."""

    def teardown(self) -> None:
        """Release what ``setup`` took."""

    def process(self, docs: Iterator[Document]) -> Iterator[Document]:
        raise NotImplementedError

    def reset_stats(self) -> StageStats:
        """Return the stats gathered so far and start counting afresh (one partition)."""
        stats, self.stats = self.stats, StageStats(self.name)
        return stats


class MapStage(Stage):
    """A stage that maps one document to one document or drops it with a reason.

    Subclasses implement ``apply(doc) -> Document | str``: a string is the drop reason.
    """

    def apply(self, doc: Document) -> Document | str:
        raise NotImplementedError

    def process(self, docs: Iterator[Document]) -> Iterator[Document]:
        for doc in docs:
            self.stats.n_in += 1
            result = self.apply(doc)
            if isinstance(result, str):
                self.stats.drop(result)
                continue
            self.stats.n_out += 1
            yield result


def chain(stages: Sequence[Stage], docs: Iterable[Document]) -> Iterator[Document]:
    it: Iterator[Document] = iter(docs)
    for stage in stages:
        it = stage.process(it)
    return it


def run_local(stages: Sequence[Stage], docs: Iterable[Document]) -> tuple[list[Document], RunStats]:
    """Run stages in a plain loop (no Spark): the reference semantics for unit tests."""
    for stage in stages:
        stage.setup()
    try:
        out = list(chain(stages, docs))
    finally:
        for stage in stages:
            stage.teardown()
    run = RunStats(stage.reset_stats() for stage in stages)
    run.check()
    return out, run
