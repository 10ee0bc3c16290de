"""What changed between two releases, as oc's `info OLD NEW` computes it (calculateDiff in oc's info.go).

An image changed when its pullspec did; it was rebuilt (rather than changed) unless both tags name a
commit and the commits differ. A manifest changed when its bytes did.
"""

from __future__ import annotations

import base64
import json
from typing import Any

from msgspec import Struct

from okd_release.release.info import gojson
from okd_release.release.info.describe import ImageEntry, ReleaseInfo
from okd_release.release.payload.model import IMAGE_REFERENCES


class ImageChange(Struct, frozen=True):
    """An image added (`old` None), removed (`new` None) or changed between two releases."""

    name: str
    old: ImageEntry | None
    new: ImageEntry | None

    @property
    def code_changed(self) -> bool:
        return bool(self.old and self.new and self.old.commit and self.new.commit and self.old.commit != self.new.commit)


class ManifestChange(Struct, frozen=True):
    """A manifest added (`old` None), removed (`new` None) or changed, with both versions' bytes."""

    name: str
    old: bytes | None
    new: bytes | None


class ReleaseDiff(Struct, frozen=True):
    """What changed between two releases (`info OLD NEW`): images and manifests; `as_dict()` is `-o json`."""

    old: ReleaseInfo
    new: ReleaseInfo
    images: tuple[ImageChange, ...]
    """In name order."""
    manifests: tuple[ManifestChange, ...]
    """In name order; empty unless both releases were described with their files."""

    def __repr__(self) -> str:
        # short: both releases' files would print many KB
        return (f"<ReleaseDiff {self.old.version} -> {self.new.version}: {len(self.images)} images, "
                f"{len(self.manifests)} manifests changed>")

    @property
    def identical(self) -> bool:
        return self.old.digest == self.new.digest

    @property
    def images_changed(self) -> tuple[ImageChange, ...]:
        return tuple(c for c in self.images if c.old and c.new and c.code_changed)

    @property
    def images_rebuilt(self) -> tuple[ImageChange, ...]:
        return tuple(c for c in self.images if c.old and c.new and not c.code_changed)

    @property
    def images_added(self) -> tuple[ImageChange, ...]:
        return tuple(c for c in self.images if c.old is None)

    @property
    def images_removed(self) -> tuple[ImageChange, ...]:
        return tuple(c for c in self.images if c.new is None)

    def as_dict(self) -> dict[str, Any]:
        """oc's `info OLD NEW -o json`."""
        old_tags, new_tags = _tag_documents(self.old), _tag_documents(self.new)
        return {
            "from": self.old.as_dict(), "to": self.new.as_dict(),
            "changedImages": {c.name: {"name": c.name, "from": old_tags.get(c.name) if c.old else None,
                                       "to": new_tags.get(c.name) if c.new else None} for c in self.images},
            "changedManifests": {m.name: {"filename": m.name, "from": _base64(m.old), "to": _base64(m.new)}
                                 for m in self.manifests},
        }

    def manifest_diffs(self) -> list[str]:
        """A unified diff of each changed manifest (`--contents`; oc prints how to diff extracted copies)."""
        import difflib  # noqa: PLC0415 - only when files changed

        diffs = []
        for change in self.manifests:
            old = (change.old or b"").decode(errors="replace").splitlines(keepends=True)
            new = (change.new or b"").decode(errors="replace").splitlines(keepends=True)
            diffs.append("".join(difflib.unified_diff(old, new, f"a/{change.name}", f"b/{change.name}")))
        return diffs


def _base64(data: bytes | None) -> str | None:
    return None if data is None else base64.b64encode(data).decode()


def _tag_documents(info: ReleaseInfo) -> dict[str, Any]:
    stream = gojson.image_stream(json.loads(info.files[IMAGE_REFERENCES]))
    return {tag["name"]: tag for tag in stream["spec"].get("tags") or []}


def diff_releases(old: ReleaseInfo, new: ReleaseInfo) -> ReleaseDiff:
    """Compare two described releases (from `describe`); nothing is read from a registry.

    Images compare by pullspec; manifests compare only when both were described with their files
    (`describe(..., contents=True)`).
    """
    old_images = {i.name: i for i in old.images}
    new_images = {i.name: i for i in new.images}
    images = tuple(ImageChange(name, old_images.get(name), new_images.get(name))
                   for name in sorted(set(old_images) | set(new_images))
                   if name not in old_images or name not in new_images
                   or old_images[name].pullspec != new_images[name].pullspec)
    old_files, new_files = old.manifest_files, new.manifest_files
    manifests = tuple(ManifestChange(name, old_files.get(name), new_files.get(name))
                      for name in sorted(set(old_files) | set(new_files)) if old_files.get(name) != new_files.get(name))
    return ReleaseDiff(old, new, images, manifests)
