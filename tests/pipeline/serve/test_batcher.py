"""The micro-batcher: concurrent submits share one model call, results go to the right caller."""

from __future__ import annotations

import asyncio
import threading

import pytest

from pipeline.serve.batcher import MicroBatcher, model_executor


def _run(coro):
    return asyncio.run(coro)


def test_concurrent_requests_share_calls_and_get_their_own_results():
    calls: list[list[int]] = []
    threads: set[str] = set()

    def run(items: list[int]) -> list[int]:
        calls.append(list(items))
        threads.add(threading.current_thread().name)
        return [x * 10 for x in items]

    async def scenario() -> list[list[int]]:
        batcher = MicroBatcher("t", run, model_executor(), max_batch=8, wait_s=0.05)
        batcher.start()
        try:
            # 20 requests of 1-3 items at once.
            return await asyncio.gather(*(batcher.submit(list(range(i, i + 1 + i % 3))) for i in range(20))), batcher
        finally:
            await batcher.stop()

    results, batcher = _run(scenario())
    assert results == [[x * 10 for x in range(i, i + 1 + i % 3)] for i in range(20)]
    assert len(threads) == 1 and next(iter(threads)).startswith("interleaf-model")
    stats = batcher.stats
    assert stats.requests == 20 and stats.items == sum(1 + i % 3 for i in range(20))
    assert stats.batches == len(calls) < 20  # batched: fewer calls than requests
    assert stats.largest_batch_requests > 1
    # A batch closes once it holds max_batch items (the last request may overshoot it).
    assert all(len(c) < 8 + 3 for c in calls)


def test_a_lone_request_waits_at_most_the_wait_time():
    async def scenario() -> float:
        batcher = MicroBatcher("t", lambda xs: xs, model_executor(), max_batch=64, wait_s=0.02)
        batcher.start()
        loop = asyncio.get_running_loop()
        start = loop.time()
        assert await batcher.submit(["a"]) == ["a"]
        elapsed = loop.time() - start
        await batcher.stop()
        return elapsed

    assert _run(scenario()) < 0.5


def test_a_failing_call_fails_its_requests_only():
    def run(items: list[str]) -> list[str]:
        if "boom" in items:
            raise RuntimeError("model failed")
        return items

    async def scenario() -> None:
        batcher = MicroBatcher("t", run, model_executor(), max_batch=1, wait_s=0)
        batcher.start()
        with pytest.raises(RuntimeError, match="model failed"):
            await batcher.submit(["boom"])
        assert await batcher.submit(["fine"]) == ["fine"]  # the collector survived
        await batcher.stop()

    _run(scenario())


def test_settings_are_checked():
    with pytest.raises(ValueError, match="max_batch"):
        MicroBatcher("t", lambda xs: xs, model_executor(), max_batch=0, wait_s=0)
    with pytest.raises(ValueError, match="wait"):
        MicroBatcher("t", lambda xs: xs, model_executor(), max_batch=1, wait_s=-1)
