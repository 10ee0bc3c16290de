"""`info --summary`: one line per changed image (commits, pull requests, bugs, RPM changes), beyond oc.

End to end on test_history's releases: real git repositories (merge commits over file://, squash merges over a
git daemon), images labelled with them in a real registry, releases built by `new`, OS images holding rpm
databases made by Debian's rpm tools. The counts are checked against git's own view of the same repositories.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from okd_release.release.history.changelog import ReleaseSide
from okd_release.release.history.summary import Change, changed_images, summarize
from okd_release.release.payload.model import ANNOTATION_COMMIT, ANNOTATION_SOURCE, ImageTag
from tests.conftest import run_cli
from tests.test_history import Loop, loop  # noqa: F401  (the module fixture: real repositories and releases)


def _count(repository: Path, old: str, new: str) -> int:
    """What `git log` says the range holds, independently of the summary's rev-list."""
    listed = subprocess.run(["git", "log", "--format=%H", f"{old}..{new}"], cwd=repository, capture_output=True,
                            text=True, check=True).stdout
    return len(listed.split())


def _expected_lines(loop: Loop, with_counts: bool) -> str:  # noqa: F811
    s = loop.sources
    monitoring = f"{s.monitoring_old[:8]}→{s.monitoring_new[:8]}"
    console = f"{s.console_old[:8]}→{s.console_new[:8]}"
    # monitoring: two pull requests (each a branch commit and its merge) and one direct commit; bugs 2001 and
    # OCPBUGS-17 (NE-3 is not a bug project). console: three squashed commits, two with (#N), OCPBUGS-1.
    details = {"console": "3 commits, 2 PRs, 1 bug", "monitoring": "5 commits, 2 PRs, 2 bugs",
               "os": "RPMs: 1 added, 1 removed, 2 changed"} if with_counts else {}
    rows = [("cli", "rebuilt", ""), ("console", console, details.get("console", "")),
            ("machine-os-content", "rebuilt", details.get("os", "")),
            ("prometheus", monitoring, details.get("monitoring", "")),
            ("prometheus-operator", monitoring, details.get("monitoring", ""))]
    # names padded to the longest (19), the change column to the longest (17), two spaces between
    table = "".join(f"{name:<19}  {change:<17}  {detail}".rstrip() + "\n" for name, change, detail in rows)
    return ("4.15.1 → 4.15.2: 5 images changed (3 with new code, 2 rebuilt)\n"
            "Fedora CoreOS 39.20240101.3-0 → 39.20240210.0-0\n"
            "\n" + table)


def test_summary_says_in_one_line_per_image_how_each_changed(loop: Loop) -> None:  # noqa: F811
    result = run_cli("info", "--insecure", "--summary", "--changes-from", loop.old, loop.new)
    assert result.returncode == 0, result.output
    assert result.stdout == _expected_lines(loop, with_counts=False)


def test_summary_counts_commits_pull_requests_bugs_and_rpm_changes(loop: Loop, tmp_path: Path) -> None:  # noqa: F811
    s = loop.sources
    assert (_count(s.monitoring.path, s.monitoring_old, s.monitoring_new),
            _count(s.console.path, s.console_old, s.console_new)) == (5, 3)  # git agrees with the counts below
    result = run_cli("info", "--insecure", "--summary", "--changelog", str(tmp_path / "git"), "--rpmdb-cache",
                     str(tmp_path / "rpms"), loop.old, loop.new)
    assert result.returncode == 0, result.output
    assert result.stdout == _expected_lines(loop, with_counts=True)
    assert result.stderr == ""


def test_summary_json_carries_the_same_as_data(loop: Loop, tmp_path: Path) -> None:  # noqa: F811
    s = loop.sources
    result = run_cli("info", "--insecure", "--summary", "--changelog", str(tmp_path / "git"), "--rpmdb-cache",
                     str(tmp_path / "rpms"), "-o", "json", "--changes-from", loop.old, loop.new)
    assert result.returncode == 0, result.output
    document = json.loads(result.stdout)
    assert document["from"] == {"name": "4.15.1", "digest": loop.old.split("@")[1]}
    assert document["to"] == {"name": "4.15.2", "digest": loop.new.split("@")[1]}
    assert document["components"] == [{"name": "Fedora CoreOS", "from": "39.20240101.3-0", "version": "39.20240210.0-0"}]
    monitoring = {"change": "code", "repository": s.monitoring_url, "from": s.monitoring_old, "to": s.monitoring_new,
                  "commits": 5, "pullRequests": 2, "bugs": ["2001", "OCPBUGS-17"]}
    assert document["images"] == [
        {"name": "cli", "change": "rebuilt"},
        {"name": "console", "change": "code", "repository": s.console_url, "from": s.console_old, "to": s.console_new,
         "commits": 3, "pullRequests": 2, "bugs": ["OCPBUGS-1"]},
        {"name": "machine-os-content", "change": "rebuilt", "rpms": {"added": 1, "removed": 1, "changed": 2}},
        {"name": "prometheus", **monitoring},
        {"name": "prometheus-operator", **monitoring},
    ]


def test_summary_reuses_the_clones_the_changelog_made(loop: Loop, tmp_path: Path) -> None:  # noqa: F811
    clones = tmp_path / "git"
    assert run_cli("info", "--insecure", "--changelog", str(clones), loop.old, loop.new).returncode == 0
    monitoring = clones / str(loop.sources.root).lstrip("/") / "monitoring"
    marker = monitoring.stat().st_ino
    result = run_cli("info", "--insecure", "--summary", "--changelog", str(clones), loop.old, loop.new)
    assert result.returncode == 0, result.output
    assert "5 commits, 2 PRs, 2 bugs" in result.stdout
    assert monitoring.stat().st_ino == marker  # the same clone, read again rather than cloned anew


def test_summary_names_a_repository_it_cannot_read_and_still_prints_every_image(
        loop: Loop, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:  # noqa: F811
    # the console repository is rewritten after the releases were built: the release's commit is gone
    broken = tmp_path / "broken"
    subprocess.run(["git", "init", "--quiet", "--bare", str(broken)], check=True)
    monkeypatch.setenv("GIT_CONFIG_COUNT", "1")
    monkeypatch.setenv("GIT_CONFIG_KEY_0", f"url.file://{broken}.insteadOf")
    monkeypatch.setenv("GIT_CONFIG_VALUE_0", loop.sources.console_url)
    result = run_cli("info", "--insecure", "--summary", "--changelog", str(tmp_path / "git"), loop.old, loop.new)
    assert result.returncode == 1
    lines = result.stdout.splitlines()
    assert [line.split()[0] for line in lines[3:]] == ["cli", "console", "machine-os-content", "prometheus",
                                                       "prometheus-operator"]
    assert lines[4].endswith("  history not read") and lines[6].endswith("  5 commits, 2 PRs, 2 bugs")
    assert result.stderr.startswith(f"error: could not load commits for {loop.sources.console_url}: ")
    assert len(result.stderr.splitlines()) == 1


def test_summary_of_an_unchanged_os_image_counts_no_packages(loop: Loop, tmp_path: Path) -> None:  # noqa: F811
    result = run_cli("info", "--insecure", "--summary", "--rpmdb-cache", str(tmp_path), "--rpmdb-image", "hyperkube",
                     "-o", "json", loop.old, loop.new)
    assert result.returncode == 0, result.output
    assert [i for i in json.loads(result.stdout)["images"] if "rpms" in i] == []
    assert list(tmp_path.iterdir()) == []  # nothing read: the image is the same in both releases


def test_summary_of_identical_releases_is_an_error(loop: Loop) -> None:  # noqa: F811
    result = run_cli("info", "--insecure", "--summary", loop.new, loop.new)
    assert (result.returncode, result.stderr) == (1, "error: releases are identical\n")


COMBINED = "--summary may not be combined with --bugs, --skip-bug-check, --rpmdb or --rpmdb-diff"


@pytest.mark.parametrize(("args", "message"), [
    (["--summary", "R"], "--summary requires --changes-from (or two releases)"),
    (["--summary", "--bugs", "d", "A", "R"], COMBINED),
    (["--summary", "--rpmdb-diff", "--rpmdb-cache", "c", "A", "R"], COMBINED),
    (["--summary", "--rpmdb-image", "x", "A", "R"], "--rpmdb-image requires --rpmdb-cache"),
    (["--summary", "-o", "yaml", "A", "R"], "--output only supports 'json' for --summary"),
])
def test_summary_flags_are_checked(args: list[str], message: str) -> None:
    result = run_cli("info", *args)
    assert (result.returncode, result.stderr) == (1, f"error: {message}\n")


# -- classifying, without a registry ---------------------------------------------------------------------
def _tag(name: str, digest: str, repository: str = "example.com/okd/content", commit: str = "") -> ImageTag:
    annotations = {ANNOTATION_SOURCE: "https://github.com/openshift/x", ANNOTATION_COMMIT: commit} if commit else {}
    return ImageTag(name, f"{repository}@sha256:{digest * 64}", annotations)


def test_images_are_added_removed_moved_or_rebuilt_when_no_commit_changed() -> None:
    old = ReleaseSide("4.1", "sha256:" + "a" * 64, tags=(
        _tag("gone", "1"), _tag("moved", "2"), _tag("rebuilt", "3", commit="c" * 40), _tag("unlabelled", "4"),
        _tag("same", "5")))
    new = ReleaseSide("4.2", "sha256:" + "b" * 64, tags=(
        _tag("moved", "2", "mirror.example.com/okd/content"), _tag("rebuilt", "6", commit="c" * 40),
        _tag("unlabelled", "7"), _tag("same", "5"), _tag("fresh", "8")))
    assert [(i.name, i.change) for i in changed_images(old, new)] == [
        ("fresh", Change.ADDED), ("gone", Change.REMOVED), ("moved", Change.MOVED), ("rebuilt", Change.REBUILT),
        ("unlabelled", Change.REBUILT)]
    assert summarize(old, new).headline() == "4.1 → 4.2: 5 images changed (2 rebuilt, 1 moved, 1 added, 1 removed)"


def test_a_commit_that_is_not_a_commit_id_is_quoted_not_printed_raw() -> None:
    old = ReleaseSide("4.1", "sha256:" + "a" * 64, tags=(_tag("x", "1", commit="a" * 40),))
    new = ReleaseSide("4.2", "sha256:" + "b" * 64, tags=(_tag("x", "2", commit="\x1b]0;owned\x07"),))
    text = summarize(old, new).text()
    assert "\x1b" not in text
    assert text.endswith(f"x  {'a' * 8}→'\\x1b]0;owned\\x07'\n")
