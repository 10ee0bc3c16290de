"""Progress as a user sees it: bars on a terminal, nothing but failures and the summary otherwise."""

from __future__ import annotations

import os
import pty
import subprocess
import sys
from pathlib import Path

from tests.conftest import cli_process_environment, run_cli
from tests.images import push_random_image


def _stderr_on_a_terminal(args: list[str], stdout: Path) -> tuple[int, str]:
    """Run the CLI with stderr on a pseudo-terminal (stdout to a file): its exit code and what the terminal showed."""
    controller, terminal = pty.openpty()
    with open(stdout, "wb") as out:
        process = subprocess.Popen([sys.executable, "-m", "okd_release", *args], stdout=out, stderr=terminal,
                                   stdin=subprocess.DEVNULL, env={**cli_process_environment(), "COLUMNS": "120"})
    os.close(terminal)
    shown = bytearray()
    while True:
        try:
            piece = os.read(controller, 65536)
        except OSError:  # EIO: the process closed its end of the terminal
            break
        if not piece:
            break
        shown += piece
    os.close(controller)
    return process.wait(timeout=120), shown.decode(errors="replace")


def test_a_mirror_on_a_terminal_shows_image_and_byte_bars(registry, second_registry, plain_registries, tmp_path) -> None:
    manifest = push_random_image(plain_registries, registry.host, "okd/app", "v1", [300_000, 5_000])
    status, shown = _stderr_on_a_terminal(
        ["image", "mirror", "--insecure", f"{registry.host}/okd/app:v1", f"{second_registry.host}/bars/app:v1"],
        tmp_path / "stdout")
    assert status == 0, shown
    assert "images" in shown and "1/1" in shown  # the images bar, complete
    assert "blobs (3)" in shown  # the bytes bar names how many blobs it covers (two layers and the config)
    assert (tmp_path / "stdout").read_text().strip() == f"{second_registry.host}/bars/app@{manifest.digest}"


def test_a_mirror_off_a_terminal_prints_no_progress(registry, second_registry, plain_registries) -> None:
    push_random_image(plain_registries, registry.host, "okd/app", "v1", [300_000])
    result = run_cli("image", "mirror", "--insecure", f"{registry.host}/okd/app:v1", f"{second_registry.host}/q/app:v1")
    assert result.returncode == 0, result.stderr
    assert "images" not in result.stderr and "blobs (" not in result.stderr
