"""Work run on threads beside its caller: each item's result, or its exception, reaches the caller in order."""

from __future__ import annotations

import threading
import time
import types

import pytest

from okd_release import background
from okd_release.background import Parallel
from okd_release.errors import NotFound
from tests.occupancy import Occupancy


def test_parallel_outcomes_come_in_the_items_order_with_each_items_error() -> None:
    def work(n: int) -> int:
        time.sleep(0.002 * (5 - n % 5))  # later items often finish first
        if n == 3:
            raise NotFound(f"image {n} not found")
        return n * n

    items = list(range(12))
    with Parallel(work, items, workers=4) as outcomes:
        results: list[object] = []
        for outcome in outcomes:
            try:
                results.append(outcome.result())
            except NotFound as error:
                results.append(str(error))
    assert results == [0, 1, 4, "image 3 not found", *(n * n for n in range(4, 12))]


def test_parallel_runs_at_most_its_workers_at_once_on_threads_that_end_with_the_block() -> None:
    occupancy = Occupancy()

    def work(n: int) -> int:
        occupancy.stay(0.005)
        return n

    before = threading.active_count()
    with Parallel(work, list(range(20)), workers=3) as outcomes:
        assert [o.result() for o in outcomes] == list(range(20))
    assert occupancy.highest == 3
    assert threading.active_count() == before


def test_leaving_parallel_early_starts_no_further_item() -> None:
    started: list[int] = []

    def work(n: int) -> int:
        started.append(n)
        if n == 0:
            raise NotFound("the first image is missing")
        time.sleep(0.01)
        return n

    with pytest.raises(NotFound), Parallel(work, list(range(100)), workers=2) as outcomes:
        for outcome in outcomes:
            outcome.result()
    assert len(started) < 10  # the two running when the caller left, and perhaps a few more; not all 100


class CountedCondition(threading.Condition):
    """A Condition that counts its waits: how often the caller was woken and went back to waiting."""

    waits = 0

    def wait(self, timeout: float | None = None) -> bool:
        CountedCondition.waits += 1
        return super().wait(timeout)


def test_the_caller_waiting_for_an_item_is_woken_by_that_item_alone(monkeypatch: pytest.MonkeyPatch) -> None:
    # only the Parallel's own condition counts (Events and Threads make conditions of their own)
    monkeypatch.setattr(background, "threading", types.SimpleNamespace(Condition=CountedCondition, Thread=threading.Thread))
    CountedCondition.waits = 0
    caller_waits, others_done, lock = threading.Event(), threading.Event(), threading.Lock()
    done: list[int] = []

    def work(n: int) -> int:
        if n == 0:
            assert others_done.wait(5)  # the first item ends last, after every other
        else:
            assert caller_waits.wait(5)
            with lock:
                done.append(n)
                if len(done) == 7:
                    others_done.set()
        return n

    with Parallel(work, list(range(8)), workers=8) as outcomes:
        original = CountedCondition.wait

        def first_wait(self: CountedCondition, timeout: float | None = None) -> bool:
            caller_waits.set()  # the others end while the caller waits for the first
            return original(self, timeout)

        monkeypatch.setattr(CountedCondition, "wait", first_wait)
        assert [o.result() for o in outcomes] == list(range(8))
    assert CountedCondition.waits == 1  # seven ends of other items did not wake it
