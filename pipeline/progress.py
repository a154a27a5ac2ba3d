"""Progress display on the driver: a rich bar over tasks (local loop or Spark stages)."""

from __future__ import annotations

import contextlib
import sys
import threading
from typing import Iterator

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, TextColumn, TimeElapsedColumn
from rich.progress import Progress as RichProgress

console = Console(stderr=True)


class Progress:
    def __init__(self, label: str, total: int, enabled: bool = True) -> None:
        # No bar when nobody watches (CI logs, pipes): rich would print a line per refresh.
        self.enabled = enabled and sys.stderr.isatty()
        self._bar = RichProgress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=console,
            transient=False,
            disable=not self.enabled,
        )
        self._task = self._bar.add_task(label, total=total)

    def __enter__(self) -> "Progress":
        self._bar.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._bar.stop()

    def advance(self, n: int = 1) -> None:
        self._bar.advance(self._task, n)

    def set_completed(self, n: int) -> None:
        self._bar.update(self._task, completed=n)

    @contextlib.contextmanager
    def watch_spark(self, sc, interval: float = 0.5) -> Iterator[None]:
        """Poll Spark's status tracker for finished tasks of the running job."""
        stop = threading.Event()
        tracker = sc.statusTracker()

        def poll() -> None:
            while not stop.wait(interval):
                done = 0
                for stage_id in tracker.getActiveStageIds():
                    info = tracker.getStageInfo(stage_id)
                    if info is not None:
                        done += info.numCompletedTasks
                self.set_completed(done)

        thread = threading.Thread(target=poll, daemon=True)
        with self:
            if self.enabled:
                thread.start()
            try:
                yield
            finally:
                stop.set()
                if self.enabled:
                    thread.join()
                self.set_completed(self._bar.tasks[0].total or 0)
