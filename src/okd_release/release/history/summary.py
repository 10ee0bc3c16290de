"""What an update brings, one line per changed image (`info --summary`; beyond oc).

Each image that differs between two releases says how: its commits `old→new`, `rebuilt` (the same commit, or
none recorded, and a new digest), `moved` (the same digest at another location), `added` or `removed`. With
the clones of `--changelog DIR`, an image with new code also says how many commits, pull requests and bug
references its range holds (read as the changelog reads them); with the RPM packages of the OS image, how
many were added, removed and changed.
"""

from __future__ import annotations

import enum
import re
from pathlib import Path
from typing import Any

from msgspec import Struct

from okd_release import names
from okd_release.errors import InvalidReference, OkdReleaseError
from okd_release.reference import parse as parse_reference
from okd_release.release.history.bugs import bug_list
from okd_release.release.history.changelog import CodeChange, ReleaseSide, content_changes, display_name, read_logs
from okd_release.release.history.commits import MergeLog, merge_log
from okd_release.release.history.git import GitError, ensure_clone
from okd_release.release.history.rpmdb import RpmDiff
from okd_release.release.payload.model import ANNOTATION_COMMIT, ANNOTATION_SOURCE, ImageTag

_COMMIT = re.compile(r"[0-9a-fA-F]{4,64}")


class Change(enum.StrEnum):
    """How an image differs between the two releases."""

    CODE = "code"
    REBUILT = "rebuilt"
    MOVED = "moved"
    ADDED = "added"
    REMOVED = "removed"


class CodeHistory(Struct, frozen=True):
    """What one commit range holds: every commit (as `git rev-list --count OLD..NEW`, the number GitHub's
    compare page shows), the pull requests the changelog lists, and the bug references of their titles."""

    commits: int
    pull_requests: int
    bugs: tuple[str, ...]


class ImageSummary(Struct, frozen=True):
    """One changed image: how it changed, its commits, and what was read of its code and packages."""

    name: str
    change: Change
    repository: str = ""
    old_commit: str = ""
    new_commit: str = ""
    history: CodeHistory | None = None
    error: str = ""
    """Why the history of its code could not be read (empty when it was, or was not asked for)."""
    rpms: RpmDiff | None = None


class ReleaseSummary(Struct, frozen=True):
    """Every image that changed between `old` and `new`, in name order; `text()` and `as_dict()` print it."""

    old: ReleaseSide
    new: ReleaseSide
    images: tuple[ImageSummary, ...]

    @property
    def errors(self) -> list[str]:
        """One message per repository whose history could not be read (images sharing one name it once)."""
        return list(dict.fromkeys(image.error for image in self.images if image.error))

    def component_changes(self) -> list[tuple[str, str, str]]:
        """(display name, old version, new version) of each component version that changed, by key."""
        changed = []
        for key in sorted(self.new.versions):
            version, display = self.new.versions[key]
            before = self.old.versions.get(key)
            if before is not None and before[0] != version:
                changed.append((display_name(key, display), before[0], version))
        return changed

    def headline(self) -> str:
        counts = {kind: sum(1 for i in self.images if i.change is kind) for kind in Change}
        parts = [f"{counts[Change.CODE]} with new code"] if counts[Change.CODE] else []
        parts += [f"{counts[kind]} {kind.value}" for kind in list(Change)[1:] if counts[kind]]
        total = len(self.images)
        detail = f" ({', '.join(parts)})" if parts else ""
        return f"{self.old.name} → {self.new.name}: {total} image{'' if total == 1 else 's'} changed{detail}"

    def text(self) -> str:
        """The headline, the component versions that changed, then one aligned line per image."""
        lines = [self.headline()]
        lines += [f"{name} {before} → {after}" for name, before, after in self.component_changes()]
        rows = [(image.name, _change_column(image), _details(image)) for image in self.images]
        if rows:
            lines.append("")
            name_width = max(len(name) for name, _, _ in rows)
            change_width = max(len(change) for _, change, _ in rows)
            lines += [f"{name.ljust(name_width)}  {change.ljust(change_width)}  {details}".rstrip()
                      for name, change, details in rows]
        return "".join(f"{line}\n" for line in lines)

    def as_dict(self) -> dict[str, Any]:
        """The same as data: counts as numbers, commits in full, the bug references themselves."""
        return {
            "from": {"name": self.old.name, "digest": self.old.digest},
            "to": {"name": self.new.name, "digest": self.new.digest},
            "components": [{"name": name, "from": before, "version": after}
                           for name, before, after in self.component_changes()],
            "images": [_image_dict(image) for image in self.images],
        }


def _short(commit: str) -> str:
    """The first 8 characters of a commit id; anything else a release says is quoted, never printed raw."""
    return commit[:8] if _COMMIT.fullmatch(commit) else names.shown(commit)


def _change_column(image: ImageSummary) -> str:
    if image.change is Change.CODE:
        return f"{_short(image.old_commit)}→{_short(image.new_commit)}"
    return image.change.value


def _plural(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


def _details(image: ImageSummary) -> str:
    parts = []
    if image.history is not None:
        history = image.history
        parts.append(f"{_plural(history.commits, 'commit')}, {_plural(history.pull_requests, 'PR')}, "
                     f"{_plural(len(history.bugs), 'bug')}")
    elif image.error:
        parts.append("history not read")
    if image.rpms is not None:
        rpms = image.rpms
        parts.append(f"RPMs: {len(rpms.added)} added, {len(rpms.removed)} removed, {len(rpms.changed)} changed")
    return "; ".join(parts)


def _image_dict(image: ImageSummary) -> dict[str, Any]:
    value: dict[str, Any] = {"name": image.name, "change": image.change.value}
    if image.change is Change.CODE:
        value.update({"repository": image.repository, "from": image.old_commit, "to": image.new_commit})
    if image.history is not None:
        value.update({"commits": image.history.commits, "pullRequests": image.history.pull_requests,
                      "bugs": list(image.history.bugs)})
    if image.error:
        value["error"] = image.error
    if image.rpms is not None:
        value["rpms"] = {"added": len(image.rpms.added), "removed": len(image.rpms.removed),
                         "changed": len(image.rpms.changed)}
    return value


# -- classifying -----------------------------------------------------------------------------------------
def _digest(pullspec: str) -> str:
    try:
        return parse_reference(pullspec).digest or ""
    except (InvalidReference, OkdReleaseError):
        return ""


def _classify(before: ImageTag, after: ImageTag) -> ImageSummary:
    old_commit = before.annotations.get(ANNOTATION_COMMIT, "")
    new_commit = after.annotations.get(ANNOTATION_COMMIT, "")
    if old_commit and new_commit and old_commit != new_commit:
        return ImageSummary(after.name, Change.CODE, after.annotations.get(ANNOTATION_SOURCE, ""), old_commit, new_commit)
    digest = _digest(after.pullspec)
    if digest and digest == _digest(before.pullspec):
        return ImageSummary(after.name, Change.MOVED)
    return ImageSummary(after.name, Change.REBUILT)


def changed_images(old: ReleaseSide, new: ReleaseSide) -> tuple[ImageSummary, ...]:
    """Every image whose pullspec differs (as `info OLD NEW` counts them), added or removed, in name order."""
    old_tags, new_tags = {t.name: t for t in old.tags}, {t.name: t for t in new.tags}
    found = []
    for name in sorted(set(old_tags) | set(new_tags)):
        if name not in old_tags:
            found.append(ImageSummary(name, Change.ADDED))
        elif name not in new_tags:
            found.append(ImageSummary(name, Change.REMOVED))
        elif old_tags[name].pullspec != new_tags[name].pullspec:
            found.append(_classify(old_tags[name], new_tags[name]))
    return tuple(found)


# -- reading the code's history --------------------------------------------------------------------------
class CountedLog(MergeLog, frozen=True):
    """A merge log that also knows how many commits its range holds."""

    total: int = 0


def _counted_log(directory: Path, change: CodeChange) -> MergeLog:
    repository = ensure_clone(directory, change.repository, change.alternates)
    log = merge_log(repository, change.repository, change.old, change.new)  # fetches what the clone lacks
    counted = repository.git("rev-list", "--count", f"{change.old}..{change.new}",
                             what=f"counting the commits of {change.repository}").strip()
    if not counted.isdigit():
        raise GitError(f"unexpected git rev-list output {names.shown(counted)}")
    return CountedLog(log.commits, log.elided, int(counted))


def read_histories(directory: Path, old: ReleaseSide, new: ReleaseSide) -> dict[str, CodeHistory | str]:
    """{image: its range's history, or why it could not be read}, from the clones under `directory`.

    The ranges are the changelog's (one per repository and pair of commits, cloned or fetched as needed).
    """
    histories: dict[str, CodeHistory | str] = {}
    for entry in read_logs(directory, content_changes(old, new), log=_counted_log):
        if isinstance(entry.log, CountedLog):
            refs = bug_list(ref for commit in entry.log.commits for ref in commit.refs)
            found: CodeHistory | str = CodeHistory(entry.log.total, len(entry.log.commits), tuple(r.id for r in refs))
        else:
            found = entry.error or f"could not load commits for {entry.change.repository}"
        for image in entry.change.images:
            histories[image] = found
    return histories


def summarize(old: ReleaseSide, new: ReleaseSide, histories: dict[str, CodeHistory | str] | None = None,
              rpms: dict[str, RpmDiff] | None = None) -> ReleaseSummary:
    """The summary of two releases, with the code histories (`read_histories`) and package differences
    ({image: difference}) that were read."""
    images = []
    for image in changed_images(old, new):
        found = (histories or {}).get(image.name) if image.change is Change.CODE else None
        history, error = (found, "") if isinstance(found, CodeHistory) else (None, found or "")
        images.append(ImageSummary(image.name, image.change, image.repository, image.old_commit, image.new_commit,
                                   history, error, (rpms or {}).get(image.name)))
    return ReleaseSummary(old, new, tuple(images))
