"""One piece of work run on a thread of its own while its caller goes on (a request whose answer is waited
for anyway), with its result or its exception handed back once the caller asks."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Generic, TypeVar, cast

T = TypeVar("T")


class Background(Generic[T]):
    """`work` started at once on a new thread; `result()` waits for it and returns or raises what it did."""

    def __init__(self, work: Callable[[], T], name: str = "okd-release background") -> None:
        self._work = work
        self._value: T | None = None
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        try:
            self._value = self._work()
        except BaseException as error:  # noqa: BLE001 - handed to the caller, raised there
            self._error = error

    def result(self) -> T:
        self._thread.join()
        if self._error is not None:
            error, self._error = self._error, None
            raise error
        return cast("T", self._value)  # set, as no error was
