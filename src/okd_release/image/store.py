"""Where images live: a registry or a directory. The transfer engine copies between stores."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from contextlib import AbstractContextManager as ContextManager
from pathlib import Path
from typing import Protocol, TypeVar

from okd_release.errors import ManifestError
from okd_release.image.disk import DiskStore
from okd_release.reference import Reference
from okd_release.registry.client import RawManifest, RegistryClient
from okd_release.registry.retry import with_retries
from okd_release.registry.session import Registries

T = TypeVar("T")


class ImageStore(Protocol):
    """Manifests and blobs, addressed by repository; a registry host or a directory."""

    key: str

    def describe(self, repository: str) -> str: ...
    def get_manifest(self, repository: str, reference: str) -> RawManifest: ...
    def has_manifest(self, repository: str, digest: str) -> bool: ...
    def put_manifest(self, repository: str, reference: str, raw: RawManifest) -> None: ...
    def blob_size(self, repository: str, digest: str) -> int | None: ...
    def open_blob(self, repository: str, digest: str, size: int | None = None) -> ContextManager[Iterator[bytes]]: ...
    def put_blob(self, repository: str, digest: str, size: int | None, chunks: Iterable[bytes]) -> None: ...
    def mount_blob(self, repository: str, digest: str, from_repository: str) -> bool: ...


class RegistryStore:
    """A registry host as a store."""

    def __init__(self, client: RegistryClient) -> None:
        self.client = client
        self.key = "registry:" + client.registry

    def describe(self, repository: str) -> str:
        return f"{self.client.registry}/{repository}"

    def get_manifest(self, repository: str, reference: str) -> RawManifest:
        return self.client.get_manifest(repository, reference)

    def has_manifest(self, repository: str, digest: str) -> bool:
        info = self.client.head_manifest(repository, digest)
        return info is not None

    def put_manifest(self, repository: str, reference: str, raw: RawManifest) -> None:
        self.client.put_manifest(repository, reference, raw.data, raw.media_type)

    def blob_size(self, repository: str, digest: str) -> int | None:
        return self.client.blob_exists(repository, digest)

    def open_blob(self, repository: str, digest: str, size: int | None = None) -> ContextManager[Iterator[bytes]]:
        return self.client.open_blob(repository, digest, size)

    def put_blob(self, repository: str, digest: str, size: int | None, chunks: Iterable[bytes]) -> None:
        self.client.upload_blob(repository, digest, chunks, size)

    def mount_blob(self, repository: str, digest: str, from_repository: str) -> bool:
        return self.client.mount_blob(repository, digest, from_repository)


def open_store(reference: Reference, registries: Registries, root: Path | None = None) -> ImageStore:
    """The store a reference points into: its registry, or for `file://` the directory `root`."""
    if reference.is_file:
        return DiskStore(root or Path.cwd())
    return RegistryStore(registries.client(reference.registry))


def retrying(store: ImageStore, what: str, operation: Callable[[], T]) -> T:
    """Run a read that streams from `store`, redoing it from the start when a registry connection drops."""
    if isinstance(store, RegistryStore):
        return with_retries(store.client.options.retry, what, operation)
    return operation()


def read_blob(store: ImageStore, repository: str, digest: str, size: int | None = None,
              limit: int = 64 * 1024 * 1024) -> bytes:
    """A small blob (a config) in memory, verified against digest and size, with retries for registries."""

    def fetch() -> bytes:
        data = bytearray()
        with store.open_blob(repository, digest, size) as chunks:
            for chunk in chunks:
                data += chunk
                if len(data) > limit:
                    raise ManifestError(f"blob {digest} of {store.describe(repository)} exceeds {limit} bytes")
        return bytes(data)

    return retrying(store, f"GET blob {digest}", fetch)
