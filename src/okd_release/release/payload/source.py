"""Open a release payload from a registry, an on-disk mirror, a directory or a payload tar file."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from msgspec import Struct

from okd_release import reference as references
from okd_release.content import Platform, RawManifest
from okd_release.errors import ConfigError, ManifestError, NotFound, PayloadError
from okd_release.image import manifest as manifests
from okd_release.image.config import ImageConfig
from okd_release.image.inspect import load_config
from okd_release.image.layer import COPY_BUFFER, read_files
from okd_release.image.manifest import ImageIndex, ImageManifest
from okd_release.image.store import ImageStore
from okd_release.reference import Reference
from okd_release.registry.session import Registries
from okd_release.release.payload.model import IMAGE_REFERENCES, MANIFESTS_DIR, RELEASE_METADATA, Payload
from okd_release.stores import open_store

DEFAULT_PLATFORM = Platform("linux", "amd64")


class ReleaseImage(Struct, frozen=True):
    """A release payload and where it came from; `store`/`image` are None for directories and tar files.

    Attributes:
        name: the reference, directory or file it was opened from.
        payload: the release-manifests: image-references, release-metadata and the manifests.
        store, reference: where it was read from (None for a directory or a payload file).
        digest: the release's digest (the manifest list's, for a multi-arch release).
        image: the release image's manifest (for a multi-arch release: the chosen platform's).
        config: the release image's config (created, platform, labels).
        index: the manifest list of a multi-arch release, else None.
    """

    name: str
    payload: Payload
    store: ImageStore | None = None
    reference: Reference | None = None
    digest: str = ""
    image: ImageManifest | None = None
    config: ImageConfig | None = None
    index: ImageIndex | None = None

    @property
    def pullspec(self) -> str:
        """The release by digest (the manifest list's digest for a multi-arch release)."""
        if self.reference is None:
            return self.name
        return str(self.reference.with_digest(self.digest))

    def __repr__(self) -> str:
        # short: the payload holds every manifest of the release
        return (f"<ReleaseImage {self.payload.version} {self.digest or self.name}: "
                f"{len(self.payload.image_references.tags)} images, {len(self.payload.manifests)} manifests>")


def _payload_files(chunks: Iterator[bytes], where: str, with_manifests: bool = True) -> dict[str, bytes]:
    prefix = MANIFESTS_DIR + "/"
    wanted = (lambda name: name.startswith(prefix) and "/" not in name[len(prefix):]) if with_manifests else \
        (lambda name: name in (f"{prefix}{IMAGE_REFERENCES}", f"{prefix}{RELEASE_METADATA}"))
    files = read_files(chunks, wanted, where)
    return {name[len(prefix):]: data for name, data in files.items()}


def choose_manifest(index: ImageIndex, platform: Platform | None, where: str) -> str:
    wanted = platform or DEFAULT_PLATFORM
    for entry in index.manifests:
        if entry.platform == wanted:
            return entry.digest
    if platform is None and index.manifests:
        return index.manifests[0].digest
    available = ", ".join(str(e.platform) for e in index.manifests)
    raise PayloadError(f"{where} has no image for {wanted} (it has: {available})")


def open_release(registries: Registries, text: str, platform: Platform | None = None, root: Path | None = None,
                 with_manifests: bool = True, manifest: RawManifest | None = None) -> ReleaseImage:
    """Read a release image: its manifest (or list), config and the payload layer's files.

    Without `with_manifests`, only image-references and release-metadata are read (for callers that stream
    the manifests from the layer themselves, such as `extract --to`).

    Args:
        registries: the registry clients to read with.
        text: a pullspec (by tag or digest), a `file://` reference (with `root`), or the path of a payload
            file written by `new --to-file` (`.tar`, `.tar.gz`, `.tgz`).
        platform: for a multi-arch release, the platform to read (default linux/amd64, else the first).
        root: the directory `file://` references are read from (an on-disk mirror).
        manifest: the manifest (or list) `text` names, when the caller has read it already (not read again).

    Raises:
        InvalidReference: `text` is not an image reference.
        NotFound: the release (or a blob of it) does not exist.
        PayloadError: the image is not a release payload, or has no image for `platform`.
        OkdReleaseError: any other registry or manifest failure (AuthenticationError, DigestMismatch, ...).
    """
    if text.endswith((".tar", ".tar.gz", ".tgz")) and Path(text).is_file():
        return open_payload_file(Path(text))
    reference = references.parse(text)
    store = open_store(reference, registries, root)
    raw = manifest or store.get_manifest(reference.repository, reference.identifier)
    top = manifests.parse(raw, f"manifest of {reference}")
    index = None
    if isinstance(top, ImageIndex):
        index = top
        child = store.get_manifest(reference.repository, choose_manifest(top, platform, str(reference)))
        top = manifests.parse(child, f"manifest of {reference}")
        if isinstance(top, ImageIndex):
            raise ManifestError(f"{reference}: nested manifest lists are not supported")
    image = top
    # The config, then the payload layer, over the one connection: read side by side, the config would need a
    # connection of its own, whose TLS handshake costs more than the wait it saves.
    config = load_config(store, reference.repository, image, str(reference))
    if not image.layers:
        raise PayloadError(f"{reference} is not a release image: it has no layers")
    layer = image.layers[-1]

    def read() -> dict[str, bytes]:
        with store.open_blob(reference.repository, layer) as chunks:
            return _payload_files(chunks, f"layer {layer.digest} of {reference}", with_manifests)

    try:
        files = store.retrying(f"payload layer of {reference}", read)
    except ManifestError as error:
        raise PayloadError(f"{reference} is not a release image: {error}") from None
    if "image-references" not in files:
        raise PayloadError(f"{reference} is not a release image: no release-manifests in its last layer")
    payload = Payload.from_files(files, str(reference))
    digest = index.digest if index else image.digest
    return ReleaseImage(str(reference), payload, store, reference, digest, image, config, index)


def open_release_or_dir(registries: Registries, image: str | None, from_dir: str | Path | None,
                        platform: Platform | None = None, with_manifests: bool = True) -> ReleaseImage:
    """The release a command names: a payload directory (`--from-dir`), else the release image.

    Raises ConfigError when neither is given, and what `open_release` or `open_payload_dir` raise.
    """
    if from_dir:
        return open_payload_dir(Path(from_dir))
    if not image:
        raise ConfigError("give a release image or --from-dir")
    return open_release(registries, image, platform, with_manifests=with_manifests)


def open_payload_dir(directory: Path) -> ReleaseImage:
    """Open a directory holding image-references (and release-metadata) beside the manifests.

    Raises NotFound when there is no such directory and PayloadError when it holds no valid image-references.
    """
    if not directory.is_dir():
        raise NotFound(f"directory {directory} does not exist")
    files = {p.name: p.read_bytes() for p in sorted(directory.iterdir()) if p.is_file()}
    return ReleaseImage(str(directory), Payload.from_files(files, str(directory)))


def open_payload_file(path: Path) -> ReleaseImage:
    """Open a payload tar written by `new --to-file`; raises PayloadError when it is not one."""
    prefix = MANIFESTS_DIR + "/"
    try:
        with open(path, "rb") as handle:
            files = read_files(iter(lambda: handle.read(COPY_BUFFER), b""),
                               lambda name: name.startswith(prefix) and name.count("/") == 1, str(path))
    except ManifestError as error:
        raise PayloadError(f"{path} is not a payload tar file: {error}") from None
    return ReleaseImage(str(path), Payload.from_files({n[len(prefix):]: d for n, d in files.items()}, str(path)))
