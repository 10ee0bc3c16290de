"""Where images live: the `ImageStore` interface the transfer engine and the release code read and write.

A store holds manifests and blobs addressed by repository. Implementations: a registry host
(`okd_release.stores.RegistryStore`), oc's on-disk `file://` layout (`DiskStore`) and an OCI layout
(`OciLayout`). Callers never ask which kind they hold: what differs is declared as capabilities.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from contextlib import AbstractContextManager as ContextManager
from typing import Protocol, TypeVar

from okd_release.content import Descriptor, RawManifest
from okd_release.errors import ManifestError

T = TypeVar("T")
MAX_SMALL_BLOB = 64 * 1024 * 1024


class ImageStore(Protocol):
    """Manifests and blobs, addressed by repository; a registry host or a directory."""

    key: str
    """Identifies the store: two stores with the same key are the same place (per-store limits use it)."""

    mounts_across_repositories: bool
    """True when `mount_blob` can link a blob from another repository of the same store without copying."""

    def describe(self, repository: str) -> str:
        """A human-readable name for `repository` in this store, for messages."""
        ...

    def reference_name(self, repository: str) -> str:
        """`repository` as an image reference name: `host/repository`, or `file://repository` on disk."""
        ...

    def retrying(self, what: str, operation: Callable[[], T]) -> T:
        """Run a read that streams from this store, redoing it from the start on a transient failure."""
        ...

    def get_manifest(self, repository: str, reference: str) -> RawManifest:
        """The manifest tagged `reference` (or with that digest), its bytes checked against its digest."""
        ...

    def has_manifest(self, repository: str, digest: str) -> bool:
        """Whether the manifest with `digest` is present."""
        ...

    def unknown_repository(self, repository: str) -> bool:
        """True when the store knows, without asking again, that `repository` did not exist when this run first
        looked: a registry that did not know it when its tags were listed. It then holds no tag, and manifests
        only by digest if any (a registry lists no repository that has only those). A transfer asks no HEAD for
        the manifests it is about to put into such a repository: one there by digest only is put again, which
        costs work and changes nothing. False when the store cannot tell cheaply."""
        ...

    def tag_digest(self, repository: str, tag: str) -> str | None:
        """The digest of the manifest `tag` names, when that manifest is present; None when the tag is missing,
        names a manifest that is not there, or the store cannot say which digest it names.

        One cheap read (a HEAD for a registry, a symlink or an index for a directory): a transfer asks it for
        every tag of an image before anything else, and skips the image when all of them already name it.
        """
        ...

    def put_manifest(self, repository: str, reference: str, raw: RawManifest) -> None:
        """Store a manifest by digest and, when `reference` is a tag, under that tag."""
        ...

    def blob_size(self, repository: str, digest: str) -> int | None:
        """The size of the blob if `repository` holds it, else None."""
        ...

    def open_blob(self, repository: str, blob: Descriptor) -> ContextManager[Iterator[bytes]]:
        """Stream a blob; the iterator raises DigestMismatch at its end if the bytes are not `blob`."""
        ...

    def put_blob(self, repository: str, blob: Descriptor, chunks: Iterable[bytes]) -> None:
        """Store a blob from a stream, verified against `blob` before it becomes visible."""
        ...

    def mount_blob(self, repository: str, digest: str, from_repository: str) -> bool:
        """Link a blob from another repository of this store; True when it did (see `mounts_across_repositories`)."""
        ...


class LocalRetry:
    """Local stores redo nothing: a failed read of a file is not transient."""

    def retrying(self, what: str, operation: Callable[[], T]) -> T:  # noqa: ARG002 - the ImageStore protocol
        return operation()


def read_blob(store: ImageStore, repository: str, blob: Descriptor, limit: int = MAX_SMALL_BLOB) -> bytes:
    """A small blob (a config) in memory, verified against its digest and size, retried as the store says."""

    def fetch() -> bytes:
        data = bytearray()
        with store.open_blob(repository, blob) as chunks:
            for chunk in chunks:
                data += chunk
                if len(data) > limit:
                    raise ManifestError(f"blob {blob.digest} of {store.describe(repository)} exceeds {limit} bytes")
        return bytes(data)

    return store.retrying(f"GET blob {blob.digest}", fetch)
