"""Several releases in one mirror, and differential disk mirrors, against real registries: the sample release as
4.15.0 and a 4.15.1 built from it with two images replaced (`new --from-release ... NAME=IMAGE`)."""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from pathlib import Path

import pytest

from okd_release.registry import Registries
from okd_release.registry.credentials import CredentialStore
from okd_release.registry.options import RegistryOptions
from tests.conftest import pushed_release, run_cli
from tests.images import push_random_image

REPLACED = ("console", "prometheus")


@dataclass(frozen=True)
class UpgradePath:
    old: str  # 4.15.0: the sample release, by digest
    new: str  # 4.15.1: the same with REPLACED images rebuilt, by digest


@pytest.fixture(scope="module")
def upgrade(sample_release) -> UpgradePath:
    host = sample_release.host
    replacements = []
    with Registries(RegistryOptions(insecure=True), CredentialStore()) as registries:
        for name in REPLACED:
            image = push_random_image(registries, host, f"fixes/{name}", "4.15.1", [30_000])
            replacements.append(f"{name}={host}/fixes/{name}@{image.digest}")
    target = f"{host}/okd/release:4.15.1-0.okd-sample"
    built = run_cli("new", "--insecure", "--from-release", sample_release.release, "--name", "4.15.1-0.okd-sample",
                    "--to-image", target, *replacements)
    return UpgradePath(sample_release.release, pushed_release(built, target))


def disk_bytes(directory: Path) -> int:
    """Bytes of the files under `directory/v2`, each hard-linked file once."""
    seen: dict[tuple[int, int], int] = {}
    for folder, _, files in os.walk(directory / "v2"):
        for name in files:
            status = os.lstat(os.path.join(folder, name))
            seen[(status.st_dev, status.st_ino)] = status.st_size
    return sum(seen.values())


def blob_digests(directory: Path) -> set[str]:
    return {path.name for path in (directory / "v2").rglob("blobs/sha256:*")}


def _mirror(*args: str) -> None:
    result = run_cli("mirror", "--insecure", *args)
    assert result.returncode == 0, result.stderr


def test_a_differential_mirror_writes_only_what_the_previous_one_lacks(upgrade: UpgradePath, tmp_path: Path) -> None:
    old, full, diff = tmp_path / "old", tmp_path / "full", tmp_path / "diff"
    _mirror("--from", upgrade.old, "--to-dir", str(old))
    _mirror("--from", upgrade.new, "--to-dir", str(full))
    _mirror("--from", upgrade.new, "--to-dir", str(diff), "--since", str(old))
    assert blob_digests(diff) == blob_digests(full) - blob_digests(old)
    shared = blob_digests(full) & blob_digests(old)
    shared_bytes = sum(next((full / "v2").rglob(f"blobs/{digest}")).stat().st_size for digest in shared)
    assert shared_bytes > 0 and disk_bytes(diff) <= disk_bytes(full) - shared_bytes
    index = json.loads((diff / "okd-release-mirror.json").read_text())
    assert index["buildsOn"]["releases"] == [upgrade.old.split("@", 1)[1]]
    assert set(index["buildsOn"]["blobs"]) <= blob_digests(old)
    assert set(index["contents"]["blobs"]) == blob_digests(diff)


def test_since_an_index_file_alone_gives_the_same_differential_mirror(upgrade: UpgradePath, tmp_path: Path) -> None:
    old, by_dir, by_index = tmp_path / "old", tmp_path / "by-dir", tmp_path / "by-index"
    _mirror("--from", upgrade.old, "--to-dir", str(old))
    index = tmp_path / "old-index.json"
    index.write_bytes((old / "okd-release-mirror.json").read_bytes())
    _mirror("--from", upgrade.new, "--to-dir", str(by_dir), "--since", str(old))
    _mirror("--from", upgrade.new, "--to-dir", str(by_index), "--since", str(index))
    assert blob_digests(by_index) == blob_digests(by_dir)


def test_uploading_a_differential_mirror_needs_what_it_builds_on_at_the_target(
        upgrade: UpgradePath, second_registry, tmp_path: Path) -> None:
    old, diff, full = tmp_path / "old", tmp_path / "diff", tmp_path / "full"
    _mirror("--from", upgrade.old, "--to-dir", str(old))
    _mirror("--from", upgrade.new, "--to-dir", str(diff), "--since", str(old))
    target = f"{second_registry.host}/okd/mirror"

    refused = run_cli("mirror", "--insecure", "--from-dir", str(diff), "--to", target)
    assert refused.returncode == 1
    [line] = refused.stderr.splitlines()
    assert line.startswith(f"error: {diff} is a differential mirror that builds on {upgrade.old.split('@', 1)[1]}, "
                           f"but {target} lacks ")
    assert line.endswith("upload that mirror there first")

    _mirror("--from-dir", str(old), "--to", target)
    uploaded = run_cli("mirror", "--insecure", "--from-dir", str(diff), "--to", target)
    assert uploaded.returncode == 0, uploaded.stderr
    assert "Update image:  " + target + ":4.15.1-0.okd-sample-x86_64\n" in uploaded.stdout

    # the target now holds the whole of 4.15.1: a full mirror of it would copy nothing
    _mirror("--from", upgrade.new, "--to-dir", str(full))
    check = run_cli("mirror", "--insecure", "--from-dir", str(full), "--to", target, "--dry-run")
    assert check.returncode == 0, check.stderr
    [summary] = [line for line in check.stderr.splitlines() if line.startswith("dry run: ")]
    assert re.fullmatch(r"dry run: \d+ images, 0 of \d+ blobs to copy, 0B of .*", summary), summary


def test_since_needs_a_disk_mirror_and_a_directory_target(upgrade: UpgradePath, tmp_path: Path) -> None:
    missing = run_cli("mirror", "--insecure", "--from", upgrade.new, "--to-dir", str(tmp_path / "new"),
                      "--since", str(tmp_path))
    assert missing.returncode == 1
    assert missing.stderr == f"error: --since {tmp_path}: no disk mirror there (no v2/ directory, no okd-release-mirror.json)\n"
    registry = run_cli("mirror", "--insecure", "--from", upgrade.new, "--to", "127.0.0.1:9/okd/x", "--since", str(tmp_path))
    assert registry.returncode == 1
    assert registry.stderr == "error: --since needs --to-dir: a differential mirror is written to a directory\n"


def test_several_releases_mirror_each_blob_once_with_one_configuration(upgrade: UpgradePath, second_registry,
                                                                      tmp_path: Path) -> None:
    both, old, new = tmp_path / "both", tmp_path / "old", tmp_path / "new"
    releases = tmp_path / "upgrade-path.txt"
    releases.write_text(f"# the upgrade path\n{upgrade.old}\n\n{upgrade.new}  # the fix\n")
    result = run_cli("mirror", "--insecure", "--from-file", str(releases), "--to-dir", str(both))
    assert result.returncode == 0, result.stderr
    assert "Update image:  openshift/release:4.15.0-0.okd-sample-x86_64\n" in result.stdout
    assert "Update image:  openshift/release:4.15.1-0.okd-sample-x86_64\n" in result.stdout
    _mirror("--from", upgrade.old, "--to-dir", str(old))
    _mirror("--from", upgrade.new, "--to-dir", str(new))
    assert blob_digests(both) == blob_digests(old) | blob_digests(new)
    assert disk_bytes(both) < disk_bytes(old) + disk_bytes(new)

    # the air-gapped side uploads both in one run, and prints one configuration naming both releases' sources
    target = f"{second_registry.host}/okd/mirror"
    uploaded = run_cli("mirror", "--insecure", "--from-dir", str(both), "--to", target)
    assert uploaded.returncode == 0, uploaded.stderr
    assert uploaded.stdout.count("Update image:") == 2
    assert uploaded.stdout.count("kind: ImageContentSourcePolicy") == 1
    host = upgrade.old.split("/", 1)[0]
    assert f"source: {host}/fixes/console\n" in uploaded.stdout  # a source only 4.15.1 has
    assert f"source: {host}/okd/content\n" in uploaded.stdout


def test_to_release_image_takes_one_release(upgrade: UpgradePath) -> None:
    result = run_cli("mirror", "--insecure", "--from", upgrade.old, "--from", upgrade.new, "--to", "127.0.0.1:9/okd/x",
                     "--to-release-image", "127.0.0.1:9/okd/x:release")
    assert result.returncode == 1
    assert result.stderr == "error: --to-release-image names one image: mirror several releases with --to\n"
