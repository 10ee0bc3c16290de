"""`extract`: the release manifests as `oc adm release extract` writes them, or one file of them.

oc writes image-references and release-metadata byte for byte and every `.yaml`, `.yml` or `.json` manifest
re-encoded (`goyaml.reencode`): other files of release-manifests are not written, and a manifest oc cannot
parse is skipped with an error on stderr. `raw=True` writes every file as the payload holds it instead.

`Selection` carries oc's filters: `--included` (only the documents the cluster-version operator applies on
the cluster an install-config describes, judged per document by `okd_release.release.cvo.inclusion`),
`--credentials-requests` and `--cloud`. A file keeps only its selected documents, and is not written when
none is left.

Memory stays bounded: the payload layer is streamed, each file is held only while it is converted (at most
MAX_FILE bytes, MAX_FILES_TOTAL for all of them), and written into a staging directory that is moved into
place only when the whole layer has been read and verified (`okd_release.image.unpack`).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import msgspec.structs
from msgspec import Struct, field

from okd_release.errors import ConfigError, ManifestError, PayloadError
from okd_release.image.layer import COPY_BUFFER, MAX_FILE, MAX_FILES_TOTAL, layer_tar, normalise
from okd_release.image.unpack import UnpackResult, place_each, unpack
from okd_release.release.cvo.inclusion import ClusterConfig, exclusion
from okd_release.release.cvo.objects import ManifestObject, is_manifest_file, parse_objects
from okd_release.release.extract.goyaml import decode_documents, marshal
from okd_release.release.payload.model import IMAGE_REFERENCES, MANIFESTS_DIR, RELEASE_METADATA
from okd_release.release.payload.source import ReleaseImage
from okd_release.release.payload.versions import parse_semver

T = TypeVar("T")
_PREFIX = MANIFESTS_DIR + "/"
CREDENTIALS_REQUEST = ("cloudcredential.openshift.io/v1", "CredentialsRequest")
# oc's credRequestCloudProviderSpecKindMapping: the providerSpec kind of each cloud's CredentialsRequests
PROVIDER_SPEC_KINDS = {
    "alibabacloud": "AlibabaCloudProviderSpec", "aws": "AWSProviderSpec", "azure": "AzureProviderSpec",
    "gcp": "GCPProviderSpec", "ibmcloud": "IBMCloudProviderSpec", "nutanix": "NutanixProviderSpec",
    "openstack": "OpenStackProviderSpec", "ovirt": "OvirtProviderSpec", "powervs": "IBMCloudPowerVSProviderSpec",
    "vsphere": "VSphereProviderSpec",
}
FEATURE_GATE = ("config.openshift.io/v1", "FeatureGate")
CONFIG_OPERATOR_ONLY = "false-except-for-the-config-operator"
# A manifest is decoded whole (as oc does); the largest of a real payload (CRDs) are a few MiB. Larger
# files, and files with NUL bytes (never YAML), are reported and skipped without being held.
MAX_MANIFEST = 16 * 1024 * 1024


def _quoted(text: str) -> str:
    """Go's %q for the texts oc quotes."""
    return json.dumps(text, ensure_ascii=False)


def check_cloud(cloud: str) -> str:
    if cloud not in PROVIDER_SPEC_KINDS:
        raise ConfigError(f"--cloud value not recognized, must be one of: [{' '.join(sorted(PROVIDER_SPEC_KINDS))}]")
    return cloud


class Selection(Struct, frozen=True):
    """Which documents `extract_manifests` writes.

    Attributes:
        cluster: oc's --included: only what the CVO applies on this cluster (None: every document).
        credentials_requests: oc's --credentials-requests: only CredentialsRequests.
        cloud: oc's --cloud (or the install-config's platform): only CredentialsRequests for this cloud.
        context: what `cluster` came from, for messages ("install-config.yaml").
    """

    cluster: ClusterConfig | None = None
    credentials_requests: bool = False
    cloud: str | None = None
    context: str = "the cluster configuration"

    def provider_spec_kind(self) -> str:
        """The providerSpec kind a CredentialsRequest must have; "" when any will do (oc's rules)."""
        kind = PROVIDER_SPEC_KINDS[check_cloud(self.cloud)] if self.cloud else ""
        platform = self.cluster.platform if self.cluster else None
        if platform is not None and self.cloud and platform != self.cloud:
            raise ConfigError(f"--cloud {_quoted(self.cloud)} set, but {self.context} has {_quoted(platform)}")
        if platform is not None and self.credentials_requests:
            # oc refuses a platform without CredentialsRequests (none, baremetal) even when none are asked for
            if platform not in PROVIDER_SPEC_KINDS:
                raise ConfigError(f"unrecognized platform for CredentialsRequests: {_quoted(platform)}")
            kind = PROVIDER_SPEC_KINDS[platform]
        return kind


class ExtractResult(UnpackResult):
    """What `extract_manifests` wrote (`written`), refused (`warnings`), could not parse (`errors`, as oc
    reports them and goes on) and left out by the selection (`excluded`: file, object and reason)."""

    errors: list[str] = field(default_factory=list)
    excluded: list[tuple[str, str, str]] = field(default_factory=list)


def _top_level(name: str) -> str | None:
    rest = name[len(_PREFIX):] if name.startswith(_PREFIX) else ""
    return rest if rest and "/" not in rest else None


def _in_manifests(name: str) -> str | None:
    rest = name[len(_PREFIX):] if name.startswith(_PREFIX) else ""
    return rest or None


def _stream_files(chunks: Iterator[bytes], what: str, screen: Callable[[str], bool] | None = None
                  ) -> Iterator[tuple[str, bytes | None]]:
    """The top-level regular files of release-manifests in the layer's order, one at a time, with bounds.

    With `screen`, a file it rejects is not read at all, and a file it accepts that turns out to hold a NUL
    byte, or to be larger than MAX_MANIFEST, is given as None as soon as that is seen, without holding it.
    """
    total = 0
    with layer_tar(chunks, what) as tar:
        for member in tar:
            name = _top_level(normalise(member.name))
            if name is None or not member.isreg():
                continue
            if member.size > MAX_FILE:
                raise ManifestError(f"{what}: {name} is larger than {MAX_FILE} bytes")
            total += member.size
            if total > MAX_FILES_TOTAL:
                raise ManifestError(f"{what}: its files add up to more than {MAX_FILES_TOTAL} bytes")
            if screen is not None and not screen(name):
                continue
            handle = tar.extractfile(member)
            assert handle is not None
            if screen is None:
                yield name, handle.read()
                continue
            if member.size > MAX_MANIFEST:
                yield name, None
                continue
            data = bytearray()
            while chunk := handle.read(COPY_BUFFER):
                if b"\x00" in chunk:
                    break
                data += chunk
            yield name, None if len(data) < member.size else bytes(data)


def with_payload_files(release: ReleaseImage, consume: Callable[[Iterator[tuple[str, bytes]]], T],
                       screen: Callable[[str], bool] | None = None) -> T:
    """`consume` run over the files of release-manifests exactly as the release holds them, in its order.

    A release from a registry is streamed from its payload layer (read again on a transient failure, when
    `consume` runs again); a directory or payload tar file is read from disk.
    """
    if release.store is None or release.image is None or release.reference is None:
        path = Path(release.name)
        if path.is_dir():
            return consume((p.name, p.read_bytes()) for p in sorted(path.iterdir()) if p.is_file())
        if path.is_file():
            with open(path, "rb") as handle:
                return consume(_unscreened(_stream_files(iter(lambda: handle.read(COPY_BUFFER), b""), str(path), screen)))
        return consume(iter(sorted(release.payload.files().items())))  # built in memory by a caller
    layer, store, repository = release.image.layers[-1], release.store, release.reference.repository
    what = f"payload layer {layer.digest} of {release.name}"

    def read() -> T:
        with store.open_blob(repository, layer) as chunks:
            return consume(_unscreened(_stream_files(chunks, what, screen)))

    return store.retrying(what, read)


def _unscreened(files: Iterator[tuple[str, bytes | None]]) -> Iterator[tuple[str, bytes]]:
    """A file `_stream_files` gave up on reads as NUL bytes: never a manifest, so reported as oc reports one."""
    for name, data in files:
        yield name, b"\x00" if data is None else data


def manifest_file(release: ReleaseImage, name: str) -> bytes:
    """The exact bytes of one file of release-manifests (`extract --file`); PayloadError when there is none."""
    def find(files: Iterator[tuple[str, bytes]]) -> bytes | None:
        found = None
        for file_name, data in files:  # read to the end: the layer's digest is verified there
            if file_name == name and found is None:
                found = data
        return found

    data = with_payload_files(release, find)
    if data is None:
        raise PayloadError(f"release {release.name} has no file {name!r} in release-manifests")
    return data


# -- the documents of one file ---------------------------------------------------------------------------
class _Document(Struct, frozen=True):
    value: Any
    object: ManifestObject


def _wanted(name: str) -> bool:
    return name in (IMAGE_REFERENCES, RELEASE_METADATA) or is_manifest_file(name)


def _documents(name: str, data: bytes) -> list[_Document]:
    """Each document of a manifest file as oc holds it (go-yaml's reading), with its Kubernetes identity."""
    if len(data) > MAX_MANIFEST or b"\x00" in data:
        raise PayloadError(f"error parsing {name}: not a manifest (it holds NUL bytes or is larger than {MAX_MANIFEST} bytes)")
    documents = []
    for index, value in enumerate(decode_documents(data, f"error parsing {name}")):
        # the identity and annotations as okd_release.release.cvo reads them, from the document oc holds
        objects = parse_objects(name, json.dumps(value, ensure_ascii=False).encode())
        if len(objects) != 1:
            raise PayloadError(f"error parsing {name}: document {index + 1} is not a Kubernetes object")
        documents.append(_Document(value, msgspec.structs.replace(objects[0], index=index)))
    seen = set()
    for document in documents:
        if document.object.id in seen:
            raise PayloadError(f"error parsing {name}: duplicate resource: ({document.object.id})")
        seen.add(document.object.id)
    return documents


def _selected(documents: list[_Document], selection: Selection, kind: str, excluded: list[tuple[str, str, str]]
              ) -> list[_Document]:
    """oc's filters, document by document."""
    kept = []
    for document in documents:
        obj = document.object
        is_request = (obj.api_version, obj.kind) == CREDENTIALS_REQUEST
        if selection.cluster is not None and not (selection.credentials_requests and is_request and not obj.annotations):
            # (oc: with --credentials-requests, a CredentialsRequest without annotations is included)
            reason = exclusion(obj, selection.cluster)
            if reason:
                excluded.append((obj.file, str(obj.id), reason))
                continue
        if selection.credentials_requests:
            if not is_request:
                continue
            if kind and obj.spec_string("spec", "providerSpec", "kind") != kind:
                excluded.append((obj.file, str(obj.id), f"spec.providerSpec.kind is not {kind}"))
                continue
        kept.append(document)
    return kept


def _converted(files: Iterator[tuple[str, bytes]], selection: Selection, result: ExtractResult
               ) -> Iterator[tuple[str, bytes]]:
    kind = selection.provider_spec_kind()
    for name, data in files:
        if name in (IMAGE_REFERENCES, RELEASE_METADATA):
            if not selection.credentials_requests:
                yield name, data
            continue
        if not is_manifest_file(name):
            continue
        try:
            documents = _documents(name, data)
        except PayloadError as error:
            result.errors.append(str(error))
            continue
        kept = _selected(documents, selection, kind, result.excluded)
        if kept:
            yield name, b"".join(b"---\n" + marshal(document.value).encode() for document in kept)


def enabled_feature_gates(release: ReleaseImage, feature_set: str, profile: str) -> tuple[frozenset[str] | None, str]:
    """oc's extractFeatureGatesFromFiles: the gates the release's FeatureGate manifests enable for this
    feature set and profile, or None (and why) when the release's version is not a semantic version."""
    gates: set[str] = set()
    version = ""

    def collect(files: Iterator[tuple[str, bytes]]) -> None:
        nonlocal version
        for name, data in files:
            if name == RELEASE_METADATA:
                try:
                    version = str(json.loads(data).get("version") or "")
                except (ValueError, AttributeError):
                    version = ""
            elif is_manifest_file(name) and b"FeatureGate" in data:
                try:
                    documents = _documents(name, data)
                except PayloadError:
                    continue
                for document in documents:
                    if (document.object.api_version, document.object.kind) == FEATURE_GATE:
                        gates.update(_gates_of(document, feature_set, profile))

    with_payload_files(release, collect, _wanted)
    if not version:
        return None, "release metadata version is empty"
    try:
        parse_semver(version)
    except PayloadError as error:
        return None, f"failed to parse release metadata version {version}: {error}"
    return frozenset(gates), ""


def _gates_of(document: _Document, feature_set: str, profile: str) -> set[str]:
    annotations = document.object.annotations
    if annotations.get(f"include.release.openshift.io/{profile}") != CONFIG_OPERATOR_ONLY:
        return set()
    if annotations.get("release.openshift.io/feature-set") != (feature_set or "Default"):
        return set()
    status = document.value.get("status") if isinstance(document.value, dict) else None
    found: set[str] = set()
    for version in (status or {}).get("featureGates") or [] if isinstance(status, dict) else []:
        for enabled in (version or {}).get("enabled") or [] if isinstance(version, dict) else []:
            if isinstance(enabled, dict) and isinstance(enabled.get("name"), str):
                found.add(enabled["name"])
    return found


def extract_manifests(release: ReleaseImage, target: Path, selection: Selection | None = None, *,
                      raw: bool = False) -> ExtractResult:
    """Write the release's manifests under `target` as `oc adm release extract --to` writes them.

    Args:
        release: from `open_release` (or `open_payload_dir`).
        target: the directory to write to (created if missing). Nothing of the user's in it is removed.
        selection: oc's --included / --credentials-requests / --cloud filters (default: every document).
        raw: write every file of release-manifests byte for byte instead (no filters).

    Raises:
        ConfigError: a selection oc refuses, or a user's directory or symlink where a file goes.
        ManifestError, PayloadError: a payload over the size bounds, or not a payload.
    """
    if raw:
        if selection is not None and selection != Selection():
            raise ConfigError("--raw writes every file as the payload holds it; it cannot be combined with "
                              "--included or --credentials-requests")
        return _extract_raw(release, target)
    selection = selection or Selection()
    result = ExtractResult()

    def place(files: Iterator[tuple[str, bytes]]) -> UnpackResult:
        result.errors.clear()
        result.excluded.clear()
        return place_each(_converted(files, selection, result), target)

    placed = with_payload_files(release, place, _wanted)
    result.written, result.warnings = placed.written, placed.warnings
    return result


def _extract_raw(release: ReleaseImage, target: Path) -> ExtractResult:
    if release.store is None or release.image is None or release.reference is None:
        placed = with_payload_files(release, lambda files: place_each(files, target))
        return ExtractResult(placed.written, placed.warnings)
    layer, store, repository = release.image.layers[-1], release.store, release.reference.repository
    what = f"payload layer {layer.digest} of {release.name}"

    def read() -> UnpackResult:
        with store.open_blob(repository, layer) as chunks:
            return unpack(chunks, target, _in_manifests, what, MAX_FILES_TOTAL)

    placed = store.retrying(what, read)
    return ExtractResult(placed.written, placed.warnings)

