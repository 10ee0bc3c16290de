"""An on-disk mirror in oc's `file://` layout: `v2/<repository>/{blobs,manifests}/`.

Every file is written under a temporary name and renamed into place only once its digest is verified,
so a file present under its final name is always complete.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path

from okd_release import digest as digests
from okd_release import mediatypes
from okd_release.content import CHUNK, Descriptor, RawManifest
from okd_release.errors import ConfigError, DigestMismatch, ManifestError, NotFound
from okd_release.image.store import LocalRetry


def atomic_write(path: Path, chunks: Iterable[bytes], digest: str | None = None, what: str = "file") -> None:
    """Write `chunks` to `path` via a temporary file; verify `digest` before the rename."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=".partial-")
    umask = os.umask(0)
    os.umask(umask)
    os.fchmod(handle, 0o644 & ~umask)
    try:
        with os.fdopen(handle, "wb") as out:
            source = digests.verified(chunks, digest, what) if digest else chunks
            for chunk in source:
                out.write(chunk)
            out.flush()
            os.fsync(out.fileno())
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)
        raise


class DiskStore(LocalRetry):
    """Images under `root/v2/<repository>/`: blobs by digest, manifests by digest and tag."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self.key = f"disk:{self.root.resolve()}"
        self.mounts_across_repositories = True  # a hard link between repositories of one directory

    def _repository(self, repository: str) -> Path:
        path = (self.root / "v2" / repository).resolve()
        if not str(path).startswith(str((self.root / "v2").resolve()) + os.sep):
            raise ConfigError(f"repository {repository!r} escapes the mirror directory")
        return path

    def describe(self, repository: str) -> str:
        return f"file://{repository} in {self.root}"

    def reference_name(self, repository: str) -> str:
        return f"file://{repository}"

    def get_manifest(self, repository: str, reference: str) -> RawManifest:
        path = self._repository(repository) / "manifests" / reference
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            raise NotFound(f"image file://{repository}:{reference} not found in {self.root}") from None
        actual = digests.of(data)
        if reference.startswith("sha256:") and actual != reference:
            raise DigestMismatch(f"manifest {path} does not match its digest (got {actual})")
        media_type = mediatypes.sniff(data)
        if media_type is None:
            raise ManifestError(f"manifest {path} is not a valid manifest")
        return RawManifest(data, media_type, actual)

    def has_manifest(self, repository: str, digest: str) -> bool:
        return (self._repository(repository) / "manifests" / digest).is_file()

    def put_manifest(self, repository: str, reference: str, raw: RawManifest) -> None:
        manifests = self._repository(repository) / "manifests"
        atomic_write(manifests / raw.digest, [raw.data], raw.digest, "manifest")
        if reference != raw.digest:
            atomic_write(manifests / reference, [raw.data], raw.digest, "manifest")

    def blob_size(self, repository: str, digest: str) -> int | None:
        path = self._repository(repository) / "blobs" / digests.validate(digest)
        try:
            return path.stat().st_size
        except FileNotFoundError:
            return None

    @contextlib.contextmanager
    def open_blob(self, repository: str, blob: Descriptor) -> Iterator[Iterator[bytes]]:
        digest, size = blob.digest, blob.size
        path = self._repository(repository) / "blobs" / digests.validate(digest)
        try:
            handle = open(path, "rb")
        except FileNotFoundError:
            raise NotFound(f"blob {digest} of file://{repository} not found in {self.root}") from None
        with handle:
            yield digests.verified(iter(lambda: handle.read(CHUNK), b""), digest, f"blob {digest} in {path.parent}", size)

    def put_blob(self, repository: str, blob: Descriptor, chunks: Iterable[bytes]) -> None:
        path = self._repository(repository) / "blobs" / digests.validate(blob.digest)
        atomic_write(path, chunks, blob.digest, f"blob {blob.digest}")

    def mount_blob(self, repository: str, digest: str, from_repository: str) -> bool:
        source = self._repository(from_repository) / "blobs" / digest
        target = self._repository(repository) / "blobs" / digest
        if not source.is_file():
            return False
        target.parent.mkdir(parents=True, exist_ok=True)
        try:
            os.link(source, target)
        except FileExistsError:
            pass
        except OSError:
            return False
        return True
