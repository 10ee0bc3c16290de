"""The contributor's loop: sources cloned at a release's commits (extract --git), changelogs and bug lists
between releases (info --changelog / --bugs), and the OS packages of a release (info --rpmdb / --rpmdb-diff).

The parsing cases are oc's own (git_test.go, bug_test.go, info_changelog_test.go), as data. The end-to-end
tests use real git repositories made here (merge commits, squash merges, two components sharing one
repository) served over file:// and a `git daemon` on loopback, images labelled with their sources pushed
to a real registry, releases built from them with `okd-release new`, and an OS image whose layer holds an
rpm database made by Debian's rpm tools.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from datetime import UTC, datetime
from pathlib import Path

import pytest

from okd_release.image.layer import LayerEntry
from okd_release.release.history import bugs as bugrefs
from okd_release.release.history.bugs import Ref, RefSource, extract_refs, markdown_refs
from okd_release.release.history.changelog import CodeChange, ContentChanges, ReleaseSide, content_changes
from okd_release.release.history.commits import MergeCommit, parse_log
from okd_release.release.history.git import GitError, SourceError, clone_path, parse_source, remote_name
from okd_release.release.history.rpmdb import Package, RpmdbError, diff_packages, parse_header
from okd_release.release.payload.model import ANNOTATION_COMMIT, ANNOTATION_SOURCE, ImageTag
from tests.conftest import pushed_release, run_cli
from tests.history_repos import (
    OS_NEW,
    OS_OLD,
    Sources,
    free_port,
    git_daemon,
    make_sources,
    os_labels,
    push_component,
    rpm_database,
    source_labels,
)
from tests.release_helpers import read_release

B, J = RefSource.BUGZILLA, RefSource.JIRA
EPOCH_1 = datetime.fromtimestamp(1, UTC)

# -- oc's git_test.go: Test_mergeLogForRepo, as (input, squash, expected refs, expected subject) ----------------
MERGE_LOG_CASES = [
    ("abc\x1e1\x1eMerge pull request #145 from\x1eBug 1743564: test", False, [("1743564", B)], "test"),
    ("abc\x1e1\x1eMerge pull request #145 from\x1eBug 1743564: test [trailing]", False, [("1743564", B)],
     "test [trailing]"),
    ("abc\x1e1\x1eMerge pull request #145 from\x1e[release-4.1] Bug 1743564: test", False, [("1743564", B)], "test"),
    ("abc\x1e1\x1eMerge pull request #145 from\x1e [release-4.1] Bug 1743564: test", False, [("1743564", B)], "test"),
    ("abc\x1e1\x1eMerge pull request #145 from\x1e [release-4.1] Bug 1743564 : test", False, [("1743564", B)], "test"),
    ("abc\x1e1\x1eMerge pull request #145 from\x1e [release-4.1] Bugs 1743564 : test", False, [("1743564", B)], "test"),
    ("abc\x1e1\x1eMerge pull request #145 from\x1e [release-4.1] Bugs 1743564,: test", False, [("1743564", B)], "test"),
    ("abc\x1e1\x1eMerge pull request #145 from\x1e [release-4.1] Bugs , 17 43,564,: test", False,
     [("17", B), ("43", B), ("564", B)], "test"),
    ("abc\x1e1\x1eMerge pull request #145 from\x1e [release-4.1] bugs , 17 43,564,: test", False,
     [("17", B), ("43", B), ("564", B)], "test"),
    ("abc\x1e1\x1eMerge pull request #145 from\x1e [release 4.1] bugs , 17 43,564,: test", False, [],
     "[release 4.1] bugs , 17 43,564,: test"),
    ("abc\x1e1\x1eBugs 1743564: fix typo (#145)\x1e * fix typo", True, [("1743564", B)], "fix typo (#145)"),
    ("abc\x1e1\x1eOCPBUGS-1743564: fix typo (#145)\x1e * fix typo", True, [("OCPBUGS-1743564", J)], "fix typo (#145)"),
    ("abc\x1e1\x1efix vendoring from #123 (#145)\x1e * fix vendoring from #123", True, [],
     "fix vendoring from #123 (#145)"),
    ("abc\x1e1\x1eOCPBUGS-1743564, NE-123 ABC-789,,, XYZ-123: fix typo (#145)\x1e * fix typo", True,
     [("ABC-789", J), ("NE-123", J), ("OCPBUGS-1743564", J), ("XYZ-123", J)], "fix typo (#145)"),
]


@pytest.mark.parametrize(("output", "squash", "refs", "subject"), MERGE_LOG_CASES)
def test_merge_log_parses_as_oc(output: str, squash: bool, refs: list[tuple[str, RefSource]], subject: str) -> None:
    assert parse_log(output, squash) == (
        MergeCommit("abc", (), EPOCH_1, 145, tuple(Ref(i, s) for i, s in refs), subject),)


def test_merge_log_leaves_out_commits_without_a_pull_request_and_names_untitled_merges() -> None:
    output = "a1 p1 p2\x1e10\x1eMerge branch 'x'\x1ebody\x00a2 p3 p4\x1e20\x1eMerge pull request #7 from me/x\x1e\n"
    assert parse_log(output, squash=False) == (
        MergeCommit("a2", ("p3", "p4"), datetime.fromtimestamp(20, UTC), 7, (), "Merge"),)


def test_merge_log_of_unexpected_width_is_an_error() -> None:
    with pytest.raises(GitError, match="unexpected git log output width 2 columns"):
        parse_log("abc\x1e1", squash=False)


# -- oc's bug_test.go: TestExtractBugs and TestPrintRefs -----------------------------------------------------
EXTRACT_CASES = [
    (" [release-4.1] Bugs , 17 43,564,: test", [("17", B), ("43", B), ("564", B)], "test"),
    (" [release-4.1] Bugs , 564,17 43,: test", [("17", B), ("43", B), ("564", B)], "test"),
    (" [release-4.1] Bug 1743564,: test", [("1743564", B)], "test"),
    ("[release-4.1] OCPBUGS-1743564: test", [("OCPBUGS-1743564", J)], "test"),
    (" [release-4.1] OCPBUGS-17,OCPBUGS-43,OCPBUGS-564: test", [("OCPBUGS-17", J), ("OCPBUGS-43", J), ("OCPBUGS-564", J)],
     "test"),
    (" [release-4.1] OCPBUGS-17,OCPBUGS-43,OCPBUGS-564,: test",
     [("OCPBUGS-17", J), ("OCPBUGS-43", J), ("OCPBUGS-564", J)], "test"),
    (" [release-4.1] OCPBUGS-564,OCPBUGS-43,OCPBUGS-17,: test",
     [("OCPBUGS-17", J), ("OCPBUGS-43", J), ("OCPBUGS-564", J)], "test"),
    ("OCPBUGS-17,OCPBUGS-43,OCPBUGS-564 : test", [("OCPBUGS-17", J), ("OCPBUGS-43", J), ("OCPBUGS-564", J)], "test"),
    ("test", [], "test"),
    ("OCPBUGS-17 - test", [("OCPBUGS-17", J)], "test"),
    ("OCPBUGS-17,OCPBUGS-43,OCPBUGS-564 - test", [("OCPBUGS-17", J), ("OCPBUGS-43", J), ("OCPBUGS-564", J)], "test"),
    ("ocpbugs-17: test", [], "ocpbugs-17: test"),
]


@pytest.mark.parametrize(("message", "refs", "rest"), EXTRACT_CASES)
def test_bug_references_are_extracted_as_oc(message: str, refs: list[tuple[str, RefSource]], rest: str) -> None:
    assert extract_refs(message) == (tuple(Ref(i, s) for i, s in refs), rest)


PRINT_CASES = [
    ([("1212", B)], " [Bug 1212](https://bugzilla.redhat.com/show_bug.cgi?id=1212):"),
    ([("OCPBUGS-1212", J)], " [OCPBUGS-1212](https://issues.redhat.com/browse/OCPBUGS-1212):"),
    ([("1212", B), ("22", B)],
     " [Bug 1212](https://bugzilla.redhat.com/show_bug.cgi?id=1212), [22](https://bugzilla.redhat.com/show_bug.cgi?id=22):"),
    ([("OCPBUGS-1212", J), ("OCPBUGS-22", J)],
     " [OCPBUGS-1212](https://issues.redhat.com/browse/OCPBUGS-1212), [OCPBUGS-22](https://issues.redhat.com/browse/OCPBUGS-22):"),
    ([("ABC-1212", J), ("22", B)],
     " [ABC-1212](https://issues.redhat.com/browse/ABC-1212), [22](https://bugzilla.redhat.com/show_bug.cgi?id=22):"),
    ([], ""),
]


@pytest.mark.parametrize(("refs", "markdown"), PRINT_CASES)
def test_references_print_as_oc_prints_them(refs: list[tuple[str, RefSource]], markdown: str) -> None:
    assert markdown_refs(Ref(i, s) for i, s in refs) == markdown


def test_bug_list_keeps_bugzilla_and_jira_bug_projects_once_each_sorted_by_id() -> None:
    refs = [Ref("OCPBUGS-2", J), Ref("12", B), Ref("NE-5", J), Ref("OCPBUGSM-1", J), Ref("12", B)]
    assert bugrefs.bug_list(refs) == [Ref("12", B), Ref("OCPBUGS-2", J), Ref("OCPBUGSM-1", J)]


# -- source locations ------------------------------------------------------------------------------------
@pytest.mark.parametrize(("location", "relative"), [
    ("https://github.com/openshift/console", "github.com/openshift/console"),
    ("https://github.com/openshift/console.git", "github.com/openshift/console"),
    ("git@github.com:openshift/oc.git", "github.com/openshift/oc"),
    ("git://127.0.0.1:9418/repos/a", "127.0.0.1:9418/repos/a"),
    ("file:///srv/git/monitoring.git", "srv/git/monitoring"),
    ("https://example.com/a/../b", "example.com/b"),
])
def test_clones_live_under_host_and_path_as_oc_lays_them_out(tmp_path: Path, location: str, relative: str) -> None:
    assert clone_path(tmp_path, location) == tmp_path / relative


@pytest.mark.parametrize("location", [
    "--upload-pack=touch /tmp/x", "ext::sh -c touch% /tmp/x", "git@host:../../etc", "https://exa mple.com/x",
    "https://example.com/", "", "file:///..", "fd::17",
])
def test_unsafe_source_locations_are_refused(tmp_path: Path, location: str) -> None:
    with pytest.raises(SourceError):
        clone_path(tmp_path, location)


def test_remote_names_are_the_ones_oc_gives_so_clones_are_shared_with_oc() -> None:
    # recorded from a clone made by oc adm release extract --git
    assert remote_name("file:///tmp/pytest-of-root/pytest-165/loop0/repos/monitoring.git") == "up-gcmIyWYA1u"


def test_commit_links_point_at_github_only_for_github_sources() -> None:
    assert parse_source("https://github.com/openshift/oc").commit_url("abc") == "https://github.com/openshift/oc/commit/abc"
    assert parse_source("git://127.0.0.1:9418/oc").commit_url("abc") == "git://127.0.0.1:9418/oc abc"


# -- content changes (oc's releaseDiffContentChanges) ----------------------------------------------------
def _tag(name: str, digest: str, source: str = "", commit: str = "") -> ImageTag:
    annotations = {k: v for k, v in ((ANNOTATION_SOURCE, source), (ANNOTATION_COMMIT, commit)) if v}
    return ImageTag(name, f"example.com/okd/content@sha256:{digest * 64}", annotations)


def test_images_sharing_a_repository_and_range_are_one_code_change() -> None:
    repo = "https://github.com/openshift/monitoring"
    old = ReleaseSide("4.1", "sha256:" + "a" * 64, tags=(
        _tag("prometheus", "1", repo, "aaaa"), _tag("prometheus-operator", "2", repo, "aaaa"),
        _tag("console", "3", "https://github.com/openshift/console", "cccc"), _tag("cli", "4", "", ""),
        _tag("gone", "5"), _tag("same", "6", repo, "aaaa")))
    new = ReleaseSide("4.2", "sha256:" + "b" * 64, tags=(
        _tag("prometheus", "7", repo, "bbbb"), _tag("prometheus-operator", "8", repo, "bbbb"),
        _tag("console", "9", "https://github.com/openshift/console", "cccc"), _tag("cli", "0", "", ""),
        _tag("new", "e"), _tag("same", "6", repo, "aaaa")))
    assert content_changes(old, new) == ContentChanges(
        code=(CodeChange(repo, "aaaa", "bbbb", (), ("prometheus", "prometheus-operator")),),
        rebuilt=("cli", "console"), unexplained=(), added=("new",), removed=("gone",))


# -- rpm headers ---------------------------------------------------------------------------------------
def test_a_malformed_rpm_header_is_an_error_not_a_crash() -> None:
    with pytest.raises(RpmdbError, match="malformed header"):
        parse_header(b"\x00\x00\x00\x05\x00\x00\x00\x10" + b"\x00" * 8)
    with pytest.raises(RpmdbError, match="truncated"):
        parse_header(b"\x00\x00")


def test_package_diff_names_changed_added_and_removed_as_oc() -> None:
    difference = diff_packages({"a": "1-1", "b": "1-1", "c": "2:1-1"}, {"a": "1-2", "c": "2:1-1", "d": "3-1"})
    assert difference.as_dict() == {"changed": {"a": {"old": "1-1", "new": "1-2"}}, "added": {"d": "3-1"},
                                    "removed": {"b": "1-1"}}
    assert difference.text() == "Changed:\n  a 1-1 → 1-2\nRemoved:\n  b 1-1\nAdded:\n  d 3-1\n"
    assert Package("p", "0", "1", "2", "x86_64").evr == "1-2"
    assert Package("p", "3", "1", "2", "x86_64").evr == "3:1-2"


# == end to end: real repositories, images, releases ==================================================

RPMDB = "usr/share/rpm/rpmdb.sqlite"
BUILT_AT = {"SOURCE_DATE_EPOCH": "1704067200"}  # releases built at fixed times: 2024-01-01 (old), 2024-02-10 (new)


class Loop:
    """Two releases built with `new` from the sample: `old` and `new` differ in prometheus and prometheus-operator
    (one repository, merge commits), console (squash merges, over git daemon), machine-os-content (packages) and
    cli (rebuilt, same commit)."""

    def __init__(self, sources: Sources, old: str, new: str, host: str, os_layers: dict[str, str]) -> None:
        self.sources, self.old, self.new, self.host, self.os_layers = sources, old, new, host, os_layers


def _offline_github(monkeypatch: pytest.MonkeyPatch, root: Path) -> None:
    """The sample's sources are github.com URLs: git is pointed at an empty local directory instead, so no test
    ever reaches the network (a clone of one fails at once, as one would without network)."""
    monkeypatch.setenv("GIT_CONFIG_COUNT", "1")
    monkeypatch.setenv("GIT_CONFIG_KEY_0", f"url.file://{root}/offline-github/.insteadOf")
    monkeypatch.setenv("GIT_CONFIG_VALUE_0", "https://github.com/")


@pytest.fixture(scope="module")
def loop(sample_release, plain_registries_module, tmp_path_factory: pytest.TempPathFactory):
    if shutil.which("rpmbuild") is None:
        pytest.fail("rpmbuild is missing: dev/setup installs Debian's rpm package")
    work = tmp_path_factory.mktemp("loop")
    port = free_port()
    sources = make_sources(work / "repos", port)
    registries, host = plain_registries_module, sample_release.host
    old_db, new_db = rpm_database(work / "rpm-old", OS_OLD), rpm_database(work / "rpm-new", OS_NEW)
    sample = read_release(sample_release.release).payload.image_references
    cli_labels = dict(sample.tag("cli").annotations)

    def images(monitoring: str, console: str, db: Path, os_version: str, flavour: str) -> list[str]:
        def program(path: str) -> list[list[LayerEntry]]:
            return [[LayerEntry.file(path, f"{path} {flavour}\n".encode(), 0o755)]]

        os_image = push_component(registries, host, "history/machine-os", flavour, os_labels(os_version), [
            [LayerEntry.file("etc/os-release", b"NAME=Fedora CoreOS\n")],
            [LayerEntry.directory("usr/share/rpm/"), LayerEntry.file(RPMDB, db.read_bytes())],
            [LayerEntry.file(f"etc/motd-{flavour}", b"hello\n")],
        ])
        return [
            "prometheus=" + push_component(registries, host, "history/prometheus", flavour,
                                           source_labels(sources.monitoring_url, monitoring), program("bin/prometheus")),
            "prometheus-operator=" + push_component(registries, host, "history/prometheus-operator", flavour,
                                                    source_labels(sources.monitoring_url, monitoring), program("bin/operator")),
            "console=" + push_component(registries, host, "history/console", flavour,
                                        source_labels(sources.console_url, console), program("bin/bridge")),
            "cli=" + push_component(registries, host, "history/cli", flavour, cli_labels, program("usr/bin/oc")),
            "machine-os-content=" + os_image,
        ]

    old_images = images(sources.monitoring_old, sources.console_old, old_db, "39.20240101.3-0", "old")
    new_images = images(sources.monitoring_new, sources.console_new, new_db, "39.20240210.0-0", "new")
    old = pushed_release(run_cli("new", "--insecure", "--from-release", sample_release.release, "--name", "4.15.1",
                                 "--to-image", f"{host}/history/release:4.15.1", *old_images, env=BUILT_AT),
                         f"{host}/history/release")
    new = pushed_release(run_cli("new", "--insecure", "--from-release", old, "--name", "4.15.2", "--previous", "4.15.1",
                                 "--to-image", f"{host}/history/release:4.15.2", *new_images,
                                 env={"SOURCE_DATE_EPOCH": "1707523200"}),
                         f"{host}/history/release")
    with git_daemon(sources.root, port):
        yield Loop(sources, old, new, host, {})


@pytest.fixture
def offline(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    _offline_github(monkeypatch, tmp_path)


def _head(clone: Path) -> str:
    return subprocess.run(["git", "rev-parse", "HEAD"], cwd=clone, capture_output=True, text=True, check=True).stdout.strip()


def test_extract_git_clones_each_repository_once_and_checks_out_the_release_commit(loop: Loop, tmp_path: Path,
                                                                                  offline: None) -> None:
    sources = loop.sources
    result = run_cli("extract", "--insecure", "--git", str(tmp_path / "src"), loop.new)
    monitoring = tmp_path / "src" / str(sources.root).lstrip("/") / "monitoring"
    console = tmp_path / "src" / f"127.0.0.1:{sources.console_url.split(':')[2].split('/')[0]}" / "console"
    assert f"{monitoring}\n" in result.stdout and f"{console}\n" in result.stdout, result.output
    assert result.stdout.count(str(monitoring)) == 1  # two images, one repository: one clone
    assert _head(monitoring) == sources.monitoring_new
    assert _head(console) == sources.console_new
    assert (monitoring / "scrape.go").read_text() == "x\n"  # a work tree, at that commit
    # the sample's github.com sources cannot be reached here: each is one error line, and the exit status says so
    errors = [line for line in result.stderr.splitlines() if line.startswith("error: ")]
    assert errors and all(line.startswith("error: https://github.com/openshift/") for line in errors), result.stderr
    assert result.returncode == 1
    assert "Traceback" not in result.stderr


def test_extract_git_reuses_a_clone_and_fetches_only_commits_it_lacks(loop: Loop, tmp_path: Path, offline: None) -> None:
    sources = loop.sources
    target = tmp_path / "src"
    run_cli("extract", "--insecure", "--git", str(target), loop.old)
    monitoring = target / str(sources.root).lstrip("/") / "monitoring"
    assert _head(monitoring) == sources.monitoring_old
    (monitoring / "my-change.txt").write_text("a contributor's work in progress\n")
    marker = (monitoring / ".git").stat().st_ino
    result = run_cli("extract", "--insecure", "--git", str(target), loop.new)
    assert f"{monitoring}\n" in result.stdout, result.output
    assert (monitoring / ".git").stat().st_ino == marker  # the same clone, not a new one
    assert _head(monitoring) == sources.monitoring_new
    assert (monitoring / "my-change.txt").read_text() == "a contributor's work in progress\n"


def test_extract_git_output_commit_prints_clone_and_commit_without_checking_out(loop: Loop, tmp_path: Path,
                                                                              offline: None) -> None:
    sources = loop.sources
    result = run_cli("extract", "--insecure", "--git", str(tmp_path), "-o", "commit", loop.new)
    monitoring = tmp_path / str(sources.root).lstrip("/") / "monitoring"
    assert f"{monitoring} {sources.monitoring_new}\n" in result.stdout, result.output
    assert not (monitoring / ".git").exists()  # still the bare clone oc makes: nothing checked out
    assert subprocess.run(["git", "cat-file", "-e", f"{sources.monitoring_new}^{{commit}}"], cwd=monitoring).returncode == 0


def test_extract_output_without_git_is_a_usage_error() -> None:
    result = run_cli("extract", "-o", "commit", "example.com/okd/release:1")
    assert (result.returncode, result.stderr) == (1, "error: --output is only supported with --git\n")


def test_extract_git_refuses_a_directory_in_the_way_and_leaves_it_alone(loop: Loop, tmp_path: Path,
                                                                       offline: None) -> None:
    monitoring = tmp_path / str(loop.sources.root).lstrip("/") / "monitoring"
    monitoring.mkdir(parents=True)
    (monitoring / "precious.txt").write_text("mine\n")
    result = run_cli("extract", "--insecure", "--git", str(tmp_path), loop.new)
    assert f"error: {loop.sources.monitoring_url}: cloning {loop.sources.monitoring_url}:" in result.stderr
    assert (monitoring / "precious.txt").read_text() == "mine\n"
    assert sorted(p.name for p in monitoring.iterdir()) == ["precious.txt"]


def _expected_changelog(loop: Loop, new_digest: str) -> str:
    s = loop.sources
    cli = read_release(loop.new).payload.image_references.tag("cli")
    os_image = read_release(loop.new).payload.image_references.tag("machine-os-content")
    assert cli and os_image
    cli_commit = cli.annotations[ANNOTATION_COMMIT]
    return (
        f"# 4.15.2\n\nCreated: 2024-02-10 00:00:00 +0000 UTC\n\nImage Digest: `{new_digest}`\n\n"
        f"Promoted from {loop.old}\n\n"
        "\n## Changes from 4.15.1\n\n"
        "### Components\n\n"
        "* Kubernetes 1.28.3\n"
        "* Fedora CoreOS upgraded from 39.20240101.3-0 to 39.20240210.0-0\n\n\n"
        "### Rebuilt images without code change\n\n"
        f"* [cli](https://github.com/openshift/cli) git [{cli_commit[:8]}](https://github.com/openshift/cli/commit/{cli_commit})"
        f" `{cli.pullspec.split('@')[1]}`\n"
        f"* machine-os-content `{os_image.pullspec.split('@')[1]}`\n\n\n"
        "### console\n\n"
        "* Update dependencies (#102) #102\n"
        "* [OCPBUGS-1](https://issues.redhat.com/browse/OCPBUGS-1): fix login redirect (#101) #101\n"
        f"* {s.console_url} from {s.console_old[:8]} to {s.console_new[:8]}\n\n\n"
        "### prometheus, prometheus-operator\n\n"
        "* [NE-3](https://issues.redhat.com/browse/NE-3), [OCPBUGS-17](https://issues.redhat.com/browse/OCPBUGS-17):"
        " faster scrape #13\n"
        "* [Bug 2001](https://bugzilla.redhat.com/show_bug.cgi?id=2001): fix &lt;alert&gt; routing #12\n"
        "* And 1 elided commits (e.g. from squash or rebase merges)\n"
        f"* {s.monitoring_url} from {s.monitoring_old[:8]} to {s.monitoring_new[:8]}\n\n\n"
    )


def test_changelog_lists_the_pull_requests_per_component_as_oc_writes_it(loop: Loop, tmp_path: Path) -> None:
    result = run_cli("info", "--insecure", "--changelog", str(tmp_path / "git"), "--changes-from", loop.old, loop.new)
    assert result.returncode == 0, result.output
    assert result.stdout == _expected_changelog(loop, loop.new.split("@")[1])


def test_changelog_json_carries_the_same_as_data(loop: Loop, tmp_path: Path) -> None:
    result = run_cli("info", "--insecure", "--changelog", str(tmp_path), "-o", "json", loop.old, loop.new)
    assert result.returncode == 0, result.output
    document = json.loads(result.stdout)
    assert {k: document["from"][k] for k in ("name", "created", "digest")} == {
        "name": "4.15.1", "created": "2024-01-01T00:00:00Z", "digest": loop.old.split("@")[1]}
    assert document["to"]["promotedFrom"] == loop.old
    assert document["components"] == [{"name": "Kubernetes", "version": "1.28.3"},
                                      {"name": "Fedora CoreOS", "version": "39.20240210.0-0", "from": "39.20240101.3-0"}]
    assert [i["name"] for i in document["rebuiltImages"]] == ["cli", "machine-os-content"]
    assert "featureGates" not in document and "newImages" not in document  # as oc's ChangeLog: empty is left out
    console, monitoring = document["updatedImages"]
    assert console["name"] == "console" and console["path"] == ""
    assert [(c["pullID"], c["subject"], c.get("issues")) for c in console["commits"]] == [
        (102, "Update dependencies (#102)", None),
        (101, "fix login redirect (#101)", {"OCPBUGS-1": "https://issues.redhat.com/browse/OCPBUGS-1"})]
    assert monitoring["name"] == "prometheus, prometheus-operator" and monitoring["elidedCommits"] == 1
    assert monitoring["commits"][1] == {
        "bugs": {"2001": "https://bugzilla.redhat.com/show_bug.cgi?id=2001"}, "subject": "fix &lt;alert&gt; routing",
        "pullID": 12, "commitDate": "2023-11-14T22:26:20Z"}  # oc's document for the same repository says the same


def test_bugs_lists_each_bug_reference_once_without_contacting_a_tracker(loop: Loop, tmp_path: Path) -> None:
    result = run_cli("info", "--insecure", "--bugs", str(tmp_path), "--changes-from", loop.old, loop.new)
    assert (result.returncode, result.stdout) == (0, "2001\nOCPBUGS-1\nOCPBUGS-17\n"), result.output
    as_json = run_cli("info", "--insecure", "--bugs", str(tmp_path), "--skip-bug-check", "-o", "json", loop.old, loop.new)
    assert json.loads(as_json.stdout) == [
        {"id": "2001", "status": "", "priority": "", "summary": "", "source": 0},
        {"id": "OCPBUGS-1", "status": "", "priority": "", "summary": "", "source": 1},
        {"id": "OCPBUGS-17", "status": "", "priority": "", "summary": "", "source": 1}]


@pytest.mark.parametrize(("args", "message"), [
    (["--changelog", "d", "R"], "--changelog/--bugs/--rpmdb-diff require --changes-from"),
    (["--changelog", "d", "--bugs", "d", "--changes-from", "A", "R"], "--changelog/--bugs/--rpmdb-diff are mutually exclusive"),
    (["--changelog", "d", "-o", "yaml", "A", "R"], "--output only supports 'json' for --changelog"),
    (["--bugs", "d", "-o", "yaml", "A", "R"], "--output only supports 'name' or 'json' for --bugs"),
    (["--skip-bug-check", "R"], "--skip-bug-check requires --bugs"),
    (["--rpmdb", "R"], "--rpmdb/--rpmdb-diff require --rpmdb-cache"),
    (["--rpmdb", "--rpmdb-diff", "--rpmdb-cache", "c", "A", "R"], "--rpmdb/--rpmdb-diff are mutually exclusive"),
    (["--rpmdb-image", "x", "R"], "--rpmdb-cache and --rpmdb-image are used by --rpmdb or --rpmdb-diff"),
])
def test_history_flags_are_checked_as_oc_checks_them(args: list[str], message: str) -> None:
    result = run_cli("info", *args)
    assert (result.returncode, result.stderr) == (1, f"error: {message}\n")


def test_changelog_of_identical_releases_is_an_error(loop: Loop, tmp_path: Path) -> None:
    result = run_cli("info", "--insecure", "--changelog", str(tmp_path), loop.new, loop.new)
    assert (result.returncode, result.stderr) == (1, "error: releases are identical\n")


def test_changelog_names_a_commit_the_repository_does_not_have_and_still_prints_the_rest(loop: Loop, tmp_path: Path,
                                                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    # the console repository is rewritten after the releases were built: the release's commit is gone
    broken = tmp_path / "broken"
    subprocess.run(["git", "init", "--quiet", "--bare", str(broken)], check=True)
    monkeypatch.setenv("GIT_CONFIG_COUNT", "1")
    monkeypatch.setenv("GIT_CONFIG_KEY_0", f"url.file://{broken}.insteadOf")
    monkeypatch.setenv("GIT_CONFIG_VALUE_0", loop.sources.console_url)
    result = run_cli("info", "--insecure", "--changelog", str(tmp_path / "git"), loop.old, loop.new)
    assert result.returncode == 1
    assert "### prometheus, prometheus-operator\n" in result.stdout and "### console" not in result.stdout
    assert result.stderr.startswith(f"error: could not load commits for {loop.sources.console_url}: ")
    assert len(result.stderr.splitlines()) == 1


# -- rpm databases -----------------------------------------------------------------------------------
def test_rpmdb_lists_the_os_image_packages_read_from_its_layers(loop: Loop, tmp_path: Path) -> None:
    result = run_cli("info", "--insecure", "--rpmdb", "--rpmdb-cache", str(tmp_path), loop.old)
    assert result.returncode == 0, result.output
    assert result.stdout == ("Package contents:\n  bash-5.2.15-1.fc39\n  kernel-6.5.6-300.fc39\n"
                             "  oldtool-1.0-1.fc39\n  openssl-1:3.1.1-4.fc39\n")
    # what `rpm -qa` says of the same database, through Debian's rpm: the same packages
    as_json = run_cli("info", "--insecure", "--rpmdb", "--rpmdb-cache", str(tmp_path), "-o", "json", loop.old)
    assert json.loads(as_json.stdout) == {"bash": "5.2.15-1.fc39", "kernel": "6.5.6-300.fc39",
                                          "oldtool": "1.0-1.fc39", "openssl": "1:3.1.1-4.fc39"}


def test_rpm_headers_parse_as_rpm_reads_them(tmp_path: Path) -> None:
    from okd_release.release.history.rpmdb import read_database

    database = rpm_database(tmp_path, OS_NEW)
    queried = subprocess.run(["rpm", "-qa", "--dbpath", str(database.parent), "--qf",
                              "%{name} %{epoch} %{version} %{release} %{arch}\\n"],
                             capture_output=True, text=True, check=True).stdout
    expected = sorted(tuple(line.replace("(none)", "0", 1).split()) for line in queried.splitlines())
    assert sorted((p.name, p.epoch, p.version, p.release, p.arch) for p in read_database(database, "db")) == expected


def test_rpmdb_diff_names_changed_removed_and_added_packages(loop: Loop, tmp_path: Path) -> None:
    result = run_cli("info", "--insecure", "--rpmdb-diff", "--rpmdb-cache", str(tmp_path), "--changes-from", loop.old,
                     loop.new)
    assert result.returncode == 0, result.output
    assert result.stdout == ("Changed:\n  kernel 6.5.6-300.fc39 → 6.6.1-200.fc39\n  openssl 1:3.1.1-4.fc39 → 1:3.1.4-1.fc39\n"
                             "Removed:\n  oldtool 1.0-1.fc39\nAdded:\n  newtool 2.0-1.fc39\n")


def test_rpmdb_cache_holds_each_layer_once_and_is_used_again(loop: Loop, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    run_cli("info", "--insecure", "--rpmdb", "--rpmdb-cache", str(cache), loop.new)
    entries = sorted(p.name for p in cache.iterdir())
    # top-down: the motd layer (no database), then the database layer; the base layer is never read
    assert len(entries) == 2 and all(e.startswith("sha256_") and e.endswith(".json") for e in entries), entries
    # a cached entry is believed: the listing comes from the cache, not the registry
    for entry in cache.iterdir():
        document = json.loads(entry.read_text())
        if document["found"]:
            document["found"][RPMDB] = [["cached-only", "0", "1", "1", "noarch"]]
            entry.write_text(json.dumps(document))
    again = run_cli("info", "--insecure", "--rpmdb", "--rpmdb-cache", str(cache), loop.new)
    assert again.stdout == "Package contents:\n  cached-only-1-1\n"


def test_rpmdb_of_an_image_without_a_database_is_one_clear_error(loop: Loop, tmp_path: Path) -> None:
    result = run_cli("info", "--insecure", "--rpmdb", "--rpmdb-cache", str(tmp_path), "--rpmdb-image", "console", loop.new)
    assert result.returncode == 1
    assert result.stderr.startswith("error: image console (") and "has no rpm database" in result.stderr
    assert len(result.stderr.splitlines()) == 1


def test_rpmdb_diff_of_an_unchanged_image_says_so(loop: Loop, tmp_path: Path) -> None:
    result = run_cli("info", "--insecure", "--rpmdb-diff", "--rpmdb-cache", str(tmp_path), "--rpmdb-image", "hyperkube",
                     loop.old, loop.new)
    assert (result.returncode, result.stdout) == (0, "Releases have the same hyperkube image.\n")
    as_json = run_cli("info", "--insecure", "--rpmdb-diff", "--rpmdb-cache", str(tmp_path), "--rpmdb-image", "hyperkube",
                      "-o", "json", loop.old, loop.new)
    assert as_json.stdout == "{}\n"


def test_a_github_source_gets_oc_links_to_the_tree_pull_requests_commits_and_full_changelog() -> None:
    from okd_release.release.history.changelog import RepositoryLog, markdown
    from okd_release.release.history.commits import MergeLog

    repo = "https://github.com/openshift/console"
    change = CodeChange(repo, "a" * 40, "b" * 40, (), ("console",))
    commits = (MergeCommit("c" * 40, (), EPOCH_1, 7, (Ref("1", B),), "fix"), MergeCommit("d" * 40, (), EPOCH_1, 0, (), "x"))
    side = ReleaseSide("4.2", "sha256:" + "b" * 64)
    text = markdown(ReleaseSide("4.1", "sha256:" + "a" * 64), side, ContentChanges((change,), (), (), (), ()),
                    [RepositoryLog(change, parse_source(repo), MergeLog(commits, 2))])
    assert text.endswith(
        f"### [console](https://github.com/openshift/console/tree/{'b' * 40})\n\n"
        "* [Bug 1](https://bugzilla.redhat.com/show_bug.cgi?id=1): fix [#7](https://github.com/openshift/console/pull/7)\n"
        "* x [dddddddd](https://github.com/openshift/console/commit/dddddddd)\n"
        "* And 2 elided commits (e.g. from squash or rebase merges)\n"
        f"* [Full changelog](https://github.com/openshift/console/compare/{'a' * 40}...{'b' * 40})\n\n\n")


def test_the_demo_walks_the_loop_from_source_to_changelog(sample_release, tmp_path: Path,
                                                          capsys: pytest.CaptureFixture[str]) -> None:
    from okd_release.cli.demo_loop import contributor_loop

    def run(*args: str, show_lines: int = 40) -> str:
        result = run_cli(*args)
        assert result.returncode == 0, result.output
        print(result.stdout)
        return result.stdout.strip()

    contributor_loop(run, tmp_path, sample_release.host, sample_release.release)
    shown = capsys.readouterr().out
    assert "* [OCPBUGS-42](https://issues.redhat.com/browse/OCPBUGS-42): fix the login redirect #42\n" in shown
    assert shown.rstrip().endswith("OCPBUGS-42")  # the --bugs step


def test_rpmdb_streams_a_large_layer_with_bounded_memory(loop: Loop, sample_release, plain_registries_module,
                                                         tmp_path: Path) -> None:
    from tests.conftest import measure_cli_process

    filler = tmp_path / "filler"
    with open(filler, "wb") as handle:
        for _ in range(100):  # held in memory, it would take the process well past the bound below
            handle.write(os.urandom(1 << 20))
    database = rpm_database(tmp_path / "rpm", OS_NEW)
    image = push_component(plain_registries_module, sample_release.host, "history/big-os", "v1", os_labels("39.1.0-0"), [
        [LayerEntry.directory("usr/share/rpm/"), LayerEntry.file(RPMDB, database.read_bytes())],
        [LayerEntry("usr/share/big/filler.bin", source=filler)],  # on top: streamed through, not held
    ])
    filler.unlink()
    release = pushed_release(run_cli("new", "--insecure", "--from-release", loop.new, "--to-image",
                                     f"{sample_release.host}/history/release:big-os", f"machine-os-content={image}"),
                             f"{sample_release.host}/history/release")
    code, stderr, peak_mb = measure_cli_process("info", "--insecure", "--rpmdb", "--rpmdb-cache", str(tmp_path / "c"),
                                                release)
    assert code == 0, stderr
    print(f"info --rpmdb through a 100 MB layer: peak RSS {peak_mb:.0f} MB")
    assert peak_mb < 120, f"peak RSS {peak_mb:.0f} MB for a 100 MB layer"


def test_extract_git_from_a_payload_directory_shares_one_clone_between_spellings_of_a_repository(tmp_path: Path) -> None:
    from tests.history_repos import Repo

    upstream = Repo(tmp_path / "up" / "tool")
    commit = upstream.commit("main.go", "package main\n", "Tool (#1)")
    payload = tmp_path / "payload"
    payload.mkdir()
    tags = [{"name": name, "from": {"kind": "DockerImage", "name": "example.com/x@sha256:" + digit * 64},
             "annotations": {ANNOTATION_SOURCE: location, ANNOTATION_COMMIT: commit}}
            for name, digit, location in (("a", "1", f"file://{upstream.path}"), ("b", "2", f"file://{upstream.path}.git"))]
    tags.append({"name": "c", "from": {"kind": "DockerImage", "name": "example.com/x@sha256:" + "3" * 64}})
    (payload / "image-references").write_text(json.dumps({
        "kind": "ImageStream", "apiVersion": "image.openshift.io/v1", "metadata": {"name": "4.15.0"}, "spec": {"tags": tags}}))
    (tmp_path / "up" / "tool.git").symlink_to(upstream.path)
    result = run_cli("extract", "--git", str(tmp_path / "src"), "--from-dir", str(payload))
    clone = tmp_path / "src" / str(upstream.path).lstrip("/")
    assert (result.returncode, result.stdout) == (0, f"{clone}\n{clone}\n"), result.output
    assert result.stderr == "warning: Tag c has no source info\n"
    assert _head(clone) == commit
