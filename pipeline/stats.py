"""Accounting: every stage counts what came in, what went out and each drop by reason.

Counts are kept per partition (one WARC file, one shard) and merged into the run manifest.
The invariant checked everywhere: ``n_in == n_out + sum(dropped.values())``.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Iterable


class AccountingError(RuntimeError):
    """A stage lost or invented items: a programming error, never bad input."""


@dataclass
class StageStats:
    name: str
    n_in: int = 0
    n_out: int = 0
    dropped: Counter = field(default_factory=Counter)
    # Informational counts outside the balance (files read, bytes, images attached...).
    counters: Counter = field(default_factory=Counter)

    def drop(self, reason: str, n: int = 1) -> None:
        self.dropped[reason] += n

    def count(self, name: str, n: int = 1) -> None:
        self.counters[name] += n

    @property
    def n_dropped(self) -> int:
        return sum(self.dropped.values())

    def balanced(self) -> bool:
        return self.n_in == self.n_out + self.n_dropped

    def check(self) -> None:
        if not self.balanced():
            raise AccountingError(
                f"stage {self.name!r}: in={self.n_in} != out={self.n_out} + "
                f"dropped={self.n_dropped} {dict(self.dropped)}"
            )

    def merge(self, other: "StageStats") -> None:
        self.n_in += other.n_in
        self.n_out += other.n_out
        self.dropped.update(other.dropped)
        self.counters.update(other.counters)

    def to_dict(self) -> dict[str, Any]:
        return {
            "in": self.n_in,
            "out": self.n_out,
            "dropped": dict(sorted(self.dropped.items())),
            "counters": dict(sorted(self.counters.items())),
        }

    @classmethod
    def from_dict(cls, name: str, d: dict[str, Any]) -> "StageStats":
        return cls(
            name=name,
            n_in=int(d.get("in", 0)),
            n_out=int(d.get("out", 0)),
            dropped=Counter(d.get("dropped", {})),
            counters=Counter(d.get("counters", {})),
        )


class RunStats:
    """Stats of several stages, in pipeline order, mergeable across partitions."""

    def __init__(self, stages: Iterable[StageStats] = ()) -> None:
        self.stages: dict[str, StageStats] = {}
        for s in stages:
            self.add(s)

    def stage(self, name: str) -> StageStats:
        if name not in self.stages:
            self.stages[name] = StageStats(name)
        return self.stages[name]

    def add(self, stats: StageStats) -> None:
        self.stage(stats.name).merge(stats)

    def merge(self, other: "RunStats") -> None:
        for s in other.stages.values():
            self.add(s)

    def check(self) -> None:
        for s in self.stages.values():
            s.check()

    def to_dict(self) -> dict[str, Any]:
        return {name: s.to_dict() for name, s in self.stages.items()}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "RunStats":
        return cls(StageStats.from_dict(name, v) for name, v in d.items())
