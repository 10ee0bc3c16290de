"""OCI image layouts on disk (`oci-layout`, `index.json`, `blobs/sha256/`), read and written as a store.

One layout holds one repository; tags are `org.opencontainers.image.ref.name` annotations in index.json.
A tag written is checked to be a tag, a blob path to stay under the layout once its symlinks are resolved.
"""

from __future__ import annotations

import contextlib
import json
import threading
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from okd_release import digest as digests
from okd_release import mediatypes, names
from okd_release.content import CHUNK, Descriptor, RawManifest
from okd_release.errors import DigestMismatch, ManifestError, NotFound
from okd_release.image.disk import atomic_write, inside, remove_stale_partials
from okd_release.image.manifest import encode
from okd_release.image.store import LocalRetry

REF_NAME = "org.opencontainers.image.ref.name"
LAYOUT_VERSION = b'{"imageLayoutVersion": "1.0.0"}'


class OciLayout(LocalRetry):
    """An OCI image layout directory used as an image store."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self.key = f"oci:{self.root.resolve()}"
        self.mounts_across_repositories = False  # one layout holds one repository
        self._lock = threading.Lock()
        self._swept = False
        self._tags_read: tuple[tuple[int, int, int], dict[str, str]] | None = None

    def _blob(self, digest: str) -> Path:
        path = self.root / "blobs" / "sha256" / digests.validate(digest).split(":", 1)[1]
        return inside(self.root, path, "the OCI layout")

    def _writing(self) -> None:
        """The first write removes the temporary files that killed runs left among the blobs."""
        with self._lock:
            if not self._swept:
                self._swept = True
                remove_stale_partials(self.root / "blobs")

    def _index(self) -> dict[str, Any]:
        try:
            document = json.loads((self.root / "index.json").read_bytes())
        except FileNotFoundError:
            return {"schemaVersion": 2, "mediaType": mediatypes.OCI_INDEX, "manifests": []}
        except ValueError:
            raise ManifestError(f"{self.root}/index.json is not valid JSON") from None
        if not isinstance(document, dict) or not isinstance(document.get("manifests"), list):
            raise ManifestError(f"{self.root}/index.json is not an OCI index")
        return document

    def describe(self, repository: str) -> str:
        return f"OCI layout {self.root}"

    def reference_name(self, repository: str) -> str:
        return f"file://{repository}"

    def tags(self) -> dict[str, str]:
        return {
            entry["annotations"][REF_NAME]: entry["digest"]
            for entry in self._index()["manifests"]
            if isinstance(entry, dict) and REF_NAME in (entry.get("annotations") or {})
        }

    def unknown_repository(self, repository: str) -> bool:  # noqa: ARG002 - one index holds every repository
        return False  # a manifest's file is as cheap to look for

    def tag_digest(self, repository: str, tag: str) -> str | None:
        try:
            status = (self.root / "index.json").stat()
        except FileNotFoundError:
            return None
        # index.json is read once while it stays the same file: a transfer asks this for every image
        version = (status.st_ino, status.st_size, status.st_mtime_ns)
        with self._lock:
            if self._tags_read is None or self._tags_read[0] != version:
                self._tags_read = (version, self.tags())
            digest = self._tags_read[1].get(tag)
        return digest if digest is not None and self.has_manifest(repository, digest) else None

    def get_manifest(self, repository: str, reference: str) -> RawManifest:
        digest = reference if reference.startswith("sha256:") else self.tags().get(reference)
        if digest is None:
            raise NotFound(f"tag {reference!r} not found in OCI layout {self.root}")
        try:
            data = self._blob(digest).read_bytes()
        except FileNotFoundError:
            raise NotFound(f"manifest {digest} not found in OCI layout {self.root}") from None
        if digests.of(data) != digest:
            raise DigestMismatch(f"manifest {digest} in OCI layout {self.root} does not match its digest")
        media_type = mediatypes.sniff(data)
        if media_type is None:
            raise ManifestError(f"manifest {digest} in OCI layout {self.root} is not a manifest")
        return RawManifest(data, media_type, digest)

    def has_manifest(self, repository: str, digest: str) -> bool:
        return self._blob(digest).is_file()

    def put_manifest(self, repository: str, reference: str, raw: RawManifest) -> None:
        names.check_reference(reference)
        self.put_blob(repository, Descriptor(raw.media_type, raw.digest, len(raw.data)), [raw.data])
        with self._lock:
            atomic_write(self.root / "oci-layout", [LAYOUT_VERSION])
            index = self._index()
            entries = index["manifests"]
            if reference == raw.digest:
                if any(e.get("digest") == raw.digest for e in entries):
                    return
                annotations: dict[str, str] = {}
            else:
                annotations = {REF_NAME: reference}
                entries = [
                    e for e in entries
                    if (e.get("annotations") or {}).get(REF_NAME) != reference
                    and not (e.get("digest") == raw.digest and REF_NAME not in (e.get("annotations") or {}))
                ]
            entries.append(Descriptor(raw.media_type, raw.digest, len(raw.data), annotations=annotations).to_json())
            index["manifests"] = entries
            atomic_write(self.root / "index.json", [encode(index)])

    def blob_size(self, repository: str, digest: str) -> int | None:
        try:
            return self._blob(digest).stat().st_size
        except FileNotFoundError:
            return None

    @contextlib.contextmanager
    def open_blob(self, repository: str, blob: Descriptor) -> Iterator[Iterator[bytes]]:
        digest, size = blob.digest, blob.size
        try:
            handle = open(self._blob(digest), "rb")
        except FileNotFoundError:
            raise NotFound(f"blob {digest} not found in OCI layout {self.root}") from None
        with handle:
            yield digests.verified(iter(lambda: handle.read(CHUNK), b""), digest, f"blob {digest} in {self.root}", size)

    def put_blob(self, repository: str, blob: Descriptor, chunks: Iterable[bytes]) -> None:
        path = self._blob(blob.digest)
        self._writing()
        atomic_write(path, chunks, blob.digest, f"blob {blob.digest}")

    def mount_blob(self, repository: str, digest: str, from_repository: str) -> bool:
        return False
