"""Release signatures as oc exports them for a disconnected cluster: a ConfigMap `openshift-config-managed/
sha256-<hash>` labelled `release.openshift.io/verification-signatures`, each signature a `binaryData` entry
`sha256-<hash>-N`, written as `signature-sha256-<first 16 hex>.json` (library-go's `GetSignaturesAsConfigmap`,
oc's `handleSignatures`). The CVO reads signatures from such ConfigMaps when it cannot reach a store."""

from __future__ import annotations

import base64
import json
from pathlib import Path

from okd_release import digest as digests
from okd_release.documents import decode_json_or_yaml
from okd_release.image.disk import atomic_write
from okd_release.release.signatures.config import ConfigMapDocument
from okd_release.release.signatures.errors import SignatureError
from okd_release.release.signatures.store import MAX_SIGNATURE_BYTES, MAX_SIGNATURES, Candidate

SIGNATURES_DIR = "config"  # oc's default under --to-dir
NAMESPACE = "openshift-config-managed"
SIGNATURES_LABEL = "release.openshift.io/verification-signatures"
FILE_MODE = 0o640  # oc's
_HASH_IN_NAME = 16  # oc shortens the hash in the file name to this many characters
_MAX_FILE = (MAX_SIGNATURES * MAX_SIGNATURE_BYTES) * 2


def _prefix(digest: str) -> str:
    algorithm, _, hash_ = digests.validate(digest).partition(":")
    return f"{algorithm}-{hash_}"


def signature_file_name(digest: str) -> str:
    """`signature-sha256-<first 16 hex>.json`, oc's name for the ConfigMap of `digest`'s signatures."""
    algorithm, _, hash_ = digests.validate(digest).partition(":")
    return f"signature-{algorithm}-{hash_[:_HASH_IN_NAME]}.json"


def signature_configmap(digest: str, signatures: list[bytes]) -> bytes:
    """The ConfigMap holding `signatures` of `digest`, byte for byte as oc writes it (Kubernetes' JSON encoding:
    TypeMeta first, no creationTimestamp, map keys sorted, one trailing newline; compared with oc 4.x's file)."""
    prefix = _prefix(digest)
    entries = {f"{prefix}-{number}": base64.b64encode(data).decode() for number, data in enumerate(signatures, 1)}
    document = {
        "kind": "ConfigMap", "apiVersion": "v1",
        "metadata": {"name": prefix, "namespace": NAMESPACE, "labels": {SIGNATURES_LABEL: ""}},
        "binaryData": dict(sorted(entries.items())),
    }
    return json.dumps(document, separators=(",", ":")).encode() + b"\n"


def write_signature_configmap(directory: Path, digest: str, signatures: list[bytes]) -> Path:
    """Write the ConfigMap of `digest`'s signatures into `directory` (made if missing); its path."""
    path = directory / signature_file_name(digest)
    try:
        atomic_write(path, [signature_configmap(digest, signatures)], mode=FILE_MODE)
    except OSError as error:
        raise SignatureError(f"cannot write {path}: {error.strerror or error}") from None
    return path


def read_signature_configmaps(directory: Path, digest: str) -> list[Candidate]:
    """The signatures of `digest` in the ConfigMap file oc (or okd-release) exported into `directory`: every
    `binaryData` entry whose key starts with `sha256-<hash>`, as the CVO reads them. None when there is no file."""
    path = directory / signature_file_name(digest)
    try:
        with open(path, "rb") as handle:
            data = handle.read(_MAX_FILE + 1)
    except FileNotFoundError:
        return []
    except OSError as error:
        return [Candidate(str(path), str(path), problem=f"{path}: {error.strerror or error}")]
    if len(data) > _MAX_FILE:
        return [Candidate(str(path), str(path), problem=f"{path}: larger than {_MAX_FILE} bytes")]
    try:
        configmap = decode_json_or_yaml(data, ConfigMapDocument, f"signature config map {path}", SignatureError)
    except SignatureError as error:
        return [Candidate(str(path), str(path), problem=str(error))]
    prefix = _prefix(digest)
    entries = configmap.binary_data or {}
    return [Candidate(str(path), f"{path}#{key}", entries[key]) for key in sorted(entries)
            if key.startswith(prefix) and entries[key]][:MAX_SIGNATURES]
