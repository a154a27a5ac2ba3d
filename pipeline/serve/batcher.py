"""Gathering concurrent requests into one model call: an asyncio micro-batcher per kind.

A request hands its items (texts, preprocessed images) to ``MicroBatcher.submit`` and awaits
their results. One collector task per batcher takes the first waiting request, then keeps
taking more until ``max_batch`` items are gathered or ``wait_s`` has passed since the first
one, runs ONE call of ``run`` on the gathered items in the model executor, and hands each
request its slice of the results. While that call runs, new requests queue up, so under
load batches fill without waiting at all; an idle server adds at most ``wait_s`` latency.

Every batcher shares one single-thread executor (``model_executor``): torch models are not
safe to call from several threads at once (and on CPU a second thread only competes for the
same cores), so all forward passes, whatever their kind, run one after another there. The
event loop never blocks on the model.

Results do not depend on the batch: ``run`` pads every pass to a fixed size (see
pipeline/clip/model.py), so a text embedded alone or among 63 others gives the same bits.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

T = TypeVar("T")
R = TypeVar("R")


def model_executor() -> ThreadPoolExecutor:
    """The one thread that runs every forward pass."""
    return ThreadPoolExecutor(max_workers=1, thread_name_prefix="interleaf-model")


@dataclass
class BatchStats:
    """What /health reports per kind, so batching can be observed from outside."""

    batches: int = 0  # model calls
    requests: int = 0
    items: int = 0
    largest_batch: int = 0  # most items in one call
    largest_batch_requests: int = 0  # most requests served by one call
    busy_seconds: float = 0.0  # time spent inside model calls

    def record(self, n_requests: int, n_items: int, seconds: float) -> None:
        self.batches += 1
        self.requests += n_requests
        self.items += n_items
        self.largest_batch = max(self.largest_batch, n_items)
        self.largest_batch_requests = max(self.largest_batch_requests, n_requests)
        self.busy_seconds += seconds


@dataclass
class _Pending(Generic[T, R]):
    items: Sequence[T]
    future: asyncio.Future[list[R]] = field(repr=False)


class MicroBatcher(Generic[T, R]):
    """Batches ``submit`` calls of one kind; ``run(items) -> results`` (same length, same order).

    ``start`` must be called from the running event loop (the app's lifespan), ``stop`` at
    shutdown. A request larger than ``max_batch`` is not split across calls: ``run`` gets it
    whole and pads it into several passes itself.
    """

    def __init__(self, name: str, run: Callable[[list[T]], list[R]], executor: ThreadPoolExecutor,
                 max_batch: int, wait_s: float) -> None:
        if max_batch < 1:
            raise ValueError(f"max_batch must be >= 1, not {max_batch}")
        if wait_s < 0:
            raise ValueError(f"batch wait must be >= 0, not {wait_s}")
        self.name = name
        self.max_batch = max_batch
        self.wait_s = wait_s
        self.stats = BatchStats()
        self._run = run
        self._executor = executor
        self._queue: asyncio.Queue[_Pending[T, R]] | None = None
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._queue = asyncio.Queue()
        self._task = asyncio.get_running_loop().create_task(self._collect(), name=f"batcher-{self.name}")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass
            self._task = None

    async def submit(self, items: Sequence[T]) -> list[R]:
        if self._queue is None:
            raise RuntimeError(f"batcher {self.name} is not started")
        if not items:
            return []
        future: asyncio.Future[list[R]] = asyncio.get_running_loop().create_future()
        await self._queue.put(_Pending(items, future))
        return await future

    async def _collect(self) -> None:
        assert self._queue is not None
        queue = self._queue
        loop = asyncio.get_running_loop()
        while True:
            batch = [await queue.get()]
            n = len(batch[0].items)
            deadline = loop.time() + self.wait_s
            while n < self.max_batch:
                try:
                    if queue.empty():
                        timeout = deadline - loop.time()
                        if timeout <= 0:
                            break
                        pending = await asyncio.wait_for(queue.get(), timeout)
                    else:
                        pending = queue.get_nowait()  # already waiting: no reason to leave it behind
                except TimeoutError:
                    break
                batch.append(pending)
                n += len(pending.items)
            # Requests whose client went away are not worth a forward pass.
            batch = [p for p in batch if not p.future.done()]
            if batch:
                await self._run_batch(loop, batch)

    async def _run_batch(self, loop: asyncio.AbstractEventLoop, batch: list[_Pending[T, R]]) -> None:
        items = [item for p in batch for item in p.items]
        start = time.perf_counter()
        try:
            results = await loop.run_in_executor(self._executor, self._run, items)
            if len(results) != len(items):
                raise RuntimeError(f"batcher {self.name}: {len(results)} results for {len(items)} items")
        except Exception as e:  # noqa: BLE001 — every request of the batch gets the error (500), the loop goes on
            for p in batch:
                if not p.future.done():
                    p.future.set_exception(e)
            return
        finally:
            self.stats.record(len(batch), len(items), time.perf_counter() - start)
        offset = 0
        for p in batch:
            if not p.future.done():
                p.future.set_result(list(results[offset:offset + len(p.items)]))
            offset += len(p.items)

    def health(self) -> dict[str, Any]:
        return {"max_batch": self.max_batch, "wait_ms": round(self.wait_s * 1000, 3), **vars(self.stats)}
