"""Release signatures against real processes: a GPG key made here, signatures served by a small HTTP server on
loopback, releases built by `new --from-dir` with and without a verification ConfigMap, checked by `verify`,
exported by `mirror` as oc exports them, and `extract --tools --signing-key`."""

from __future__ import annotations

import base64
import functools
import http.server
import json
import shutil
import ssl
import subprocess
import tempfile
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from okd_release.image.build import image_config, push_image
from okd_release.image.layer import LayerEntry, build_layer
from okd_release.registry import Registries
from okd_release.registry.credentials import CredentialStore
from okd_release.registry.options import RegistryOptions
from okd_release.release.payload.model import Payload
from okd_release.release.signatures import (
    SignatureError,
    UnverifiedRelease,
    VerificationConfig,
    VerificationKey,
    find_verification_config,
    signature_configmap,
    signature_file_name,
    verify_release,
)
from okd_release.stores import RegistryStore
from okd_release.testing.sample import push_sample
from tests.certs import make_ca_and_server
from tests.conftest import run_cli
from tests.images import push_random_image

pytestmark = pytest.mark.skipif(shutil.which("gpg") is None, reason="needs gpg (Debian: gnupg)")

SIGNER = "Release Signer <release-signer@example.com>"
STRANGER = "Stranger <stranger@example.com>"
CONFIGMAP_FILE = "0000_90_cluster-update-keys_configmap.yaml"


@dataclass
class Gpg:
    """A GnuPG home made for the tests, holding the signer's and a stranger's keys (no passphrases)."""

    home: Path

    def run(self, *args: str, data: bytes = b"") -> bytes:
        return subprocess.run(["gpg", "--homedir", str(self.home), "--batch", "--yes", *args], input=data,
                              capture_output=True, check=True).stdout

    def fingerprint(self, uid: str) -> str:
        listing = self.run("--with-colons", "--list-keys", uid).decode()
        return next(line.split(":")[9] for line in listing.splitlines() if line.startswith("fpr:"))

    def public_key(self, uid: str) -> str:
        return self.run("--armor", "--export", uid).decode()

    def secret_key(self, uid: str) -> bytes:
        return self.run("--armor", "--pinentry-mode", "loopback", "--passphrase", "", "--export-secret-keys", uid)

    def sign(self, uid: str, document: dict[str, object], compress: bool = True) -> bytes:
        """A signed message (`gpg --sign`, binary) holding `document`, as release signatures are made;
        uncompressed, its last bytes are the signature packet's own (see the corrupted-signature test)."""
        level = () if compress else ("--compress-algo", "none")
        return self.run("--local-user", uid, *level, "--sign", data=json.dumps(document).encode())


def simple_signing(digest: str, identity: str = "quay.io/openshift/okd:4.15.0") -> dict[str, object]:
    return {"critical": {"type": "atomic container signature", "image": {"docker-manifest-digest": digest},
                         "identity": {"docker-reference": identity}},
            "optional": {"creator": "okd-release tests", "timestamp": 1710000000}}


@pytest.fixture(scope="module")
def gpg() -> Iterator[Gpg]:
    home = Path(tempfile.mkdtemp(prefix="gpg-", dir="/tmp"))  # short: gpg-agent's socket lives in it
    home.chmod(0o700)
    keys = Gpg(home)
    for uid in (SIGNER, STRANGER):
        keys.run("--passphrase", "", "--quick-gen-key", uid, "rsa2048", "sign", "never")  # RSA: the CVO and oc read no EdDSA
    yield keys
    subprocess.run(["gpgconf", "--homedir", str(home), "--kill", "all"], check=False)
    shutil.rmtree(home, ignore_errors=True)


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


@dataclass
class SignatureStore:
    """A real HTTP server on 127.0.0.1 serving the files of `root`; the store is its /signatures."""

    root: Path
    url: str

    def publish(self, digest: str, *signatures: bytes) -> None:
        """Serve exactly these signatures for `digest`, as signature-1, -2, ..."""
        directory = self.root / "signatures" / digest.replace(":", "=")
        shutil.rmtree(directory, ignore_errors=True)
        directory.mkdir(parents=True)
        for number, data in enumerate(signatures, 1):
            (directory / f"signature-{number}").write_bytes(data)


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SignatureStore]:
    root = tmp_path_factory.mktemp("signature-store")
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0),
                                             functools.partial(_QuietHandler, directory=str(root)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield SignatureStore(root, f"http://127.0.0.1:{server.server_address[1]}/signatures")
    server.shutdown()
    server.server_close()


def verification_configmap(public_key: str, store_url: str) -> str:
    indented = "\n".join("    " + line for line in public_key.strip().splitlines())
    return (f"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: release-verification\n"
            f"  namespace: openshift-config-managed\n  annotations:\n"
            f"    release.openshift.io/verification-config-map: \"\"\n"
            f"data:\n  verifier-public-key-okd: |\n{indented}\n  store-okd: {store_url}\n")


@dataclass(frozen=True)
class Releases:
    """Two releases of two small component images on a test registry: one whose payload carries a verification
    ConfigMap naming the signer's key and the test store (`signed`), one without (`unsigned`); by digest."""

    host: str
    signed: str
    unsigned: str


def push_release(registries, host: str, tag: str, components: dict[str, str], manifests: dict[str, str],
                 work: Path) -> str:
    """A release image: one payload layer holding image-references and `manifests` under release-manifests/."""
    stream = {"kind": "ImageStream", "apiVersion": "image.openshift.io/v1", "metadata": {"name": tag},
              "spec": {"tags": [{"name": name, "from": {"kind": "DockerImage", "name": pullspec}}
                                for name, pullspec in components.items()]}}
    metadata = {"kind": "cincinnati-metadata-v0", "version": tag, "previous": []}
    files = {"image-references": json.dumps(stream), "release-metadata": json.dumps(metadata), **manifests}
    layer = build_layer([LayerEntry.file(f"release-manifests/{name}", text.encode()) for name, text in files.items()],
                        work)
    config = image_config([layer], {"io.openshift.release": tag}, "2024-03-10T00:00:00Z")
    manifest = push_image(RegistryStore(registries.client(host)), "okd/signed", tag, [layer], config)
    return f"{host}/okd/signed@{manifest.digest}"


@pytest.fixture(scope="module")
def releases(source_registry, gpg: Gpg, store: SignatureStore, tmp_path_factory: pytest.TempPathFactory) -> Releases:
    host = source_registry.host
    work = tmp_path_factory.mktemp("signed-layers")
    with Registries(RegistryOptions(insecure=True), CredentialStore()) as registries:
        components = {name: f"{host}/okd/signed-content@"
                      + push_random_image(registries, host, "okd/signed-content", name, [2048]).digest
                      for name in ("cli", "installer")}
        namespace = "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: openshift-demo\n"
        signed = push_release(registries, host, "4.15.1-0.okd-signed", components, {
            "0000_50_demo_00_namespace.yaml": namespace,
            CONFIGMAP_FILE: verification_configmap(gpg.public_key(SIGNER), store.url + "/"),
        }, work)
        unsigned = push_release(registries, host, "4.15.1-0.okd-unsigned", components,
                                {"0000_50_demo_00_namespace.yaml": namespace}, work)
    return Releases(host, signed, unsigned)


@pytest.fixture(scope="module")
def signed_release(releases: Releases) -> str:
    return releases.signed


def digest_of(pullspec: str) -> str:
    return pullspec.split("@", 1)[1]


# -- verify -------------------------------------------------------------------------------------------------
def test_verify_names_the_signer_its_fingerprint_and_the_store(signed_release: str, gpg: Gpg,
                                                               store: SignatureStore) -> None:
    digest = digest_of(signed_release)
    store.publish(digest, gpg.sign(SIGNER, simple_signing(digest)))
    result = run_cli("verify", "--insecure", signed_release)
    assert result.returncode == 0, result.stderr
    assert f"Digest:    {digest}" in result.stdout
    assert "the config map openshift-config-managed/release-verification in " + CONFIGMAP_FILE in result.stdout
    row = next(line for line in result.stdout.splitlines() if line.startswith("verifier-public-key-okd"))
    assert gpg.fingerprint(SIGNER) in row and SIGNER in row and "2024-03-09T16:00:00Z" in row
    assert f"{store.url}/{digest.replace(':', '=')}/signature-1" in row


def test_verify_json_says_who_signed_with_which_key_from_which_store(signed_release: str, gpg: Gpg,
                                                                     store: SignatureStore) -> None:
    digest = digest_of(signed_release)
    store.publish(digest, gpg.sign(SIGNER, simple_signing(digest, "example.com/okd/release:signed")))
    result = run_cli("verify", "--insecure", signed_release, "-o", "json")
    assert result.returncode == 0, result.stderr
    document = json.loads(result.stdout)
    assert (document["release"], document["digest"], document["verified"]) == (signed_release, digest, True)
    [signature] = document["signatures"]
    assert signature == {
        "key": "verifier-public-key-okd", "fingerprint": gpg.fingerprint(SIGNER), "signer": SIGNER,
        "store": store.url, "location": f"{store.url}/{digest.replace(':', '=')}/signature-1",
        "identity": "example.com/okd/release:signed", "creator": "okd-release tests", "timestamp": 1710000000,
    }


def test_a_corrupted_signature_is_refused(signed_release: str, gpg: Gpg, store: SignatureStore) -> None:
    digest = digest_of(signed_release)
    # uncompressed, so that the flipped byte is inside the signature packet's value (in a compressed message it
    # could land anywhere in the deflate stream): the content is intact, the signature no longer matches
    signature = bytearray(gpg.sign(SIGNER, simple_signing(digest), compress=False))
    signature[-8] ^= 0xFF
    store.publish(digest, bytes(signature))
    result = run_cli("verify", "--insecure", signed_release)
    assert result.returncode == 1
    assert result.stderr.startswith(f"error: release {digest} is not verified: no valid signature by "
                                    "verifier-public-key-okd")
    assert "signature-1: signature bad" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1 and "Traceback" not in result.stderr


def test_a_signature_for_another_digest_is_refused(releases: Releases, gpg: Gpg, store: SignatureStore) -> None:
    digest, other = digest_of(releases.signed), digest_of(releases.unsigned)
    store.publish(digest, gpg.sign(SIGNER, simple_signing(other)))
    result = run_cli("verify", "--insecure", releases.signed)
    assert result.returncode == 1
    assert f"is for another digest ({other})" in result.stderr


def test_a_signature_by_an_unknown_key_is_refused(signed_release: str, gpg: Gpg, store: SignatureStore) -> None:
    digest = digest_of(signed_release)
    store.publish(digest, gpg.sign(STRANGER, simple_signing(digest)))
    result = run_cli("verify", "--insecure", signed_release)
    assert result.returncode == 1
    assert "signature-1: signed by an unknown key" in result.stderr


def test_a_document_without_identity_or_of_another_type_is_refused(signed_release: str, gpg: Gpg,
                                                                   store: SignatureStore) -> None:
    digest = digest_of(signed_release)
    no_identity = simple_signing(digest, identity="")
    other_type = simple_signing(digest)
    other_type["critical"]["type"] = "cosign container image signature"  # type: ignore[index]
    unknown_field = {**simple_signing(digest), "extra": True}
    store.publish(digest, *(gpg.sign(SIGNER, d) for d in (no_identity, other_type, unknown_field)))
    result = run_cli("verify", "--insecure", signed_release)
    assert result.returncode == 1
    assert "signature-1 must have an identity" in result.stderr
    assert "signature-2 is not the correct type" in result.stderr
    assert "signature-3 is invalid" in result.stderr and "extra" in result.stderr


def test_a_valid_signature_after_invalid_ones_verifies(signed_release: str, gpg: Gpg, store: SignatureStore) -> None:
    digest = digest_of(signed_release)
    store.publish(digest, gpg.sign(STRANGER, simple_signing(digest)), b"not a signature",
                  gpg.sign(SIGNER, simple_signing(digest)))
    result = run_cli("verify", "--insecure", signed_release, "-o", "json")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["signatures"][0]["location"].endswith("/signature-3")


def test_no_signatures_in_the_store_is_unverified(signed_release: str, store: SignatureStore) -> None:
    digest = digest_of(signed_release)
    store.publish(digest)
    result = run_cli("verify", "--insecure", signed_release)
    assert result.returncode == 1
    assert f"no signatures in {store.url}" in result.stderr


def test_a_release_without_verification_config_map_cannot_be_verified(releases: Releases) -> None:
    result = run_cli("verify", "--insecure", releases.unsigned)
    assert result.returncode == 1
    assert "has no verification config map" in result.stderr and "--verification-key" in result.stderr


def test_own_key_and_store_verify_a_release_without_config_map(releases: Releases, gpg: Gpg, store: SignatureStore,
                                                               tmp_path: Path) -> None:
    key = tmp_path / "stranger.asc"
    key.write_text(gpg.public_key(STRANGER))
    digest = digest_of(releases.unsigned)
    store.publish(digest, gpg.sign(STRANGER, simple_signing(digest)))
    result = run_cli("verify", "--insecure", releases.unsigned, "--verification-key", str(key),
                     "--signature-store", store.url, "-o", "json")
    assert result.returncode == 0, result.stderr
    document = json.loads(result.stdout)
    assert document["config"] == "--signature-store and --verification-key"
    assert document["signatures"][0]["fingerprint"] == gpg.fingerprint(STRANGER)
    assert document["signatures"][0]["key"] == "stranger.asc"


def test_verification_key_override_replaces_the_release_keys(signed_release: str, gpg: Gpg, store: SignatureStore,
                                                             tmp_path: Path) -> None:
    digest = digest_of(signed_release)
    store.publish(digest, gpg.sign(SIGNER, simple_signing(digest)))
    key = tmp_path / "stranger.asc"
    key.write_text(gpg.public_key(STRANGER))
    result = run_cli("verify", "--insecure", signed_release, "--verification-key", str(key))
    assert result.returncode == 1  # signed by the release's key, but the stranger's was asked for
    assert "no valid signature by stranger.asc" in result.stderr and "unknown key" in result.stderr


def test_a_signature_store_over_https_is_read_only_with_a_trusted_certificate(signed_release: str, gpg: Gpg,
                                                                             tmp_path: Path) -> None:
    digest = digest_of(signed_release)
    served = SignatureStore(tmp_path / "served", "")
    served.publish(digest, gpg.sign(SIGNER, simple_signing(digest)))
    ca, certificate, private_key = make_ca_and_server(tmp_path / "tls")
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(str(certificate), str(private_key))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_QuietHandler, directory=str(served.root)))
    server.socket = context.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    config = VerificationConfig("test", (VerificationKey("k", gpg.public_key(SIGNER).encode()),),
                                (f"https://127.0.0.1:{server.server_address[1]}/signatures",))
    try:
        with pytest.raises(UnverifiedRelease, match="TLS certificate not trusted"):
            verify_release(digest, config, RegistryOptions())
        verified = verify_release(digest, config, RegistryOptions(ca_file=str(ca)))
        assert verified.signatures[0].fingerprint == gpg.fingerprint(SIGNER)
    finally:
        server.shutdown()
        server.server_close()


# -- library --------------------------------------------------------------------------------------------------
def test_the_temporary_keyring_is_always_removed(signed_release: str, gpg: Gpg, store: SignatureStore,
                                                 tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    digest = digest_of(signed_release)
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    config = VerificationConfig("test", (VerificationKey("k", gpg.public_key(SIGNER).encode()),), (store.url,))
    store.publish(digest, gpg.sign(SIGNER, simple_signing(digest)))
    assert verify_release(digest, config, RegistryOptions(insecure=True)).signatures[0].key == "k"
    store.publish(digest, b"garbage")
    with pytest.raises(UnverifiedRelease):
        verify_release(digest, config, RegistryOptions(insecure=True))
    assert list(tmp_path.iterdir()) == []


def test_a_key_that_is_not_gpg_is_one_clear_error(store: SignatureStore) -> None:
    config = VerificationConfig("the config map x/y", (VerificationKey("verifier-public-key-a", b"not a key"),),
                                (store.url,))
    with pytest.raises(SignatureError, match=r"^the config map x/y: verifier-public-key-a must be a GPG public key"):
        verify_release("sha256:" + "a" * 64, config, RegistryOptions(insecure=True))


def _payload(manifests: dict[str, str]) -> Payload:
    stream = json.dumps({"kind": "ImageStream", "apiVersion": "image.openshift.io/v1",
                         "metadata": {"name": "4.15.0"}, "spec": {"tags": []}})
    return Payload.from_files({"image-references": stream.encode(),
                               **{name: text.encode() for name, text in manifests.items()}}, "test payload")


def test_the_first_annotated_config_map_in_name_order_is_the_config() -> None:
    first = verification_configmap("KEY-A", "https://a.example.com/sigs")
    second = verification_configmap("KEY-B", "https://b.example.com/sigs")
    plain = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: plain\ndata:\n  store-x: https://x\n"
    config = find_verification_config(_payload({"0000_90_b.yaml": second, "0000_10_a.yaml": plain + "---\n" + first}))
    assert config is not None
    assert config.stores == ("https://a.example.com/sigs",)
    assert [key.name for key in config.keys] == ["verifier-public-key-okd"]
    assert config.keys[0].data.strip() == b"KEY-A"
    assert find_verification_config(_payload({"0000_10_a.yaml": plain})) is None


@pytest.mark.parametrize(("data", "problem"), [
    ("  verifier-public-key-a: KEY\n", "did not provide any signature stores"),
    ("  store-a: https://a.example.com/s\n", "did not provide any GPG public keys"),
    ("  verifier-public-key-a: KEY\n  store-a: ftp://a.example.com/s\n", "has an invalid key 'store-a'"),
])
def test_an_unusable_verification_config_map_is_one_clear_error(data: str, problem: str) -> None:
    text = ("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: v\n  namespace: ns\n  annotations:\n"
            "    release.openshift.io/verification-config-map: ''\ndata:\n" + data)
    with pytest.raises(SignatureError, match=f"^the config map ns/v in 0000_90_v.yaml {problem}"):
        find_verification_config(_payload({"0000_90_v.yaml": text}))


def test_signature_configmap_is_byte_for_byte_what_oc_writes() -> None:
    # the layout of the file /tmp/oc adm release mirror --to-dir wrote for a release signed in these tests
    digest = "sha256:" + "0123456789abcdef" * 4
    data = signature_configmap(digest, [b"first", b"\x00second"])
    prefix = "sha256-" + "0123456789abcdef" * 4
    assert data == (
        '{"kind":"ConfigMap","apiVersion":"v1","metadata":{"name":"' + prefix + '",'
        '"namespace":"openshift-config-managed",'
        '"labels":{"release.openshift.io/verification-signatures":""}},'
        '"binaryData":{"' + prefix + '-1":"Zmlyc3Q=","' + prefix + '-2":"AHNlY29uZA=="}}\n'
    ).encode()
    assert signature_file_name(digest) == "signature-sha256-0123456789abcdef.json"


# -- mirror -----------------------------------------------------------------------------------------------------
def test_mirror_to_dir_exports_the_signatures_as_oc_does(releases: Releases, gpg: Gpg, store: SignatureStore,
                                                         tmp_path: Path) -> None:
    digest = digest_of(releases.signed)
    signature = gpg.sign(SIGNER, simple_signing(digest))
    store.publish(digest, gpg.sign(STRANGER, simple_signing(digest)), signature)
    result = run_cli("mirror", "--insecure", "--from", releases.signed, "--to-dir", str(tmp_path / "mirror"))
    assert result.returncode == 0, result.stderr
    exported = tmp_path / "mirror" / "config" / f"signature-sha256-{digest[7:23]}.json"
    assert exported.read_bytes() == signature_configmap(digest, [signature])  # only the one that verified
    assert json.loads(exported.read_bytes())["binaryData"] == {
        f"sha256-{digest[7:]}-1": base64.b64encode(signature).decode()}
    assert oct(exported.stat().st_mode & 0o777) == "0o640"
    assert result.stdout.endswith(f"Configmap signature file {exported} created\n")


def test_from_dir_upload_verifies_with_the_exported_signatures_and_carries_them(
        releases: Releases, gpg: Gpg, store: SignatureStore, tmp_path: Path) -> None:
    digest = digest_of(releases.signed)
    signature = gpg.sign(SIGNER, simple_signing(digest))
    store.publish(digest, signature)
    mirror = tmp_path / "mirror"
    assert run_cli("mirror", "--insecure", "--from", releases.signed, "--to-dir", str(mirror)).returncode == 0
    store.publish(digest)  # the air-gapped side cannot reach the store: the disk mirror's own signatures serve
    carried = tmp_path / "carried"
    result = run_cli("mirror", "--insecure", "--from-dir", str(mirror), "--to", f"{releases.host}/okd/uploaded",
                     "--release-image-signature-to-dir", str(carried))
    assert result.returncode == 0, result.stderr
    assert (carried / signature_file_name(digest)).read_bytes() == signature_configmap(digest, [signature])
    assert f"To apply signature configmaps use 'oc apply' on files found in {carried}\n" in result.stdout


@pytest.mark.parametrize("bad", ["stranger", "other-digest"])
def test_mirror_stops_before_copying_a_release_that_fails_verification(releases: Releases, gpg: Gpg,
                                                                       store: SignatureStore, tmp_path: Path,
                                                                       bad: str) -> None:
    digest = digest_of(releases.signed)
    store.publish(digest, gpg.sign(STRANGER, simple_signing(digest)) if bad == "stranger" else
                  gpg.sign(SIGNER, simple_signing(digest_of(releases.unsigned))))
    target = tmp_path / "mirror"
    result = run_cli("mirror", "--insecure", "--from", releases.signed, "--to-dir", str(target))
    assert result.returncode == 1
    [line] = result.stderr.splitlines()
    assert line.startswith(f"error: release {digest} is not verified: ")
    assert line.endswith("(pass --allow-unverified to go on without verification)")
    assert not target.exists()  # nothing copied, nothing exported

    allowed = run_cli("mirror", "--insecure", "--from", releases.signed, "--to-dir", str(target), "--allow-unverified")
    assert allowed.returncode == 0, allowed.stderr
    assert f"warning: release {digest} is not verified" in allowed.stderr
    assert (target / "v2").is_dir() and not (target / "config").exists()


def test_mirror_of_a_release_without_verification_config_map_is_unverified_as_in_oc(releases: Releases,
                                                                                    tmp_path: Path) -> None:
    target = tmp_path / "mirror"
    result = run_cli("mirror", "--insecure", "--from", releases.unsigned, "--to-dir", str(target))
    assert result.returncode == 0, result.stderr
    assert ("warning: No release authenticity verification is configured, all releases are considered unverified"
            in result.stderr)
    assert (target / "v2").is_dir() and not (target / "config").exists()
    assert "Configmap signature file" not in result.stdout


# -- extract --tools --signing-key --------------------------------------------------------------------------------
PROTECTED = "Protected Signer <protected@example.com>"
PASSPHRASE = "s3cret-signing-passphrase"


@pytest.fixture(scope="module")
def tools_release(source_registry, tmp_path_factory: pytest.TempPathFactory) -> str:
    """A release of the sample's component images (which hold oc and openshift-install), by digest."""
    host = source_registry.host
    with Registries(RegistryOptions(insecure=True), CredentialStore()) as registries:
        sample = push_sample(RegistryStore(registries.client(host)), "okd/signing-sample")
        components = {tag.name: tag.pullspec for tag in sample.stream.tags}
        return push_release(registries, host, "4.15.2-0.okd-tools", components, {}, tmp_path_factory.mktemp("tools"))


@pytest.fixture(scope="module")
def protected_key(gpg: Gpg) -> bytes:
    gpg.run("--passphrase", PASSPHRASE, "--quick-gen-key", PROTECTED, "rsa2048", "sign", "never")
    return gpg.run("--armor", "--pinentry-mode", "loopback", "--passphrase", PASSPHRASE, "--export-secret-keys",
                   PROTECTED)


def gpg_verify(gpg: Gpg, signature: Path, data: Path) -> str:
    checked = subprocess.run(["gpg", "--homedir", str(gpg.home), "--batch", "--verify", str(signature), str(data)],
                             capture_output=True, text=True)
    assert checked.returncode == 0, checked.stderr
    return checked.stderr


def test_extract_tools_signing_key_writes_a_detached_signature_of_sha256sum(tools_release: str, gpg: Gpg,
                                                                            tmp_path: Path) -> None:
    key = tmp_path / "signing-key.asc"
    key.write_bytes(gpg.secret_key(SIGNER))
    out = tmp_path / "tools"
    result = run_cli("extract", "--insecure", tools_release, "--tools", "--command-os", "linux/amd64",
                     "--signing-key", str(key), "--to", str(out))
    assert result.returncode == 0, result.stderr
    signature = out / "sha256sum.txt.asc"
    assert signature.read_text().startswith("-----BEGIN PGP SIGNATURE-----")
    assert f'Good signature from "{SIGNER}"' in gpg_verify(gpg, signature, out / "sha256sum.txt")
    assert "Enter password" not in result.stderr  # a key without a passphrase is not asked for one


def test_extract_signing_key_with_a_passphrase_asks_for_it_first(tools_release: str, gpg: Gpg, protected_key: bytes,
                                                                 tmp_path: Path) -> None:
    key = tmp_path / "protected.asc"
    key.write_bytes(protected_key)
    wrong = run_cli("extract", "--insecure", tools_release, "--tools", "--command-os", "linux/amd64",
                    "--signing-key", str(key), "--to", str(tmp_path / "wrong"), input="not-it\n")
    assert wrong.returncode == 1
    assert wrong.stderr.splitlines()[-1] == f"error: unable to decrypt signing key {key}: wrong passphrase"
    assert not (tmp_path / "wrong").exists() or not any((tmp_path / "wrong").iterdir())  # checked before extracting

    out = tmp_path / "tools"
    result = run_cli("extract", "--insecure", tools_release, "--tools", "--command-os", "linux/amd64",
                     "--signing-key", str(key), "--to", str(out), input=PASSPHRASE + "\n")
    assert result.returncode == 0, result.stderr
    assert "Enter password for private key: " in result.stderr and PASSPHRASE not in result.stderr + result.stdout
    assert f'Good signature from "{PROTECTED}"' in gpg_verify(gpg, out / "sha256sum.txt.asc", out / "sha256sum.txt")


def test_a_signing_key_that_holds_no_private_key_is_one_clear_error(tools_release: str, gpg: Gpg,
                                                                    tmp_path: Path) -> None:
    key = tmp_path / "public.asc"
    key.write_text(gpg.public_key(SIGNER))
    result = run_cli("extract", "--insecure", tools_release, "--tools", "--signing-key", str(key),
                     "--to", str(tmp_path / "tools"))
    assert result.returncode == 1
    assert result.stderr == f"error: no private key exists in {key} capable of signing the output\n"


def test_verify_on_the_air_gapped_side_reads_the_disk_mirror_and_its_exported_signatures(
        releases: Releases, gpg: Gpg, store: SignatureStore, tmp_path: Path) -> None:
    digest = digest_of(releases.signed)
    store.publish(digest, gpg.sign(SIGNER, simple_signing(digest)))
    mirror = tmp_path / "mirror"
    assert run_cli("mirror", "--insecure", "--from", releases.signed, "--to-dir", str(mirror)).returncode == 0
    store.publish(digest)  # the store is out of reach
    result = run_cli("verify", "--from-dir", str(mirror), "file://openshift/release:4.15.1-0.okd-signed-x86_64",
                     "-o", "json")
    assert result.returncode == 0, result.stderr
    [signature] = json.loads(result.stdout)["signatures"]
    assert signature["store"] == str(mirror / "config" / signature_file_name(digest))


def test_a_signature_larger_than_library_go_reads_is_refused(signed_release: str, gpg: Gpg,
                                                              store: SignatureStore) -> None:
    digest = digest_of(signed_release)
    store.publish(digest, b"\x00" * (50 * 1024 + 1), gpg.sign(SIGNER, simple_signing(digest)))
    result = run_cli("verify", "--insecure", signed_release, "-o", "json")
    assert result.returncode == 0, result.stderr  # the next one is read
    assert json.loads(result.stdout)["signatures"][0]["location"].endswith("/signature-2")
    store.publish(digest, b"\x00" * (50 * 1024 + 1))
    refused = run_cli("verify", "--insecure", signed_release)
    assert "signature-1 exceeds 51200 bytes" in refused.stderr
