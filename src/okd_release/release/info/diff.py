"""What changed between two releases: images, component versions and manifests."""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from typing import Any

from okd_release.release.info.describe import ReleaseInfo, compare_url
from okd_release.release.info.plain import plain


@dataclass(frozen=True)
class ImageChange:
    """An image whose digest changed, with both commits and a link comparing them when the source is on GitHub."""

    name: str
    old_digest: str
    new_digest: str
    old_commit: str = ""
    new_commit: str = ""
    source: str = ""
    compare_url: str = ""
    commit_url: str = ""


@dataclass(frozen=True)
class VersionChange:
    """A component version (kubernetes, machine-os, ...) that changed; an empty side means added or removed."""

    name: str
    old: str
    new: str


@dataclass(frozen=True)
class ReleaseDiff:
    """What changed between two releases: images, component versions and manifests (`info OLD NEW`)."""

    old: str
    new: str
    old_version: str
    new_version: str
    images_added: tuple[str, ...]
    images_removed: tuple[str, ...]
    images_changed: tuple[ImageChange, ...]
    versions_changed: tuple[VersionChange, ...]
    manifests_added: tuple[str, ...]
    manifests_removed: tuple[str, ...]
    manifests_changed: tuple[str, ...]
    manifest_diffs: dict[str, str]

    def as_dict(self) -> dict[str, Any]:
        """The `-o json` / `-o yaml` document, camelCase keys."""
        value: dict[str, Any] = plain(self)
        if not self.manifest_diffs:
            value.pop("manifestDiffs")
        return value


def diff_releases(old: ReleaseInfo, new: ReleaseInfo, old_files: dict[str, bytes], new_files: dict[str, bytes],
                  contents: bool = False) -> ReleaseDiff:
    """Compare two described releases; nothing is read from a registry.

    Args:
        old, new: from `describe` (with `commits=True` for commit links).
        old_files, new_files: each release's `payload.files()`, to compare the manifests.
        contents: also give a unified diff of each changed manifest.
    """
    old_images = {i.name: i for i in old.images}
    new_images = {i.name: i for i in new.images}
    changed = []
    for name in sorted(set(old_images) & set(new_images)):
        a, b = old_images[name], new_images[name]
        if a.digest != b.digest:
            source = b.source or a.source
            same_source = a.source == b.source and a.commit != b.commit
            changed.append(ImageChange(name, a.digest, b.digest, a.commit, b.commit, source,
                                       compare_url(source, a.commit, b.commit) if same_source else "", b.commit_url))
    old_versions = {v.name: v.version for v in old.component_versions}
    new_versions = {v.name: v.version for v in new.component_versions}
    versions = [VersionChange(k, old_versions.get(k, ""), new_versions.get(k, ""))
                for k in sorted(set(old_versions) | set(new_versions)) if old_versions.get(k) != new_versions.get(k)]
    old_manifests = {k: v for k, v in old_files.items() if k not in ("image-references", "release-metadata")}
    new_manifests = {k: v for k, v in new_files.items() if k not in ("image-references", "release-metadata")}
    modified = tuple(sorted(k for k in set(old_manifests) & set(new_manifests) if old_manifests[k] != new_manifests[k]))
    diffs = {}
    if contents:
        for name in modified:
            diffs[name] = "".join(difflib.unified_diff(
                old_manifests[name].decode(errors="replace").splitlines(keepends=True),
                new_manifests[name].decode(errors="replace").splitlines(keepends=True),
                f"a/{name}", f"b/{name}"))
    return ReleaseDiff(
        old.pull_from, new.pull_from, old.version, new.version,
        tuple(sorted(set(new_images) - set(old_images))), tuple(sorted(set(old_images) - set(new_images))),
        tuple(changed), tuple(versions),
        tuple(sorted(set(new_manifests) - set(old_manifests))), tuple(sorted(set(old_manifests) - set(new_manifests))),
        modified, diffs,
    )
