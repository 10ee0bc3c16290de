"""How many threads were inside a block at once, at most: for tests of concurrency limits."""

from __future__ import annotations

import threading
import time


class Occupancy:
    """`with occupancy.stay(seconds):` counts the thread in for that long; `highest` is the most at once."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._inside = 0
        self.highest = 0

    def stay(self, seconds: float) -> None:
        with self._lock:
            self._inside += 1
            self.highest = max(self.highest, self._inside)
        time.sleep(seconds)
        with self._lock:
            self._inside -= 1
