"""The sources of a release's images as git clones: DIR/<host>/<path> for each repository, as oc lays them out.

We drive the `git` command-line tool rather than a binding: it is what contributors use on these clones
afterwards, it speaks every transport and credential helper they have configured, partial clones
(`--filter=blob:none`) keep the history without the blobs, and oc's layout and remote names are git's own.

A source location comes from a release (untrusted): it is parsed and checked before it becomes a path or a
`git` argument, and git may only use the file, git, http(s) and ssh transports.
"""

from __future__ import annotations

import base64
import hashlib
import os
import posixpath
import re
import subprocess
from collections.abc import Iterable
from pathlib import Path
from urllib.parse import urlsplit

from msgspec import Struct

from okd_release import names
from okd_release.errors import OkdReleaseError

ALLOWED_SCHEMES = ("https", "http", "git", "ssh", "file")
_SCP_LIKE = re.compile(r"^([a-zA-Z0-9\-_]+)@([^:]+):(.+)$")
"""`git@github.com:openshift/oc.git`, which oc reads as git://git@github.com/openshift/oc.git."""
_GIT_TIMEOUT = 3600.0


class GitError(OkdReleaseError):
    """A git operation failed, or `git` is not installed; the message is git's own, on one line."""


class SourceError(GitError):
    """A source location (io.openshift.build.source-location) that cannot be cloned safely."""


class SourceLocation(Struct, frozen=True):
    """A parsed source location: `host` (with port; empty for file://) and `path` (cleaned, without `.git`)."""

    text: str
    scheme: str
    host: str
    path: str

    @property
    def is_github(self) -> bool:
        return self.host == "github.com"

    @property
    def web(self) -> str:
        """The repository's web address as oc forms its links (`https://<host><path>`)."""
        return f"https://{self.host}{self.path}"

    def commit_url(self, commit: str) -> str:
        """A link to a commit on GitHub, else `<location> <commit>` (as oc's --commit-urls)."""
        return f"https://github.com{self.path}/commit/{commit}" if self.is_github else f"{self.text} {commit}"


def parse_source(location: str) -> SourceLocation:
    """Parse a source location as oc does (scp-like `user@host:path` included), refusing what is unsafe to clone."""
    if not location or location != location.strip() or location.startswith("-") or "\x00" in location:
        raise SourceError(f"invalid source location {names.shown(location)}")
    scp = _SCP_LIKE.match(location)
    if scp:
        scheme, host, raw_path = "ssh", scp.group(2), scp.group(3)
    else:
        parts = urlsplit(location)
        scheme, host, raw_path = parts.scheme.lower(), parts.netloc.rpartition("@")[2], parts.path
        if scheme not in ALLOWED_SCHEMES:
            raise SourceError(f"source location {names.shown(location)}: only {', '.join(ALLOWED_SCHEMES)} "
                              "URLs (or user@host:path) are cloned")
    if host and not names.HOST.fullmatch(host):
        raise SourceError(f"source location {names.shown(location)}: invalid host {names.shown(host)}")
    if not host and scheme != "file":
        raise SourceError(f"source location {names.shown(location)} names no host")
    # Go's path.Clean: a rooted path cannot climb above its root; a relative one (user@host:../x) could
    path = posixpath.normpath(raw_path.removesuffix(".git"))
    parts_of_path = [p for p in path.split("/") if p]
    if not parts_of_path or any(p in (".", "..") for p in parts_of_path):
        raise SourceError(f"source location {names.shown(location)}: its path leaves the clone directory")
    return SourceLocation(location, scheme, host, "/" + "/".join(parts_of_path))


def clone_path(root: Path, location: str) -> Path:
    """oc's sourceLocationAsRelativePath: DIR/<host>/<path without .git>, always inside `root`."""
    source = parse_source(location)
    parts = [p for p in source.path.split("/") if p]
    for part in parts:
        names.check_path_component(part, "path component of the source location")
    return root.joinpath(*([source.host] if source.host else []), *parts)


def remote_name(location: str) -> str:
    """oc's remote name for a repository (`up-` and 10 characters of its MD5), so clones are shared with oc."""
    digest = hashlib.md5(location.encode(), usedforsecurity=False).digest()
    return "up-" + base64.urlsafe_b64encode(digest).decode().rstrip("=")[:10]


def _environment() -> dict[str, str]:
    environment = dict(os.environ)
    environment.update({
        "GIT_TERMINAL_PROMPT": "0",  # never wait for a password on a terminal nobody watches
        "GIT_ALLOW_PROTOCOL": "file:git:http:https:ssh",  # no ext:: (runs commands) nor any other helper
        "LC_ALL": "C",  # git's messages as we match them
    })
    return environment


def run_git(*args: str, cwd: Path | None = None, what: str = "") -> str:
    """Run git and return its output; a failure is a GitError with git's message on one line."""
    try:
        completed = subprocess.run(["git", *args], cwd=cwd, capture_output=True, env=_environment(),
                                   timeout=_GIT_TIMEOUT, check=False)
    except FileNotFoundError:
        raise GitError("git is not installed (it is needed to read the sources of a release)") from None
    except subprocess.TimeoutExpired:
        raise GitError(f"{what or 'git ' + args[0]}: git did not finish within {_GIT_TIMEOUT:.0f}s") from None
    if completed.returncode != 0:
        message = " ".join(completed.stderr.decode(errors="replace").split()).removeprefix("fatal: ")
        raise GitError(f"{what or 'git ' + args[0]}: {message or f'exit status {completed.returncode}'}")
    return completed.stdout.decode(errors="replace")


class Repository(Struct, frozen=True):
    """A clone under the sources directory (bare until a commit is checked out in it)."""

    path: Path

    def git(self, *args: str, what: str = "") -> str:
        return run_git(*args, cwd=self.path, what=what or f"git {args[0]} in {self.path}")

    def has_commit(self, commit: str) -> bool:
        try:
            self.git("cat-file", "-e", f"{commit}^{{commit}}")
        except GitError:
            return False
        return True

    def remotes(self) -> set[str]:
        return set(self.git("remote").split())

    def ensure_remote(self, location: str) -> bool:
        """Add `location` as a remote (oc's name for it) and fetch it; False when it was there already."""
        name = remote_name(location)
        if name in self.remotes():
            return False
        self.git("remote", "add", name, "--", location)
        self.fetch(location)
        return True

    def fetch(self, location: str) -> None:
        self.git("fetch", "--quiet", "--filter=blob:none", remote_name(location), what=f"fetching {location}")

    def ensure_commits(self, location: str, commits: Iterable[str]) -> None:
        """Fetch `location` when the clone lacks any of `commits`; a commit still missing then is a GitError."""
        wanted = [c for c in commits if c]
        for commit in wanted:
            check_commit(commit)
        if all(self.has_commit(c) for c in wanted):
            return
        if not self.ensure_remote(location):  # a new remote is fetched as it is added
            self.fetch(location)
        missing = [c for c in wanted if not self.has_commit(c)]
        if missing:
            raise GitError(f"could not find commit {missing[0]} in {location}")

    @property
    def bare(self) -> bool:
        return self.git("rev-parse", "--is-bare-repository").strip() == "true"

    def checkout(self, location: str, commit: str) -> None:
        """Check out `commit` (detached), turning a bare clone into a work tree first, as oc does.

        git refuses to overwrite local changes, so a contributor's edits in the clone are never lost.
        """
        self.ensure_commits(location, [commit])
        if self.bare:
            self._to_work_tree()
        self.git("checkout", "--quiet", "--detach", commit, what=f"checking out {commit} in {self.path}")

    def _to_work_tree(self) -> None:
        git_dir = self.path / ".git"
        git_dir.mkdir()
        for entry in sorted(self.path.iterdir()):
            if entry.name != ".git":
                entry.rename(git_dir / entry.name)
        self.git("config", "core.bare", "false")
        self.git("reset", "--quiet", "--hard", what=f"making {self.path} a work tree")


def check_commit(commit: str) -> str:
    """A commit id from a release: hexadecimal, so that git never reads it as an option or a revision expression."""
    if not re.fullmatch(r"[0-9a-fA-F]{4,64}", commit):
        raise SourceError(f"invalid commit id {names.shown(commit)}")
    return commit


def _is_own_repository(path: Path) -> bool:
    """Whether `path` itself is a clone (bare, or with .git), not merely a directory inside another work tree."""
    try:
        git_dir = run_git("rev-parse", "--absolute-git-dir", cwd=path).strip()
    except GitError:
        return False
    return Path(git_dir).resolve() in (path.resolve(), (path / ".git").resolve())


def ensure_clone(root: Path, location: str, alternates: Iterable[str] = ()) -> Repository:
    """The clone of `location` under `root`: cloned (bare, blobs on demand) when absent, else reused as it is.

    `alternates` (the same code under an older location) are added as remotes of the same clone, so a
    repository is cloned once. A directory that exists and is not a clone is never written over: git refuses.
    """
    path = clone_path(root, location)
    if path.exists() and not path.is_dir():
        raise GitError(f"{path} exists and is not a directory")
    path.mkdir(parents=True, exist_ok=True)
    repository = Repository(path)
    if not _is_own_repository(path):
        run_git("clone", "--quiet", "--bare", "--filter=blob:none", f"--origin={remote_name(location)}",
                "--", location, str(path), what=f"cloning {location}")
    else:
        repository.ensure_remote(location)
    for other in alternates:
        if other != location:
            parse_source(other)
            repository.ensure_remote(other)
    return repository
