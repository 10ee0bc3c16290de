"""The pull requests merged between two commits of a repository, read from `git log` as oc's mergeLogForRepo.

Merge commits on the first-parent line (`Merge pull request #N from ...`) are the pull requests; their
title is the first line of the merge's body. A repository that squash-merges has no merges: then every
commit whose subject ends in `(#N)` is one. Commits on the first-parent line that are not merges are
counted, not listed ("elided").
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

from msgspec import Struct

from okd_release.release.history.bugs import Ref, extract_refs
from okd_release.release.history.git import GitError, Repository, check_commit

_SQUASHED_PR = re.compile(r"[(]#(\d+)[)]", re.ASCII)
_MERGED_PR = re.compile(r"^Merge pull request #(\d+) from", re.ASCII)
_FORMAT = "--pretty=format:%H %P%x1E%ct%x1E%s%x1E%b"


class MergeCommit(Struct, frozen=True):
    """One pull request as it reached the branch: its (merge) commit, date, number, references and title."""

    commit: str
    parents: tuple[str, ...]
    date: datetime
    pull_request: int
    refs: tuple[Ref, ...]
    subject: str


class MergeLog(Struct, frozen=True):
    """The pull requests between two commits, newest first, and how many other commits were not listed."""

    commits: tuple[MergeCommit, ...]
    elided: int = 0


def parse_log(output: str, squash: bool) -> tuple[MergeCommit, ...]:
    """Parse `git log -z --pretty=format:%H %P%x1E%ct%x1E%s%x1E%b` output; commits without a PR number are left out."""
    if not output:
        return ()
    found = []
    for entry in output.split("\x00"):
        records = entry.split("\x1e")
        if len(records) != 4:
            raise GitError(f"unexpected git log output width {len(records)} columns")
        try:
            date = datetime.fromtimestamp(int(records[1]), UTC)
        except (ValueError, OverflowError, OSError):
            raise GitError(f"unexpected timestamp {records[1]!r} in git log output") from None
        ids = records[0].split(" ")
        refs, message = extract_refs(records[2] if squash else records[3])
        message = message.strip().split("\n", 1)[0]
        number = (_SQUASHED_PR.search if squash else _MERGED_PR.match)(records[2])
        if number is None:
            continue
        found.append(MergeCommit(ids[0], tuple(ids[1:]), date, int(number.group(1)), refs, message or "Merge"))
    return tuple(found)


def merge_log(repository: Repository, location: str, old: str, new: str) -> MergeLog:
    """The pull requests merged after `old` up to `new` (the clone is fetched when it lacks either commit)."""
    if old == new:
        return MergeLog(())
    check_commit(old)
    check_commit(new)
    repository.ensure_commits(location, [old, new])
    span = f"{old}..{new}"
    merges = repository.git("log", "--merges", "--topo-order", "--first-parent", "-z", _FORMAT, span,
                            what=f"reading the history of {location}")
    if not merges:  # a squash-merging repository: its pull requests are ordinary commits
        others = repository.git("log", "--no-merges", "--topo-order", "-z", _FORMAT, span,
                                what=f"reading the history of {location}")
        return MergeLog(parse_log(others, squash=True))
    plain = repository.git("log", "--no-merges", "--first-parent", "-z", "--format=%H", span,
                           what=f"reading the history of {location}")
    return MergeLog(parse_log(merges, squash=False), plain.count("\x00"))
