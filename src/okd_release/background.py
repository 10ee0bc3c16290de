"""Work run on threads beside the caller, one piece per item (a request per component image), each result or
exception handed back in the items' order when the caller asks for it.

Plain threads, not `concurrent.futures`: that package loads `logging` and `traceback` (about 5 ms of a
command's start-up), and an executor left by an error keeps running the items not yet started."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Sequence
from typing import Generic, TypeVar, cast

T = TypeVar("T")
R = TypeVar("R")


class Outcome(Generic[R]):
    """What `work` did with one item: `result()` returns its value or raises its exception."""

    __slots__ = ("_error", "_value")

    def __init__(self, value: R | None, error: BaseException | None) -> None:
        self._value = value
        self._error = error

    def result(self) -> R:
        if self._error is not None:
            raise self._error
        return cast("R", self._value)


class Parallel(Generic[T, R]):
    """`work` applied to each of `items` on up to `workers` threads, items started in their order; iterating
    yields each item's `Outcome` in the items' order, as soon as it is there.

    Used as a context manager: leaving it (an error, or the caller done early) starts no further item and
    waits for the ones running, so no thread outlives the block.
    """

    def __init__(self, work: Callable[[T], R], items: Sequence[T], workers: int, name: str = "okd-release") -> None:
        self._work = work
        self._items = items
        self._outcomes: list[Outcome[R] | None] = [None] * len(items)
        self._next = 0
        self._awaited = -1  # the item whose outcome the caller is waiting for: only its end wakes the caller
        self._stopped = False
        self._changed = threading.Condition()
        self._threads = [threading.Thread(target=self._run, name=f"{name} {n}", daemon=True)
                         for n in range(min(max(workers, 1), len(items)))]
        for thread in self._threads:
            thread.start()

    def _run(self) -> None:
        while True:
            with self._changed:
                if self._stopped or self._next >= len(self._items):
                    return
                index = self._next
                self._next += 1
            try:
                outcome: Outcome[R] = Outcome(self._work(self._items[index]), None)
            except BaseException as error:  # noqa: BLE001 - handed to the caller with its item
                outcome = Outcome(None, error)
            with self._changed:
                self._outcomes[index] = outcome
                if index == self._awaited:  # any other item's end would wake the caller only to wait again
                    self._changed.notify_all()

    def __iter__(self) -> Iterator[Outcome[R]]:
        for index in range(len(self._items)):
            with self._changed:
                self._awaited = index
                while (outcome := self._outcomes[index]) is None:
                    self._changed.wait()
                self._awaited = -1
                self._outcomes[index] = None  # handed over: not held for the rest of the run
            yield outcome

    def __enter__(self) -> Parallel[T, R]:
        return self

    def __exit__(self, *exc: object) -> None:
        with self._changed:
            self._stopped = True
        for thread in self._threads:
            thread.join()
