"""Work run on a thread of its own beside its caller: the result, or the exception, reaches the caller."""

from __future__ import annotations

import threading

import pytest

from okd_release.background import Background
from okd_release.errors import NotFound


def test_the_result_is_what_the_work_returned_and_it_ran_on_another_thread() -> None:
    caller = threading.get_ident()
    started = threading.Event()

    def work() -> tuple[int, str]:
        started.set()
        return threading.get_ident(), threading.current_thread().name

    job = Background(work, "reading a config")
    assert started.wait(10)  # started at once, before anyone asks for its result
    ident, name = job.result()
    assert ident != caller and name == "reading a config"
    assert threading.active_count() == 1 or all(t.name != "reading a config" for t in threading.enumerate())


def test_the_works_exception_is_raised_in_the_caller_once() -> None:
    def work() -> None:
        raise NotFound("blob sha256:00 of x/y not found")

    job = Background(work)
    with pytest.raises(NotFound, match="blob sha256:00 of x/y not found"):
        job.result()
    assert job.result() is None  # handed over once; asked again, there is nothing more to say
