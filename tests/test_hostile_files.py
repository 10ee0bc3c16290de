"""Hostile releases and interrupted runs against the files we write: nothing lands outside the target, nothing
of the user's is removed, no temporary file outlives its writer, the umask is left alone, memory stays bounded."""

from __future__ import annotations

import fcntl
import io
import json
import os
import stat
import subprocess
import sys
import tarfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from okd_release.content import Descriptor, RawManifest
from okd_release.errors import ConfigError, ManifestError, UnsafeName
from okd_release.image.build import image_config, push_image
from okd_release.image.disk import DiskStore, atomic_write
from okd_release.image.layer import LayerEntry, build_layer, read_files
from okd_release.image.layout import OciLayout
from okd_release.image.manifest import build_image_manifest
from okd_release.image.unpack import unpack
from okd_release.stores import RegistryStore
from tests.conftest import measure_cli_process, run_cli
from tests.images import push_random_image
from tests.release_helpers import build_sample_release

MANIFEST = b'{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "x"}}\n'


def _image_references(version: str, tags: dict[str, str]) -> bytes:
    return json.dumps({
        "kind": "ImageStream", "apiVersion": "image.openshift.io/v1", "metadata": {"name": version},
        "spec": {"tags": [{"name": name, "from": {"kind": "DockerImage", "name": pullspec}}
                          for name, pullspec in tags.items()]},
    }).encode()


def _metadata(version: str) -> bytes:
    return json.dumps({"kind": "cincinnati-metadata-v0", "version": version, "previous": []}).encode()


def push_payload(registries, host: str, repository: str, version: str, tags: dict[str, str],
                 extra: list[LayerEntry], work: Path) -> str:
    """A release image whose only layer is a payload written as given (no validation): its pullspec by digest."""
    entries = [LayerEntry.directory("release-manifests/", 0o777),
               LayerEntry.file("release-manifests/image-references", _image_references(version, tags), 0o444),
               LayerEntry.file("release-manifests/release-metadata", _metadata(version), 0o444), *extra]
    layer = build_layer(entries, work, compresslevel=1)
    config = image_config([layer], {"io.openshift.release": version}, "2024-01-01T00:00:00Z")
    manifest = push_image(RegistryStore(registries.client(host)), repository, "hostile", [layer], config)
    layer.path.unlink()
    return f"{host}/{repository}@{manifest.digest}"


def _error_line(result) -> str:
    assert result.returncode != 0, result.output
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "Traceback" not in result.stderr, result.stderr
    return errors[0]


def _files(root: Path) -> set[str]:
    return {str(p.relative_to(root)) for p in root.rglob("*")}


def _raw(data: bytes) -> RawManifest:
    from okd_release import digest as digests
    from okd_release import mediatypes

    return RawManifest(data, mediatypes.DOCKER_MANIFEST, digests.of(data))


@pytest.fixture
def small_manifest() -> RawManifest:
    from okd_release import mediatypes

    config = Descriptor(mediatypes.DOCKER_CONFIG, "sha256:" + "a" * 64, 2)
    return build_image_manifest(config, []).raw


# 1. mirror --to-dir: every name that becomes a path is checked, and so is where the path resolves to.

@pytest.mark.parametrize("tag", ["x/../../../../../../PWNED", "..", "../PWNED", "a/b", ".hidden", "x\n"])
def test_disk_store_refuses_a_tag_that_is_not_a_tag(tmp_path, small_manifest, tag) -> None:
    store = DiskStore(tmp_path / "mirror")
    with pytest.raises(UnsafeName, match="invalid manifest reference"):
        store.put_manifest("openshift/release", tag, small_manifest)
    assert _files(tmp_path) == set()  # refused before anything, even the manifest by digest, is written


@pytest.mark.parametrize("repository", ["../escape", "openshift/../../escape", "/abs", "a//b", "UPPER/case", ""])
def test_disk_store_refuses_a_repository_that_is_not_a_repository(tmp_path, small_manifest, repository) -> None:
    store = DiskStore(tmp_path / "mirror")
    with pytest.raises(UnsafeName):
        store.put_manifest(repository, "v1", small_manifest)
    with pytest.raises(UnsafeName):
        store.put_blob(repository, Descriptor("x", small_manifest.digest, len(small_manifest.data)), [small_manifest.data])
    assert _files(tmp_path) == set()


def test_disk_store_refuses_a_manifest_reference_that_is_not_a_digest(tmp_path) -> None:
    store = DiskStore(tmp_path / "mirror")
    with pytest.raises(UnsafeName, match="invalid"):
        store.get_manifest("openshift/release", "sha256:../../../etc/passwd")
    with pytest.raises(UnsafeName):
        store.mount_blob("openshift/release", "sha256:../../x", "other/repo")


def test_disk_store_refuses_a_directory_that_is_a_symlink_leading_outside(tmp_path, small_manifest) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (tmp_path / "mirror/v2/openshift").mkdir(parents=True)
    (tmp_path / "mirror/v2/openshift/release").symlink_to(outside)
    store = DiskStore(tmp_path / "mirror")
    with pytest.raises(UnsafeName, match="outside"):
        store.put_manifest("openshift/release", "v1", small_manifest)
    with pytest.raises(UnsafeName, match="outside"):
        store.put_blob("openshift/release", Descriptor("x", small_manifest.digest, len(small_manifest.data)),
                       [small_manifest.data])
    assert list(outside.iterdir()) == []


def test_disk_store_writes_and_reads_valid_names(tmp_path, small_manifest) -> None:
    store = DiskStore(tmp_path / "mirror")
    store.put_manifest("openshift/release", "4.15.0-0.okd-2024-01-01-x86_64-cli", small_manifest)
    assert store.get_manifest("openshift/release", "4.15.0-0.okd-2024-01-01-x86_64-cli").data == small_manifest.data
    assert store.get_manifest("openshift/release", small_manifest.digest).data == small_manifest.data


def test_oci_layout_refuses_unsafe_tags_and_blob_directories_leading_outside(tmp_path, small_manifest) -> None:
    with pytest.raises(UnsafeName, match="invalid manifest reference"):
        OciLayout(tmp_path / "layout").put_manifest("repo", "../x", small_manifest)
    outside = tmp_path / "outside"
    outside.mkdir()
    (tmp_path / "linked").mkdir()
    (tmp_path / "linked/blobs").symlink_to(outside)
    with pytest.raises(UnsafeName, match="outside"):
        OciLayout(tmp_path / "linked").put_manifest("repo", "v1", small_manifest)
    assert list(outside.iterdir()) == []


def test_mirror_to_dir_of_a_release_with_a_climbing_tag_name_writes_nothing_outside(
        source_registry, plain_registries, tmp_path) -> None:
    component = push_random_image(plain_registries, source_registry.host, "hostile/component", "v1", [1000])
    pullspec = f"{source_registry.host}/hostile/component@{component.digest}"
    # the mirror tag is <version>-<arch>-<name>: six `..` climb from manifests/ out of the mirror directory
    release = push_payload(plain_registries, source_registry.host, "hostile/climbing-tag", "4.15.0",
                           {"good": pullspec, "x/../../../../../../PWNED": pullspec}, [], tmp_path / "work")
    before = _files(tmp_path)
    result = run_cli("mirror", "--insecure", "--from", release, "--to-dir", str(tmp_path / "mirror"))
    line = _error_line(result)
    assert "PWNED" in line
    assert not (tmp_path / "PWNED").exists()
    assert {f for f in _files(tmp_path) - before if not f.startswith("mirror")} == set()


# 2. extract --tools: the release version becomes part of a file name only when it is one.

def _oc_image(registries, host: str, work: Path) -> str:
    layer = build_layer([LayerEntry.file("usr/bin/oc", b"\x7fELF oc binary " + b"\x00" * 64, 0o755)], work)
    config = image_config([layer], {}, "2024-01-01T00:00:00Z")
    manifest = push_image(RegistryStore(registries.client(host)), "hostile/cli", "v1", [layer], config)
    return f"{host}/hostile/cli@{manifest.digest}"


@pytest.fixture
def tools_release(source_registry, plain_registries, tmp_path):
    """A valid release with a `cli` image, read with the library."""
    from okd_release.release.payload.source import open_release

    oc = _oc_image(plain_registries, source_registry.host, tmp_path / "work")
    pullspec = push_payload(plain_registries, source_registry.host, "hostile/tools", "4.15.0", {"cli": oc}, [],
                            tmp_path / "work")
    return open_release(plain_registries, pullspec)


def _with_version(release, version: str):
    """`release` with a version that parsing would refuse: the defence at the point of writing is tested alone."""
    from msgspec.structs import replace

    return replace(release, payload=replace(release.payload, metadata=replace(release.payload.metadata, version=version)))


@pytest.mark.parametrize("prepared", [False, True], ids=["plain-target", "target-holding-the-prefix-directory"])
def test_extract_tools_refuses_a_release_version_that_climbs_out_of_the_target(
        tools_release, plain_registries, tmp_path, prepared) -> None:
    from okd_release.release.extract.tools import extract_tools, select_targets

    release = _with_version(tools_release, "4.15.0/../../../TOOLS-ESCAPE")
    target = tmp_path / "a" / "b" / "to"
    target.mkdir(parents=True)
    if prepared:  # with this directory in place the archive name resolves to tmp_path/a/TOOLS-ESCAPE.tar.gz
        (target / "openshift-client-linux-4.15.0").mkdir()
    before = _files(tmp_path)
    targets, as_archives = select_targets(release, None, None)
    with pytest.raises(UnsafeName, match="invalid release version"):
        extract_tools(plain_registries, release, targets, as_archives, target)
    assert _files(tmp_path) == before


def test_extract_tools_writes_archives_named_by_a_valid_version(tools_release, plain_registries, tmp_path) -> None:
    from okd_release.release.extract.tools import extract_tools, select_targets

    targets, as_archives = select_targets(tools_release, None, None)
    extract_tools(plain_registries, tools_release, targets, as_archives, tmp_path / "to")
    assert sorted(p.name for p in (tmp_path / "to").iterdir()) == [
        "openshift-client-linux-4.15.0.tar.gz", "release.txt", "sha256sum.txt"]


def test_extract_tools_of_a_release_with_a_climbing_version_fails_in_one_line_and_writes_nothing(
        source_registry, plain_registries, tmp_path) -> None:
    oc = _oc_image(plain_registries, source_registry.host, tmp_path / "work")
    release = push_payload(plain_registries, source_registry.host, "hostile/tools", "4.15.0/../../../TOOLS-ESCAPE",
                           {"cli": oc}, [], tmp_path / "work")
    target = tmp_path / "a" / "b" / "to"
    (target / "openshift-client-linux-4.15.0").mkdir(parents=True)
    before = _files(tmp_path)
    line = _error_line(run_cli("extract", "--insecure", "--tools", "--to", str(target), release))
    assert "'4.15.0/../../../TOOLS-ESCAPE'" in line
    assert _files(tmp_path) == before


# 3. extract --to: nothing of the user's is removed.

def _unpack_layer(entries: list[LayerEntry], work: Path, target: Path):
    layer = build_layer(entries, work)
    return unpack(layer.chunks(), target, lambda name: name, "test layer")


def test_unpack_refuses_to_replace_a_users_directory_and_moves_nothing_into_place(tmp_path) -> None:
    target = tmp_path / "target"
    (target / "keepme/.git").mkdir(parents=True)
    (target / "keepme/.git/config").write_text("[core]\n")
    with pytest.raises(ConfigError, match="keepme"):
        _unpack_layer([LayerEntry.file("0000_a.yaml", MANIFEST), LayerEntry.file("keepme", b"payload"),
                       LayerEntry.file("zzzz.yaml", MANIFEST)], tmp_path / "work", target)
    assert (target / "keepme/.git/config").read_text() == "[core]\n"
    assert sorted(p.name for p in target.iterdir()) == ["keepme"]


def test_unpack_refuses_to_write_through_a_users_symlink(tmp_path) -> None:
    target, outside = tmp_path / "target", tmp_path / "outside"
    target.mkdir()
    outside.mkdir()
    (target / "link").symlink_to(outside)
    (target / "file-link").symlink_to(outside / "f")
    for entries in ([LayerEntry.directory("link/"), LayerEntry.file("link/f", b"x")], [LayerEntry.file("file-link", b"x")]):
        with pytest.raises(ConfigError, match="link"):
            _unpack_layer(entries, tmp_path / "work", target)
    assert list(outside.iterdir()) == []
    assert (target / "link").is_symlink() and (target / "file-link").is_symlink()


def test_unpack_again_is_idempotent_and_replaces_changed_files_like_oc(tmp_path) -> None:
    target = tmp_path / "target"
    entries = [LayerEntry.directory("sub/"), LayerEntry.file("sub/a.yaml", MANIFEST), LayerEntry.file("b.yaml", b"new")]
    _unpack_layer(entries, tmp_path / "work", target)
    (target / "b.yaml").write_bytes(b"edited by the user")
    result = _unpack_layer(entries, tmp_path / "work", target)
    assert sorted(result.written) == ["b.yaml", "sub/a.yaml"]
    assert (target / "sub/a.yaml").read_bytes() == MANIFEST and (target / "b.yaml").read_bytes() == b"new"
    assert not any(p.name.startswith((".okd-unpack-", ".partial-")) for p in target.rglob("*"))


def test_extract_to_a_directory_holding_a_users_directory_of_the_same_name_fails_and_keeps_it(
        source_registry, plain_registries, tmp_path) -> None:
    release = push_payload(plain_registries, source_registry.host, "hostile/collision", "4.15.0", {},
                           [LayerEntry.file("release-manifests/0000_a.yaml", MANIFEST, 0o444),
                            LayerEntry.file("release-manifests/keepme.yaml", MANIFEST, 0o444)], tmp_path / "work")
    for flags in ((), ("--raw",)):  # manifests re-encoded as oc writes them, and the payload's own bytes
        target = tmp_path / "to" / "-".join(flags or ("default",))
        (target / "keepme.yaml/.git").mkdir(parents=True)
        (target / "keepme.yaml/.git/HEAD").write_text("ref: refs/heads/main\n")
        line = _error_line(run_cli("extract", "--insecure", *flags, "--to", str(target), release))
        assert str(target / "keepme.yaml") in line
        assert (target / "keepme.yaml/.git/HEAD").read_text() == "ref: refs/heads/main\n"
        assert sorted(p.name for p in target.iterdir()) == ["keepme.yaml"]


def test_payload_files_from_a_directory_or_tar_file_are_placed_as_carefully(tmp_path) -> None:
    from okd_release.image.unpack import place_files

    target = tmp_path / "target"
    (target / "keepme/.git").mkdir(parents=True)
    with pytest.raises(ConfigError, match="keepme"):
        place_files({"0000_a.yaml": MANIFEST, "keepme": b"payload"}, target)
    with pytest.raises(UnsafeName, match="payload file name"):
        place_files({"..": b"payload"}, target)
    assert sorted(p.name for p in target.iterdir()) == ["keepme"]
    assert place_files({"0000_a.yaml": MANIFEST}, target).written == ["0000_a.yaml"]
    assert (target / "0000_a.yaml").read_bytes() == MANIFEST


# 4. Temporary files of a killed run do not survive the next run.

def test_stale_partials_are_removed_but_a_live_writers_and_others_files_are_kept(tmp_path) -> None:
    blobs = tmp_path / "mirror/v2/openshift/release/blobs"
    blobs.mkdir(parents=True)
    (blobs / ".partial-dead").write_bytes(b"x" * 100)
    (blobs / "partial-not-ours").write_bytes(b"y")
    (tmp_path / "mirror/.partial-outside-v2").write_bytes(b"z")
    live = blobs / ".partial-live"
    live.write_bytes(b"w")
    with open(live, "rb") as holder:
        fcntl.flock(holder, fcntl.LOCK_EX)  # as a writer of another process holds its temporary file
        store = DiskStore(tmp_path / "mirror")
        manifest = _raw(b'{"schemaVersion": 2}')
        store.put_manifest("openshift/release", "v1", manifest)  # stored as a blob too, in oc's layout
    assert sorted(p.name for p in blobs.iterdir()) == [".partial-live", "partial-not-ours", manifest.digest]
    assert (tmp_path / "mirror/.partial-outside-v2").exists()
    from okd_release.image.disk import remove_stale_partials

    assert remove_stale_partials(tmp_path / "mirror/v2") == 1  # once the writer is gone
    assert sorted(p.name for p in blobs.iterdir()) == ["partial-not-ours", manifest.digest]


def test_stale_unpack_staging_directories_are_removed_by_the_next_unpack(tmp_path) -> None:
    target = tmp_path / "target"
    (target / ".okd-unpack-dead/sub").mkdir(parents=True)
    (target / ".okd-unpack-dead/sub/f").write_bytes(b"x")
    _unpack_layer([LayerEntry.file("a.yaml", MANIFEST)], tmp_path / "work", target)
    assert sorted(p.name for p in target.iterdir()) == ["a.yaml"]


@pytest.fixture(scope="module")
def big_release(source_registry, tmp_path_factory, plain_registries_module) -> str:
    """16 components with 8 MiB layers: a mirror with one download at a time is caught mid-blob (a partial
    file past 1 MiB) long before it ends."""
    return build_sample_release(plain_registries_module, source_registry.host, "hostilefiles",
                                tmp_path_factory.mktemp("big"), layer_mb=8)


def _partials(root: Path) -> list[Path]:
    return [p for p in root.rglob(".partial-*") if p.is_file()]


def test_mirror_to_dir_killed_then_resumed_leaves_no_partial_files(big_release, tmp_path) -> None:
    target = tmp_path / "mirror"
    process = subprocess.Popen(
        [sys.executable, "-m", "okd_release", "mirror", "--insecure", "--max-per-registry", "1", "--from", big_release,
         "--to-dir", str(target)], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 120
    while process.poll() is None and time.monotonic() < deadline:
        if any(p.stat().st_size > 1024 * 1024 for p in _partials(target) if p.exists()):
            break
        time.sleep(0.002)
    assert process.poll() is None, "the mirror finished before it could be killed"
    process.kill()
    process.communicate(timeout=30)
    assert _partials(target), "the killed mirror left no temporary file to clean"
    resumed = run_cli("mirror", "--insecure", "--from", big_release, "--to-dir", str(target))
    assert resumed.returncode == 0, resumed.stderr
    assert _partials(target) == []
    assert not any(p.name.startswith(".partial-") for p in target.rglob("*"))


# 5. atomic_write leaves the process umask alone and lets the kernel apply it.

def _umask_now() -> int:
    """The process umask read without changing it."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("Umask:"):
            return int(line.split()[1], 8)
    raise AssertionError("no Umask line in /proc/self/status")


@pytest.fixture
def umask_027() -> Iterator[None]:
    previous = os.umask(0o027)
    yield
    os.umask(previous)


def test_atomic_write_creates_files_0644_less_the_umask(tmp_path, umask_027) -> None:
    atomic_write(tmp_path / "f", [b"data"])
    assert stat.S_IMODE((tmp_path / "f").stat().st_mode) == 0o640


def test_atomic_write_in_threads_never_changes_the_umask(tmp_path, umask_027, monkeypatch) -> None:
    calls: list[int] = []
    real_umask = os.umask

    def recording_umask(mask: int) -> int:
        calls.append(mask)
        return real_umask(mask)

    monkeypatch.setattr(os, "umask", recording_umask)
    seen: set[int] = set()
    done = threading.Event()

    def watch() -> None:
        while not done.is_set():
            seen.add(_umask_now())

    watcher = threading.Thread(target=watch)
    watcher.start()

    def write(index: int) -> None:
        for count in range(100):
            atomic_write(tmp_path / f"d{index}" / f"f{count}", [b"x"], what="test")

    threads = [threading.Thread(target=write, args=(i,)) for i in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    done.set()
    watcher.join()
    assert calls == []
    assert seen == {0o027}
    modes = {stat.S_IMODE(p.stat().st_mode) for p in tmp_path.rglob("f*")}
    assert modes == {0o640}


# 6. Memory: a payload layer of zeros that inflates to gigabytes.

def test_read_files_caps_the_total_it_holds_and_names_the_layer(tmp_path) -> None:
    entries = [LayerEntry.file(f"release-manifests/f{i}", b"\x00" * 1000) for i in range(5)]
    layer = build_layer(entries, tmp_path)
    with pytest.raises(ManifestError, match="payload layer sha256:abc.*more than 3000 bytes"):
        read_files(layer.chunks(), lambda name: True, "payload layer sha256:abc", limit=2000, total_limit=3000)
    assert len(read_files(layer.chunks(), lambda name: True, "layer", limit=2000, total_limit=5000)) == 5


@pytest.fixture(scope="module")
def zero_bomb_release(source_registry, plain_registries_module, tmp_path_factory) -> str:
    work = tmp_path_factory.mktemp("bomb")
    zeros = work / "zeros"
    with open(zeros, "wb") as handle:
        handle.truncate(60 * 1024 * 1024)  # sparse: 60 MiB of zeros, under the per-file cap of 64 MiB
    # 6 x 60 MiB: more than the 256 MiB read_files holds in all, though each file is under its cap (the attack
    # that was found had 40 of them; what matters is passing the total)
    files = [LayerEntry(f"release-manifests/0000_50_bomb_{i:02}.yaml", source=zeros, mode=0o444) for i in range(6)]
    return push_payload(plain_registries_module, source_registry.host, "hostile/bomb", "4.15.0-bomb", {}, files, work)


def _measured(*args: str) -> tuple[int, str, float]:
    """Exit code, stderr and peak RSS in MiB of one `okd-release` process (its own, not pytest's: see
    tests.conftest.measure_cli_process)."""
    return measure_cli_process(*args)


def _one_error(stderr: str) -> str:
    errors = [line for line in stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "Traceback" not in stderr, stderr
    return errors[0]


def test_info_on_a_payload_that_inflates_to_gigabytes_fails_with_bounded_memory(zero_bomb_release) -> None:
    code, stderr, peak = _measured("info", "--insecure", zero_bomb_release)
    assert code != 0
    line = _one_error(stderr)
    assert "more than 268435456 bytes" in line and zero_bomb_release.split("@")[1] in line
    assert peak < 512, f"peak RSS {peak:.0f} MiB"


def test_extract_of_a_payload_that_inflates_to_gigabytes_fails_with_bounded_memory_and_leaves_nothing(
        zero_bomb_release, tmp_path) -> None:
    target = tmp_path / "to"
    code, stderr, peak = _measured("extract", "--insecure", "--to", str(target), zero_bomb_release)
    assert code != 0
    line = _one_error(stderr)
    assert "more than 268435456 bytes" in line and zero_bomb_release.split("@")[1] in line
    assert peak < 200, f"peak RSS {peak:.0f} MiB: extract streams, it holds no manifest in memory"
    assert list(target.iterdir()) == []


def test_extract_to_streams_manifests_without_reading_them_all_into_memory(
        source_registry, plain_registries, tmp_path) -> None:
    zeros = tmp_path / "zeros"
    with open(zeros, "wb") as handle:
        handle.truncate(60 * 1024 * 1024)
    files = [LayerEntry(f"release-manifests/0000_50_big_{i}.yaml", source=zeros, mode=0o444) for i in range(3)]
    release = push_payload(plain_registries, source_registry.host, "hostile/big-files", "4.15.0-big", {}, files,
                           tmp_path / "work")
    code, stderr, peak = _measured("extract", "--insecure", "--raw", "--to", str(tmp_path / "to"), release)
    assert code == 0, stderr
    assert sorted(p.name for p in (tmp_path / "to").iterdir()) == [
        "0000_50_big_0.yaml", "0000_50_big_1.yaml", "0000_50_big_2.yaml", "image-references", "release-metadata"]
    assert peak < 150, f"peak RSS {peak:.0f} MiB: the 180 MiB of manifests were held in memory"


def test_info_on_a_payload_tar_file_that_inflates_to_gigabytes_fails_with_bounded_memory(tmp_path) -> None:
    path = tmp_path / "payload.tar.gz"
    with tarfile.open(path, "w:gz", compresslevel=1) as tar:
        for name, data in (("image-references", _image_references("4.15.0", {})), ("release-metadata", _metadata("4.15.0"))):
            info = tarfile.TarInfo(f"release-manifests/{name}")
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
        for index in range(6):
            info = tarfile.TarInfo(f"release-manifests/0000_50_bomb_{index}.yaml")
            info.size = 60 * 1024 * 1024
            tar.addfile(info, io.BytesIO(bytes(info.size)))
    code, stderr, peak = _measured("info", str(path))
    assert code != 0
    assert "more than 268435456 bytes" in _one_error(stderr) and str(path) in stderr
    assert peak < 512, f"peak RSS {peak:.0f} MiB"
