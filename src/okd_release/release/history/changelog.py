"""What changed in the code between two releases: oc's `info --changelog` (Markdown or JSON) and `--bugs`.

The images whose commit changed are grouped by repository and commit range (two images built from the
same repository at the same commits are one entry, as oc's releaseDiffContentChanges groups them); the pull
requests of each range come from the clones under the sources directory (`extract --git` layout).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from msgspec import Struct, field

from okd_release import reference as references
from okd_release.errors import InvalidReference, OkdReleaseError
from okd_release.release.history.bugs import Ref, RefSource, bug_list, markdown_refs, urls_for
from okd_release.release.history.commits import MergeCommit, MergeLog, merge_log
from okd_release.release.history.git import SourceLocation, clone_path, ensure_clone, parse_source
from okd_release.release.payload.model import ANNOTATION_COMMIT, ANNOTATION_SOURCE, ImageTag

ZERO_TIME = "0001-01-01T00:00:00Z"


class ReleaseSide(Struct, frozen=True):
    """One release of the comparison, as the changelog names it."""

    name: str
    digest: str
    created: str = ""
    """image-references' creationTimestamp (RFC 3339; empty when the payload has none, as `new` writes it)."""
    promoted_from: str = ""
    tags: tuple[ImageTag, ...] = ()
    versions: dict[str, tuple[str, str]] = field(default_factory=dict)
    """Component versions: {key: (version, display name)}."""

    def tag(self, name: str) -> ImageTag | None:
        return next((t for t in self.tags if t.name == name), None)


class CodeChange(Struct, frozen=True):
    """One repository's commit range between the releases, and the images built from it."""

    repository: str
    old: str
    new: str
    alternates: tuple[str, ...]
    images: tuple[str, ...]


class ContentChanges(Struct, frozen=True):
    """oc's releaseDiffContentChanges: code changes, images rebuilt without one, and images that cannot be told."""

    code: tuple[CodeChange, ...]
    rebuilt: tuple[str, ...]
    unexplained: tuple[str, ...]
    added: tuple[str, ...]
    removed: tuple[str, ...]


class RepositoryLog(Struct, frozen=True):
    """The pull requests of one code change, or why they could not be read."""

    change: CodeChange
    source: SourceLocation | None
    log: MergeLog | None
    error: str = ""


def _digest_of(pullspec: str) -> str | None:
    """The digest of a pullspec; None when it does not parse (oc then calls the change unexplained)."""
    try:
        return references.parse(pullspec).digest or ""
    except (InvalidReference, OkdReleaseError):
        return None


def content_changes(old: ReleaseSide, new: ReleaseSide) -> ContentChanges:
    """Classify the images that differ between two releases, as oc does for --changelog and --bugs."""
    old_tags, new_tags = {t.name: t for t in old.tags}, {t.name: t for t in new.tags}
    changed = sorted(n for n in set(old_tags) & set(new_tags) if old_tags[n].pullspec != new_tags[n].pullspec)
    ranges: dict[tuple[str, str, str], list[str]] = {}
    rebuilt: list[str] = []
    unexplained: list[str] = []
    for name in changed:
        before, after = old_tags[name], new_tags[name]
        old_commit = before.annotations.get(ANNOTATION_COMMIT, "")
        new_commit = after.annotations.get(ANNOTATION_COMMIT, "")
        if not old_commit or old_commit == new_commit:
            old_digest, new_digest = _digest_of(before.pullspec), _digest_of(after.pullspec)
            if old_digest is None or new_digest is None:
                unexplained.append(name)
            elif not (old_digest and old_digest == new_digest):  # the same digest: only the location moved
                rebuilt.append(name)
            continue
        ranges.setdefault((after.annotations.get(ANNOTATION_SOURCE, ""), old_commit, new_commit), []).append(name)
    code = []
    for (repository, old_commit, new_commit), images in ranges.items():
        old_repository = old_tags[images[0]].annotations.get(ANNOTATION_SOURCE, "")
        if not repository or not old_repository:
            continue
        alternates = (old_repository,) if old_repository != repository else ()
        code.append(CodeChange(repository, old_commit, new_commit, alternates, tuple(sorted(images))))
    code.sort(key=lambda c: c.images[0])
    return ContentChanges(tuple(code), tuple(rebuilt), tuple(unexplained),
                          tuple(sorted(set(new_tags) - set(old_tags))), tuple(sorted(set(old_tags) - set(new_tags))))


def read_logs(directory: Path, changes: ContentChanges,
              log: Callable[[Path, CodeChange], MergeLog] | None = None, workers: int = 8) -> list[RepositoryLog]:
    """The merge log of each code change from its clone under `directory` (cloned or fetched as needed).

    A repository that cannot be read is reported in its entry (oc prints an error and carries on).
    """
    reader = log or _read_log

    def read(change: CodeChange) -> RepositoryLog:
        try:
            source = parse_source(change.repository)
        except OkdReleaseError as error:
            return RepositoryLog(change, None, None, f"the source repository cannot be parsed: {error}")
        try:
            return RepositoryLog(change, source, reader(directory, change))
        except OkdReleaseError as error:
            return RepositoryLog(change, source, None, f"could not load commits for {change.repository}: {error}")

    # one change per repository and range, but two ranges may share a clone: those are read one after another
    by_clone: dict[str, list[CodeChange]] = {}
    for change in changes.code:
        by_clone.setdefault(_clone_key(directory, change.repository), []).append(change)
    with ThreadPoolExecutor(max_workers=workers) as pool:
        groups = list(pool.map(lambda group: [read(c) for c in group], by_clone.values()))
    found = {entry.change: entry for group in groups for entry in group}
    return [found[change] for change in changes.code]


def _clone_key(directory: Path, repository: str) -> str:
    """The clone a repository is read from (`x/y` and `x/y.git` share one)."""
    try:
        return str(clone_path(directory, repository))
    except OkdReleaseError:
        return repository


def _read_log(directory: Path, change: CodeChange) -> MergeLog:
    repository = ensure_clone(directory, change.repository, change.alternates)
    return merge_log(repository, change.repository, change.old, change.new)


# -- output -------------------------------------------------------------------------------------------
def _safe(text: str) -> str:
    """oc's replaceUnsafeInput: no HTML blocks from commit messages in the Markdown."""
    return text.replace("<", "&lt;").replace(">", "&gt;")


def display_name(key: str, display: str) -> str:
    """oc's componentDisplayName: the display name, else the key's words capitalised (`machine-os` → `Machine Os`)."""
    return display or " ".join(part[:1].upper() + part[1:] for part in key.split("-"))


def _go_time(rfc3339: str) -> datetime:
    text = (rfc3339 or ZERO_TIME).replace("Z", "+00:00")
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        moment = datetime.fromisoformat(ZERO_TIME.replace("Z", "+00:00"))
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).astimezone(UTC)


def _go_string(moment: datetime) -> str:
    """Go's time.Time String() of a UTC time: `2024-01-01 00:00:00 +0000 UTC`."""
    return f"{moment.year:04d}-{moment:%m-%d %H:%M:%S} +0000 UTC"


def _go_json_time(moment: datetime) -> str:
    return f"{moment.year:04d}-{moment:%m-%dT%H:%M:%S}Z"


def _short(commit: str) -> str:
    return commit[:8]


def _pull_link(source: SourceLocation, number: int) -> str:
    return f"{source.web}/pull/{number}"


def _commit_line(source: SourceLocation, commit: MergeCommit) -> str:
    line = f"*{markdown_refs(commit.refs)} {_safe(commit.subject)}"
    if commit.pull_request > 0 and source.is_github:
        return f"{line} [#{commit.pull_request}]({_pull_link(source, commit.pull_request)})"
    if commit.pull_request > 0:
        return f"{line} #{commit.pull_request}"  # ours: no link to a /pull/ page a non-GitHub host does not have
    if source.is_github:
        return f"{line} [{_short(commit.commit)}]({source.web}/commit/{_short(commit.commit)})"
    return f"{line} {_short(commit.commit)}"


def _short_description(tag: ImageTag) -> str:
    """oc's refToShortDescription: the name (linked for GitHub sources) and the digest or tag it points at."""
    name = tag.name
    try:
        source: SourceLocation | None = parse_source(tag.annotations.get(ANNOTATION_SOURCE, ""))
    except OkdReleaseError:
        source = None
    if source is not None and source.is_github:
        commit = tag.annotations.get(ANNOTATION_COMMIT)
        name = f"[{name}](https://github.com{source.path})"
        if commit is not None:
            name += f" git [{_short(commit)}](https://github.com{source.path}/commit/{commit})"
    try:
        parsed = references.parse(tag.pullspec)
    except OkdReleaseError:
        return f"{name} `{tag.pullspec}`"
    if parsed.digest:
        return f"{name} `{parsed.digest}`"
    if parsed.tag:
        return f"{name} `:{parsed.tag}`"
    return f"{name} `{tag.pullspec}`"


def markdown(old: ReleaseSide, new: ReleaseSide, changes: ContentChanges, logs: list[RepositoryLog]) -> str:
    """oc's `info --changelog` Markdown (without oc's feature-gate section)."""
    out = [f"# {new.name}\n\nCreated: {_go_string(_go_time(new.created))}\n\nImage Digest: `{new.digest}`\n\n"]
    if new.promoted_from:
        out.append(f"Promoted from {new.promoted_from}\n\n")
    out.append(f"\n## Changes from {old.name}\n\n")
    if new.versions:
        out.append("### Components\n\n")
        for key in sorted(new.versions):
            version, display = new.versions[key]
            before = old.versions.get(key)
            if before is None or before == new.versions[key]:
                out.append(f"* {display_name(key, display)} {version}\n")
            else:
                out.append(f"* {display_name(key, display)} upgraded from {before[0]} to {version}\n")
        out.append("\n\n")
    sections = (("New images", [_short_description(t) for n in changes.added if (t := new.tag(n))]),
                ("Removed images", list(changes.removed)),
                ("Rebuilt images without code change",
                 [_short_description(t) for n in changes.rebuilt if (t := new.tag(n))] + list(changes.unexplained)))
    for title, lines in sections:
        if lines:
            out.append(f"### {title}\n\n" + "".join(f"* {line}\n" for line in lines) + "\n\n")
    for entry in logs:
        if entry.log is None or entry.source is None or not (entry.log.commits or entry.log.elided):
            continue
        change, source = entry.change, entry.source
        images = ", ".join(change.images)
        out.append(f"### [{images}](https://github.com{source.path}/tree/{change.new})\n\n" if source.is_github
                   else f"### {images}\n\n")
        out.extend(_commit_line(source, commit) + "\n" for commit in entry.log.commits)
        if entry.log.elided:
            out.append(f"* And {entry.log.elided} elided commits (e.g. from squash or rebase merges)\n")
        if source.is_github:
            out.append(f"* [Full changelog]({source.web}/compare/{change.old}...{change.new})\n\n")
        else:
            out.append(f"* {change.repository} from {_short(change.old)} to {_short(change.new)}\n\n")
        out.append("\n")
    return "".join(out)


def _side_dict(side: ReleaseSide) -> dict[str, Any]:
    value: dict[str, Any] = {"name": side.name, "created": _go_json_time(_go_time(side.created)), "digest": side.digest}
    if side.promoted_from:
        value["promotedFrom"] = side.promoted_from
    return value


def _image_info(tag: ImageTag) -> dict[str, Any]:
    """oc's refToChangeInfo."""
    info: dict[str, Any] = {"name": tag.name, "path": ""}
    try:
        source = parse_source(tag.annotations.get(ANNOTATION_SOURCE, ""))
    except OkdReleaseError:
        source = None
    if source is not None and source.is_github:
        commit = tag.annotations.get(ANNOTATION_COMMIT)
        info["path"] = f"https://github.com{source.path}"
        if commit is not None:
            info = {"name": tag.name, "path": info["path"], "shortCommit": _short(commit), "commit": commit}
    try:
        parsed = references.parse(tag.pullspec)
        info["imageRef"] = parsed.digest or (f":{parsed.tag}" if parsed.tag else tag.pullspec)
    except OkdReleaseError:
        info["imageRef"] = tag.pullspec
    return info


def _commit_info(source: SourceLocation, commit: MergeCommit) -> dict[str, Any]:
    info: dict[str, Any] = {}
    bugs, issues = urls_for(commit.refs, RefSource.BUGZILLA), urls_for(commit.refs, RefSource.JIRA)
    if bugs:
        info["bugs"] = bugs
    if issues:
        info["issues"] = issues
    if commit.subject:
        info["subject"] = _safe(commit.subject)
    if commit.pull_request > 0:
        info["pullID"] = commit.pull_request
        if source.is_github:  # ours: oc writes https://<host><path>/pull/N for any host, a page only GitHub has
            info["pullURL"] = _pull_link(source, commit.pull_request)
    else:
        info["commitID"] = _short(commit.commit)
        if source.is_github:
            info["commitURL"] = f"{source.web}/commit/{_short(commit.commit)}"
    info["commitDate"] = _go_json_time(commit.date)
    return info


def as_dict(old: ReleaseSide, new: ReleaseSide, changes: ContentChanges, logs: list[RepositoryLog]) -> dict[str, Any]:
    """oc's `info --changelog -o json` document (its ChangeLog; no featureGates)."""
    components = []
    for key in sorted(new.versions):
        version, display = new.versions[key]
        item = {"name": display_name(key, display), "version": version}
        before = old.versions.get(key)
        if before is not None and before != new.versions[key]:
            item["from"] = before[0]
        components.append(item)
    document: dict[str, Any] = {"from": _side_dict(old), "to": _side_dict(new), "components": components}
    document["newImages"] = [_image_info(t) for n in changes.added if (t := new.tag(n))]
    document["removedImages"] = [{"name": n, "path": ""} for n in changes.removed]
    rebuilt = [_image_info(t) for n in changes.rebuilt if (t := new.tag(n))]
    rebuilt += [{"name": n, "path": ""} for n in changes.unexplained]
    if rebuilt:
        document["rebuiltImages"] = rebuilt
    updated = []
    for entry in logs:
        if entry.log is None or entry.source is None or not (entry.log.commits or entry.log.elided):
            continue
        source, change = entry.source, entry.change
        info: dict[str, Any] = {"name": ", ".join(change.images),
                                "path": f"https://github.com{source.path}/tree/{change.new}" if source.is_github else ""}
        if entry.log.commits:
            info["commits"] = [_commit_info(source, c) for c in entry.log.commits]
        if entry.log.elided:
            info["elidedCommits"] = entry.log.elided
        if source.is_github:
            info["fullChangeLog"] = f"{source.web}/compare/{change.old}...{change.new}"
        updated.append(info)
    document["updatedImages"] = updated
    # oc leaves empty lists out (omitempty), and so do we
    return {k: v for k, v in document.items() if v != []}


def bugs(logs: list[RepositoryLog]) -> list[Ref]:
    """oc's --bugs: every bug reference of the pull requests between the releases, once each, sorted by id."""
    return bug_list(ref for entry in logs if entry.log for commit in entry.log.commits for ref in commit.refs)


def encode(document: Any) -> str:
    """JSON as oc's MarshalIndent writes it (two spaces; `<`, `>`, `&` escaped as Go does)."""
    text = json.dumps(document, indent=2, ensure_ascii=False)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
