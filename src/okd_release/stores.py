"""Stores by reference: a registry host as an `ImageStore`, and the store a reference points into."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import AbstractContextManager as ContextManager
from pathlib import Path
from typing import TypeVar

from okd_release.content import Descriptor, RawManifest
from okd_release.errors import InvalidReference, NotFound, RegistryError
from okd_release.image.disk import DiskStore
from okd_release.image.readthrough import Place, ReadThroughStore
from okd_release.image.store import ImageStore
from okd_release.mirrors import ImageMirrors
from okd_release.reference import Reference
from okd_release.registry.client import RegistryClient
from okd_release.registry.credentials import CredentialStore
from okd_release.registry.options import RegistryOptions
from okd_release.registry.retry import with_retries
from okd_release.registry.session import Registries

T = TypeVar("T")


class RegistryStore:
    """A registry host as a store: reads are retried by the registry's retry policy; blobs mount across repositories."""

    mounts_across_repositories = True

    def __init__(self, client: RegistryClient) -> None:
        self.client = client
        self.key = "registry:" + client.registry
        # each repository's tags as first listed: a tag not among them is not asked about
        self._tags: dict[str, set[str] | None] = {}
        self._absent: set[str] = set()  # repositories the registry did not know when their tags were listed
        self._tags_lock = threading.Lock()

    def describe(self, repository: str) -> str:
        return f"{self.client.registry}/{repository}"

    def reference_name(self, repository: str) -> str:
        return f"{self.client.registry}/{repository}"

    def retrying(self, what: str, operation: Callable[[], T]) -> T:
        return with_retries(self.client.options.retry, what, operation, self.client.retries)

    def get_manifest(self, repository: str, reference: str) -> RawManifest:
        return self.client.get_manifest(repository, reference)

    def has_manifest(self, repository: str, digest: str) -> bool:
        return self.client.head_manifest(repository, digest) is not None

    def unknown_repository(self, repository: str) -> bool:
        self._known_tags(repository)
        return repository in self._absent

    def tag_digest(self, repository: str, tag: str) -> str | None:
        known = self._known_tags(repository)
        if known is not None and tag not in known:
            return None  # not there when the repository was listed: no HEAD (a fresh mirror's case)
        found = self.client.head_manifest(repository, tag)
        if found is None or not found.digest:  # missing, or the registry did not say which digest
            return None
        return found.digest

    def _known_tags(self, repository: str) -> set[str] | None:
        """The repository's tags, listed once (one GET per page of 1,000 rather than a HEAD per tag); None when
        the registry will not list them, and then every tag is asked about. A tag added later is missed, by
        someone else or by this store's own `put_manifest` (a mirror of thousands of images would otherwise
        hold every tag it put, though it asks about each tag before it puts it, not after): that image is
        then copied again, as it would be without the listing, never skipped wrongly."""
        with self._tags_lock:  # one listing per repository, however many workers ask at once
            if repository not in self._tags:
                try:
                    self._tags[repository] = set(self.client.list_tags(repository))
                except NotFound:  # a repository that does not exist yet has no tags, nor manifests
                    self._tags[repository] = set()
                    self._absent.add(repository)
                except (RegistryError, InvalidReference):  # listing refused, too large, or a tag we cannot use
                    self._tags[repository] = None
            return self._tags[repository]

    def put_manifest(self, repository: str, reference: str, raw: RawManifest) -> None:
        self.client.put_manifest(repository, reference, raw.data, raw.media_type)

    def blob_size(self, repository: str, digest: str) -> int | None:
        return self.client.head_blob(repository, digest)

    def open_blob(self, repository: str, blob: Descriptor) -> ContextManager[Iterator[bytes]]:
        return self.client.open_blob(repository, blob.digest, blob.size)

    def put_blob(self, repository: str, blob: Descriptor, chunks: Iterable[bytes]) -> None:
        self.client.upload_blob(repository, blob.digest, chunks, blob.size)

    def mount_blob(self, repository: str, digest: str, from_repository: str) -> bool:
        return self.client.mount_blob(repository, digest, from_repository)


class MirroredRegistries(Registries):
    """A registry session that reads images by digest from their mirrors first (`--idms-file`, `--icsp-file`),
    then from their source: every store `open_store` gives for a registry a rule covers reads through them."""

    def __init__(self, options: RegistryOptions | None = None, credentials: CredentialStore | None = None, *,
                 mirrors: ImageMirrors) -> None:
        super().__init__(options, credentials)
        self.mirrors = mirrors


def open_store(reference: Reference, registries: Registries, root: Path | None = None) -> ImageStore:
    """The store a reference points into: its registry, or for `file://` the directory `root`.

    With a `MirroredRegistries` session, a registry some mirror rule covers is read through its mirrors.
    """
    if reference.is_file:
        return DiskStore(root or Path.cwd())
    store = RegistryStore(registries.client(reference.registry))
    mirrors = registries.mirrors if isinstance(registries, MirroredRegistries) else ImageMirrors()
    if not mirrors.covers_registry(reference.registry):
        return store

    def places(repository: str) -> list[Place]:
        candidates = mirrors.candidates(Reference(reference.registry, repository))
        return [(store if c.registry == reference.registry else RegistryStore(registries.client(c.registry)),
                 c.repository) for c in candidates]

    return ReadThroughStore(store, places)
