"""The registry client against a real docker-registry process."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest

from okd_release import digest as digests
from okd_release.errors import AuthenticationError, DigestMismatch, NotFound, RegistryError
from okd_release.registry import Registries, RegistryOptions
from okd_release.registry import client as client_module
from okd_release.registry.credentials import CredentialStore
from tests.conftest import PASSWORD, SecureRegistry
from tests.images import push_random_image


def _blob_path(storage: Path, digest: str) -> Path:
    hexdigest = digest.split(":", 1)[1]
    return storage / "docker/registry/v2/blobs/sha256" / hexdigest[:2] / hexdigest / "data"


def test_blob_round_trip_monolithic_and_chunked(registry, plain_registries, monkeypatch) -> None:
    monkeypatch.setattr(client_module, "CHUNKED_THRESHOLD", 1 << 20)
    monkeypatch.setattr(client_module, "UPLOAD_CHUNK", 3 << 20)
    client = plain_registries.client(registry.host)
    for size in (0, 1000, 7 * (1 << 20) + 3):
        data = os.urandom(size)
        digest = "sha256:" + hashlib.sha256(data).hexdigest()
        client.upload_blob("okd/blobs", digest, (data[i:i + 65536] for i in range(0, len(data), 65536)), size)
        assert client.head_blob("okd/blobs", digest) == size
        with client.open_blob("okd/blobs", digest, size) as chunks:
            assert b"".join(chunks) == data


def test_upload_of_unknown_size_streams_in_one_patch(registry, plain_registries) -> None:
    data = os.urandom(300_000)
    client = plain_registries.client(registry.host)
    client.upload_blob("okd/blobs", digests.of(data), iter([data[:1000], data[1000:]]), None)
    assert client.head_blob("okd/blobs", digests.of(data)) == len(data)


def test_upload_refuses_bytes_that_do_not_match_the_size(registry, plain_registries) -> None:
    client = plain_registries.client(registry.host)
    with pytest.raises(DigestMismatch):
        client.upload_blob("okd/blobs", digests.of(b"abc"), iter([b"abcd"]), 3)


def test_cross_repository_mount(registry, plain_registries) -> None:
    client = plain_registries.client(registry.host)
    digest = client.upload_bytes("okd/one", b"shared layer")
    assert client.head_blob("okd/two", digest) is None
    assert client.mount_blob("okd/two", digest, "okd/one") is True
    assert client.head_blob("okd/two", digest) == len(b"shared layer")


def test_mount_of_missing_blob_reports_false(registry, plain_registries) -> None:
    client = plain_registries.client(registry.host)
    assert client.mount_blob("okd/two", digests.of(b"nowhere"), "okd/one") is False


def test_manifest_by_tag_and_digest_and_tag_pagination(registry, plain_registries) -> None:
    manifest = push_random_image(plain_registries, registry.host, "okd/app", "v1", [100, 200])
    client = plain_registries.client(registry.host)
    by_tag = client.get_manifest("okd/app", "v1")
    by_digest = client.get_manifest("okd/app", manifest.digest)
    assert by_tag.data == by_digest.data == manifest.raw.data
    assert by_tag.digest == manifest.digest
    assert client.head_manifest("okd/app", "v1").digest == manifest.digest
    for index in range(2, 8):
        client.put_manifest("okd/app", f"v{index}", manifest.raw.data, manifest.raw.media_type)
    assert sorted(client.list_tags("okd/app", page_size=3)) == [f"v{i}" for i in range(1, 8)]


def test_missing_manifest_is_not_found(registry, plain_registries) -> None:
    with pytest.raises(NotFound, match="okd/none:v1 not found"):
        plain_registries.client(registry.host).get_manifest("okd/none", "v1")


def test_blob_whose_bytes_do_not_match_is_refused(registry, plain_registries) -> None:
    client = plain_registries.client(registry.host)
    digest = client.upload_bytes("okd/blobs", b"the real bytes!")
    path = _blob_path(registry.storage, digest)
    path.write_bytes(b"THE REAL BYTES!")
    with pytest.raises(DigestMismatch, match=digest), client.open_blob("okd/blobs", digest) as chunks:
        b"".join(chunks)


def test_tls_with_ca_and_basic_auth(secure_registry: SecureRegistry) -> None:
    options = RegistryOptions(ca_file=str(secure_registry.ca_file))
    with Registries(options, CredentialStore.load(str(secure_registry.auth_file))) as registries:
        push_random_image(registries, secure_registry.host, "okd/secure", "v1", [1000])
        assert registries.client(secure_registry.host).list_tags("okd/secure") == ["v1"]


def test_tls_is_verified_by_default(secure_registry: SecureRegistry) -> None:
    with Registries(RegistryOptions(), CredentialStore.load(str(secure_registry.auth_file))) as registries:
        with pytest.raises(RegistryError) as raised:
            registries.client(secure_registry.host).ping()
    assert type(raised.value) is RegistryError  # not a transient error: an unverifiable certificate is not retried
    assert str(raised.value) == (f"the TLS certificate of registry {secure_registry.host} could not be verified "
                                 "(give its CA with --certificate-authority, or use --insecure)")


def test_wrong_password_is_refused_without_leaking_it(secure_registry: SecureRegistry, tmp_path) -> None:
    from tests.conftest import write_auth_file

    wrong = "wrong-" + PASSWORD
    auth = write_auth_file(tmp_path / "auth.json", secure_registry.host, secure_registry.username, wrong)
    options = RegistryOptions(ca_file=str(secure_registry.ca_file))
    with Registries(options, CredentialStore.load(str(auth))) as registries:
        with pytest.raises(AuthenticationError) as raised:
            registries.client(secure_registry.host).get_manifest("okd/secure", "v1")
    assert secure_registry.host in str(raised.value)
    assert wrong not in str(raised.value) and "wrong-" not in repr(raised.value)


def test_credentials_are_found_in_the_default_places(tmp_path, monkeypatch) -> None:
    from tests.conftest import write_auth_file

    monkeypatch.delenv("REGISTRY_AUTH_FILE", raising=False)
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(tmp_path / "run"))
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    (tmp_path / "home/.docker").mkdir(parents=True)
    write_auth_file(tmp_path / "home/.docker/config.json", "docker-home.example", "u1", "p1")
    assert CredentialStore.load(None).lookup("docker-home.example").username == "u1"
    (tmp_path / "run/containers").mkdir(parents=True)
    write_auth_file(tmp_path / "run/containers/auth.json", "xdg.example", "u2", "p2")
    assert CredentialStore.load(None).lookup("xdg.example").username == "u2"
    monkeypatch.setenv("REGISTRY_AUTH_FILE", str(write_auth_file(tmp_path / "env.json", "env.example", "u3", "p3")))
    store = CredentialStore.load(None)
    assert store.lookup("env.example").username == "u3" and store.lookup("xdg.example") is None
    assert "p3" not in repr(store.lookup("env.example"))
