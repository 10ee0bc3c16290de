"""okd_release.logs: messages reach logging once a program has loaded it, and never fail a request."""

from __future__ import annotations

import importlib.util
import logging
import sys

import pytest

from okd_release import logs


def test_messages_reach_logging_once_it_is_loaded(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.DEBUG, logger="okd_release.test"):
        logs.debug("okd_release.test", "GET %s", "/v2/")
        logs.info("okd_release.test", "pushed %d blobs", 3)
    assert [(r.levelno, r.getMessage()) for r in caplog.records] == [(logging.DEBUG, "GET /v2/"),
                                                                      (logging.INFO, "pushed 3 blobs")]


def test_a_message_while_another_thread_is_still_importing_logging_is_dropped(monkeypatch: pytest.MonkeyPatch) -> None:
    """What importlib puts in sys.modules while it runs logging's code: the module, flagged as initialising, not
    yet holding getLogger. A message sent then (a request on one thread while another imports logging) is
    dropped; it used to raise AttributeError out of the request."""
    spec = importlib.util.find_spec("logging")
    assert spec is not None
    partial = importlib.util.module_from_spec(spec)
    spec._initializing = True  # as importlib's _load_unlocked marks it
    monkeypatch.setitem(sys.modules, "logging", partial)
    logs.debug("okd_release.test", "GET %s", "/v2/")
    logs.info("okd_release.test", "pushed")
