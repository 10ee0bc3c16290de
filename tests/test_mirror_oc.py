"""`okd-release mirror` interchangeable with `oc adm release mirror`: oc's file:// layout both ways, oc's stdout,
oc's flags. The directory under tests/golden/oc-disk-mirror is the very one oc wrote for the mirror-to-dir golden
case, so uploading it here is okd-release reading oc's layout; tests/test_golden.py checks that a directory
okd-release writes is the tree oc writes, file for file, and that oc's stdout is printed."""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
from pathlib import Path

import pytest

from okd_release.content import Descriptor, Platform, RawManifest
from okd_release.digest import of
from okd_release.errors import NotFound, UnsafeName
from okd_release.image.disk import DiskStore, remove_stale_partials
from okd_release.image.manifest import build_index
from okd_release.testing import golden
from tests.conftest import run_cli, skopeo

OC_DIR = golden.OC_DISK_MIRROR
RELEASE_TAG = f"{golden.VERSION}-x86_64"
MANIFESTS = "v2/openshift/release/manifests"


def _tagged(directory: Path) -> dict[str, str]:
    """Each tag of an oc-layout directory and the digest its symlink names."""
    return {link.name: os.readlink(link) for link in (directory / MANIFESTS).iterdir() if link.is_symlink()}


def _one_line_error(*args: str) -> str:
    result = run_cli("mirror", "--insecure", *args)
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    return lines[0]


@pytest.fixture
def oc_dir(tmp_path: Path) -> Path:
    """A copy of the directory oc wrote (tests may change it)."""
    copy = tmp_path / "oc-dir"
    shutil.copytree(OC_DIR, copy, symlinks=True)
    return copy


def test_the_recorded_oc_directory_is_in_ocs_layout() -> None:
    tags = _tagged(OC_DIR)
    assert len(tags) == 16 and all(target.startswith("sha256:") and "/" not in target for target in tags.values())
    for target in tags.values():
        assert of((OC_DIR / MANIFESTS / target).read_bytes()) == target
        assert (OC_DIR / "v2/openshift/release/blobs" / target).read_bytes() == (OC_DIR / MANIFESTS / target).read_bytes()
    assert sorted(path.name for path in OC_DIR.iterdir()) == ["v2"]  # no okd-release index: oc wrote it all


def test_a_directory_oc_wrote_is_uploaded_without_from(second_registry, oc_dir: Path) -> None:
    target = f"{second_registry.host}/from-oc/release"
    result = run_cli("mirror", "--insecure", "--from-dir", str(oc_dir), "--to", target)
    assert result.returncode == 0, result.stderr
    tags = _tagged(oc_dir)
    lines = sorted(line for line in result.stdout.splitlines() if line.startswith("sha256:"))
    assert lines == sorted(f"{digest} {target}:{tag}" for tag, digest in tags.items())
    for tag, digest in tags.items():
        assert json.loads(skopeo("inspect", "--tls-verify=false", f"docker://{target}:{tag}").stdout)["Digest"] == digest
    assert f"\nSuccess\nUpdate image:  {target}:{RELEASE_TAG}\nMirror prefix: {target}\n" in result.stdout
    # oc's directory carries no okd-release index, so the release's own repository is not known: only the
    # components' repository (as named in image-references) is in the mirror configuration
    assert "source: 127.0.0.77:5000/okd/content\n" in result.stdout
    assert "source: 127.0.0.77:5000/okd/release" not in result.stdout


def test_a_directory_holding_two_releases_asks_which(second_registry, oc_dir: Path) -> None:
    (oc_dir / MANIFESTS / f"{golden.NEXT_VERSION}-x86_64").symlink_to(_tagged(oc_dir)[RELEASE_TAG])
    error = _one_line_error("--from-dir", str(oc_dir), "--to", f"{second_registry.host}/x/y")
    assert error == (f"error: {oc_dir} holds 2 releases ({RELEASE_TAG}, {golden.NEXT_VERSION}-x86_64): "
                     "add --from file://openshift/release:TAG to choose one")
    chosen = run_cli("mirror", "--insecure", "--from-dir", str(oc_dir), "--from",
                     f"file://openshift/release:{RELEASE_TAG}", "--to", f"{second_registry.host}/x/y")
    assert chosen.returncode == 0, chosen.stderr


def test_a_directory_without_its_release_tag_says_what_to_add(second_registry, oc_dir: Path) -> None:
    (oc_dir / MANIFESTS / RELEASE_TAG).unlink()  # as a mirror interrupted before its release (which goes last)
    error = _one_line_error("--from-dir", str(oc_dir), "--to", f"{second_registry.host}/x/y")
    assert error == (f"error: {oc_dir} holds no release in file://openshift/release (no <version>-<arch> tag): "
                     "add --from file://REPOSITORY:TAG")


def test_from_dir_refuses_a_from_that_is_not_in_the_directory(second_registry, oc_dir: Path) -> None:
    error = _one_line_error("--from-dir", str(oc_dir), "--from", golden.RELEASE, "--to", f"{second_registry.host}/x/y")
    assert error == ("error: with --from-dir, --from must name the release in the directory "
                     f"(file://openshift/release:TAG), not {golden.RELEASE}")


def test_a_component_missing_from_the_directory_fails_that_image_and_the_release_is_not_pushed(
        second_registry, oc_dir: Path) -> None:
    cli = _tagged(oc_dir)[f"{RELEASE_TAG}-cli"]
    (oc_dir / MANIFESTS / cli).unlink()
    target = f"{second_registry.host}/partial/release"
    result = run_cli("mirror", "--insecure", "--from-dir", str(oc_dir), "--to", target)
    assert result.returncode == 1
    assert result.stderr.splitlines()[-1].startswith("error: 2 of 16 images failed: cli: image file://openshift/release:")
    listed = json.loads(skopeo("list-tags", "--tls-verify=false", f"docker://{target}").stdout)["Tags"]
    assert RELEASE_TAG not in listed and f"{RELEASE_TAG}-console" in listed


def test_disk_mirror_tags_are_symlinks_and_manifests_are_hard_linked_blobs(tmp_path: Path) -> None:
    store = DiskStore(tmp_path)
    data = b'{"schemaVersion": 2, "mediaType": "application/vnd.docker.distribution.manifest.v2+json"}'
    raw = RawManifest(data, "application/vnd.docker.distribution.manifest.v2+json", of(data))
    store.put_manifest("openshift/release", "v1", raw)
    store.put_manifest("openshift/release", "v1", raw)  # again: idempotent
    manifests, blobs = tmp_path / MANIFESTS, tmp_path / "v2/openshift/release/blobs"
    assert os.readlink(manifests / "v1") == raw.digest
    by_digest, as_blob = (manifests / raw.digest).lstat(), (blobs / raw.digest).lstat()
    assert stat.S_ISREG(by_digest.st_mode) and by_digest.st_ino == as_blob.st_ino
    assert stat.S_IMODE(as_blob.st_mode) == 0o600
    assert sorted(p.name for p in manifests.iterdir()) == sorted([raw.digest, "v1"])
    assert store.tags("openshift/release") == ["v1"]
    assert store.get_manifest("openshift/release", "v1").data == raw.data


def test_a_tag_symlink_that_names_no_digest_is_refused(tmp_path: Path) -> None:
    manifests = tmp_path / MANIFESTS
    manifests.mkdir(parents=True)
    (manifests / "v1").symlink_to("not-a-digest")
    (manifests / "v2").symlink_to("sha256:" + "a" * 64)
    store = DiskStore(tmp_path)
    with pytest.raises(UnsafeName, match="tag v1 of file://openshift/release in .* is a symlink to 'not-a-digest', "
                                         "not to a manifest digest"):
        store.get_manifest("openshift/release", "v1")
    with pytest.raises(NotFound, match=f"its tag points to sha256:{'a' * 64}, which is missing"):
        store.get_manifest("openshift/release", "v2")


def test_a_tag_symlink_leading_outside_the_directory_is_refused(tmp_path: Path) -> None:
    (tmp_path / "secret").write_text("x")
    manifests = tmp_path / "mirror" / MANIFESTS
    manifests.mkdir(parents=True)
    (manifests / "v1").symlink_to("../../../../../secret")
    with pytest.raises(UnsafeName, match="outside"):
        DiskStore(tmp_path / "mirror").get_manifest("openshift/release", "v1")


def test_a_tag_left_half_made_by_a_killed_run_is_swept_but_not_what_it_names(tmp_path: Path) -> None:
    manifests = tmp_path / MANIFESTS
    manifests.mkdir(parents=True)
    (tmp_path / "kept").write_text("x")
    (manifests / ".partial-0123456789abcdef").symlink_to(tmp_path / "kept")
    assert remove_stale_partials(tmp_path / "v2") == 1
    assert list(manifests.iterdir()) == [] and (tmp_path / "kept").read_text() == "x"


@pytest.mark.parametrize(("args", "message"), [
    (("--to-image-stream", "release"), "error: --to-image-stream imports into an image stream on a cluster, which "
                                       "okd-release does not do; use --to"),
    (("--overwrite",), "error: --overwrite applies to --apply-release-image-signature (a cluster), which okd-release "
                       "does not do"),
    (("--apply-release-image-signature",), "error: --apply-release-image-signature needs a cluster, which okd-release "
                                           "does not use"),
    (("--skip-release-image", "--to-release-image", "h.example/r:1", "--to", "h.example/r"),
     "error: --skip-release-image and --to-release-image may not both be specified"),
    (("--filter-by-os", "linux/(", "--to", "h.example/r"),
     "error: --filter-by-os 'linux/(' is not a valid regular expression: missing ), unterminated subpattern at "
     "position 6"),
])
def test_flags_okd_release_does_not_do_are_one_line_errors(args: tuple[str, ...], message: str) -> None:
    assert _one_line_error("--from", golden.RELEASE, *args) == message


def test_an_argument_and_from_are_refused_together() -> None:
    assert _one_line_error(golden.RELEASE, "--from", golden.RELEASE, "--to", "h.example/r") == \
        "error: you may not specify an argument and --from"


def test_to_mirror_prints_ocs_mappings_and_copies_nothing(second_registry, oc_dir: Path) -> None:
    target = f"{second_registry.host}/mappings/release"
    result = run_cli("mirror", "--insecure", "--from-dir", str(oc_dir), "--to", target, "--to-mirror")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    tags = _tagged(oc_dir)
    assert lines[0] == f"file://openshift/release@{tags[RELEASE_TAG]} {target}:{RELEASE_TAG}"
    assert f"file://openshift/release@{tags[RELEASE_TAG + '-cli']} {target}:{RELEASE_TAG}-cli" in lines
    assert len(lines) == 16
    assert skopeo("list-tags", "--tls-verify=false", f"docker://{target}", check=False).returncode != 0


def test_skip_release_image_pushes_only_the_components(second_registry, oc_dir: Path) -> None:
    target = f"{second_registry.host}/skip/release"
    result = run_cli("mirror", "--insecure", "--from-dir", str(oc_dir), "--to", target, "--skip-release-image")
    assert result.returncode == 0, result.stderr
    listed = json.loads(skopeo("list-tags", "--tls-verify=false", f"docker://{target}").stdout)["Tags"]
    assert sorted(listed) == sorted(tag for tag in _tagged(oc_dir) if tag != RELEASE_TAG)
    assert f"Update image:  {target}:{RELEASE_TAG}\n" in result.stdout  # as oc, which names it all the same


def test_filter_by_os_is_a_regular_expression_that_matches_variants(second_registry, oc_dir: Path) -> None:
    """A multi-arch release whose second image is linux/arm64/v8: `linux/arm64` picks it, as oc's filter."""
    store = DiskStore(oc_dir)
    amd = store.get_manifest("openshift/release", RELEASE_TAG)
    cli = store.get_manifest("openshift/release", f"{RELEASE_TAG}-cli")  # stands for another platform's image
    index = build_index([Descriptor(amd.media_type, amd.digest, len(amd.data), Platform("linux", "amd64")),
                         Descriptor(cli.media_type, cli.digest, len(cli.data), Platform("linux", "arm64", "v8"))])
    store.put_manifest("openshift/release", "multi", index.raw)
    multi = ("--from-dir", str(oc_dir), "--from", "file://openshift/release:multi")
    chosen = run_cli("mirror", "--insecure", *multi, "--to", f"{second_registry.host}/amd/r", "--filter-by-os", "amd6.")
    assert chosen.returncode == 0, chosen.stderr
    mirrored = skopeo("inspect", "--tls-verify=false", "--raw", f"docker://{second_registry.host}/amd/r:{RELEASE_TAG}")
    assert of(mirrored.stdout.encode()) == amd.digest  # the one image, not the list
    kept = run_cli("mirror", "--insecure", *multi, "--to", f"{second_registry.host}/kept/r", "--filter-by-os", "amd6.",
                   "--keep-manifest-list", "--to-mirror")
    assert kept.stdout.splitlines()[0] == f"file://openshift/release:multi {second_registry.host}/kept/r:" \
                                          f"{golden.VERSION}-multi"
    # linux/arm64 matches linux/arm64/v8; that image is no release, which proves it was the one chosen
    error = _one_line_error(*multi, "--to", f"{second_registry.host}/arm/r", "--filter-by-os", "linux/arm64")
    assert error == "error: file://openshift/release:multi is not a release image: no release-manifests in its last layer"
    none = _one_line_error(*multi, "--to", f"{second_registry.host}/arm/r", "--filter-by-os", "windows/.*")
    assert none == "error: file://openshift/release:multi has no image matching --filter-by-os windows/.*"


@pytest.mark.skipif(not os.environ.get("OC"), reason="set OC=/path/to/oc to check oc itself reads our directories")
def test_oc_uploads_a_directory_okd_release_wrote_with_the_same_digests(second_registry, oc_dir: Path,
                                                                         tmp_path: Path, golden_inputs: None) -> None:
    # the release names its components at the golden source registry: `golden_inputs` serves them there
    ours = tmp_path / "ours"
    upload = run_cli("mirror", "--insecure", "--from-dir", str(oc_dir), "--to", f"{second_registry.host}/staging/r")
    assert upload.returncode == 0, upload.stderr
    written = run_cli("mirror", "--insecure", "--from", f"{second_registry.host}/staging/r:{RELEASE_TAG}",
                      "--to-dir", str(ours))
    assert written.returncode == 0, written.stderr
    assert _tagged(ours) == _tagged(oc_dir)
    target = f"{second_registry.host}/by-oc/r"
    completed = subprocess.run([os.environ["OC"], "adm", "release", "mirror", "--insecure=true", "--from-dir", str(ours),
                                "--from", f"file://openshift/release:{RELEASE_TAG}", "--to", target],
                               capture_output=True, text=True, timeout=600)
    assert completed.returncode == 0, completed.stderr
    for tag, digest in _tagged(ours).items():
        assert json.loads(skopeo("inspect", "--tls-verify=false", f"docker://{target}:{tag}").stdout)["Digest"] == digest
