"""`okd-release image info|mirror` as a user runs them, checked with skopeo."""

from __future__ import annotations

import json
import os

from okd_release.image.layout import OciLayout
from okd_release.stores import RegistryStore
from okd_release.transfer import Endpoint, ImageCopy, Transfer
from tests.conftest import PASSWORD, measure_cli_process, run_cli, skopeo, write_auth_file
from tests.images import push_random_image


def test_mirror_copies_multi_layer_image_between_registries(registry, second_registry, plain_registries) -> None:
    manifest = push_random_image(plain_registries, registry.host, "okd/app", "v1", [50_000, 120_000, 3_000])
    result = run_cli("image", "mirror", "--insecure", f"{registry.host}/okd/app:v1", f"{second_registry.host}/mirror/app:v1")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f"{second_registry.host}/mirror/app@{manifest.digest}"
    inspected = json.loads(skopeo("inspect", "--tls-verify=false", f"docker://{second_registry.host}/mirror/app:v1").stdout)
    assert inspected["Digest"] == manifest.digest
    assert len(inspected["Layers"]) == 3


def test_mirror_rerun_copies_nothing(registry, second_registry, plain_registries) -> None:
    push_random_image(plain_registries, registry.host, "okd/app", "v1", [10_000, 20_000])
    args = ("image", "mirror", "--insecure", "-o", "json", f"{registry.host}/okd/app:v1", f"{second_registry.host}/m/app:v1")
    first = json.loads(run_cli(*args).stdout)
    second = json.loads(run_cli(*args).stdout)
    assert first["blobsCopied"] == 3 and first["blobsSkipped"] == 0
    assert second["blobsCopied"] == 0 and second["blobsSkipped"] == 3
    assert first["digest"] == second["digest"]


def test_info_shows_digest_layers_labels_and_json(registry, plain_registries) -> None:
    manifest = push_random_image(plain_registries, registry.host, "okd/app", "v1", [1000, 2000],
                                 labels={"io.openshift.build.commit.id": "abc123"})
    text = run_cli("image", "info", "--insecure", f"{registry.host}/okd/app:v1")
    assert text.returncode == 0
    assert f"Digest:     {manifest.digest}" in text.stdout
    assert "OS/Arch:    linux/amd64" in text.stdout
    assert "io.openshift.build.commit.id=abc123" in text.stdout
    data = json.loads(run_cli("image", "info", "--insecure", "-o", "json", f"{registry.host}/okd/app:v1").stdout)
    assert data["digest"] == manifest.digest
    assert [layer["digest"] for layer in data["layers"]] == [layer.digest for layer in manifest.layers]


def test_mirror_with_tls_and_htpasswd_using_pull_secret(registry, secure_registry, plain_registries, tmp_path) -> None:
    manifest = push_random_image(plain_registries, registry.host, "okd/app", "v1", [40_000, 8_000])
    secret = json.loads(secure_registry.auth_file.read_text())
    secret["auths"][registry.host] = {"auth": ""}
    pull_secret = tmp_path / "pull-secret.json"
    pull_secret.write_text(json.dumps(secret))
    result = run_cli("image", "mirror", "--insecure", "-a", str(pull_secret), f"{registry.host}/okd/app:v1",
                     f"{secure_registry.host}/secure/app:v1", "--certificate-authority", str(secure_registry.ca_file),
                     "--loglevel", "8")
    assert result.returncode == 0, result.stderr
    inspected = json.loads(skopeo(
        "inspect", "--cert-dir", str(_cert_dir(secure_registry, tmp_path)),
        "--creds", f"{secure_registry.username}:{PASSWORD}", f"docker://{secure_registry.host}/secure/app:v1").stdout)
    assert inspected["Digest"] == manifest.digest
    assert PASSWORD not in result.output


def _cert_dir(secure_registry, tmp_path):
    directory = tmp_path / "certs"
    directory.mkdir(exist_ok=True)
    (directory / "ca.crt").write_bytes(secure_registry.ca_file.read_bytes())
    return directory


def test_wrong_password_is_one_line_error_naming_registry(secure_registry, tmp_path) -> None:
    wrong = "Wrong-" + PASSWORD
    auth = write_auth_file(tmp_path / "auth.json", secure_registry.host, secure_registry.username, wrong)
    result = run_cli("image", "info", "-a", str(auth), "--certificate-authority", str(secure_registry.ca_file),
                     "--loglevel", "8", f"{secure_registry.host}/okd/app:v1")
    assert result.returncode != 0
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert lines[-1].startswith("error: ") and secure_registry.host in lines[-1] and "refused" in lines[-1]
    assert "Traceback" not in result.stderr
    assert wrong not in result.output and PASSWORD not in result.output


def test_missing_image_and_bad_reference_are_one_line_errors(registry) -> None:
    missing = run_cli("image", "info", "--insecure", f"{registry.host}/okd/nothing:v1")
    assert missing.returncode != 0 and missing.stderr.strip() == f"error: image {registry.host}/okd/nothing:v1 not found"
    bad = run_cli("image", "info", "quay.io/Upper/Case")
    assert bad.returncode != 0 and "lowercase" in bad.stderr and len(bad.stderr.strip().splitlines()) == 1


def test_what_skopeo_pushes_we_read_and_our_oci_layout_skopeo_reads(registry, second_registry, plain_registries,
                                                                     tmp_path) -> None:
    manifest = push_random_image(plain_registries, registry.host, "okd/app", "v1", [5_000, 6_000], oci=True)
    layout = OciLayout(tmp_path / "layout")
    source = Endpoint(RegistryStore(plain_registries.client(registry.host)), "okd/app")
    Transfer().run([ImageCopy("app", source, "v1", Endpoint(layout, "okd/app"), ("v1",))])
    skopeo("copy", "--dest-tls-verify=false", f"oci:{tmp_path / 'layout'}:v1", f"docker://{second_registry.host}/by/skopeo:v1")
    result = run_cli("image", "info", "--insecure", "-o", "json", f"{second_registry.host}/by/skopeo:v1")
    assert json.loads(result.stdout)["digest"] == manifest.digest


def test_200mb_layer_is_copied_with_bounded_memory(registry, second_registry, plain_registries, tmp_path) -> None:
    from okd_release.image.build import image_config, push_image
    from okd_release.image.layer import BuiltLayer

    blob = tmp_path / "big.layer"
    with open(blob, "wb") as handle:
        for _ in range(200):
            handle.write(os.urandom(1 << 20))
    import hashlib

    hasher = hashlib.sha256()
    with open(blob, "rb") as handle:
        while chunk := handle.read(1 << 20):
            hasher.update(chunk)
    layer = BuiltLayer(blob, "sha256:" + hasher.hexdigest(), blob.stat().st_size, "sha256:" + hasher.hexdigest())
    config = image_config([layer], {}, "2024-01-01T00:00:00Z")
    push_image(RegistryStore(plain_registries.client(registry.host)), "okd/big", "v1", [layer], config)
    code, stderr, peak_mb = measure_cli_process("image", "mirror", "--insecure", f"{registry.host}/okd/big:v1",
                                                f"{second_registry.host}/okd/big:v1")
    assert code == 0, stderr
    print(f"peak RSS copying a 200 MB layer: {peak_mb:.1f} MB")
    assert peak_mb < 100
    assert plain_registries.client(second_registry.host).head_blob("okd/big", layer.digest) == layer.size


def test_image_list_info_shows_platforms_and_mirror_keeps_the_list(registry, second_registry, plain_registries) -> None:
    from okd_release.content import Descriptor, Platform
    from okd_release.image.manifest import build_index

    amd = push_random_image(plain_registries, registry.host, "okd/multi", "amd64", [1000])
    arm = push_random_image(plain_registries, registry.host, "okd/multi", "arm64", [2000])
    index = build_index([
        Descriptor(amd.media_type, amd.digest, len(amd.raw.data), Platform("linux", "amd64")),
        Descriptor(arm.media_type, arm.digest, len(arm.raw.data), Platform("linux", "arm64")),
    ])
    RegistryStore(plain_registries.client(registry.host)).put_manifest("okd/multi", "list", index.raw)
    text = run_cli("image", "info", "--insecure", f"{registry.host}/okd/multi:list").stdout
    assert f"Digest:     {index.digest}" in text
    assert f"linux/amd64      {amd.digest}" in text and f"linux/arm64      {arm.digest}" in text
    copied = run_cli("image", "mirror", "--insecure", f"{registry.host}/okd/multi:list", f"{second_registry.host}/m/multi:list")
    assert copied.returncode == 0, copied.stderr
    assert copied.stdout.strip().endswith(index.digest)
    for child in (amd, arm):
        skopeo("inspect", "--tls-verify=false", f"docker://{second_registry.host}/m/multi@{child.digest}")
