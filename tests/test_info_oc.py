"""`info` beyond the recorded golden cases, each expectation checked against what real oc printed for the same
input (oc adm release info, openshift/oc at tests/golden/oc-version.json)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from okd_release.cli.table import tabulate
from okd_release.cli.template import TemplateError, go_template, jsonpath
from okd_release.image.build import image_config, push_image
from okd_release.image.layer import LayerEntry, build_layer
from okd_release.release.info import gojson
from okd_release.release.info.versions import ComponentVersion, read_component_versions
from okd_release.release.payload.model import ImageTag
from okd_release.stores import RegistryStore
from tests.conftest import run_cli
from tests.release_helpers import read_release


def test_tabwriter_aligns_each_block_and_pads_tab_terminated_cells_like_go() -> None:
    # a column spans consecutive lines that have a cell there; a cell ended by a tab is padded even when empty
    assert tabulate("a\tb\tc\naaa\tb\n\nx\ty\n") == "a   b c\naaa b\n\nx y\n"
    assert tabulate("  k\t1.2\t\n  kk\t1\tD\n") == "  k  1.2 \n  kk 1   D\n"


def _tag(name: str, versions: str, display: str = "") -> ImageTag:
    annotations = {"io.openshift.build.versions": versions}
    if display:
        annotations["io.openshift.build.version-display-names"] = display
    return ImageTag(name, f"example.com/c@sha256:{'0' * 64}", annotations)


def test_component_versions_take_kubectl_from_cli_only_and_warn_when_images_disagree() -> None:
    versions = read_component_versions((
        _tag("cli", "kubectl=1.29.1"),
        _tag("hyperkube", "kubernetes=1.29.1,kubectl=1.29.2"),
        _tag("machine-os-content", "machine-os=39.1.0", "machine-os=Fedora CoreOS"),
        _tag("rhel-coreos", "machine-os=40.1.0", "machine-os=CentOS Stream CoreOS"),
        _tag("other", "crio=1.29.0,kubernetes=1.29.0"),
        _tag("bad", "kubernetes=notsemver"),
    ))
    assert versions.versions == (
        ComponentVersion("crio", "1.29.0"), ComponentVersion("kubectl", "1.29.1"),
        ComponentVersion("kubernetes", "1.29.0"), ComponentVersion("machine-os", "39.1.0", "CentOS Stream CoreOS"),
    )
    assert versions.tags == {"kubectl": "hyperkube", "kubernetes": "other", "machine-os": "rhel-coreos", "crio": "other"}
    assert versions.warnings[0].startswith("the referenced image bad had an invalid version annotation: ")
    # machine-os may differ (dual streams); kubernetes may not
    assert versions.warnings[1] == "multiple versions or display names reported for the following component(s): kubernetes"


def test_go_json_keeps_struct_fields_in_order_sorts_maps_and_escapes_html() -> None:
    stream = gojson.image_stream({"kind": "ImageStream", "apiVersion": "image.openshift.io/v1", "extra": 1,
                                  "metadata": {"name": "4.16.0", "annotations": {"b": "x<y&z", "a": "1"}},
                                  "spec": {"tags": [{"name": "cli", "from": {"kind": "DockerImage", "name": "r@d"}}]}})
    assert gojson.encode(stream) == json.dumps({
        "kind": "ImageStream", "apiVersion": "image.openshift.io/v1",
        "metadata": {"name": "4.16.0", "annotations": {"a": "1", "b": "x\u003cy\u0026z"}},
        "spec": {"lookupPolicy": {"local": False},
                 "tags": [{"name": "cli", "annotations": None, "from": {"kind": "DockerImage", "name": "r@d"},
                           "generation": None, "importPolicy": {}, "referencePolicy": {"type": ""}}]},
        "status": {"dockerImageRepository": ""}}, indent=2).replace("<", "\\u003c").replace("&", "\\u0026")
    # Go matches struct fields ignoring case and drops what its struct lacks (an OCI config's StopSignal)
    config = gojson.image_config({"created": "2025-02-03T04:05:06Z", "config": {"env": ["A=b"], "StopSignal": "x"}})
    assert config == {"id": "", "created": "2025-02-03T04:05:06Z", "container_config": {}, "config": {"Env": ["A=b"]}}


RELEASE = {"metadata": {"version": "4.16.0", "n": 5}, "references": {"spec": {"tags": [{"name": "cli"}, {"name": "etcd"}]}}}


@pytest.mark.parametrize(("template", "expected"), [
    ("{.metadata.version}", "4.16.0"),
    ("v={.metadata.version} n={.metadata.n}", "v=4.16.0 n=5"),
    ('{range .references.spec.tags[*]}{.name}{"\\n"}{end}', "cli\netcd\n"),
    ("{.references.spec.tags[-1].name}", "etcd"),
    ("{.references.spec.tags[*].name}", "cli etcd"),
    ("{..version}", "4.16.0"),
    ("{.metadata}", '{"n":5,"version":"4.16.0"}'),
])
def test_jsonpath_subset(template: str, expected: str) -> None:
    assert jsonpath(template, RELEASE) == expected


@pytest.mark.parametrize(("template", "expected"), [
    ("{{.metadata.version}}", "4.16.0"),
    ("{{range .references.spec.tags}}{{.name}};{{end}}", "cli;etcd;"),
    ('{{index .metadata "version"}}', "4.16.0"),
    ("{{if .metadata.missing}}yes{{else}}no{{end}}", "no"),
    ("{{.metadata.missing}}", "<no value>"),
])
def test_go_template_subset(template: str, expected: str) -> None:
    assert go_template(template, RELEASE) == expected


@pytest.mark.parametrize("template", ["{{.metadata.version | printf \"%s\"}}", "{{len .metadata}}"])
def test_go_template_outside_the_subset_is_named(template: str) -> None:
    with pytest.raises(TemplateError, match="unsupported template action"):
        go_template(template, RELEASE)


def test_jsonpath_filter_is_refused_with_one_line(sample_release) -> None:
    result = run_cli("info", "--insecure", "-o", "jsonpath={.references.spec.tags[?(@.name=='cli')]}",
                     sample_release.release)
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        "error: unsupported JSONPath subscript [?(@.name=='cli')] in \"{.references.spec.tags[?(@.name=='cli')]}\" "
        "(filters are not supported)"]


def _push_release(store: RegistryStore, tmp_path: Path, tags: list[dict[str, object]], metadata: dict[str, object]) -> str:
    references = {"kind": "ImageStream", "apiVersion": "image.openshift.io/v1",
                  "metadata": {"name": "4.16.0", "creationTimestamp": "2025-02-03T04:05:06Z"}, "spec": {"tags": tags}}
    layer = build_layer([LayerEntry.directory("release-manifests/"),
                         LayerEntry.file("release-manifests/image-references", json.dumps(references).encode()),
                         LayerEntry.file("release-manifests/release-metadata", json.dumps(metadata).encode()),
                         LayerEntry.file("release-manifests/0000_10_a.yaml", b"kind: ConfigMap\n"),
                         LayerEntry.file("release-manifests/0000_10_b.json", b"{}")], tmp_path)
    config = image_config([layer], {"io.openshift.release": "4.16.0"}, "2025-02-03T04:05:06.123456789Z")
    return push_image(store, "okd/crafted", "v1", [layer], config).digest


@pytest.fixture
def crafted(sample_release, plain_registries, tmp_path) -> str:
    """A release with metadata values, unsorted upgrades and one tag whose image does not exist."""
    payload = read_release(sample_release.release).payload
    cli = payload.image_references.tag("cli")
    assert cli is not None
    tags = [{"name": "cli", "from": {"kind": "DockerImage", "name": cli.pullspec},
             "annotations": {"io.openshift.build.versions": "kubectl=1.29.1"}},
            {"name": "missing", "from": {"kind": "DockerImage", "name": f"{sample_release.host}/okd/content@sha256:{'0' * 64}"}}]
    metadata = {"kind": "cincinnati-metadata-v0", "version": "4.16.0", "previous": ["4.15.10", "4.15.2", "4.15.2-rc.1"],
                "metadata": {"url": "https://example.com/errata", "empty": "", "n": 5, "list": ["a", "b"], "t": True}}
    _push_release(RegistryStore(plain_registries.client(sample_release.host)), tmp_path, tags, metadata)
    return f"{sample_release.host}/okd/crafted:v1"


def test_metadata_upgrades_and_kubectl_rows_as_oc_prints_them(crafted) -> None:
    text = run_cli("info", "--insecure", crafted).stdout
    assert ("Release Metadata:\n  Version:  4.16.0\n  Upgrades: 4.15.2-rc.1, 4.15.2, 4.15.10\n  Metadata:\n"
            "    list: [a b]\n    n:    5\n    t:    true\n    url:  https://example.com/errata\n\n"
            "Component Versions:\n  kubectl 1.29.1 \n") in text
    assert "Created:   2025-02-03T04:05:06Z\n" in text  # whole seconds, UTC


def test_json_sorts_metadata_keys_and_gives_the_config_the_layers_size(crafted) -> None:
    text = run_cli("info", "--insecure", "-o", "json", crafted).stdout
    data = json.loads(text)
    assert list(data) == ["image", "digest", "contentDigest", "listDigest", "config", "metadata", "references",
                          "versions", "displayVersions", "versionsTags", "images", "warnings"]
    assert list(data["metadata"]["metadata"]) == ["empty", "list", "n", "t", "url"]  # the text view skips empty ones
    assert data["config"]["created"] == "2025-02-03T04:05:06.123456789Z"
    assert data["versionsTags"] == {"kubectl": "cli"} and data["images"] is None


def test_size_and_verify_fail_on_an_image_that_does_not_exist(crafted) -> None:
    for flag in ("--size", "--verify"):
        result = run_cli("info", "--insecure", flag, crafted)
        assert result.returncode == 1 and result.stdout == ""
        assert result.stderr.strip().splitlines() == [
            f'error: image "{crafted.split("/")[0]}/okd/content@sha256:{"0" * 64}" of tag "missing" not found']


def test_verify_prints_digest_creation_and_version_per_release(sample_release) -> None:
    result = run_cli("info", "--insecure", "--verify", sample_release.release_tag, sample_release.release)
    assert result.returncode == 0, result.stderr
    # image-references' creationTimestamp: the sample release's build time (SOURCE_DATE_EPOCH)
    line = f"{sample_release.digest} 2024-01-01T00:00:00Z {sample_release.version}\n"
    assert result.stdout == line * 2


def test_include_images_lists_each_tags_image_with_layers(sample_release) -> None:
    data = json.loads(run_cli("info", "--insecure", "--include-images", "-o", "json", sample_release.release).stdout)
    payload = read_release(sample_release.release).payload
    assert sorted(data["images"]) == sorted(payload.image_references.names())
    cli = data["images"]["cli"]
    assert cli["name"] == payload.image_references.tag("cli").pullspec
    assert cli["config"]["size"] == sum(layer["size"] for layer in cli["layers"])
    assert list(cli) == ["name", "digest", "contentDigest", "listDigest", "mediaType", "layers", "config"]


def test_only_one_view_flag(sample_release) -> None:
    result = run_cli("info", "--insecure", "--commits", "--size", sample_release.release)
    assert result.returncode == 1
    assert result.stderr.strip() == ("error: only one of --commits, --commit-urls, --pullspecs, --contents, --size, "
                                     "--verify may be specified")
