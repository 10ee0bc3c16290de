"""`okd-release new` against the real registry, checked with skopeo and by reading the payload back."""

from __future__ import annotations

import json
import re
import time
from datetime import datetime

import pytest

from okd_release.image.build import image_config, push_image
from okd_release.image.layer import LayerEntry, build_layer
from okd_release.stores import RegistryStore
from okd_release.testing.sample import components
from tests.conftest import run_cli, skopeo
from tests.images import push_random_image
from tests.release_helpers import read_release

DIGEST_PULLSPEC = re.compile(r"^[^@\s]+@sha256:[0-9a-f]{64}$")


def test_release_is_valid_for_skopeo_and_holds_everything(sample_release) -> None:
    inspected = json.loads(skopeo("inspect", "--tls-verify=false", f"docker://{sample_release.release}").stdout)
    assert inspected["Digest"] == sample_release.digest
    assert inspected["Labels"] == {
        "io.openshift.release": sample_release.version,
        "io.openshift.release.base-image-digest": inspected["Labels"]["io.openshift.release.base-image-digest"],
    }
    release = read_release(sample_release.release)
    payload = release.payload
    assert payload.metadata.version == sample_release.version
    assert payload.metadata.previous == sample_release.previous
    assert payload.image_references.name == sample_release.version
    expected_names = {c.name for c in components(0)}
    assert set(payload.image_references.names()) == expected_names
    for tag in payload.image_references.tags:
        assert DIGEST_PULLSPEC.match(tag.pullspec), tag
        skopeo("inspect", "--tls-verify=false", f"docker://{tag.pullspec}")
    operators = [c for c in components(0) if c.operator]
    for operator in operators:
        assert any(f"_{operator.name}_" in name for name in payload.manifests), operator.name
    text = b"".join(payload.manifests.values()).decode()
    assert "quay.io/openshift/origin-" not in text
    assert "0.0.1-snapshot" not in text
    assert "release: 4.15.0-0.okd-sample" in payload.manifests["0000_20_kube-apiserver-operator_07_version.yaml"].decode()
    assert "kubernetes: 1.28.3" in payload.manifests["0000_20_kube-apiserver-operator_07_version.yaml"].decode()
    assert "0000_50_console-operator_console-config.yaml" in payload.manifests
    prometheus = payload.image_references.tag("prometheus").pullspec
    assert prometheus in payload.manifests["0000_50_cluster-monitoring-operator_05_deployment.yaml"].decode()
    assert sorted(name for name in payload.manifests if name.endswith(".md")) == [  # every file is copied, as oc does
        f"0000_50_{operator.name}_README.md" for operator in sorted(operators, key=lambda o: o.name)]
    annotations = payload.image_references.tag("hyperkube").annotations
    assert annotations["io.openshift.build.versions"] == "kubernetes=1.28.3,kubectl=1.28.3"
    assert annotations["io.openshift.build.source-location"] == "https://github.com/openshift/hyperkube"


def test_rebuild_from_release_without_changes_gives_the_same_digest(sample_release) -> None:
    rebuilt = run_cli("new", "--insecure", "--from-release", sample_release.release,
                      "--to-image", f"{sample_release.host}/okd/rebuilt:1")
    assert rebuilt.returncode == 0, rebuilt.stderr
    assert rebuilt.stdout.split()[0] == sample_release.digest


def test_replacement_changes_exactly_that_reference(sample_release, plain_registries) -> None:
    other = push_random_image(plain_registries, sample_release.host, "other/prometheus", "custom", [1000],
                              labels={"io.openshift.build.commit.id": "feedface"})
    other_pullspec = f"{sample_release.host}/other/prometheus@{other.digest}"
    target = f"{sample_release.host}/okd/custom:1"
    args = ("new", "--insecure", "--from-release", sample_release.release, "--to-image", target,
            f"prometheus={sample_release.host}/other/prometheus:custom")
    first, second = run_cli(*args, env=_BUILT_AT), run_cli(*args, env=_BUILT_AT)
    assert first.returncode == 0, first.stderr
    assert first.stdout == second.stdout, "building twice must give the same digest"
    old = read_release(sample_release.release).payload
    new = read_release(f"{sample_release.host}/okd/custom@{first.stdout.split()[0]}").payload
    old_prometheus = old.image_references.tag("prometheus").pullspec
    changed_tags = [t.name for t in new.image_references.tags if t != old.image_references.tag(t.name)]
    assert changed_tags == ["prometheus"]
    tag = new.image_references.tag("prometheus")
    assert tag.pullspec == other_pullspec
    assert tag.annotations["io.openshift.release.override"] == "true"
    assert tag.annotations["io.openshift.build.commit.id"] == "feedface"
    assert set(new.manifests) == set(old.manifests)
    changed = [name for name in old.manifests if old.manifests[name] != new.manifests[name]]
    assert changed == ["0000_50_cluster-monitoring-operator_05_deployment.yaml"]
    for name in changed:
        assert new.manifests[name] == old.manifests[name].replace(old_prometheus.encode(), other_pullspec.encode())
    assert new.metadata.previous == old.metadata.previous
    assert new.image_references.annotations["release.openshift.io/from-release"] == sample_release.release


def _built_at(sample_release) -> dict[str, str]:
    """SOURCE_DATE_EPOCH set to the sample release's build time, so that building it again gives its digest."""
    created = read_release(sample_release.release).payload.image_references.created
    return {"SOURCE_DATE_EPOCH": str(int(datetime.strptime(created, "%Y-%m-%dT%H:%M:%S%z").timestamp()))}


_BUILT_AT = {"SOURCE_DATE_EPOCH": "1704067200"}


def test_to_dir_to_file_and_dry_run_agree(sample_release, tmp_path) -> None:
    stream, same = str(sample_release.stream_file), ("--name", sample_release.version, "--previous", "4.14.0,4.14.1")
    dry = run_cli("new", "--insecure", "-f", stream, *same, "--dry-run", env=_built_at(sample_release))
    assert dry.returncode == 0 and dry.stdout.split()[0] == sample_release.digest
    written = run_cli("new", "--insecure", "-f", stream, *same, "--to-dir", str(tmp_path / "dir"),
                      "--to-file", str(tmp_path / "payload.tar.gz"), env=_built_at(sample_release))
    assert written.returncode == 0, written.stderr
    original = read_release(sample_release.release).payload.files()
    assert {p.name: p.read_bytes() for p in (tmp_path / "dir").iterdir()} == original
    from okd_release.release.payload.source import open_payload_file

    assert open_payload_file(tmp_path / "payload.tar.gz").payload.files() == original


def test_exclude_include_and_name_metadata(sample_release, tmp_path) -> None:
    result = run_cli("new", "--insecure", "-f", str(sample_release.stream_file), "--to-dir", str(tmp_path),
                     "--name", "4.15.1", "--exclude", "console-operator", "--metadata", '{"url": "https://example.com"}')
    assert result.returncode == 0, result.stderr
    stream = json.loads((tmp_path / "image-references").read_text())
    names = [t["name"] for t in stream["spec"]["tags"]]
    assert "console-operator" not in names and "console" not in names  # console is only referenced by its operator
    assert stream["metadata"]["name"] == "4.15.1"
    metadata = json.loads((tmp_path / "release-metadata").read_text())
    assert metadata == {"kind": "cincinnati-metadata-v0", "version": "4.15.1", "previous": [],
                        "metadata": {"url": "https://example.com"}}
    run_cli("new", "--insecure", "-f", str(sample_release.stream_file), "--to-dir", str(tmp_path / "k"),
                   "--exclude", "console-operator", "--include", "console")
    assert "console" in (tmp_path / "k" / "image-references").read_text()


def _one_line_error(result, *fragments: str) -> None:
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    for fragment in fragments:
        assert fragment in lines[0], lines[0]


def _tags(host: str, repository: str) -> list[str]:
    result = skopeo("list-tags", "--tls-verify=false", f"docker://{host}/{repository}", check=False)
    return json.loads(result.stdout)["Tags"] if result.returncode == 0 else []


def test_unknown_component_in_replacement_is_refused(sample_release) -> None:
    result = run_cli("new", "--insecure", "--from-release", sample_release.release, "--to-image",
                     f"{sample_release.host}/okd/bad1:1", f"no-such-thing={sample_release.release}")
    _one_line_error(result, "unknown component 'no-such-thing'")
    assert _tags(sample_release.host, "okd/bad1") == []


def test_missing_image_is_refused_unless_allowed(sample_release, tmp_path) -> None:
    stream = json.loads(sample_release.stream_file.read_text())
    stream["spec"]["tags"].append({"name": "ghost", "from": {"kind": "DockerImage",  # oc skips tags never imported
                                                            "name": f"{sample_release.host}/okd/ghost@sha256:{'0' * 64}"}})
    path = tmp_path / "stream.json"
    path.write_text(json.dumps(stream))
    result = run_cli("new", "--insecure", "-f", str(path), "--to-image", f"{sample_release.host}/okd/bad2:1")
    _one_line_error(result, "ghost", "not found")
    assert _tags(sample_release.host, "okd/bad2") == []
    allowed = run_cli("new", "--insecure", "-f", str(path), "--allow-missing-images", "--to-dir", str(tmp_path / "out"))
    assert allowed.returncode == 0 and "warning: image 'ghost' not found" in allowed.stderr


@pytest.mark.parametrize("content", ["{not json", "kind: Pod\n", '{"kind": "ImageStream", "spec": {"tags": [{"from": {}}]}}'])
def test_malformed_image_stream_file_is_refused(sample_release, tmp_path, content: str) -> None:
    path = tmp_path / "stream.json"
    path.write_text(content)
    result = run_cli("new", "--insecure", "-f", str(path), "--to-image", f"{sample_release.host}/okd/bad3:1")
    _one_line_error(result, "image stream file")
    assert _tags(sample_release.host, "okd/bad3") == []


def test_operator_manifest_that_is_not_yaml_is_refused(sample_release, plain_registries, tmp_path) -> None:
    layer = build_layer([LayerEntry.directory("manifests/"),
                         LayerEntry.file("manifests/0000_50_broken_01_config.yaml", b"kind: [unclosed\n  : :\n")],
                        tmp_path)
    config = image_config([layer], {"io.openshift.release.operator": "true"}, "2024-01-01T00:00:00Z")
    broken = push_image(RegistryStore(plain_registries.client(sample_release.host)), "okd/broken", "v1", [layer], config)
    stream = json.loads(sample_release.stream_file.read_text())
    stream["spec"]["tags"].append({"name": "broken-operator", "from": {
        "kind": "DockerImage", "name": f"{sample_release.host}/okd/broken@{broken.digest}"}})
    path = tmp_path / "stream.json"
    path.write_text(json.dumps(stream))
    result = run_cli("new", "--insecure", "-f", str(path), "--reference-mode", "source",  # not the sample's repository
                     "--to-image", f"{sample_release.host}/okd/bad4:1")
    _one_line_error(result, "broken-operator", "0000_50_broken_01_config.yaml", "not valid YAML")
    assert _tags(sample_release.host, "okd/bad4") == []


def test_bad_flags_are_one_line_errors(sample_release) -> None:
    _one_line_error(run_cli("new", "--insecure", "-f", str(sample_release.stream_file), "--dry-run", "--name", "four"),
                    "not a semantic version")
    _one_line_error(run_cli("new", "--insecure", "-f", str(sample_release.stream_file), "--dry-run", "prometheus"),
                    "NAME=IMAGE")
    _one_line_error(run_cli("new", "--insecure", "-f", str(sample_release.stream_file)), "nothing to do")


def test_mapping_file_replaces_like_arguments(sample_release, plain_registries, tmp_path) -> None:
    other = push_random_image(plain_registries, sample_release.host, "other/console", "mapped", [700])
    mapping = tmp_path / "mapping.txt"
    mapping.write_text(f"# replacements\nconsole={sample_release.host}/other/console:mapped  # the fix\n")
    by_file = run_cli("new", "--insecure", "--from-release", sample_release.release, "--mapping-file", str(mapping),
                      "--to-dir", str(tmp_path / "a"), env=_BUILT_AT)
    by_argument = run_cli("new", "--insecure", "--from-release", sample_release.release,
                          f"console={sample_release.host}/other/console:mapped", "--to-dir", str(tmp_path / "b"),
                          env=_BUILT_AT)
    assert by_file.returncode == 0 and by_argument.returncode == 0, by_file.stderr + by_argument.stderr
    a, b = (tmp_path / "a" / "image-references").read_text(), (tmp_path / "b" / "image-references").read_text()
    assert a == b and f"other/console@{other.digest}" in a


def test_operators_manifests_are_read_while_other_images_are_still_being_resolved(source_registry, tmp_path,
                                                                                  plain_registries) -> None:
    """`new` reads an operator's top layer as soon as that image is resolved, not after every image is: with the
    manifest of the last image held at a proxy, every other operator's layer is asked for before it is answered."""
    from okd_release.release.payload.components import resolve
    from okd_release.release.payload.model import LABEL_OPERATOR
    from okd_release.testing.sample import push_sample, write_image_stream
    from tests.faultproxy import ProxyHandler, start_proxy

    proxy = start_proxy(source_registry.host)
    try:
        sample = push_sample(RegistryStore(plain_registries.client(proxy.host)), "overlap/content")
        write_image_stream(sample.stream, tmp_path / "stream.json")
        *others, last = sample.stream.tags
        resolved = [resolve(plain_registries, tag.name, tag.pullspec) for tag in others]
        operator_layers = {c.image.layers[-1].digest for c in resolved if c.labels.get(LABEL_OPERATOR)}
        assert len(operator_layers) >= 2
        held = last.pullspec.split("@", 1)[1]
        asked: list[str] = []
        answered: list[str] = []

        def hold_last_manifest(handler: ProxyHandler) -> bool:
            if handler.command == "GET" and handler.path.endswith(f"/manifests/{held}"):
                time.sleep(1.5)  # the others are resolved meanwhile, and (now) their operators read
                answered.extend(asked)
            elif handler.command == "GET" and "/blobs/" in handler.path:
                asked.append(handler.path.rsplit("/", 1)[1])
            return False  # passed on to the registry

        proxy.hooks.append(hold_last_manifest)
        result = run_cli("new", "--insecure", "-f", str(tmp_path / "stream.json"), "--to-file", str(tmp_path / "p.tgz"))
        assert result.returncode == 0, result.stderr
        assert operator_layers <= set(answered), "operators were read only after every image was resolved"
    finally:
        proxy.shutdown()
        proxy.server_close()


def test_a_refused_blob_upload_stops_the_push_before_the_manifest(sample_release, source_registry,
                                                                   plain_registries, tmp_path) -> None:
    """The blobs go up side by side; when the registry refuses one, no manifest is put and the tag does not exist."""
    from tests.faultproxy import ProxyHandler, start_proxy

    proxy = start_proxy(source_registry.host)
    seen: list[str] = []
    refused: list[str] = []

    def refuse_first_upload(handler: ProxyHandler) -> bool:
        seen.append(f"{handler.command} {handler.path.split('?', 1)[0]}")
        if handler.command == "PUT" and "/blobs/uploads/" in handler.path and not refused:
            handler.read_body()
            refused.append(handler.path)
            handler.answer(403, b'{"errors":[{"code":"DENIED","message":"quota"}]}', {"Content-Type": "application/json"})
            return True
        return False

    proxy.hooks.append(refuse_first_upload)
    repository = f"okd/refused-{tmp_path.name.lower()}"  # a new repository: none of the blobs is there yet
    try:
        result = run_cli("new", "--insecure", "-f", str(sample_release.stream_file), "--name", "4.15.1",
                         "--to-image", f"{proxy.host}/{repository}:4.15.1")
    finally:
        proxy.shutdown()
        proxy.server_close()
    assert result.returncode != 0, "\n".join(seen)
    assert result.stderr.strip().splitlines()[-1].startswith("error: ") and "denied access" in result.stderr, result.stderr
    assert "Traceback" not in result.stderr
    assert refused and f"PUT /v2/{repository}/manifests/4.15.1" not in seen
    assert plain_registries.client(source_registry.host).head_manifest(repository, "4.15.1") is None
