"""Registry operations on one host: manifests, blobs, uploads, mounts and tags (distribution API v2)."""

from __future__ import annotations

import contextlib
import functools
import json
import re
from collections.abc import Callable, Iterable, Iterator
from urllib.parse import urljoin

from msgspec import Struct

from okd_release import digest as digests
from okd_release import mediatypes, names
from okd_release.content import CHUNK, RawManifest
from okd_release.errors import DigestMismatch, ManifestError, NotFound, RegistryError, TransientRegistryError
from okd_release.registry.credentials import Credentials, RegistryCredentials
from okd_release.registry.deadlines import deadline
from okd_release.registry.http import Response
from okd_release.registry.limits import guarded, read_capped
from okd_release.registry.options import RegistryOptions
from okd_release.registry.retry import RetryCounter, with_retries
from okd_release.registry.transport import Transport
from okd_release.registry.url import InvalidURL, parse_url

MAX_MANIFEST_BYTES = 4 * 1024 * 1024
MAX_TAG_LIST_BYTES = 16 * 1024 * 1024
CHUNKED_THRESHOLD = 256 * 1024 * 1024
UPLOAD_CHUNK = 64 * 1024 * 1024
VERIFY_RATE = 4 * 1024 * 1024  # bytes/s allowed on top of the request deadline to complete (and verify) an upload
_LINK_NEXT = re.compile(r'<([^>]+)>\s*;\s*rel="?next"?')
_CONTENT_RANGE = re.compile(r"bytes (\d+)-\d+/(?:\d+|\*)")


class BlobCut(TransientRegistryError):
    """A blob's download broke off (or stalled) mid-body. `resume()` continues it where it stopped: a GET with
    `Range: bytes=N-` for the N bytes already passed on, hashed on by the same running digest, so the check at
    the end still covers the whole blob. A registry that ignores the Range and sends the whole blob again has
    its first N bytes dropped. The continuation may be cut again, and then raises BlobCut in turn."""

    def __init__(self, message: str, resume: Callable[[], Iterator[bytes]]) -> None:
        super().__init__(message)
        self.resume = resume


class BlobInfo(Struct, frozen=True):
    digest: str
    size: int


def pull_scope(repository: str) -> str:
    return f"repository:{repository}:pull"


def push_scope(repository: str, mount_from: str | None = None) -> str:
    scope = f"repository:{repository}:pull,push"
    return scope + (f" repository:{mount_from}:pull" if mount_from else "")


class RegistryClient:
    """The distribution API of one registry host.

    Every repository, tag and digest is checked against the distribution grammar before it goes into a URL:
    a URL parser would otherwise resolve a `..` in a tag and send the request to another repository.
    """

    def __init__(self, registry: str, options: RegistryOptions, credentials: Credentials | RegistryCredentials | None = None,
                 retries: RetryCounter | None = None) -> None:
        self.registry = registry
        self.options = options
        self.transport = Transport(registry, options, credentials, retries)
        self.retries = self.transport.retries

    def close(self) -> None:
        self.transport.close()

    def ping(self) -> None:
        self.transport.request("GET", "/v2/", "")

    # -- manifests ---------------------------------------------------------------------------------
    def get_manifest(self, repository: str, reference: str, accept: Iterable[str] = mediatypes.ALL_MANIFESTS) -> RawManifest:
        """Fetch a manifest by tag or digest; the bytes are checked against the digest we know of."""
        path = self._manifest_path(repository, reference)
        where = f"{self.registry}/{repository}{'@' if reference.startswith('sha256:') else ':'}{reference}"

        def fetch() -> RawManifest:
            # the answer's headers come within the request deadline (each attempt), then its body within another
            with contextlib.closing(
                self.transport.request("GET", path, pull_scope(repository), headers={"Accept": ", ".join(accept)}, stream=True)
            ) as response, deadline(self.options.request_deadline):
                data = read_capped(response, MAX_MANIFEST_BYTES, f"manifest {where}", ManifestError)
                media_type = response.headers.get("Content-Type", "").split(";")[0].strip()
                header_digest = response.headers.get("Docker-Content-Digest")
            return _check_manifest(data, media_type, reference, header_digest, where)

        try:
            return with_retries(self.options.retry, f"GET manifest {where}", fetch, self.retries)
        except NotFound:
            raise NotFound(f"image {where} not found") from None

    def head_manifest(self, repository: str, reference: str) -> BlobInfo | None:
        """The digest (as the registry reports it, "" when it does not) and size of a manifest, or None."""
        path = self._manifest_path(repository, reference)
        try:
            response = self.transport.request(
                "HEAD", path, pull_scope(repository), headers={"Accept": ", ".join(mediatypes.ALL_MANIFESTS)},
            )
        except NotFound:
            return None
        digest = response.headers.get("Docker-Content-Digest", "")
        if digest:
            names.check_digest(digest, f"digest that registry {self.registry} gave for {repository}:{reference}")
        return BlobInfo(digest, self._size(response, "0"))

    def put_manifest(self, repository: str, reference: str, data: bytes, media_type: str) -> str:
        path = self._manifest_path(repository, reference)
        response = self.transport.request(
            "PUT", path, push_scope(repository), headers={"Content-Type": media_type}, content=data, ok=(201, 200),
        )
        digest = digests.of(data)
        returned = response.headers.get("Docker-Content-Digest")
        if returned and returned != digest:
            raise DigestMismatch(f"registry {self.registry} stored manifest as {returned}, expected {digest}")
        return digest

    # -- blobs -------------------------------------------------------------------------------------
    def head_blob(self, repository: str, digest: str) -> int | None:
        """The blob's size if `repository` has it, else None."""
        path = self._blob_path(repository, digest)
        try:
            response = self.transport.request("HEAD", path, pull_scope(repository))
        except NotFound:
            return None
        return self._size(response, "-1")

    @contextlib.contextmanager
    def open_blob(self, repository: str, digest: str, size: int | None = None) -> Iterator[Iterator[bytes]]:
        """Stream a blob; the iterator raises DigestMismatch at the end if the bytes are not `digest`, and
        BlobCut (a TransientRegistryError) if the connection drops or the registry stalls (see
        RegistryOptions.stall_bytes): redo the read, or continue it with `BlobCut.resume`."""
        path = self._blob_path(repository, digest)
        response = self.transport.request("GET", path, pull_scope(repository), stream=True)
        try:
            what = f"blob {digest} of {self.registry}/{repository}"
            verifier = digests.Verifier(digest, what, size)
            yield _then_checked(self._blob_body(path, repository, what, verifier, response), verifier)
        finally:
            response.close()

    def _blob_body(self, path: str, repository: str, what: str, verifier: digests.Verifier, response: Response,
                   skip: int = 0) -> Iterator[bytes]:
        """The blob's bytes from `response`, after its first `skip`; cut off mid-body, BlobCut says how to go on."""
        try:
            # one loop reads, watches for stalls and hashes; the check of the whole comes after the last chunk
            yield from guarded(response, what, self.options.read_timeout, self.options.stall_bytes, CHUNK,
                               verifier.update, skip)
        except TransientRegistryError as error:
            response.close()  # not held open, stalled, while the rest is fetched on another connection
            raise BlobCut(str(error), functools.partial(self._resumed_blob, path, repository, what, verifier)) from None

    def _resumed_blob(self, path: str, repository: str, what: str, verifier: digests.Verifier) -> Iterator[bytes]:
        """The rest of a cut blob, from the `verifier.size` bytes already passed on (see BlobCut)."""
        offset = verifier.size
        headers = {"Range": f"bytes={offset}-"} if offset else None
        response = self.transport.request("GET", path, pull_scope(repository), headers=headers, stream=True,
                                          ok=(200, 206))
        try:
            skip = offset  # a 200 is the whole blob again: what we have is read and dropped
            if response.status_code == 206:
                sent = response.headers.get("Content-Range", "")
                found = _CONTENT_RANGE.fullmatch(sent.strip())
                if found is None or int(found.group(1)) != offset:
                    raise RegistryError(f"registry {self.registry} answered a request for {what} from byte {offset} "
                                        f"with the range {names.shown(sent) if sent else '(none)'}")
                skip = 0
            yield from _then_checked(self._blob_body(path, repository, what, verifier, response, skip), verifier)
        finally:
            response.close()

    def mount_blob(self, repository: str, digest: str, from_repository: str) -> bool:
        """Ask the registry to link a blob from another repository; True when it did."""
        names.check_repository(repository)
        names.check_digest(digest)
        names.check_repository(from_repository, "repository to mount from")
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
        names.check_repository(repository)
        names.check_digest(digest)
        start = self.transport.request("POST", f"/v2/{repository}/blobs/uploads/", push_scope(repository), ok=(202,))
        location = self._location(start)
        scope = push_scope(repository)
        octets = {"Content-Type": "application/octet-stream"}
        if size is not None and size <= CHUNKED_THRESHOLD:
            self.transport.request(
                "PUT", _with_query(location, "digest", digest), scope, content=_exactly(chunks, size),
                headers={**octets, "Content-Length": str(size)}, ok=(201,), retry=False,
                deadline_seconds=self._completion_deadline(size),
            )
            return
        if size is None:
            sent = [0]
            patched = self.transport.request("PATCH", location, scope, content=_counted(chunks, sent), headers=octets,
                                             ok=(202, 204), retry=False)
            location, size = self._location(patched), sent[0]
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
            headers={"Content-Length": "0"}, ok=(201,), retry=False, deadline_seconds=self._completion_deadline(size),
        )

    def _completion_deadline(self, size: int) -> float:
        """How long the registry may take to answer the request that completes an upload: it may read the
        whole blob back (from slow storage) to check its digest, so large blobs get longer."""
        return self.options.request_deadline + size / VERIFY_RATE

    def upload_bytes(self, repository: str, data: bytes) -> str:
        digest = digests.of(data)
        with_retries(self.options.retry, f"upload {digest}", lambda: self.upload_blob(repository, digest, [data], len(data)),
                     self.retries)
        return digest

    def _manifest_path(self, repository: str, reference: str) -> str:
        names.check_repository(repository)
        names.check_reference(reference, "tag or digest")
        return f"/v2/{repository}/manifests/{reference}"

    def _blob_path(self, repository: str, digest: str) -> str:
        names.check_repository(repository)
        names.check_digest(digest)
        return f"/v2/{repository}/blobs/{digest}"

    def _size(self, response: Response, default: str) -> int:
        text = response.headers.get("Content-Length", default)
        try:
            return int(text)
        except ValueError:
            raise RegistryError(f"registry {self.registry} sent an invalid Content-Length {names.shown(text)}") from None

    def _location(self, response: Response) -> str:
        location = response.headers.get("Location")
        if not location:
            raise RegistryError(f"registry {self.registry} started an upload without a Location")
        return self._resolve(response, location, "upload Location")

    def _resolve(self, response: Response, url: str, what: str) -> str:
        """A URL the registry gave us, made absolute; one that does not parse is the registry's error."""
        try:
            resolved = urljoin(str(response.url), url)
            parse_url(resolved)
        except (ValueError, InvalidURL):
            raise RegistryError(f"registry {self.registry} sent an invalid {what} {names.shown(url.split('?', 1)[0])}") from None
        return resolved

    def _cancel_upload(self, repository: str, response: Response) -> None:
        location = response.headers.get("Location")
        if location:
            with contextlib.suppress(RegistryError):
                self.transport.request("DELETE", self._location(response), push_scope(repository), ok=(204, 404), retry=False)

    # -- tags --------------------------------------------------------------------------------------
    def list_tags(self, repository: str, page_size: int = 1000) -> list[str]:
        """Every tag of `repository`, following the registry's pages; each checked against the tag grammar."""
        names.check_repository(repository)
        tags: list[str] = []
        url: str | None = f"/v2/{repository}/tags/list?n={int(page_size)}"
        while url:
            page, url = with_retries(self.options.retry, f"GET tags of {self.registry}/{repository}",
                                     functools.partial(self._tag_page, repository, url), self.retries)
            tags.extend(page)
        return tags

    def _tag_page(self, repository: str, url: str) -> tuple[list[str], str | None]:
        with contextlib.closing(
            self.transport.request("GET", url, pull_scope(repository), stream=True)
        ) as response, deadline(self.options.request_deadline):
            body = read_capped(response, MAX_TAG_LIST_BYTES, f"tag list of {self.registry}/{repository}")
            link = _LINK_NEXT.search(response.headers.get("Link", ""))
            next_url = self._resolve(response, link.group(1), "next-page Link") if link else None
        try:
            listed = json.loads(body).get("tags") or []
        except (ValueError, AttributeError):
            listed = None
        if not isinstance(listed, list):
            raise RegistryError(f"registry {self.registry} returned an invalid tag list for {repository}")
        return [names.check_tag(tag, f"tag listed by {self.registry}/{repository}") for tag in listed], next_url


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


def _then_checked(chunks: Iterator[bytes], verifier: digests.Verifier) -> Iterator[bytes]:
    """The chunks, then DigestMismatch if all of them together are not the blob (hashed as they were read)."""
    yield from chunks
    verifier.check()


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


def _counted(chunks: Iterable[bytes], sent: list[int]) -> Iterator[bytes]:
    for chunk in chunks:
        sent[0] += len(chunk)
        yield chunk


def _with_query(url: str, key: str, value: str) -> str:
    """Add a query parameter to an upload URL, keeping the registry's own (`_state`, ...)."""
    return str(parse_url(url).with_params({key: value}))


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
