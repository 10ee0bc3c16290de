"""TLS verification against the system's CAs: a hashed CA directory is read on demand, and a certificate
it cannot vouch for is tried again against everything the system trusts (registry/trust.py)."""

from __future__ import annotations

import ssl
import subprocess
from pathlib import Path

import pytest

from okd_release.registry.failures import ConnectError
from okd_release.registry.http import Client
from tests.certs import make_ca_and_server


def _hashed_directory(directory: Path, *cas: Path) -> Path:
    """A CA directory in OpenSSL's layout: each CA linked under its subject's hash (what c_rehash makes)."""
    directory.mkdir()
    for ca in cas:
        digest = subprocess.run(["openssl", "x509", "-hash", "-noout", "-in", str(ca)], capture_output=True,
                                text=True, check=True).stdout.strip()
        (directory / f"{digest}.0").symlink_to(ca)
    return directory


def _ping(client: Client, host: str) -> int:
    answer = client.send("GET", f"https://{host}/v2/")
    answer.close()
    return answer.status_code


@pytest.fixture
def other_ca(tmp_path: Path) -> Path:
    return make_ca_and_server(tmp_path / "other", "another CA")[0]


def test_a_hashed_ca_directory_is_read_only_for_the_ca_a_chain_needs(secure_registry, other_ca, tmp_path,
                                                                       monkeypatch) -> None:
    directory = _hashed_directory(tmp_path / "certs", secure_registry.ca_file, other_ca)
    monkeypatch.delenv("SSL_CERT_FILE", raising=False)
    monkeypatch.setenv("SSL_CERT_DIR", str(directory))
    with Client() as client:
        assert client.tls().get_ca_certs() == []  # nothing parsed up front: not the system's bundle either
        assert _ping(client, secure_registry.host) == 401  # verified (the registry then asks for credentials)
        loaded = client.tls().get_ca_certs()
    assert [dict(name[0] for name in ca["subject"])["commonName"] for ca in loaded] == ["okd-release test CA"]
    assert len(loaded) == 1  # the CA of the chain, not the other one beside it


def test_a_ca_the_directory_lacks_is_looked_for_in_all_the_system_trusts(secure_registry, other_ca, tmp_path,
                                                                          monkeypatch) -> None:
    directory = _hashed_directory(tmp_path / "certs", other_ca)
    monkeypatch.delenv("SSL_CERT_FILE", raising=False)
    monkeypatch.setenv("SSL_CERT_DIR", str(directory))
    with Client() as client:
        first = client.tls()
        # the system's bundle, as OpenSSL's defaults name it when the trust is widened, holds the registry's CA
        monkeypatch.setenv("SSL_CERT_FILE", str(secure_registry.ca_file))
        assert _ping(client, secure_registry.host) == 401
        assert client.tls() is not first and client.tls().get_ca_certs()


def test_a_certificate_nothing_the_system_trusts_vouches_for_fails_after_one_more_try(secure_registry, other_ca,
                                                                                      tmp_path, monkeypatch) -> None:
    monkeypatch.delenv("SSL_CERT_FILE", raising=False)
    monkeypatch.setenv("SSL_CERT_DIR", str(_hashed_directory(tmp_path / "certs", other_ca)))
    with Client() as client, pytest.raises(ConnectError, match="certificate verify failed"):
        _ping(client, secure_registry.host)
    with Client() as client:
        on_demand = client.tls()
        assert client.trust_more(on_demand)  # widened
        assert client.trust_more(on_demand)  # a handshake begun before that: worth another try with the wider
        assert not client.trust_more(client.tls())  # the widest failed too: nothing more to try


def test_ssl_cert_file_naming_the_systems_own_bundle_keeps_the_directory_on_demand(secure_registry, tmp_path,
                                                                                     monkeypatch) -> None:
    monkeypatch.setenv("SSL_CERT_FILE", ssl.get_default_verify_paths().openssl_cafile)  # as many images set it
    monkeypatch.setenv("SSL_CERT_DIR", str(_hashed_directory(tmp_path / "certs", secure_registry.ca_file)))
    with Client() as client:
        assert client.tls().get_ca_certs() == []
        assert _ping(client, secure_registry.host) == 401


def test_a_bundle_named_by_ssl_cert_file_is_loaded_as_it_is(secure_registry, monkeypatch) -> None:
    monkeypatch.setenv("SSL_CERT_FILE", str(secure_registry.ca_file))  # the user's own bundle: read it all, at once
    with Client() as client:
        assert len(client.tls().get_ca_certs()) == 1
        assert _ping(client, secure_registry.host) == 401
        assert not client.trust_more(client.tls())


def test_a_given_ca_file_is_all_that_is_trusted(secure_registry, other_ca) -> None:
    with Client(ca_file=str(other_ca)) as client, pytest.raises(ConnectError, match="certificate verify failed"):
        _ping(client, secure_registry.host)
    with Client(ca_file=str(secure_registry.ca_file)) as client:
        assert _ping(client, secure_registry.host) == 401
