"""`okd-release source COMPONENT RELEASE`: the repository and commit of one image, a link, and git commands that
get exactly that code; checked by running the printed commands against the real repositories."""

from __future__ import annotations

import json
import shlex
import subprocess
from pathlib import Path

from tests.conftest import run_cli
from tests.test_history import Loop, loop  # noqa: F401  (the module fixture: real repositories and releases)


def test_source_prints_repository_commit_and_commands_that_get_exactly_that_code(loop: Loop, tmp_path: Path) -> None:  # noqa: F811
    sources = loop.sources
    result = run_cli("source", "--insecure", "console", loop.new)
    assert result.returncode == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[2:5] == [f"Repository:  {sources.console_url}", f"Commit:      {sources.console_new}",
                          f"Commit URL:  {sources.console_url} {sources.console_new}"]
    commands = [line.strip() for line in lines[lines.index("Get exactly this source:") + 1:]]
    assert commands == [f"git clone {sources.console_url} console", f"git -C console checkout --detach {sources.console_new}"]
    for command in commands:  # what a user pastes, run as they would run it
        subprocess.run(shlex.split(command), cwd=tmp_path, check=True, capture_output=True)
    head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=tmp_path / "console", capture_output=True, text=True)
    assert head.stdout.strip() == sources.console_new


def test_source_of_a_github_image_links_to_the_commit_and_json_says_the_same(loop: Loop) -> None:  # noqa: F811
    result = run_cli("source", "--insecure", "cli", loop.new, "-o", "json")
    assert result.returncode == 0, result.output
    value = json.loads(result.stdout)
    assert value["repository"] == "https://github.com/openshift/cli"
    assert value["commitURL"] == f"https://github.com/openshift/cli/commit/{value['commit']}"
    assert value["ref"] == "release-4.15"
    assert value["commands"] == ["git clone https://github.com/openshift/cli cli",
                                 f"git -C cli checkout --detach {value['commit']}"]


def test_source_of_an_unknown_component_is_one_line_naming_it(loop: Loop) -> None:  # noqa: F811
    result = run_cli("source", "--insecure", "no-such-thing", loop.new)
    assert result.returncode == 1
    assert result.stderr.startswith('error: no image tag "no-such-thing" exists in the release image ')
    assert len(result.stderr.splitlines()) == 1


def test_source_of_an_image_without_source_labels_says_what_is_missing(loop: Loop) -> None:  # noqa: F811
    result = run_cli("source", "--insecure", "machine-os-content", loop.new)
    assert result.returncode == 1
    assert result.stderr.endswith("records no source (io.openshift.build.source-location and "
                                  "io.openshift.build.commit.id)\n")


def test_source_refuses_a_source_location_that_would_run_a_command(tmp_path: Path) -> None:
    payload = tmp_path / "payload"
    payload.mkdir()
    (payload / "image-references").write_text(json.dumps({
        "kind": "ImageStream", "apiVersion": "image.openshift.io/v1", "metadata": {"name": "4.15.0"},
        "spec": {"tags": [{"name": "evil", "from": {"kind": "DockerImage", "name": "example.com/x@sha256:" + "1" * 64},
                           "annotations": {"io.openshift.build.source-location": "ext::sh -c touch% /tmp/pwned",
                                           "io.openshift.build.commit.id": "a" * 40}}]}}))
    result = run_cli("source", "evil", "--from-dir", str(payload))
    assert result.returncode == 1
    assert result.stderr.startswith("error: source location 'ext::sh -c touch% /tmp/pwned': only https, http, git, ssh,")
