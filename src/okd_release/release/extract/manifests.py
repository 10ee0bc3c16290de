"""`extract`: the release-manifests to a directory, or one file of them."""

from __future__ import annotations

from pathlib import Path

from okd_release.errors import PayloadError
from okd_release.image.layer import MAX_FILES_TOTAL
from okd_release.image.unpack import UnpackResult, place_files, unpack
from okd_release.release.payload.model import MANIFESTS_DIR
from okd_release.release.payload.source import ReleaseImage


def _in_manifests(name: str) -> str | None:
    prefix = MANIFESTS_DIR + "/"
    return name[len(prefix):] if name.startswith(prefix) and len(name) > len(prefix) else None


def extract_manifests(release: ReleaseImage, target: Path) -> UnpackResult:
    """Write every file of /release-manifests/ under `target`, streamed from the payload layer.

    Nothing of the user's in `target` is removed (see `okd_release.image.unpack`), and a payload whose
    files add up to more than MAX_FILES_TOTAL is refused, as `info` refuses it, before anything is moved
    into place.
    """
    if release.store is None or release.image is None or release.reference is None:
        return place_files(release.payload.files(), target)
    layer, store, repository = release.image.layers[-1], release.store, release.reference.repository
    what = f"payload layer {layer.digest} of {release.name}"

    def read() -> UnpackResult:
        with store.open_blob(repository, layer) as chunks:
            return unpack(chunks, target, _in_manifests, what, MAX_FILES_TOTAL)

    return store.retrying(what, read)


def manifest_file(release: ReleaseImage, name: str) -> bytes:
    """The bytes of one file of release-manifests (`extract --file`); raises PayloadError when there is none."""
    files = release.payload.files()
    if name not in files:
        raise PayloadError(f"release {release.name} has no file {name!r} in release-manifests")
    return files[name]
