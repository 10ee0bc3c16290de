"""Registry operations on one host: manifests, blobs, uploads, mounts and tags (distribution API v2)."""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from urllib.parse import urljoin

import httpx

from okd_release import digest as digests
from okd_release import mediatypes
from okd_release.content import CHUNK, RawManifest
from okd_release.errors import DigestMismatch, ManifestError, NotFound, RegistryError, TransientRegistryError
from okd_release.registry.credentials import Credentials
from okd_release.registry.options import RegistryOptions
from okd_release.registry.retry import with_retries
from okd_release.registry.transport import Transport

MAX_MANIFEST_BYTES = 4 * 1024 * 1024
CHUNKED_THRESHOLD = 256 * 1024 * 1024
UPLOAD_CHUNK = 64 * 1024 * 1024
_LINK_NEXT = re.compile(r'<([^>]+)>\s*;\s*rel="?next"?')


@dataclass(frozen=True)
class BlobInfo:
    digest: str
    size: int


def pull_scope(repository: str) -> str:
    return f"repository:{repository}:pull"


def push_scope(repository: str, mount_from: str | None = None) -> str:
    scope = f"repository:{repository}:pull,push"
    return scope + (f" repository:{mount_from}:pull" if mount_from else "")


class RegistryClient:
    """The distribution API of one registry host."""

    def __init__(self, registry: str, options: RegistryOptions, credentials: Credentials | None = None) -> None:
        self.registry = registry
        self.options = options
        self.transport = Transport(registry, options, credentials)

    def close(self) -> None:
        self.transport.close()

    def ping(self) -> None:
        self.transport.request("GET", "/v2/", "")

    # -- manifests ---------------------------------------------------------------------------------
    def get_manifest(self, repository: str, reference: str, accept: Iterable[str] = mediatypes.ALL_MANIFESTS) -> RawManifest:
        """Fetch a manifest by tag or digest; the bytes are checked against the digest we know of."""
        path = f"/v2/{repository}/manifests/{reference}"
        where = f"{self.registry}/{repository}{'@' if reference.startswith('sha256:') else ':'}{reference}"

        def fetch() -> RawManifest:
            with contextlib.closing(
                self.transport.request("GET", path, pull_scope(repository), headers={"Accept": ", ".join(accept)}, stream=True)
            ) as response:
                data = _read_limited(response, MAX_MANIFEST_BYTES, f"manifest {where}")
                media_type = response.headers.get("Content-Type", "").split(";")[0].strip()
                header_digest = response.headers.get("Docker-Content-Digest")
            return _check_manifest(data, media_type, reference, header_digest, where)

        try:
            return with_retries(self.options.retry, f"GET manifest {where}", fetch)
        except NotFound:
            raise NotFound(f"image {where} not found") from None

    def head_manifest(self, repository: str, reference: str) -> BlobInfo | None:
        try:
            response = self.transport.request(
                "HEAD", f"/v2/{repository}/manifests/{reference}", pull_scope(repository),
                headers={"Accept": ", ".join(mediatypes.ALL_MANIFESTS)},
            )
        except NotFound:
            return None
        digest = response.headers.get("Docker-Content-Digest", "")
        return BlobInfo(digest, int(response.headers.get("Content-Length", "0")))

    def put_manifest(self, repository: str, reference: str, data: bytes, media_type: str) -> str:
        response = self.transport.request(
            "PUT", f"/v2/{repository}/manifests/{reference}", push_scope(repository),
            headers={"Content-Type": media_type}, content=data, ok=(201, 200),
        )
        digest = digests.of(data)
        returned = response.headers.get("Docker-Content-Digest")
        if returned and returned != digest:
            raise DigestMismatch(f"registry {self.registry} stored manifest as {returned}, expected {digest}")
        return digest

    # -- blobs -------------------------------------------------------------------------------------
    def head_blob(self, repository: str, digest: str) -> int | None:
        """The blob's size if `repository` has it, else None."""
        try:
            response = self.transport.request("HEAD", f"/v2/{repository}/blobs/{digest}", pull_scope(repository))
        except NotFound:
            return None
        return int(response.headers.get("Content-Length", "-1"))

    @contextlib.contextmanager
    def open_blob(self, repository: str, digest: str, size: int | None = None) -> Iterator[Iterator[bytes]]:
        """Stream a blob; the iterator raises DigestMismatch at the end if the bytes are not `digest`."""
        digests.validate(digest)
        response = self.transport.request("GET", f"/v2/{repository}/blobs/{digest}", pull_scope(repository), stream=True)
        try:
            what = f"blob {digest} of {self.registry}/{repository}"
            yield digests.verified(_transient_on_drop(response.iter_bytes(CHUNK), what), digest, what, size)
        finally:
            response.close()

    def mount_blob(self, repository: str, digest: str, from_repository: str) -> bool:
        """Ask the registry to link a blob from another repository; True when it did."""
        response = self.transport.request(
            "POST", f"/v2/{repository}/blobs/uploads/", push_scope(repository, from_repository),
            params={"mount": digest, "from": from_repository}, ok=(201, 202),
        )
        if response.status_code == 201:
            return True
        self._cancel_upload(repository, response)
        return False

    def upload_blob(self, repository: str, digest: str, chunks: Iterable[bytes], size: int | None) -> None:
        """Upload a blob from a stream, never holding it whole in memory.

        Known size up to `CHUNKED_THRESHOLD`: one streamed PUT (monolithic upload). Larger: a chunked
        upload, PATCH requests of `UPLOAD_CHUNK` bytes each with Content-Range. Unknown size: one
        streamed PATCH. The stream is consumed once; a failed upload is retried by the caller.
        """
        digests.validate(digest)
        start = self.transport.request("POST", f"/v2/{repository}/blobs/uploads/", push_scope(repository), ok=(202,))
        location = self._location(start)
        scope = push_scope(repository)
        octets = {"Content-Type": "application/octet-stream"}
        if size is not None and size <= CHUNKED_THRESHOLD:
            self.transport.request(
                "PUT", _with_query(location, "digest", digest), scope, content=_exactly(chunks, size),
                headers={**octets, "Content-Length": str(size)}, ok=(201,), retry=False,
            )
            return
        if size is None:
            patched = self.transport.request("PATCH", location, scope, content=chunks, headers=octets,
                                             ok=(202, 204), retry=False)
            location = self._location(patched)
        else:
            source, offset = _Rechunker(chunks), 0
            while offset < size:
                length = min(UPLOAD_CHUNK, size - offset)
                headers = {**octets, "Content-Length": str(length), "Content-Range": f"{offset}-{offset + length - 1}"}
                patched = self.transport.request("PATCH", location, scope, content=source.take(length),
                                                 headers=headers, ok=(202, 204), retry=False)
                location, offset = self._location(patched), offset + length
        self.transport.request(
            "PUT", _with_query(location, "digest", digest), scope, content=b"",
            headers={"Content-Length": "0"}, ok=(201,), retry=False,
        )

    def upload_bytes(self, repository: str, data: bytes) -> str:
        digest = digests.of(data)
        with_retries(self.options.retry, f"upload {digest}", lambda: self.upload_blob(repository, digest, [data], len(data)))
        return digest

    def _location(self, response: httpx.Response) -> str:
        location = response.headers.get("Location")
        if not location:
            raise RegistryError(f"registry {self.registry} started an upload without a Location")
        return str(urljoin(str(response.url), location))

    def _cancel_upload(self, repository: str, response: httpx.Response) -> None:
        location = response.headers.get("Location")
        if location:
            with contextlib.suppress(RegistryError):
                self.transport.request("DELETE", self._location(response), push_scope(repository), ok=(204, 404), retry=False)

    # -- tags --------------------------------------------------------------------------------------
    def list_tags(self, repository: str, page_size: int = 1000) -> list[str]:
        tags: list[str] = []
        url: str | None = f"/v2/{repository}/tags/list?n={page_size}"
        while url:
            response = self.transport.request("GET", url, pull_scope(repository))
            try:
                tags.extend(response.json().get("tags") or [])
            except (ValueError, AttributeError):
                raise RegistryError(f"registry {self.registry} returned an invalid tag list for {repository}") from None
            link = _LINK_NEXT.search(response.headers.get("Link", ""))
            url = urljoin(str(response.url), link.group(1)) if link else None
        return tags


class _Rechunker:
    """Splits one chunk stream into consecutive streams of given lengths (for chunked uploads)."""

    def __init__(self, chunks: Iterable[bytes]) -> None:
        self._chunks = iter(chunks)
        self._pending = b""

    def take(self, length: int) -> Iterator[bytes]:
        while length > 0:
            if not self._pending:
                self._pending = next(self._chunks, b"")
                if not self._pending:
                    raise DigestMismatch(f"blob stream ended {length} bytes short of its declared size")
            piece, self._pending = self._pending[:length], self._pending[length:]
            length -= len(piece)
            yield piece


def _exactly(chunks: Iterable[bytes], size: int) -> Iterator[bytes]:
    """Pass chunks through, failing clearly (not with a protocol error) when they are not `size` bytes."""
    total = 0
    for chunk in chunks:
        total += len(chunk)
        if total > size:
            raise DigestMismatch(f"blob stream is longer than its declared size {size}")
        yield chunk
    if total != size:
        raise DigestMismatch(f"blob stream ended {size - total} bytes short of its declared size")


def _transient_on_drop(chunks: Iterator[bytes], what: str) -> Iterator[bytes]:
    try:
        yield from chunks
    except httpx.TransportError as error:
        raise TransientRegistryError(f"{what}: connection lost mid-body ({type(error).__name__})") from None


def _with_query(url: str, key: str, value: str) -> str:
    """Add a query parameter to an upload URL, keeping the registry's own (`_state`, ...)."""
    return str(httpx.URL(url).copy_add_param(key, value))


def _read_limited(response: httpx.Response, limit: int, what: str) -> bytes:
    data = bytearray()
    for chunk in response.iter_bytes():
        data += chunk
        if len(data) > limit:
            raise ManifestError(f"{what} exceeds {limit} bytes")
    return bytes(data)


def _check_manifest(data: bytes, media_type: str, reference: str, header_digest: str | None, where: str) -> RawManifest:
    actual = digests.of(data)
    if reference.startswith("sha256:") and actual != reference:
        raise DigestMismatch(f"manifest {where} does not match its digest (got {actual})")
    if header_digest and header_digest != actual:
        raise DigestMismatch(f"manifest {where}: registry says {header_digest} but the bytes are {actual}")
    if media_type not in mediatypes.ALL_MANIFESTS:
        sniffed = mediatypes.sniff(data)
        if sniffed is None:
            raise ManifestError(f"manifest {where} has unsupported or invalid content (type {media_type or 'none'})")
        media_type = sniffed
    return RawManifest(data, media_type, actual)
