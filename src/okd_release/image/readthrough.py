"""A store that reads content by digest from the first of several places that has it: mirrors before their
source (`--idms-file`), or a differential disk mirror before the registry that holds what it builds on.

Content named by digest is the same wherever it is found, and every read is verified against its digest, so
any place that has it will do. What is not content by digest stays the home store's alone: manifests by tag
(a tag may name other content at a mirror), existence checks (a target must itself hold what it is asked
about) and every write.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterable, Iterator
from typing import TypeVar

from okd_release import logs
from okd_release.content import Descriptor, RawManifest
from okd_release.errors import NotFound, OkdReleaseError, RegistryError
from okd_release.image.store import ImageStore

T = TypeVar("T")
Place = tuple[ImageStore, str]
"""A store and the repository in it."""


class ReadThroughStore:
    """`home`, whose reads by digest go to `places(repository)` in order, each tried until one answers.

    `places` returns, for a repository of `home`, the (store, repository) pairs to read it from, normally
    ending with `(home, repository)` itself; an empty list means `home` alone.
    """

    def __init__(self, home: ImageStore, places: Callable[[str], list[Place]]) -> None:
        self.home = home
        self.places = places
        self.key = home.key
        self.mounts_across_repositories = home.mounts_across_repositories

    def describe(self, repository: str) -> str:
        return self.home.describe(repository)

    def reference_name(self, repository: str) -> str:
        return self.home.reference_name(repository)

    def retrying(self, what: str, operation: Callable[[], T]) -> T:
        return self.home.retrying(what, operation)

    def get_manifest(self, repository: str, reference: str) -> RawManifest:
        if not reference.startswith("sha256:"):
            return self.home.get_manifest(repository, reference)
        return self._first(repository, f"manifest {reference}",
                           lambda store, where: store.get_manifest(where, reference))

    def has_manifest(self, repository: str, digest: str) -> bool:
        return self.home.has_manifest(repository, digest)

    def unknown_repository(self, repository: str) -> bool:
        return self.home.unknown_repository(repository)

    def tag_digest(self, repository: str, tag: str) -> str | None:
        return self.home.tag_digest(repository, tag)

    def put_manifest(self, repository: str, reference: str, raw: RawManifest) -> None:
        self.home.put_manifest(repository, reference, raw)

    def blob_size(self, repository: str, digest: str) -> int | None:
        return self.home.blob_size(repository, digest)

    @contextlib.contextmanager
    def open_blob(self, repository: str, blob: Descriptor) -> Iterator[Iterator[bytes]]:
        with contextlib.ExitStack() as stack:
            # the request is made on entering: a place without the blob fails there, before any byte is read
            chunks = self._first(repository, f"blob {blob.digest}",
                                 lambda store, where: stack.enter_context(store.open_blob(where, blob)))
            yield chunks

    def put_blob(self, repository: str, blob: Descriptor, chunks: Iterable[bytes]) -> None:
        self.home.put_blob(repository, blob, chunks)

    def mount_blob(self, repository: str, digest: str, from_repository: str) -> bool:
        return self.home.mount_blob(repository, digest, from_repository)

    def _first(self, repository: str, what: str, read: Callable[[ImageStore, str], T]) -> T:
        """`read` at each place in turn: the first answer, else one error naming what each place said."""
        places = self.places(repository) or [(self.home, repository)]
        failures: list[OkdReleaseError] = []
        for store, where in places:
            try:
                return read(store, where)
            except OkdReleaseError as error:
                logs.info(__name__, "%s not read from %s: %s", what, store.describe(where), error)
                failures.append(error)
        if len(failures) == 1:
            raise failures[0]
        # each error names its place ("image mirror.example.com/okd/release@sha256:... not found")
        said = "; ".join(str(error) for error in failures)
        message = f"{what} of {self.home.describe(repository)} is in none of the {len(places)} places tried: {said}"
        if all(isinstance(error, NotFound) for error in failures):
            raise NotFound(message)
        kinds = {type(error) for error in failures}
        raise (kinds.pop() if len(kinds) == 1 else RegistryError)(message)
