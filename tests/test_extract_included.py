"""`extract --included / --install-config / --credentials-requests / --cloud` with oc's semantics, on a release
built by `new --from-dir` from an operator whose manifests carry profile, capability, feature-set and
feature-gate annotations, multi-document files and CredentialsRequests for several clouds.

Each case says which documents land in which files: the CVO's rules (okd_release.release.cvo.inclusion)
judged per document, and oc's own rules on top (a CredentialsRequest without annotations is included with
--credentials-requests; --cloud, or the install-config's platform, picks the providerSpec kind).
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

from tests.conftest import run_cli

RECORDED = Path(__file__).resolve().parent / "extract_oc" / "included"
PROFILE = "include.release.openshift.io/self-managed-high-availability: \"true\""


def _object(kind: str, name: str, annotations: list[str], api: str = "v1", extra: str = "") -> str:
    listed = "".join(f"\n    {a}" for a in annotations)
    block = f"\n  annotations:{listed}" if annotations else ""
    return f"apiVersion: {api}\nkind: {kind}\nmetadata:\n  name: {name}\n  namespace: demo{block}\n{extra}"


def _request(name: str, provider: str, annotations: list[str]) -> str:
    return _object("CredentialsRequest", name, annotations, "cloudcredential.openshift.io/v1",
                   f"spec:\n  providerSpec:\n    apiVersion: cloudcredential.openshift.io/v1\n    kind: {provider}\n")


CLOUD_CREDENTIAL = "capability.openshift.io/name: CloudCredential"
MANIFESTS = {
    "0000_50_demo_00_featuregate.yaml": _object(
        "FeatureGate", "cluster",
        ['include.release.openshift.io/self-managed-high-availability: "false-except-for-the-config-operator"',
         "release.openshift.io/feature-set: Default"], "config.openshift.io/v1",
        "status:\n  featureGates:\n  - version: 4.15.3\n    enabled:\n    - name: GateA\n"),
    "0000_50_demo_01_multi.yaml": "---\n".join([
        _object("Namespace", "demo-ns", [PROFILE]),
        _object("ConfigMap", "tech-only", [PROFILE, "release.openshift.io/feature-set: TechPreviewNoUpgrade"]),
        _object("ConfigMap", "console-plugin", [PROFILE, "capability.openshift.io/name: Console"]),
        _object("ConfigMap", "hypershift-only", ['include.release.openshift.io/ibm-cloud-managed: "true"']),
    ]),
    "0000_50_demo_02_credreqs.yaml": "---\n".join([
        _request("cr-aws", "AWSProviderSpec", [PROFILE, CLOUD_CREDENTIAL]),
        _request("cr-gcp", "GCPProviderSpec", [PROFILE, CLOUD_CREDENTIAL]),
        _request("cr-azure", "AzureProviderSpec", [PROFILE, CLOUD_CREDENTIAL]),
        _request("cr-bare", "AWSProviderSpec", []),
    ]),
    "0000_50_demo_03_hosted.yaml": _object("ConfigMap", "hosted-only",
                                           ['include.release.openshift.io/ibm-cloud-managed: "true"']),
    "0000_50_demo_04_gated.yaml": _object("ConfigMap", "gated", [PROFILE, "release.openshift.io/feature-gate: GateA"]),
}
OTHER_FILES = {"image-references", "release-metadata"}


@pytest.fixture(scope="module")
def demo_release(source_registry, tmp_path_factory: pytest.TempPathFactory) -> str:
    """The sample's images plus the demo operator, built by `new --from-dir` (one subdirectory per operator)."""
    work = tmp_path_factory.mktemp("included")
    stream = work / "image-stream.json"
    pushed = run_cli("sample", "--insecure", "--to", f"{source_registry.host}/okd/content", "--image-stream-file", str(stream))
    assert pushed.returncode == 0, pushed.stderr
    payload = work / "payload"
    (payload / "demo").mkdir(parents=True)
    shutil.copy(stream, payload / "image-references")
    for name, text in MANIFESTS.items():
        (payload / "demo" / name).write_text(text)
    target = f"{source_registry.host}/okd/included"
    built = run_cli("new", "--insecure", "--from-dir", str(payload), "--name", "4.15.3", "--to-image", f"{target}:4.15.3")
    assert built.returncode == 0, built.stderr
    first = built.stdout.split()[0]
    return f"{target}@{first}" if first.startswith("sha256:") else built.stdout.strip()


def _install_config(tmp_path: Path, platform: str = "aws", feature_set: str = "", baseline: str | None = None) -> str:
    path = tmp_path / "install-config.yaml"
    text = f"apiVersion: v1\nmetadata:\n  name: demo\nplatform:\n  {platform}: {{}}\n"
    text += f"featureSet: {feature_set}\n" if feature_set else ""
    text += f"capabilities:\n  baselineCapabilitySet: {baseline}\n" if baseline else ""
    path.write_text(text)
    return str(path)


def _extracted(release: str, target: Path, *args: str) -> tuple[dict[str, list[str]], set[str], str]:
    """Each manifest file written and the names of its documents in order; the other files; stderr."""
    result = run_cli("extract", "--insecure", "--to", str(target), *args, release)
    assert result.returncode == 0, result.stderr
    documents, others = {}, set()
    for path in target.iterdir():
        if path.name.startswith("0000_"):
            text = path.read_text()
            assert text.startswith("---\n")
            documents[path.name] = [d["metadata"]["name"] for d in yaml.safe_load_all(text) if d]
        else:
            others.add(path.name)
    return documents, others, result.stderr


# (case, install-config (platform, feature set, baseline) or None, other arguments, files and their documents,
#  other files written, the directory of tests/extract_oc/included/ holding what real oc wrote for the same
#  release and arguments, byte for byte; absent when oc wrote no manifest)
CASES = [
    ("everything without filters", None, [],
     {"0000_50_demo_00_featuregate.yaml": ["cluster"],
      "0000_50_demo_01_multi.yaml": ["demo-ns", "tech-only", "console-plugin", "hypershift-only"],
      "0000_50_demo_02_credreqs.yaml": ["cr-aws", "cr-gcp", "cr-azure", "cr-bare"],
      "0000_50_demo_03_hosted.yaml": ["hosted-only"], "0000_50_demo_04_gated.yaml": ["gated"]}, OTHER_FILES,
     "everything"),
    ("included on aws, every capability, Default (GateA enabled by the release's FeatureGate)",
     ("aws", "", None), ["--included"],
     {"0000_50_demo_01_multi.yaml": ["demo-ns", "console-plugin"],
      "0000_50_demo_02_credreqs.yaml": ["cr-aws", "cr-gcp", "cr-azure"],
      "0000_50_demo_04_gated.yaml": ["gated"]}, OTHER_FILES, "included-aws"),
    ("included on gcp, no capabilities, TechPreviewNoUpgrade (GateA not enabled)",
     ("gcp", "TechPreviewNoUpgrade", "None"), ["--included"],
     {"0000_50_demo_01_multi.yaml": ["demo-ns", "tech-only"]}, OTHER_FILES, "included-gcp-tech-none"),
    ("credentials requests of every cloud", None, ["--credentials-requests"],
     {"0000_50_demo_02_credreqs.yaml": ["cr-aws", "cr-gcp", "cr-azure", "cr-bare"]}, set(), "credentials-requests"),
    ("credentials requests for azure", None, ["--credentials-requests", "--cloud", "azure"],
     {"0000_50_demo_02_credreqs.yaml": ["cr-azure"]}, set(), "credentials-requests-azure"),
    ("included credentials requests: the install-config's platform, and one without annotations",
     ("aws", "", None), ["--included", "--credentials-requests"],
     {"0000_50_demo_02_credreqs.yaml": ["cr-aws", "cr-bare"]}, set(), "included-aws-credentials-requests"),
    ("included credentials requests with --cloud naming the platform", ("gcp", "", None),
     ["--included", "--credentials-requests", "--cloud", "gcp"],
     {"0000_50_demo_02_credreqs.yaml": ["cr-gcp"]}, set(), None),
    ("included credentials requests on gcp without capabilities: none", ("gcp", "TechPreviewNoUpgrade", "None"),
     ["--included", "--credentials-requests", "--cloud", "gcp"], {}, set(), "included-gcp-tech-none-credentials-requests-gcp"),
    ("included credentials requests when the CloudCredential capability is off", ("aws", "", "None"),
     ["--included", "--credentials-requests"], {"0000_50_demo_02_credreqs.yaml": ["cr-bare"]}, set(),
     "included-aws-none-credentials-requests"),
    ("included for another profile (our --profile, instead of an install-config)", None,
     ["--included", "--profile", "ibm-cloud-managed"],
     {"0000_50_demo_01_multi.yaml": ["hypershift-only"], "0000_50_demo_03_hosted.yaml": ["hosted-only"]}, OTHER_FILES,
     None),
]


@pytest.mark.parametrize(("case", "cluster", "args", "documents", "others", "oc"), CASES, ids=[c[0] for c in CASES])
def test_included_documents_follow_the_rules_and_match_oc(demo_release: str, tmp_path: Path, case: str,
                                                          cluster: tuple[str, str, str | None] | None, args: list[str],
                                                          documents: dict[str, list[str]], others: set[str],
                                                          oc: str | None) -> None:
    extra = ["--install-config", _install_config(tmp_path, *cluster)] if cluster else []
    written, other_files, _ = _extracted(demo_release, tmp_path / "out", *args, *extra)
    assert written == documents
    assert other_files == others
    if oc is not None:
        recorded = RECORDED / oc
        expected = {p.name: p.read_bytes() for p in recorded.iterdir()} if recorded.is_dir() else {}
        assert {name: (tmp_path / "out" / name).read_bytes() for name in written} == expected


def test_credentials_requests_without_included_warn_as_oc(demo_release: str, tmp_path: Path) -> None:
    _, _, stderr = _extracted(demo_release, tmp_path / "out", "--credentials-requests")
    assert stderr.splitlines()[0] == ("warning: if you intend to pass CredentialsRequests to ccoctl, you should use "
                                      "--included to filter out requests that your cluster is not expected to need.")


def test_a_manifest_of_an_included_multi_document_file_keeps_only_its_included_documents(
        demo_release: str, tmp_path: Path) -> None:
    written, _, _ = _extracted(demo_release, tmp_path / "out", "--included", "--install-config",
                               _install_config(tmp_path))
    text = (tmp_path / "out" / "0000_50_demo_01_multi.yaml").read_text()
    assert text.count("---\n") == 2 and "tech-only" not in text and "hypershift-only" not in text
    assert "0000_50_demo_03_hosted.yaml" not in written


# (arguments, oc's error): oc's flag checks and their words, then ours
FLAG_ERRORS = [
    (["--install-config", "{config}"], "--install-config is only supported with --included"),
    (["--cloud", "aws"], "--cloud is only supported with --credentials-requests or --included"),
    (["--credentials-requests", "--cloud", "moon"], "--cloud value not recognized, must be one of: "
     "[alibabacloud aws azure gcp ibmcloud nutanix openstack ovirt powervs vsphere]"),
    (["--credentials-requests", "--file", "image-references"],
     "only one of --tools, --command, --credentials-requests, --file, or --git may be specified"),
    (["--included", "--credentials-requests", "--cloud", "aws", "--install-config", "{gcp}"],
     '--cloud "aws" set, but {gcp} has "gcp"'),
    (["--included"], "--included needs --install-config FILE (or --profile, --feature-set, --baseline-capability-set, "
     "--additional-capabilities): okd-release does not read a live cluster's configuration"),
    (["--profile", "ibm-cloud-managed"], "--profile, --feature-set, --baseline-capability-set and "
     "--additional-capabilities are only supported with --included"),
    (["--raw", "--included", "--profile", "x"], "--raw writes every manifest file as the payload holds it: it "
     "cannot be combined with --included, --credentials-requests, --file, --tools or --command"),
    (["--included", "--credentials-requests", "--install-config", "{none}"],
     'unrecognized platform for CredentialsRequests: "none"'),
]


@pytest.mark.parametrize(("args", "error"), FLAG_ERRORS, ids=[" ".join(case[0]) for case in FLAG_ERRORS])
def test_flag_combinations_fail_in_one_line_as_oc(demo_release: str, tmp_path: Path, args: list[str], error: str) -> None:
    for directory in ("aws", "gcp", "none"):
        (tmp_path / directory).mkdir()
    paths = {"config": _install_config(tmp_path / "aws"), "gcp": _install_config(tmp_path / "gcp", "gcp"),
             "none": _install_config(tmp_path / "none", "none")}
    argv = [a.format(**paths) for a in args]
    result = run_cli("extract", "--insecure", "--to", str(tmp_path / "out"), *argv, demo_release)
    assert result.returncode != 0
    lines = [line for line in result.stderr.splitlines() if not line.startswith("warning:")]
    assert lines == [f"error: {error.format(**paths)}"]
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())


def test_a_platform_without_credentials_requests_is_no_error_when_none_are_asked_for(
        demo_release: str, tmp_path: Path) -> None:
    """oc fails on `platform: none` (no providerSpec kind) even without --credentials-requests; we do not."""
    written, _, _ = _extracted(demo_release, tmp_path / "out", "--included", "--install-config",
                               _install_config(tmp_path, "none"))
    assert written["0000_50_demo_01_multi.yaml"] == ["demo-ns", "console-plugin"]
