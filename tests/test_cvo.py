"""The cluster-version operator's view of a payload: inclusion rules, apply order, update changes and lint."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from okd_release.errors import ConfigError, PayloadError
from okd_release.release.cvo.graph import steps
from okd_release.release.cvo.inclusion import Capabilities, ClusterConfig, capabilities, exclusion, from_install_config
from okd_release.release.cvo.objects import ManifestObject, ObjectId, parse_objects, payload_objects
from tests.conftest import pushed_release, run_cli

PROFILE = "include.release.openshift.io/self-managed-high-availability"
HYPERSHIFT = "include.release.openshift.io/ibm-cloud-managed"


def obj(annotations: dict[str, str], file: str = "0000_50_x_00_a.yaml", kind: str = "ConfigMap") -> ManifestObject:
    return ManifestObject(file, 0, "v1", ObjectId("", kind, "ns", "a"), annotations)


DEFAULT = ClusterConfig()
CAPS_NONE = ClusterConfig(capabilities=capabilities("None"))
CAPS_415 = ClusterConfig(capabilities=capabilities("v4.15"))
TECH = ClusterConfig(feature_set="TechPreviewNoUpgrade")

# (annotations, cluster, expected reason or None): the rules of library-go's Manifest.Include, case by case.
INCLUSION_CASES = [
    ({}, DEFAULT, "no annotations"),
    ({PROFILE: "true"}, DEFAULT, None),
    ({PROFILE: "false"}, DEFAULT, f"unrecognized value {PROFILE}=false"),
    ({HYPERSHIFT: "true"}, DEFAULT, f"{PROFILE} unset"),
    ({HYPERSHIFT: "true"}, ClusterConfig(profile="ibm-cloud-managed"), None),
    ({HYPERSHIFT: "true"}, ClusterConfig(profile=None), None),
    ({PROFILE: "true", "release.openshift.io/feature-set": "TechPreviewNoUpgrade"}, DEFAULT,
     "'Default' is required, and release.openshift.io/feature-set=TechPreviewNoUpgrade"),
    ({PROFILE: "true", "release.openshift.io/feature-set": "TechPreviewNoUpgrade"}, TECH, None),
    ({PROFILE: "true", "release.openshift.io/feature-set": "Default,TechPreviewNoUpgrade"}, DEFAULT, None),
    ({PROFILE: "true", "release.openshift.io/feature-set": "Bogus"}, DEFAULT,
     "unrecognized value 'Bogus' in release.openshift.io/feature-set=Bogus"),
    ({PROFILE: "true", "release.openshift.io/feature-set": "Bogus"}, ClusterConfig(feature_set=None), None),
    ({PROFILE: "true", "capability.openshift.io/name": "Console"}, DEFAULT, None),
    ({PROFILE: "true", "capability.openshift.io/name": "Console"}, CAPS_NONE, "disabled capabilities: Console"),
    ({PROFILE: "true", "capability.openshift.io/name": "Console"}, CAPS_415, None),
    ({PROFILE: "true", "capability.openshift.io/name": "Console+Insights"}, CAPS_415, None),
    ({PROFILE: "true", "capability.openshift.io/name": "Console+Ingress"}, CAPS_415, "disabled capabilities: Ingress"),
    ({PROFILE: "true", "capability.openshift.io/name": "Telepathy"}, CAPS_415, "unrecognized capability names: Telepathy"),
    ({PROFILE: "true", "capability.openshift.io/name": "Ingress"},
     ClusterConfig(capabilities=capabilities("v4.15", ["Ingress"])), None),
    ({PROFILE: "true", "exclude.release.openshift.io/internal-openshift-hosted": "true"},
     ClusterConfig(exclude_identifier="internal-openshift-hosted"),
     "exclude.release.openshift.io/internal-openshift-hosted=true"),
    ({PROFILE: "true", "exclude.release.openshift.io/internal-openshift-hosted": "true"}, DEFAULT, None),
    ({PROFILE: "true", "release.openshift.io/feature-gate": "GateA"},
     ClusterConfig(feature_set=None, enabled_feature_gates=frozenset({"GateA"})), None),
    ({PROFILE: "true", "release.openshift.io/feature-gate": "GateA"},
     ClusterConfig(feature_set=None, enabled_feature_gates=frozenset()), "feature gate GateA is required but not enabled"),
    ({PROFILE: "true", "release.openshift.io/feature-gate": "-GateA"},
     ClusterConfig(feature_set=None, enabled_feature_gates=frozenset({"GateA"})),
     "feature gate GateA is enabled but manifest requires it to be disabled"),
    ({PROFILE: "true", "release.openshift.io/feature-gate": "GateA", "release.openshift.io/feature-set": "Default"},
     ClusterConfig(enabled_feature_gates=frozenset({"GateA"})),
     "both feature set and feature gate annotations are present"),
]


@pytest.mark.parametrize(("annotations", "cluster", "reason"), INCLUSION_CASES)
def test_inclusion_follows_the_cvo_rules(annotations: dict[str, str], cluster: ClusterConfig, reason: str | None) -> None:
    assert exclusion(obj(annotations), cluster) == reason


# ByNumberAndComponent's table (openshift/cluster-version-operator pkg/payload/task_graph_test.go), as data:
# each step is a list of nodes, each node the file names applied in order. (The CVO returns no grouping for
# zero or one task; a single node holding that task is the same order.)
ORDER_CASES = [
    (["a", "b", "c"], [[["a", "b", "c"]]]),
    (["0000_01_x-y-z_file1"], [[["0000_01_x-y-z_file1"]]]),
    (["0000_01_x-y-z_file1", "0000_01_x-y-z_file2"], [[["0000_01_x-y-z_file1", "0000_01_x-y-z_file2"]]]),
    (["a", "0000_01_x-y-z_file1", "c"], [[["a", "0000_01_x-y-z_file1", "c"]]]),
    (["0000_01_a-b-c_file1", "0000_01_x-y-z_file2"], [[["0000_01_a-b-c_file1"], ["0000_01_x-y-z_file2"]]]),
    (["0000_01_a-b-c_file1", "0000_01_x-y-z_file1", "0000_01_x-y-z_file2", "a", "0000_01_x-y-z_file2",
      "0000_01_x-y-z_file3"],
     [[["0000_01_a-b-c_file1"], ["0000_01_x-y-z_file1", "0000_01_x-y-z_file2"]],
      [["a", "0000_01_x-y-z_file2", "0000_01_x-y-z_file3"]]]),
    (["0000_10_a_x", "0000_10_b_x", "0000_20_c_x", "0000_30_d_x", "0000_30_d_y"],
     [[["0000_10_a_x"], ["0000_10_b_x"]], [["0000_20_c_x", "0000_30_d_x", "0000_30_d_y"]]]),
]


@pytest.mark.parametrize(("files", "expected"), ORDER_CASES)
def test_apply_order_groups_by_run_level_and_component(files: list[str], expected: list[list[list[str]]]) -> None:
    objects = [obj({PROFILE: "true"}, file=name) for name in files]
    grouped = [[[o.file for o in node.objects] for node in step.nodes] for step in steps(objects)]
    assert grouped == expected


def test_multi_document_files_give_one_object_per_document() -> None:
    data = b"---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n---\n\n---\napiVersion: apps/v1\nkind: Deployment\n" \
           b"metadata:\n  name: b\n  namespace: n\n"
    objects = parse_objects("0000_50_x_00_two.yaml", data)
    assert [str(o.id) for o in objects] == ["ConfigMap/a", "Deployment.apps/n/b"]


@pytest.mark.parametrize(("data", "reason"), [
    (b"apiVersion: v1\nkind: ConfigMap\n", "must have a kind and metadata.name"),
    (b"- 1\n- 2\n", "is not a Kubernetes object"),
    (b"a: &x [1]\nb: *x\n", "aliases are not allowed"),
    (b"key: [unclosed\n", "is not valid YAML"),
])
def test_documents_that_are_not_objects_are_one_clear_error(data: bytes, reason: str) -> None:
    with pytest.raises(PayloadError, match=reason):
        parse_objects("0000_50_x_00_bad.yaml", data)


def test_install_config_sets_capabilities_feature_set_and_platform(tmp_path: Path) -> None:
    config = tmp_path / "install-config.yaml"
    config.write_text("apiVersion: v1\nfeatureSet: TechPreviewNoUpgrade\nplatform:\n  aws:\n    region: us-east-1\n"
                      "capabilities:\n  baselineCapabilitySet: None\n  additionalEnabledCapabilities: [Console]\n")
    cluster = from_install_config(config)
    assert (cluster.feature_set, cluster.platform, cluster.capabilities) == (
        "TechPreviewNoUpgrade", "aws", Capabilities(frozenset({"Console"})))
    config.write_text("apiVersion: v2\n")
    with pytest.raises(ConfigError, match="unrecognized .* API version: 'v2'"):
        from_install_config(config)
    config.write_text("apiVersion: v1\ncapabilities:\n  baselineCapabilitySet: v9.99\n")
    with pytest.raises(ConfigError, match="unknown baseline capability set 'v9.99'"):
        from_install_config(config)


# -- end to end, on a payload built by `new` ----------------------------------------------------------
def _doc(kind: str, name: str, annotations: dict[str, str], api: str = "v1", extra: str = "") -> str:
    lines = [f"apiVersion: {api}", f"kind: {kind}", "metadata:", f"  name: {name}", "  namespace: openshift-demo"]
    if annotations:
        lines.append("  annotations:")
        lines += [f"    {key}: \"{value}\"" for key, value in annotations.items()]
    return "\n".join(lines) + "\n" + extra


def _credentials_request(cloud_kind: str, name: str) -> str:
    return _doc("CredentialsRequest", name, {PROFILE: "true", "capability.openshift.io/name": "CloudCredential"},
                "cloudcredential.openshift.io/v1", f"spec:\n  providerSpec:\n    kind: {cloud_kind}\n")


CVO_MANIFESTS = {
    "0000_30_demo-operator_00_multi.yaml": "---\n".join([
        _doc("Namespace", "demo-ns", {PROFILE: "true"}),
        _doc("ConfigMap", "console-plugin", {PROFILE: "true", "capability.openshift.io/name": "Console"}),
        _doc("ConfigMap", "tech-only", {PROFILE: "true", "release.openshift.io/feature-set": "TechPreviewNoUpgrade"}),
        _doc("ConfigMap", "hypershift-only", {HYPERSHIFT: "true"}),
    ]),
    "0000_30_demo-operator_01_credentials.yaml": "---\n".join([
        _credentials_request("AWSProviderSpec", "demo-aws"),
        _credentials_request("GCPProviderSpec", "demo-gcp"),
        _credentials_request("AzureProviderSpec", "demo-azure"),
    ]),
    "0000_30_other-operator_00_cm.yaml": _doc("ConfigMap", "other", {PROFILE: "true"}),
}


@pytest.fixture(scope="module")
def cvo_release(sample_release, tmp_path_factory: pytest.TempPathFactory) -> str:
    """The sample release plus a demo operator's annotated manifests, built by `new --from-dir`."""
    directory = tmp_path_factory.mktemp("cvo-payload")
    extracted = run_cli("extract", "--insecure", "--to", str(directory), sample_release.release)
    assert extracted.returncode == 0, extracted.stderr
    for name, text in CVO_MANIFESTS.items():
        (directory / name).write_text(text)
    changed = directory / "0000_50_console-operator_00_namespace.yaml"
    changed.write_text(changed.read_text().replace("  annotations:", "  labels:\n    demo: changed\n  annotations:", 1))
    target = f"{sample_release.host}/okd/cvo:4.15.1"
    built = run_cli("new", "--insecure", "--from-dir", str(directory), "--name", "4.15.1-0.okd-cvo", "--to-image", target)
    return pushed_release(built, target)


def _planned(release: str, *args: str) -> tuple[set[str], dict[str, str]]:
    result = run_cli("plan", "--insecure", "-o", "json", *args, release)
    assert result.returncode == 0, result.stderr
    document = json.loads(result.stdout)
    included = {o["name"] for step in document["steps"] for node in step["nodes"] for o in node["objects"]
                if o["name"].startswith(("demo", "console-plugin", "tech-only", "hypershift-only", "other"))}
    excluded = {o["name"]: o["reason"] for o in document["excluded"]}
    return included, excluded


def test_plan_applies_what_the_cluster_includes(cvo_release: str, tmp_path: Path) -> None:
    included, excluded = _planned(cvo_release)
    assert included == {"demo-ns", "console-plugin", "demo-aws", "demo-gcp", "demo-azure", "other"}
    assert excluded["tech-only"].startswith("'Default' is required")
    assert excluded["hypershift-only"] == f"{PROFILE} unset"

    config = tmp_path / "install-config.yaml"
    config.write_text("apiVersion: v1\nfeatureSet: TechPreviewNoUpgrade\nplatform:\n  gcp: {}\n"
                      "capabilities:\n  baselineCapabilitySet: None\n")
    included, excluded = _planned(cvo_release, "--install-config", str(config))
    assert included == {"demo-ns", "tech-only", "other"}
    assert excluded["console-plugin"] == "disabled capabilities: Console"
    assert excluded["demo-aws"] == "disabled capabilities: CloudCredential"


def test_plan_runs_components_of_one_run_level_in_parallel(cvo_release: str) -> None:
    document = json.loads(run_cli("plan", "--insecure", "-o", "json", cvo_release).stdout)
    step = next(s for s in document["steps"] if any(n["component"] == "demo-operator" for n in s["nodes"]))
    assert step["parallel"] is True
    assert {n["component"] for n in step["nodes"]} == {"demo-operator", "other-operator"}
    demo = next(n for n in step["nodes"] if n["component"] == "demo-operator")
    assert [o["name"] for o in demo["objects"]] == ["demo-ns", "console-plugin", "demo-aws", "demo-gcp", "demo-azure"]


PLAN_GOLDEN = Path(__file__).resolve().parent / "golden" / "plan"
PLAN_CASES = {  # golden file -> plan arguments (before the release); OKD_RELEASE_WRITE_GOLDEN=1 rewrites the files
    "plan.txt": (), "plan.json": ("-o", "json"), "plan.dot": ("-o", "dot"), "plan.mmd": ("-o", "mermaid"),
    "plan-none-caps.txt": ("--baseline-capability-set", "None", "--feature-set", "TechPreviewNoUpgrade"),
}


@pytest.mark.parametrize("name", sorted(PLAN_CASES))
def test_plan_output_is_the_recorded_one(name: str, cvo_release: str) -> None:
    result = run_cli("plan", "--insecure", *PLAN_CASES[name], cvo_release)
    assert result.returncode == 0, result.stderr
    if os.environ.get("OKD_RELEASE_WRITE_GOLDEN"):
        (PLAN_GOLDEN / name).write_text(result.stdout)
    assert result.stdout == (PLAN_GOLDEN / name).read_text()


def test_plan_changes_are_the_recorded_ones(cvo_release: str, sample_release) -> None:
    result = run_cli("plan", "--insecure", "--contents", "--changes-from", sample_release.release, cvo_release)
    assert result.returncode == 0, result.stderr
    if os.environ.get("OKD_RELEASE_WRITE_GOLDEN"):
        (PLAN_GOLDEN / "changes.txt").write_text(result.stdout)
    assert result.stdout == (PLAN_GOLDEN / "changes.txt").read_text()


def test_plan_text_and_pictures(cvo_release: str, tmp_path: Path) -> None:
    text = run_cli("plan", "--insecure", cvo_release).stdout
    assert "components in parallel" in text and "ConfigMap/openshift-demo/hypershift-only" in text
    dot = run_cli("plan", "--insecure", "-o", "dot", cvo_release).stdout
    assert dot.startswith('digraph "4.15.1-0.okd-cvo"') and "30 demo-operator\\n5 objects" in dot
    mermaid = run_cli("plan", "--insecure", "-o", "mermaid", cvo_release).stdout
    assert mermaid.startswith("flowchart TD") and "30 demo-operator<br/>5 objects" in mermaid
    svg = subprocess.run(["dot", "-Tsvg"], input=dot, capture_output=True, text=True, check=True).stdout
    assert "<svg" in svg and "demo&#45;operator" in svg  # the picture renders (Graphviz, installed by dev/setup)
    assert run_cli("plan", "--insecure", "-o", "svg", cvo_release).stdout == svg


def test_plan_changes_from_shows_added_changed_and_left_behind(cvo_release: str, sample_release) -> None:
    result = run_cli("plan", "--insecure", "--changes-from", sample_release.release, cvo_release)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[0] == "6 added, 1 changed, 0 left behind"
    assert "Added: run level 30 demo-operator" in result.stdout
    assert "Changed: run level 50 console-operator" in result.stdout
    diff = run_cli("plan", "--insecure", "--contents", "--changes-from", sample_release.release, cvo_release).stdout
    assert "+    demo: changed" in diff
    back = run_cli("plan", "--insecure", "-o", "json", "--changes-from", cvo_release, sample_release.release)
    removed = {c["name"] for c in json.loads(back.stdout) if c["change"] == "removed"}
    assert removed == {"demo-ns", "console-plugin", "demo-aws", "demo-gcp", "demo-azure", "other"}


def test_lint_finds_what_the_cvo_would_reject(tmp_path: Path, sample_release) -> None:
    directory = tmp_path / "payload"
    assert run_cli("extract", "--insecure", "--to", str(directory), sample_release.release).returncode == 0
    (directory / "0000_30_demo-operator_00_a.yaml").write_text(
        _doc("ConfigMap", "dup", {PROFILE: "true", "capability.openshift.io/name": "Telepathy"}))
    (directory / "0000_30_demo-operator_01_b.yaml").write_text(
        _doc("ConfigMap", "dup", {PROFILE: "true", "release.openshift.io/feature-set": "Nightly"}))
    (directory / "extra-config.yaml").write_text(_doc("ConfigMap", "unnumbered", {PROFILE: "true"}))
    (directory / "0000_30_demo-operator_02_c.yaml").write_text(
        _doc("Pod", "p", {PROFILE: "true"}, extra="spec:\n  image: quay.io/x/y@sha256:" + "a" * 64 + "\n"))
    (directory / "0000_30_demo-operator_03_d.yaml").write_text("just: text\n")
    result = run_cli("lint", "-o", "json", str(directory))
    assert result.returncode == 1
    errors = sorted((f["file"], f["message"]) for f in json.loads(result.stdout) if f["severity"] == "error")
    expected = [
        ("0000_30_demo-operator_00_a.yaml", "unknown capability 'Telepathy' in capability.openshift.io/name"),
        ("0000_30_demo-operator_01_b.yaml", "the same object is defined in 0000_30_demo-operator_00_a.yaml"),
        ("0000_30_demo-operator_01_b.yaml", "unknown feature set 'Nightly' in release.openshift.io/feature-set"),
        ("0000_30_demo-operator_02_c.yaml", f"references image quay.io/x/y@sha256:{'a' * 64}, which is not in "
                                            "image-references (a mirror would not copy it)"),
        ("0000_30_demo-operator_03_d.yaml",
         "manifest 0000_30_demo-operator_03_d.yaml (document 1) must have a kind and metadata.name"),
    ]
    assert errors == expected
    warnings = [f for f in json.loads(result.stdout) if f["severity"] == "warning"]
    assert any(f["file"] == "extra-config.yaml" and "outside the 0000_<NN>_<component>_ scheme" in f["message"]
               for f in warnings)


def test_lint_of_the_sample_release_has_no_errors(sample_release) -> None:
    result = run_cli("lint", "--insecure", sample_release.release)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 errors" in result.stderr


def test_payload_objects_read_only_manifest_files_in_name_order() -> None:
    files = {"b.yaml": b"kind: A\napiVersion: v1\nmetadata: {name: b}\n",
             "a.json": b'{"apiVersion": "v1", "kind": "A", "metadata": {"name": "a"}}',
             "README.md": b"# not read", "image-references": b"{}"}
    assert [o.id.name for o in payload_objects(files)] == ["a", "b"]
