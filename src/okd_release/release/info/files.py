"""The files of release-manifests exactly as the release holds them (`--contents`, `-o json` need the bytes).

A `Payload` keeps the manifests' bytes but holds image-references and release-metadata parsed; oc prints
and decodes the bytes, so these views read the payload layer again (streamed and verified, like any blob).
"""

from __future__ import annotations

from pathlib import Path

from okd_release.errors import ManifestError, PayloadError
from okd_release.image.layer import COPY_BUFFER, read_files
from okd_release.release.payload.model import MANIFESTS_DIR
from okd_release.release.payload.source import ReleaseImage

_PREFIX = MANIFESTS_DIR + "/"


def _top_level(name: str) -> bool:
    return name.startswith(_PREFIX) and "/" not in name[len(_PREFIX):]


def release_files(release: ReleaseImage) -> dict[str, bytes]:
    """Every file of release-manifests by name, byte for byte."""
    if release.store is not None and release.reference is not None and release.image is not None:
        store, reference, layer = release.store, release.reference, release.image.layers[-1]

        def read() -> dict[str, bytes]:
            with store.open_blob(reference.repository, layer) as chunks:
                return read_files(chunks, _top_level, f"layer {layer.digest} of {reference}")

        found = store.retrying(f"payload layer of {reference}", read)
    else:
        path = Path(release.name)
        if path.is_dir():
            return {p.name: p.read_bytes() for p in sorted(path.iterdir()) if p.is_file()}
        try:
            with open(path, "rb") as handle:
                found = read_files(iter(lambda: handle.read(COPY_BUFFER), b""), _top_level, str(path))
        except ManifestError as error:
            raise PayloadError(f"{path} is not a payload tar file: {error}") from None
    return {name[len(_PREFIX):]: data for name, data in found.items()}
