"""`okd-release extract` against releases built by `new`, and hostile layers pushed to the real registry."""

from __future__ import annotations

import io
import tarfile
import zipfile
from pathlib import Path

from okd_release.image.build import image_config, push_image
from okd_release.image.layer import BuiltLayer
from okd_release.registry import Registries, RegistryOptions
from okd_release.registry.credentials import CredentialStore
from okd_release.release.extract import markers
from okd_release.release.payload.components import resolve_manifest
from okd_release.release.payload.model import ImageStream
from okd_release.stores import RegistryStore
from tests.conftest import pushed_release, run_cli
from tests.faultproxy import FaultPlan
from tests.release_helpers import read_release


def _one_line_error(result, fragment: str) -> None:
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and fragment in lines[0], result.stderr


def test_manifests_are_extracted_byte_identical_with_raw(sample_release, tmp_path) -> None:
    result = run_cli("extract", "--insecure", "--raw", sample_release.release, "--to", str(tmp_path))
    assert result.returncode == 0, result.stderr
    files = read_release(sample_release.release).payload.files()
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == files
    one = run_cli("extract", "--insecure", "--from", sample_release.release, "--file", "image-references")
    assert one.stdout.encode() == files["image-references"]
    missing = run_cli("extract", "--insecure", sample_release.release, "--file", "nope.yaml")
    _one_line_error(missing, "no file 'nope.yaml'")


def test_openshift_install_is_pinned_to_the_release(sample_release, tmp_path) -> None:
    result = run_cli("extract", "--insecure", sample_release.release_tag, "--command", "openshift-install",
                     "--command-os", "linux", "--to", str(tmp_path))
    assert result.returncode == 0, result.stderr
    binary = (tmp_path / "openshift-install").read_bytes()
    release = sample_release.release
    expected_image = release.encode() + b"\x00" + markers.RELEASE_IMAGE[len(release) + 1:]
    expected_version = sample_release.version.encode() + b"\x00" + markers.RELEASE_VERSION[len(sample_release.version) + 1:]
    assert expected_image in binary
    assert expected_version in binary
    assert markers.RELEASE_IMAGE not in binary and markers.RELEASE_VERSION not in binary
    assert (tmp_path / "openshift-install").stat().st_mode & 0o111


def test_command_os_star_gives_one_archive_per_platform(sample_release, tmp_path) -> None:
    result = run_cli("extract", "--insecure", sample_release.release, "--command", "oc", "--command-os", "*",
                     "--to", str(tmp_path))
    assert result.returncode == 0, result.stderr
    version = sample_release.version
    expected = {f"openshift-client-mac-{version}.tar.gz", f"openshift-client-mac-arm64-{version}.tar.gz",
                f"openshift-client-linux-{version}.tar.gz", f"openshift-client-linux-arm64-{version}.tar.gz",
                f"openshift-client-windows-{version}.zip"}
    assert {p.name for p in tmp_path.iterdir()} == expected | {"release.txt", "sha256sum.txt"}
    with tarfile.open(tmp_path / f"openshift-client-linux-{version}.tar.gz") as archive:
        names = archive.getnames()
        assert set(names) == {"README.md", "oc", "kubectl"}
        assert archive.getmember("kubectl").islnk() and archive.getmember("kubectl").linkname == "oc"
        oc = archive.extractfile("oc").read()
        assert version.encode() + b"\x00" in oc and markers.RELEASE_VERSION not in oc
    with zipfile.ZipFile(tmp_path / f"openshift-client-windows-{version}.zip") as archive:
        assert set(archive.namelist()) == {"README.md", "oc.exe"}
        assert archive.read("oc.exe").startswith(b"MZ")


def test_tools_writes_archives_and_checksums(sample_release, tmp_path) -> None:
    import hashlib

    result = run_cli("extract", "--insecure", sample_release.release, "--tools", "--command-os", "*", "--to", str(tmp_path))
    assert result.returncode == 0, result.stderr
    sums = dict(reversed(line.split()) for line in (tmp_path / "sha256sum.txt").read_text().splitlines())
    archives = [p for p in tmp_path.iterdir() if p.name.startswith("openshift-")]
    assert len(archives) == 9
    for path in archives + [tmp_path / "release.txt"]:
        assert sums[path.name] == hashlib.sha256(path.read_bytes()).hexdigest()
    with tarfile.open(tmp_path / f"openshift-install-linux-{sample_release.version}.tar.gz") as archive:
        installer = archive.extractfile("openshift-install").read()
        assert sample_release.release.encode() + b"\x00" in installer
    assert f"Pull From: {sample_release.release}" in (tmp_path / "release.txt").read_text()


def test_bad_command_and_os(sample_release, tmp_path) -> None:
    _one_line_error(run_cli("extract", "--insecure", sample_release.release, "--command", "kubectl-magic"), "unknown command")
    _one_line_error(run_cli("extract", "--insecure", sample_release.release, "--command", "openshift-install",
                            "--command-os", "windows", "--to", str(tmp_path)), "does not ship command 'openshift-install'")
    _one_line_error(run_cli("extract", "--insecure", sample_release.release, "--command", "oc", "--command-os", "beos"),
                    "invalid --command-os")


def test_release_without_installer_image(sample_release, tmp_path) -> None:
    target = f"{sample_release.host}/okd/no-installer:1"
    built = run_cli("new", "--insecure", "--from-release", sample_release.release, "--exclude", "installer",
                    "--allow-missing-images", "--to-image", target)
    _one_line_error(run_cli("extract", "--insecure", pushed_release(built, target), "--command", "openshift-install",
                            "--command-os", "linux", "--to", str(tmp_path)), "has no installer image")


def _hostile_layer(directory: Path) -> BuiltLayer:
    """A payload layer with good files and every kind of entry that tries to escape."""
    import gzip
    import hashlib

    stream = ImageStream("4.15.0", ()).encode()
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.GNU_FORMAT) as tar:
        def add(name: str, data: bytes = b"", kind: bytes = tarfile.REGTYPE, link: str = "") -> None:
            info = tarfile.TarInfo(name)
            info.type, info.linkname, info.size = kind, link, len(data) if kind == tarfile.REGTYPE else 0
            tar.addfile(info, io.BytesIO(data) if kind == tarfile.REGTYPE else None)

        add("release-manifests/", kind=tarfile.DIRTYPE)
        add("release-manifests/image-references", stream)
        add("release-manifests/0000_00_good.yaml", b"kind: ConfigMap\napiVersion: v1\n")
        add("release-manifests/../../escaped-dotdot", b"evil")
        add("/release-manifests/absolute.yaml", b"evil")
        add("release-manifests/link-out", kind=tarfile.SYMTYPE, link="../../../../../../tmp")
        add("release-manifests/link-abs", kind=tarfile.SYMTYPE, link="/etc/passwd")
        add("release-manifests/hard-out", kind=tarfile.LNKTYPE, link="/etc/passwd")
        add("release-manifests/hard-up", kind=tarfile.LNKTYPE, link="../../etc/passwd")
        add("release-manifests/device", kind=tarfile.CHRTYPE)
        add("release-manifests/fifo", kind=tarfile.FIFOTYPE)
        add("release-manifests/link-out/planted", b"evil")
        add("release-manifests/0000_99_last.yaml", b"kind: ConfigMap\napiVersion: v1\nmetadata: {name: last}\n")
        add("release-manifests/hard-good", kind=tarfile.LNKTYPE, link="release-manifests/0000_00_good.yaml")
    compressed = gzip.compress(buffer.getvalue(), mtime=0)
    path = directory / "hostile.tar.gz"
    path.write_bytes(compressed)
    uncompressed = hashlib.sha256(buffer.getvalue()).hexdigest()
    return BuiltLayer(path, "sha256:" + hashlib.sha256(compressed).hexdigest(), len(compressed), "sha256:" + uncompressed)


def test_hostile_layer_never_writes_outside_target(sample_release, plain_registries, tmp_path) -> None:
    layer = _hostile_layer(tmp_path)
    config = image_config([layer], {}, "2024-01-01T00:00:00Z")
    push_image(RegistryStore(plain_registries.client(sample_release.host)), "okd/hostile", "v1", [layer], config)
    target = tmp_path / "deep" / "a" / "b" / "out"
    before = {p for p in tmp_path.rglob("*")}
    result = run_cli("extract", "--insecure", "--raw", f"{sample_release.host}/okd/hostile:v1", "--to", str(target))
    assert result.returncode == 0, result.stderr
    written = {p.relative_to(target).as_posix() for p in target.rglob("*")}
    assert written == {"image-references", "0000_00_good.yaml", "0000_99_last.yaml", "hard-good", "link-out",
                       "link-out/planted"}
    assert not (target / "link-out").is_symlink()  # the escaping symlink was refused; the file landed inside
    outside = {p for p in tmp_path.rglob("*") if not str(p).startswith(str(target))} - before
    assert outside == {tmp_path / "deep", tmp_path / "deep/a", tmp_path / "deep/a/b"}
    assert not Path("/tmp/planted").exists()
    warnings = [line for line in result.stderr.splitlines() if line.startswith("warning:")]
    for fragment in ("escaped-dotdot", "absolute.yaml", "link-out", "link-abs", "hard-out", "hard-up", "device", "fifo"):
        assert any(fragment in w for w in warnings), fragment
    assert (target / "hard-good").read_bytes() == (target / "0000_00_good.yaml").read_bytes()


def test_command_extraction_streams_the_tools_layers_without_asking_for_their_image_config(
        sample_release, source_registry, fault_proxy, tmp_path) -> None:
    proxy = fault_proxy(source_registry.host, FaultPlan())  # the release and its images, all read through it
    stream = tmp_path / "stream.json"
    stream.write_text(sample_release.stream_file.read_text().replace(source_registry.host, proxy.host))
    target = f"{proxy.host}/okd/through-proxy:extract"
    release = pushed_release(run_cli("new", "--insecure", "-f", str(stream), "--to-image", target,
                                     "--name", sample_release.version), target)
    asked: list[str] = []
    proxy.hooks.append(lambda handler: asked.append(handler.path.split("?", 1)[0]) and False)
    result = run_cli("extract", "--insecure", release, "--command", "oc", "--to", str(tmp_path / "out"))
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "out" / "oc").is_file()
    cli = next(tag for tag in read_release(release).payload.image_references.tags if tag.name == "cli")
    with Registries(RegistryOptions(insecure=True), CredentialStore()) as registries:
        tools = resolve_manifest(registries, "cli", cli.pullspec)
    blobs = [path.rsplit("/", 1)[1] for path in asked if "/blobs/" in path]
    assert tools.image.layers[-1].digest in blobs  # the file is read from the tools image's layers
    assert tools.image.config.digest not in blobs  # and its config is not asked for
