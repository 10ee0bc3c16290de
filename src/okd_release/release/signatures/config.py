"""A release's verification config: the ConfigMap manifest that names the keys that must have signed it and the
stores its signatures are read from (library-go's `verify.NewFromManifests`), or the user's overrides."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import msgspec
from msgspec import Struct

from okd_release import logs
from okd_release.documents import convert, load_yaml_all
from okd_release.registry.url import URL, InvalidURL, parse_url
from okd_release.release.payload.model import Payload
from okd_release.release.signatures.errors import SignatureError

VERIFICATION_ANNOTATION = "release.openshift.io/verification-config-map"
KEY_PREFIX = "verifier-public-key-"
STORE_PREFIX = "store-"
MAX_KEY_FILE = 1024 * 1024  # a keyring of a few keys is a few KB


class VerificationKey(Struct, frozen=True):
    """One `verifier-public-key-*` entry (or a `--verification-key` file): GPG public keys, armored or not.
    Each entry must have signed the release: one valid signature by any key it holds is enough for it."""

    name: str
    data: bytes


class VerificationConfig(Struct, frozen=True):
    """The keys that must all have signed a release and the stores (http/https URLs) its signatures are read from.

    Attributes:
        source: where it was read, as a user knows it (`the config map NS/NAME in FILE`, or the flags).
        keys: the `verifier-public-key-*` entries, in name order.
        stores: the `store-*` URLs, in name order.
        notes: what was ignored, in a sentence each (unexpected entries, `file://` stores).
    """

    source: str
    keys: tuple[VerificationKey, ...]
    stores: tuple[str, ...]
    notes: tuple[str, ...] = ()


class _ObjectMeta(msgspec.Struct, frozen=True):
    name: str = ""
    namespace: str = ""
    annotations: dict[str, str] | None = None


class ConfigMapDocument(msgspec.Struct, frozen=True, rename={"api_version": "apiVersion", "binary_data": "binaryData"}):
    """A v1 ConfigMap, as far as signatures need it: `data` holds the verification config's text entries,
    `binaryData` the signatures oc exports (base64, as Kubernetes encodes bytes)."""

    kind: str = ""
    api_version: str = ""
    metadata: _ObjectMeta = msgspec.field(default_factory=_ObjectMeta)
    data: dict[str, str] | None = None
    binary_data: dict[str, bytes] | None = None


def find_verification_config(payload: Payload) -> VerificationConfig | None:
    """The first ConfigMap (manifests in name order, documents in file order) annotated
    `release.openshift.io/verification-config-map`, as the CVO and oc choose it; None when there is none.

    Raises SignatureError when that ConfigMap names no usable store or key, or holds a key that is not GPG.
    """
    marker = VERIFICATION_ANNOTATION.encode()
    for name in sorted(payload.manifests):
        data = payload.manifests[name]
        if marker not in data:  # most manifests: no need to parse them
            continue
        try:
            documents = load_yaml_all(data, f"manifest {name}", SignatureError)
        except SignatureError as error:
            logs.debug(__name__, "not a verification ConfigMap: %s", error)  # the CVO skips what it cannot decode
            continue
        for document in documents:
            if _is_verification_configmap(document):
                configmap = convert(document, ConfigMapDocument, f"verification ConfigMap in manifest {name}",
                                    SignatureError)
                where = f"the config map {configmap.metadata.namespace}/{configmap.metadata.name} in {name}"
                return _from_data(where, configmap.data or {})
    return None


def _is_verification_configmap(document: Any) -> bool:
    if not isinstance(document, dict) or document.get("kind") != "ConfigMap" or document.get("apiVersion") != "v1":
        return False
    metadata = document.get("metadata")
    annotations = metadata.get("annotations") if isinstance(metadata, dict) else None
    return isinstance(annotations, dict) and VERIFICATION_ANNOTATION in annotations


def _from_data(where: str, data: Mapping[str, str]) -> VerificationConfig:
    keys: list[VerificationKey] = []
    stores: list[str] = []
    notes: list[str] = []
    for entry in sorted(data):
        value = data[entry]
        if entry.startswith(KEY_PREFIX):
            keys.append(VerificationKey(entry, value.encode()))
        elif entry.startswith(STORE_PREFIX):
            url = store_url(value.strip(), f"{where} has an invalid key {entry!r}")
            if url is None:
                notes.append(f"{where}: {entry} is a file:// store, which only the cluster can read; not read")
            else:
                stores.append(url)
        else:
            notes.append(f"{where}: unexpected key {entry!r} ignored (expected store-* or verifier-public-key-*)")
    if not stores:
        raise SignatureError(f"{where} did not provide any signature stores to read from and cannot be used")
    if not keys:
        raise SignatureError(f"{where} did not provide any GPG public keys to verify signatures from and cannot be used")
    return VerificationConfig(where, tuple(keys), tuple(stores), tuple(notes))


def store_url(text: str, what: str) -> str | None:
    """`text` as a signature store URL (http or https, with a host); None for a `file://` store; else SignatureError."""
    if isinstance(text, str) and text[:5].lower() == "file:":
        return None
    try:
        url: URL | None = parse_url(text)
    except InvalidURL:
        url = None
    if url is None or url.scheme not in ("http", "https") or not url.host or url.query or "#" in text:
        raise SignatureError(f"{what}: must be a valid URL with scheme http:// or https://")
    return str(url).rstrip("/")


def with_overrides(config: VerificationConfig | None, stores: list[str], key_files: list[Path]) -> VerificationConfig | None:
    """`config` with its stores replaced by `--signature-store` URLs and its keys by `--verification-key` files
    (for releases signed by another key, such as an OKD build's own); None when there is nothing to verify with.

    Raises SignatureError for a store that is not an http(s) URL, an unreadable key file, or keys without a store.
    """
    if not stores and not key_files:
        return config
    urls = []
    for text in stores:
        url = store_url(text, f"--signature-store {text}")
        if url is None:
            raise SignatureError(f"--signature-store {text}: must be a valid URL with scheme http:// or https://")
        urls.append(url)
    keys = tuple(_read_key(path) for path in key_files)
    if config is None and not keys:
        raise SignatureError("the release has no verification config map: give the keys that sign it with "
                             "--verification-key FILE")
    if config is None and not urls:
        raise SignatureError("the release has no verification config map: give the store its signatures are in "
                             "with --signature-store URL")
    parts = [part for part, given in (("--signature-store", urls), ("--verification-key", keys)) if given]
    source = " and ".join(parts) + (f" (over {config.source})" if config else "")
    return VerificationConfig(source, keys or (config.keys if config else ()), tuple(urls) or (config.stores if config else ()),
                              config.notes if config else ())


def _read_key(path: Path) -> VerificationKey:
    return VerificationKey(path.name, read_key_file(path, "--verification-key", "public"))


def read_key_file(path: Path, flag: str, kind: str) -> bytes:
    """A GPG key file the user named with `flag`, read with a bound (a keyring of a few keys is a few KB)."""
    try:
        with open(path, "rb") as handle:
            data = handle.read(MAX_KEY_FILE + 1)
    except OSError as error:
        raise SignatureError(f"{flag} {path}: {error.strerror or error}") from None
    if len(data) > MAX_KEY_FILE:
        raise SignatureError(f"{flag} {path}: larger than {MAX_KEY_FILE} bytes; not a {kind} key")
    return data
