"""What the contributor's-loop tests build for real: git repositories with PR-style history, a `git daemon`
serving them on loopback, component images labelled with their sources, OS images holding an rpm database
made by Debian's rpm tools, and releases built from them by `okd-release new`.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from okd_release.image.build import image_config, push_image
from okd_release.image.layer import LayerEntry, build_layer
from okd_release.registry import Registries
from okd_release.release.payload.model import ANNOTATION_COMMIT, ANNOTATION_DISPLAY_NAMES, ANNOTATION_SOURCE, ANNOTATION_VERSIONS
from okd_release.stores import RegistryStore

GIT_ENV = {"GIT_AUTHOR_NAME": "Dev", "GIT_AUTHOR_EMAIL": "dev@example.com", "GIT_COMMITTER_NAME": "Dev",
           "GIT_COMMITTER_EMAIL": "dev@example.com", "GIT_CONFIG_NOSYSTEM": "1", "GIT_CONFIG_GLOBAL": "/dev/null"}


class Repo:
    """A repository on `main`, with commits stamped at increasing fixed times."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.clock = 1_700_000_000
        path.mkdir(parents=True)
        self.git("init", "--quiet", "--initial-branch=main")
        self.commit("README", "initial\n", "Initial commit")

    def git(self, *args: str) -> str:
        self.clock += 60
        env = {**os.environ, **GIT_ENV, "GIT_AUTHOR_DATE": f"@{self.clock} +0000",
               "GIT_COMMITTER_DATE": f"@{self.clock} +0000"}
        return subprocess.run(["git", *args], cwd=self.path, env=env, check=True, capture_output=True,
                              text=True).stdout

    def commit(self, name: str, content: str, message: str) -> str:
        (self.path / name).write_text(content)
        self.git("add", name)
        self.git("commit", "--quiet", "-m", message)
        return self.head()

    def head(self) -> str:
        return self.git("rev-parse", "HEAD").strip()

    def merge_pull_request(self, number: int, branch: str, title: str, files: dict[str, str]) -> str:
        """A GitHub-style merge: a branch with commits, merged with --no-ff and GitHub's merge message."""
        self.git("checkout", "--quiet", "-b", branch)
        for name, content in files.items():
            self.commit(name, content, f"work on {name}")
        self.git("checkout", "--quiet", "main")
        self.git("merge", "--quiet", "--no-ff", branch, "-m", f"Merge pull request #{number} from dev/{branch}",
                 "-m", title)
        return self.head()


@dataclass(frozen=True)
class Sources:
    """Two repositories: `monitoring` (merge commits; prometheus and prometheus-operator are built from it) over
    file://, and `console` (squash merges) over a git daemon. Commits: `*_old`, `*_new`, and a later `*_next`."""

    root: Path
    monitoring: Repo
    console: Repo
    monitoring_url: str
    console_url: str
    monitoring_old: str
    monitoring_new: str
    console_old: str
    console_new: str


def make_sources(root: Path, daemon_port: int) -> Sources:
    monitoring = Repo(root / "monitoring.git")
    monitoring_old = monitoring.commit("alerts.yaml", "v1\n", "Add alerts")
    monitoring.merge_pull_request(12, "fix-alerts", "Bug 2001: fix <alert> routing", {"alerts.yaml": "v2\n"})
    monitoring.commit("NOTES", "direct\n", "A commit pushed straight to main")
    monitoring.merge_pull_request(13, "scrape", "[release-4.15] OCPBUGS-17, NE-3: faster scrape", {"scrape.go": "x\n"})
    monitoring_new = monitoring.head()
    console = Repo(root / "console")
    console_old = console.commit("login.ts", "v1\n", "Console login (#100)")
    console.commit("login.ts", "v2\n", "OCPBUGS-1: fix login redirect (#101)")
    console.commit("package.json", "{}\n", "Update dependencies (#102)")
    console.commit("CHANGES", "x\n", "no pull request here")
    console_new = console.head()
    return Sources(root, monitoring, console, f"file://{root}/monitoring.git",
                   f"git://127.0.0.1:{daemon_port}/console", monitoring_old, monitoring_new, console_old, console_new)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def git_daemon(root: Path, port: int) -> Iterator[None]:
    """`git daemon` serving every repository under `root` on loopback."""
    process = subprocess.Popen(["git", "daemon", "--reuseaddr", "--export-all", f"--base-path={root}",
                                "--listen=127.0.0.1", f"--port={port}", str(root)],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline or process.poll() is not None:
                    raise RuntimeError("git daemon did not start") from None
                time.sleep(0.05)
        yield
    finally:
        process.terminate()
        process.wait(timeout=10)


# -- rpm databases --------------------------------------------------------------------------------
SPEC = """Name: {name}
Version: {version}
Release: {release}
{epoch}Summary: test package {name}
License: MIT
BuildArch: noarch
%description
A package made by the okd-release tests.
%files
"""


def rpm_database(work: Path, packages: list[tuple[str, str, str, str]]) -> Path:
    """An rpmdb.sqlite holding `packages` ((name, epoch, version, release)), built with rpmbuild and rpm --justdb."""
    top = work / "rpmbuild"
    for name, epoch, version, release in packages:
        spec = top / "SPECS" / f"{name}.spec"
        spec.parent.mkdir(parents=True, exist_ok=True)
        spec.write_text(SPEC.format(name=name, version=version, release=release,
                                    epoch=f"Epoch: {epoch}\n" if epoch != "0" else ""))
        subprocess.run(["rpmbuild", "--quiet", "-bb", "--define", f"_topdir {top}", "--define",
                        "_build_id_links none", str(spec)], check=True, capture_output=True)
    database = work / "db"
    subprocess.run(["rpm", "--initdb", "--dbpath", str(database)], check=True, capture_output=True)
    rpms = sorted(str(p) for p in (top / "RPMS" / "noarch").glob("*.rpm")
                  if any(p.name.startswith(f"{n}-{v}-{r}.") for n, _, v, r in packages))
    subprocess.run(["rpm", "-i", "--justdb", "--nodeps", "--noscripts", "--dbpath", str(database), *rpms],
                   check=True, capture_output=True)
    return database / "rpmdb.sqlite"


OS_OLD = [("bash", "0", "5.2.15", "1.fc39"), ("kernel", "0", "6.5.6", "300.fc39"), ("openssl", "1", "3.1.1", "4.fc39"),
          ("oldtool", "0", "1.0", "1.fc39")]
OS_NEW = [("bash", "0", "5.2.15", "1.fc39"), ("kernel", "0", "6.6.1", "200.fc39"), ("openssl", "1", "3.1.4", "1.fc39"),
          ("newtool", "0", "2.0", "1.fc39")]


def push_component(registries: Registries, host: str, repository: str, tag: str, labels: dict[str, str],
                   layers: list[list[LayerEntry]]) -> str:
    """Push an image with these layers and labels; its pullspec by digest."""
    work = Path(tempfile.mkdtemp(prefix="okd-history-"))
    try:
        built = [build_layer(entries, work, compresslevel=1) for entries in layers]
        config = image_config(built, labels, "2024-01-01T00:00:00Z")
        manifest = push_image(RegistryStore(registries.client(host)), repository, tag, built, config)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return f"{host}/{repository}@{manifest.digest}"


def source_labels(location: str, commit: str) -> dict[str, str]:
    return {ANNOTATION_SOURCE: location, ANNOTATION_COMMIT: commit}


def os_labels(version: str) -> dict[str, str]:
    return {ANNOTATION_VERSIONS: f"machine-os={version}", ANNOTATION_DISPLAY_NAMES: "machine-os=Fedora CoreOS"}
