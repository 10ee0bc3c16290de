"""`okd-release mirror` between real registries and directories: complete, idempotent, resumable."""

from __future__ import annotations

import hashlib
import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from tests.conftest import cli_process_environment, run_cli, skopeo
from tests.faultproxy import PauseAfter, blob_get, start_proxy
from tests.release_helpers import build_sample_release, push_multi_arch_release, read_release


def _mirror(*args: str):
    result = run_cli("mirror", "--insecure", *args)
    assert result.returncode == 0, result.stderr
    return result


def _summary(*args: str) -> dict:
    return json.loads(_mirror(*args, "-o", "json").stdout)


def test_mirror_to_registry_is_complete_and_rerun_copies_nothing(sample_release, second_registry) -> None:
    target = f"{second_registry.host}/mirror/okd"
    first = _summary("--from", sample_release.release, "--to", target)
    assert first["blobsCopied"] == first["blobsTotal"] > 0 and first["imagesFailed"] == []
    tag = f"{target}:{sample_release.version}-x86_64"
    assert first["releaseTarget"] == tag
    mirrored = json.loads(run_cli("info", "--insecure", "-o", "json", tag).stdout)
    original = json.loads(run_cli("info", "--insecure", "-o", "json", sample_release.release).stdout)
    assert mirrored["digest"] == sample_release.digest
    images = [(tag["name"], tag["from"]["name"].split("@")[1]) for tag in original["references"]["spec"]["tags"]]
    assert [(tag["name"], tag["from"]["name"].split("@")[1]) for tag in mirrored["references"]["spec"]["tags"]] == images
    for name, digest in images:
        inspected = json.loads(skopeo("inspect", "--tls-verify=false",
                                      f"docker://{target}:{sample_release.version}-x86_64-{name}").stdout)
        assert inspected["Digest"] == digest
        skopeo("inspect", "--tls-verify=false", f"docker://{target}@{digest}")
    second = _summary("--from", sample_release.release, "--to", target)
    assert second["blobsCopied"] == 0 and second["blobsSkipped"] == second["blobsTotal"]
    assert second["imagesPresent"] == second["images"] == len(images) + 1  # every tag there: none read again


def test_shared_blobs_are_copied_once_and_dry_run_counts_what_is_missing(sample_release, second_registry) -> None:
    target = f"{second_registry.host}/dry/okd"
    dry = _mirror("--from", sample_release.release, "--to", target, "--dry-run")
    assert f"-> {target}:{sample_release.version}-x86_64-prometheus\n" in dry.stderr  # the plan, on stderr as oc's
    assert dry.stdout.startswith(f"\nSuccess\nUpdate image:  {target}:{sample_release.version}-x86_64\n")
    plan = _summary("--from", sample_release.release, "--to", target, "--dry-run")
    assert plan["blobsCopied"] == 0 and plan["blobsMissing"] == plan["blobsTotal"]
    assert skopeo("list-tags", "--tls-verify=false", f"docker://{target}", check=False).returncode != 0
    release = read_release(sample_release.release)
    images = len(release.payload.image_references.tags)
    # one shared base layer + per image (config + own layer) + the release's config and payload layer
    assert plan["blobsTotal"] == 1 + 2 * images + 2


def test_mirror_within_one_registry_mounts_blobs(sample_release) -> None:
    summary = _summary("--from", sample_release.release, "--to", f"{sample_release.host}/mounted/okd")
    assert summary["blobsMounted"] == summary["blobsTotal"] and summary["blobsCopied"] == 0


def test_registry_to_disk_and_back_gives_the_same_digests(sample_release, second_registry, tmp_path) -> None:
    disk = tmp_path / "mirror"
    _mirror("--from", sample_release.release, "--to-dir", str(disk))
    index = json.loads((disk / "okd-release-mirror.json").read_text())
    assert index["digest"] == sample_release.digest
    for blob in (disk / "v2/openshift/release/blobs").iterdir():
        assert "sha256:" + hashlib.sha256(blob.read_bytes()).hexdigest() == blob.name
    target = f"{second_registry.host}/airgap/okd"
    upload = _mirror("--from-dir", str(disk), "--to", target, "--print-mirror-instructions", "idms",
                     "--write-mirror-instructions", str(tmp_path / "config"))
    assert "kind: ImageDigestMirrorSet" in upload.stdout
    mirrored = read_release(f"{target}:{sample_release.version}-x86_64")
    assert mirrored.digest == sample_release.digest
    original = read_release(sample_release.release)
    assert mirrored.payload.files() == original.payload.files()
    for tag in original.payload.image_references.tags:
        digest = tag.pullspec.split("@")[1]
        skopeo("inspect", "--tls-verify=false", f"docker://{target}@{digest}")
    idms = yaml.safe_load((tmp_path / "config/imagedigestmirrorset.yaml").read_text())
    sources = {m["source"] for m in idms["spec"]["imageDigestMirrors"]}
    assert sources == {f"{sample_release.host}/okd/content", f"{sample_release.host}/okd/release"}
    assert all(m["mirrors"] == [target] for m in idms["spec"]["imageDigestMirrors"])
    snippet = yaml.safe_load((tmp_path / "config/install-config-mirrors.yaml").read_text())
    assert snippet["imageDigestSources"] == idms["spec"]["imageDigestMirrors"]


def test_icsp_instructions_by_default(sample_release, second_registry) -> None:
    out = _mirror("--from", sample_release.release, "--to", f"{second_registry.host}/icsp/okd").stdout
    documents = out.split("ImageContentSourcePolicy:\n\n", 1)[1]
    icsp = yaml.safe_load(documents)
    assert icsp["kind"] == "ImageContentSourcePolicy" and icsp["apiVersion"] == "operator.openshift.io/v1alpha1"
    assert "imageContentSources:" in out
    none = _mirror("--from", sample_release.release, "--to", f"{second_registry.host}/icsp/okd",
                   "--print-mirror-instructions", "none").stdout
    assert "ImageContentSourcePolicy" not in none and "Success" in none


def test_bad_targets_are_one_line_errors(sample_release, second_registry, tmp_path) -> None:
    for args, fragment in (
        (("--from", sample_release.release, "--to", f"{second_registry.host}/x/y:tag"), "without a tag or digest"),
        (("--from", sample_release.release), "give --to"),
        (("--from-dir", str(tmp_path), "--to", f"{second_registry.host}/x/y"), "holds no mirror (no v2/ directory)"),
        (("--from", f"{sample_release.host}/okd/content:prometheus", "--to", f"{second_registry.host}/x/y"),
         "not a release image"),
    ):
        result = run_cli("mirror", "--insecure", *args)
        assert result.returncode != 0
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and fragment in lines[0], result.stderr


@pytest.fixture(scope="module")
def proxied_release(source_registry, tmp_path_factory, plain_registries_module):
    """A release built through a proxy in front of the session registry: every pullspec in it names the proxy,
    so a test can hold a mirror of it at a known blob."""
    proxy = start_proxy(source_registry.host)
    release = build_sample_release(plain_registries_module, proxy.host, "held", tmp_path_factory.mktemp("held"), layer_mb=1)
    yield proxy, release
    proxy.shutdown()
    proxy.server_close()


@pytest.fixture
def held_release(proxied_release):
    """The proxied release and a hook that holds the 7th blob download half-sent; released after the test."""
    proxy, release = proxied_release
    pause = PauseAfter(6, blob_get)
    proxy.hooks[:] = [pause]
    yield release, pause
    pause.release()
    proxy.hooks.clear()


def _kill_when_held(process: subprocess.Popen, pause: PauseAfter, timeout: float = 60) -> str:
    """SIGKILL the mirror once the proxy holds a blob download half-sent; the digest of that blob."""
    deadline = time.monotonic() + timeout
    while not pause.paused.wait(0.05):
        assert process.poll() is None, "the mirror ended before a blob download was held"
        assert time.monotonic() < deadline, "no blob download was held"
    process.send_signal(signal.SIGKILL)
    process.wait()
    pause.release()
    assert pause.held is not None
    return pause.held.rsplit("/", 1)[1]


def _registry_blobs(storage: Path) -> int:
    root = storage / "docker/registry/v2/blobs/sha256"
    return sum(1 for _ in root.glob("*/*/data")) if root.exists() else 0


def _blob_path(storage: Path, digest: str) -> Path:
    hexdigest = digest.split(":", 1)[1]
    return storage / "docker/registry/v2/blobs/sha256" / hexdigest[:2] / hexdigest / "data"


def _start(*args: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "okd_release", "mirror", "--insecure", "--max-per-registry", "1", *args],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=cli_process_environment())


def test_interrupted_mirror_resumes_and_copies_only_the_remainder(held_release, second_registry) -> None:
    release, pause = held_release
    target = f"{second_registry.host}/resume/okd"
    held = _kill_when_held(_start("--from", release, "--to", target), pause)
    present = _registry_blobs(second_registry.storage)
    assert present > 0 and not _blob_path(second_registry.storage, held).exists()
    # what the target lacks, as a dry run (which reads every image) counts it: exactly that is copied
    lacking = _summary("--from", release, "--to", target, "--dry-run")
    assert 0 < lacking["blobsMissing"] < lacking["blobsTotal"]
    rerun = _summary("--from", release, "--to", target)
    assert rerun["blobsCopied"] == lacking["blobsMissing"]
    assert 0 < rerun["blobsCopied"] < rerun["blobsTotal"]
    assert rerun["blobsCopied"] + rerun["blobsSkipped"] == rerun["blobsTotal"]
    assert read_release(f"{target}:{_version(release)}-x86_64").digest == release.split("@")[1]
    again = _summary("--from", release, "--to", target)
    assert again["blobsCopied"] == 0


def _version(pullspec: str) -> str:
    return read_release(pullspec).payload.version


def test_interrupted_disk_mirror_leaves_no_partial_file_that_looks_complete(held_release, tmp_path) -> None:
    release, pause = held_release
    disk = tmp_path / "mirror"
    blobs = disk / "v2/openshift/release/blobs"
    held = _kill_when_held(_start("--from", release, "--to-dir", str(disk)), pause)
    assert not (disk / "okd-release-mirror.json").exists()
    assert not (blobs / held).exists(), "the blob killed half-way must not be there under its digest"
    for blob in blobs.iterdir():
        if not blob.name.startswith(".partial-"):
            assert "sha256:" + hashlib.sha256(blob.read_bytes()).hexdigest() == blob.name
    rerun = _summary("--from", release, "--to-dir", str(disk))
    assert 0 < rerun["blobsCopied"] < rerun["blobsTotal"]
    assert json.loads((disk / "okd-release-mirror.json").read_text())["digest"] == release.split("@")[1]


def test_manifest_list_release_is_mirrored_whole_or_filtered(sample_release, second_registry, plain_registries) -> None:
    _, amd_raw, arm_raw = push_multi_arch_release(plain_registries, sample_release, "multi-for-mirror")
    source = f"{sample_release.host}/okd/release:multi-for-mirror"
    # as oc: the list is copied whole, tagged with the architecture of the payload read (this machine's)
    whole = _summary("--from", source, "--to", f"{second_registry.host}/multi/okd")
    assert whole["releaseTarget"].endswith(f":{sample_release.version}-x86_64")
    mirrored = json.loads(skopeo("inspect", "--tls-verify=false", "--raw", f"docker://{whole['releaseTarget']}").stdout)
    assert [m["digest"] for m in mirrored["manifests"]] == [amd_raw.digest, arm_raw.digest]
    kept = _summary("--from", source, "--to", f"{second_registry.host}/kept/okd", "--keep-manifest-list")
    assert kept["releaseTarget"].endswith(f":{sample_release.version}-multi")
    mirrored = json.loads(skopeo("inspect", "--tls-verify=false", "--raw", f"docker://{kept['releaseTarget']}").stdout)
    assert [m["digest"] for m in mirrored["manifests"]] == [amd_raw.digest, arm_raw.digest]
    filtered = _summary("--from", source, "--to", f"{second_registry.host}/arm/okd", "--filter-by-os", "linux/arm64")
    assert filtered["releaseTarget"].endswith(":4.15.0-arm-x86_64")
    copy = read_release(filtered["releaseTarget"])
    assert copy.digest == arm_raw.digest and copy.index is None


def test_the_plan_makes_each_copy_as_it_is_asked_for_the_same_every_time(sample_release, second_registry,
                                                                          plain_registries) -> None:
    from okd_release.release.mirror.plan import MirrorOptions, plan_mirror

    plan = plan_mirror(plain_registries, MirrorOptions(from_=sample_release.release, to=f"{second_registry.host}/plan/okd"))
    copies = list(plan.copies)
    names = [tag.name for tag in read_release(sample_release.release).payload.image_references.tags]
    assert [copy.name for copy in copies] == ["release", *names] and len(plan.copies) == len(copies)
    assert [plan.copies[index] for index in range(len(copies))] == copies == list(plan.copies)
    assert plan.copies[-1] == copies[-1] and copies[1].tags == (f"{sample_release.version}-x86_64-{names[0]}",)
    assert copies[1].source is copies[-1].source  # one endpoint for the components of one repository
    with pytest.raises(IndexError):
        plan.copies[len(copies)]
