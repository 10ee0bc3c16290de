"""`okd-release info` views against releases built by `new` in the real registry."""

from __future__ import annotations

import json

import yaml

from okd_release.cli.table import human_size
from okd_release.image.build import image_config, push_image
from okd_release.image.layer import LayerEntry, build_layer
from okd_release.stores import RegistryStore
from okd_release.testing.sample import KUBERNETES, MACHINE_OS
from tests.conftest import PASSWORD, pushed_release, run_cli, write_auth_file
from tests.images import push_random_image
from tests.release_helpers import push_multi_arch_release, read_release


def _ok(*args: str) -> str:
    result = run_cli("info", "--insecure", *args)
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_default_view_lays_out_like_oc(sample_release) -> None:
    text = _ok(sample_release.release_tag)
    payload = read_release(sample_release.release).payload
    manifests = [name for name in payload.manifests if name.endswith((".yaml", ".yml", ".json"))]
    assert f"Name:           {sample_release.version}\n" in text
    assert f"Digest:         {sample_release.digest}\n" in text
    assert "Created:        2024-01-01T00:00:00Z\n" in text  # SAMPLE_BUILT_AT
    assert "OS/Arch:        linux/amd64\n" in text
    assert f"Manifests:      {len(manifests)}\n" in text
    assert f"Metadata files: {len(payload.manifests) - len(manifests)}\n" in text
    assert f"Pull From: {sample_release.release}" in text
    assert "Upgrades: 4.14.0, 4.14.1" in text
    assert f"kubernetes {KUBERNETES}" in text
    assert f"machine-os {MACHINE_OS} Fedora CoreOS" in text
    rows = text.split("Images:\n", 1)[1].strip().splitlines()
    assert rows[0].split() == ["NAME", "DIGEST"]
    names = [row.split()[0] for row in rows[1:]]
    assert names == sorted(payload.image_references.names())
    for row in rows[1:]:
        name, digest = row.split()
        assert payload.image_references.tag(name).pullspec.endswith("@" + digest)


def test_pullspecs_commits_and_commit_urls(sample_release) -> None:
    payload = read_release(sample_release.release).payload
    prometheus = payload.image_references.tag("prometheus")
    commit = prometheus.annotations["io.openshift.build.commit.id"]
    assert f"prometheus                      {prometheus.pullspec}" in _ok("--pullspecs", sample_release.release)
    assert f"https://github.com/openshift/prometheus {commit}" in " ".join(_ok("--commits", sample_release.release).split())
    assert f"https://github.com/openshift/prometheus/commit/{commit}" in _ok("--commit-urls", sample_release.release)


def test_size_counts_shared_layers_once(sample_release) -> None:
    images = json.loads(_ok("--size", "-o", "json", sample_release.release))["images"].values()
    layers = {layer["digest"]: layer["size"] for image in images for layer in image["layers"]}
    assert sum(layers.values()) < sum(image["config"]["size"] for image in images)  # the base layer is shared
    assert f"  {human_size(sum(layers.values()))} across {len(layers)} layers\n" in _ok("--size", sample_release.release)


def test_json_and_yaml_round_trip(sample_release) -> None:
    as_json = json.loads(_ok("-o", "json", sample_release.release))
    as_yaml = yaml.safe_load(_ok("-o", "yaml", sample_release.release))
    assert as_json == as_yaml
    assert json.loads(json.dumps(as_json)) == as_json
    assert as_json["digest"] == sample_release.digest and as_json["metadata"]["version"] == sample_release.version
    assert as_json["displayVersions"]["kubernetes"]["Version"] == KUBERNETES
    tags = read_release(sample_release.release).payload.image_references.tags
    assert _ok("-o", "name", sample_release.release).split() == [tag.name for tag in tags]
    assert _ok("-o", "pullspec", sample_release.release_tag).split() == [tag.pullspec for tag in tags]


def test_image_for_and_contents(sample_release) -> None:
    payload = read_release(sample_release.release).payload
    assert _ok("--image-for", "installer", sample_release.release).strip() == payload.image_references.tag("installer").pullspec
    contents = _ok("--contents", sample_release.release)
    for name, data in payload.files().items():
        if name in ("image-references", "release-metadata") or name.endswith((".yaml", ".yml", ".json")):
            assert f"# {name}\n{data.decode().rstrip()}" in contents
        else:  # oc counts other files as metadata files and does not show them
            assert f"# {name}\n" not in contents
    missing = run_cli("info", "--insecure", "--image-for", "nope", sample_release.release)
    assert missing.returncode != 0 and 'no image tag "nope" exists' in missing.stderr


def test_from_dir_and_payload_file(sample_release, tmp_path) -> None:
    run_cli("new", "--insecure", "--from-release", sample_release.release, "--to-dir", str(tmp_path / "d"),
            "--to-file", str(tmp_path / "payload.tar.gz"))
    text = run_cli("info", "--from-dir", str(tmp_path / "d")).stdout
    assert f"Name:           {sample_release.version}" in text and "prometheus" in text
    from_file = json.loads(run_cli("info", "-o", "json", str(tmp_path / "payload.tar.gz")).stdout)
    from_registry = json.loads(_ok("-o", "json", sample_release.release))
    assert from_file["references"] == from_registry["references"] and from_file["metadata"] == from_registry["metadata"]


def test_changes_between_two_releases(sample_release, plain_registries) -> None:
    other = push_random_image(plain_registries, sample_release.host, "other/console", "v2", [500],
                              labels={"io.openshift.build.commit.id": "c0ffee",
                                      "io.openshift.build.source-location": "https://github.com/openshift/console",
                                      "io.openshift.build.versions": "kubernetes=1.29.0"})
    target = f"{sample_release.host}/okd/release:4.15.1"
    new = pushed_release(run_cli("new", "--insecure", "--reference-mode", "source", "--from-release",
                                 sample_release.release, "--name", "4.15.1", "--to-image", target,
                                 f"console={sample_release.host}/other/console@{other.digest}"), target)
    data = json.loads(_ok("--changes-from", sample_release.release, new, "-o", "json"))
    old_console = read_release(sample_release.release).payload.image_references.tag("console")
    assert list(data["changedImages"]) == ["console"]
    change = data["changedImages"]["console"]
    assert change["from"]["from"]["name"] == old_console.pullspec
    assert change["to"]["from"]["name"] == f"{sample_release.host}/other/console@{other.digest}"
    old_commit = old_console.annotations["io.openshift.build.commit.id"]
    assert (f"Images Changed:\n  console https://github.com/openshift/console/compare/{old_commit}...c0ffee\n"
            in _ok("--commits", sample_release.release, new))
    # the new console image says kubernetes=1.29.0: as oc, the lexically first version is shown, with a warning
    assert data["to"]["displayVersions"]["kubernetes"]["Version"] == min(KUBERNETES, "1.29.0")
    assert data["to"]["warnings"] == ["multiple versions or display names reported for the following component(s): "
                                      "kubernetes"]
    assert "0000_50_console-operator_05_deployment.yaml" in data["changedManifests"]
    text = _ok(sample_release.release, new, "--contents")
    assert "# 4.15.1 (changes from 4.15.0-0.okd-sample)" in text
    assert f"-        image: {old_console.pullspec}" in text
    assert f"+        image: {sample_release.host}/other/console@{other.digest}" in text


def test_manifest_list_shows_platforms_and_filter_picks_one(sample_release, plain_registries) -> None:
    index, amd_raw, arm_raw = push_multi_arch_release(plain_registries, sample_release, "multi")
    text = _ok(f"{sample_release.host}/okd/release:multi")
    assert f"Digest:         {index.digest}\n" in text and "OS/Arch:        multi (linux/amd64)\n" in text
    assert f"linux/amd64 {amd_raw.digest}" in text and f"linux/arm64 {arm_raw.digest}" in text
    assert f"Name:           {sample_release.version}" in text
    filtered = _ok("--filter-by-os", "linux/arm64", f"{sample_release.host}/okd/release:multi")
    assert "Name:           4.15.0-arm" in filtered
    bad = run_cli("info", "--insecure", "--filter-by-os", "windows/amd64", f"{sample_release.host}/okd/release:multi")
    assert bad.returncode != 0 and "has no image for windows/amd64" in bad.stderr


def _one_line_error(result, fragment: str) -> None:
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and fragment in lines[0], result.stderr


def test_not_a_release_image(sample_release) -> None:
    _one_line_error(run_cli("info", "--insecure", f"{sample_release.host}/okd/content:prometheus"),
                    "is not a release image")


def test_missing_tag(sample_release) -> None:
    _one_line_error(run_cli("info", "--insecure", f"{sample_release.host}/okd/release:no-such-tag"), "not found")


def test_corrupt_image_references(sample_release, plain_registries, tmp_path) -> None:
    layer = build_layer([LayerEntry.directory("release-manifests/"),
                         LayerEntry.file("release-manifests/image-references", b"{this is not json: [")], tmp_path)
    config = image_config([layer], {}, "2024-01-01T00:00:00Z")
    push_image(RegistryStore(plain_registries.client(sample_release.host)), "okd/corrupt", "v1", [layer], config)
    _one_line_error(run_cli("info", "--insecure", f"{sample_release.host}/okd/corrupt:v1"), "image-references")


def test_auth_failure(secure_registry, tmp_path) -> None:
    auth = write_auth_file(tmp_path / "auth.json", secure_registry.host, secure_registry.username, "not-" + PASSWORD)
    result = run_cli("info", "-a", str(auth), "--certificate-authority", str(secure_registry.ca_file), "--loglevel", "8",
                     f"{secure_registry.host}/okd/release:4.15")
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert result.returncode != 0 and len(errors) == 1
    assert f"authentication to registry {secure_registry.host} refused" in errors[0]
    assert "DEBUG" in result.stderr and "Traceback" not in result.stderr
    assert PASSWORD not in result.output
