"""`extract --tools/--command`: the client and installer binaries, pinned to the release they came from.

The targets follow openshift/oc extract_tools.go: which image holds which binary for which OS and
architecture, which markers are injected, and how archives are named.
"""

from __future__ import annotations

import hashlib
import io
import os
import platform as host_platform
import tarfile
import tempfile
import zipfile
from dataclasses import dataclass, replace
from pathlib import Path

from okd_release.content import Descriptor
from okd_release.errors import ConfigError, DigestMismatch, NotFound, PayloadError
from okd_release.image.disk import atomic_write, inside
from okd_release.image.layer import COPY_BUFFER, layer_tar, normalise
from okd_release.names import check_path_component
from okd_release.registry.session import Registries
from okd_release.release.extract import markers
from okd_release.release.extract.pin import Replacement, pin
from okd_release.release.payload.components import ComponentImage, resolve
from okd_release.release.payload.source import ReleaseImage

RELEASE_ARCH = "release-arch"
README_CLIENT = "# OpenShift Clients\n\nMove `oc` and `kubectl` to a directory on your PATH, then run `oc login`.\n"
README_INSTALLER = "# OpenShift Install\n\nMove `openshift-install` to a directory on your PATH.\n"
README_CCOCTL = "# Cloud Credential Operator utility\n\nMove `ccoctl` to a directory on your PATH.\n"


@dataclass(frozen=True)
class Target:
    os: str
    arch: str
    command: str
    image: str
    path: str
    archive: str
    readme: str
    inject_image: bool = False
    inject_version: bool = True
    link_to: tuple[str, ...] = ()
    optional: bool = False
    new_arch: bool = False


def _client(os_: str, arch: str, image: str, path: str, archive: str, new_arch: bool = False) -> Target:
    links = () if os_ == "windows" else ("kubectl",)
    return Target(os_, arch, "oc", image, path, archive, README_CLIENT, link_to=links, new_arch=new_arch)


def _installer(os_: str, arch: str, image: str, path: str, archive: str, new_arch: bool = False,
               command: str = "openshift-install", optional: bool = False) -> Target:
    return Target(os_, arch, command, image, path, archive, README_INSTALLER, inject_image=True,
                  optional=optional, new_arch=new_arch)


TARGETS: tuple[Target, ...] = (
    _client("darwin", "amd64", "cli-artifacts", "usr/share/openshift/mac/oc", "openshift-client-mac-{}.tar.gz"),
    _client("darwin", "arm64", "cli-artifacts", "usr/share/openshift/mac_arm64/oc",
            "openshift-client-mac-arm64-{}.tar.gz", True),
    _client("linux", RELEASE_ARCH, "cli", "usr/bin/oc", "openshift-client-linux-{}.tar.gz"),
    _client("linux", "amd64", "cli-artifacts", "usr/share/openshift/linux_amd64/oc",
            "openshift-client-linux-amd64-{}.tar.gz"),
    _client("linux", "arm64", "cli-artifacts", "usr/share/openshift/linux_arm64/oc",
            "openshift-client-linux-arm64-{}.tar.gz", True),
    _client("windows", "amd64", "cli-artifacts", "usr/share/openshift/windows/oc.exe", "openshift-client-windows-{}.zip"),
    _installer("darwin", "amd64", "installer-artifacts", "usr/share/openshift/mac/openshift-install",
               "openshift-install-mac-{}.tar.gz"),
    _installer("darwin", "arm64", "installer-artifacts", "usr/share/openshift/mac_arm64/openshift-install",
               "openshift-install-mac-arm64-{}.tar.gz", True),
    _installer("linux", RELEASE_ARCH, "installer", "usr/bin/openshift-install", "openshift-install-linux-{}.tar.gz"),
    _installer("linux", "amd64", "installer-artifacts", "usr/share/openshift/linux_amd64/openshift-install",
               "openshift-install-linux-amd64-{}.tar.gz", True),
    _installer("linux", "arm64", "installer-artifacts", "usr/share/openshift/linux_arm64/openshift-install",
               "openshift-install-linux-arm64-{}.tar.gz", True),
    _installer("linux", RELEASE_ARCH, "baremetal-installer", "usr/bin/openshift-install",
               "openshift-baremetal-install-linux-{}.tar.gz", command="openshift-baremetal-install", optional=True),
    Target("linux", RELEASE_ARCH, "ccoctl", "cloud-credential-operator", "usr/bin/ccoctl", "ccoctl-linux-{}.tar.gz",
           README_CCOCTL, inject_version=False, new_arch=True),
)
COMMANDS = sorted({t.command for t in TARGETS})


def _host_os_arch() -> tuple[str, str]:
    system = {"Linux": "linux", "Darwin": "darwin", "Windows": "windows"}.get(host_platform.system(), "linux")
    machine = {"x86_64": "amd64", "AMD64": "amd64", "aarch64": "arm64", "arm64": "arm64"}.get(host_platform.machine(), "amd64")
    return system, machine


def parse_command_os(value: str | None) -> tuple[str, str]:
    """oc's --command-os: `linux`, `mac`, `windows`, `linux/arm64`, `mac/arm64`, or `*` for all."""
    if not value:
        return _host_os_arch()
    if value == "*":
        return "*", "*"
    parts = value.split("/")
    if len(parts) > 2 or not all(parts):
        raise ConfigError(f"invalid --command-os {value!r}: expected OS, OS/ARCH or '*'")
    os_, arch = parts[0], parts[1] if len(parts) == 2 else "amd64"
    os_ = "darwin" if os_ == "mac" else os_
    if os_ not in ("linux", "darwin", "windows"):
        raise ConfigError(f"invalid --command-os {value!r}: OS must be linux, mac or windows")
    return os_, arch


def select_targets(release: ReleaseImage, command: str | None, command_os: str | None) -> tuple[list[Target], bool]:
    """The targets to extract, and whether they are written as archives (oc: --tools, or --command-os='*')."""
    if command and command not in COMMANDS:
        raise ConfigError(f"unknown command {command!r}: the supported commands are {', '.join(COMMANDS)}")
    os_, arch = parse_command_os(command_os if command else (command_os or "*"))
    release_arch = release.config.platform.architecture if release.config else "amd64"
    names = set(release.payload.image_references.names())
    candidates = [t for t in TARGETS if (t.command == command if command else not t.optional)]
    chosen: list[Target] = []
    release_arch_commands: set[str] = set()
    missing: set[str] = set()
    for target in candidates:
        resolved = replace(target, arch=release_arch) if target.arch == RELEASE_ARCH else target
        if os_ != "*" and target.os != os_:
            continue
        if arch != "*" and resolved.arch != arch:
            continue
        if target.arch == RELEASE_ARCH:
            release_arch_commands.add(target.command)
        elif target.os == "linux" and target.arch == release_arch and target.command in release_arch_commands:
            continue  # the release-arch target already covers it
        if target.image not in names:
            if not target.new_arch:
                missing.add(target.image)
            continue
        chosen.append(resolved)
    if not chosen:
        what = f"command {command!r}" if command else "tools"
        shown = "all platforms" if os_ == "*" else f"{'mac' if os_ == 'darwin' else os_}/{arch}"
        if missing:
            raise PayloadError(f"release {release.payload.version} has no {', '.join(sorted(missing))} image, needed for {what}")
        raise PayloadError(f"release {release.payload.version} does not ship {what} for {shown}")
    return chosen, (not command) or command_os == "*"


@dataclass(frozen=True)
class ExtractedTool:
    """A binary (or archive) `extract_tools` wrote: what it is, where, its sha256, and markers it lacked."""

    target: Target
    path: Path
    sha256: str
    missing_markers: tuple[str, ...]


def _find_file(component: ComponentImage, path: str, work: Path, replacements: list[Replacement]) -> tuple[Path, list[str]]:
    """Stream layers from the top down until one holds `path`; pin it into a temporary file."""
    repository = component.reference.repository
    for layer in reversed(component.image.layers):
        what = f"layer {layer.digest} of image {component.name}"

        def read(layer: Descriptor = layer, what: str = what) -> tuple[Path, list[str]] | None:
            with component.store.open_blob(repository, layer) as chunks, layer_tar(chunks, what) as tar:
                for member in tar:
                    if member.isreg() and normalise(member.name) == path:
                        return _write_pinned(tar, member, work, replacements)
            return None

        try:
            found = component.store.retrying(what, read)
        except DigestMismatch as error:
            raise DigestMismatch(f"image {component.name}: {error}") from None
        if found:
            return found
    raise NotFound(f"image {component.name} ({component.pullspec}) has no file /{path}")


def _write_pinned(tar: tarfile.TarFile, member: tarfile.TarInfo, work: Path,
                  replacements: list[Replacement]) -> tuple[Path, list[str]]:
    handle = tar.extractfile(member)
    assert handle is not None
    stream, pinner = pin(iter(lambda: handle.read(COPY_BUFFER), b""), replacements)
    descriptor, name = tempfile.mkstemp(dir=work, prefix=".tool-")
    with os.fdopen(descriptor, "wb") as out:
        for chunk in stream:
            out.write(chunk)
    return Path(name), pinner.missing


def _replacements(target: Target, release: ReleaseImage) -> list[Replacement]:
    result = []
    if target.inject_image:
        result.append(Replacement("release image", markers.RELEASE_IMAGE, release.pullspec))
    if target.inject_version:
        result.append(Replacement("release version", markers.RELEASE_VERSION, release.payload.version))
    return result


def extract_tools(registries: Registries, release: ReleaseImage, targets: list[Target], as_archives: bool,
                  directory: Path) -> list[ExtractedTool]:
    """Write the client and installer binaries of a release into `directory`, pinned to the release.

    The installer gets the release's pullspec (by digest) and version written into its markers, so it
    installs exactly this release. With `as_archives`, each binary is packed as oc packs it, and
    release.txt and sha256sum.txt are written beside the archives.

    Args:
        registries: the registry clients to read the component images with.
        release: from `open_release`.
        targets, as_archives: from `select_targets(release, command, command_os)`.
        directory: where to write (created if missing).

    Raises:
        NotFound: an image lacks the binary.
        PayloadError: a pullspec or version does not fit the binary's marker.
        OkdReleaseError: any registry or layer failure (DigestMismatch, ...).
    """
    """Write each target's binary (or archive) into `directory`; the release version, which names the
    archives, is checked to be a file-name component before anything is written."""
    check_path_component(release.payload.version, "release version")
    directory.mkdir(parents=True, exist_ok=True)
    tags = {t.name: t for t in release.payload.image_references.tags}
    components: dict[str, ComponentImage] = {}
    results = []
    with tempfile.TemporaryDirectory(dir=directory, prefix=".okd-extract-") as scratch:
        work = Path(scratch)
        for target in targets:
            if target.image not in components:
                components[target.image] = resolve(registries, target.image, tags[target.image].pullspec)
            binary, missing = _find_file(components[target.image], target.path, work, _replacements(target, release))
            destination = _finish(target, binary, as_archives, directory, release.payload.version)
            results.append(ExtractedTool(target, destination, _sha256(destination), tuple(missing)))
    if as_archives:
        _write_checksums(directory, results, release)
    return results


def _finish(target: Target, binary: Path, as_archive: bool, directory: Path, version: str) -> Path:
    command = target.command + (".exe" if target.os == "windows" else "")
    if not as_archive:
        binary.chmod(0o755)
        destination = _in_directory(directory, command)
        os.replace(binary, destination)
        return destination
    destination = _in_directory(directory, target.archive.format(version))
    temporary = _in_directory(directory, f".partial-{destination.name}")
    if destination.name.endswith(".zip"):
        with zipfile.ZipFile(temporary, "w", zipfile.ZIP_DEFLATED) as archive:
            archive.writestr("README.md", target.readme)
            archive.write(binary, command)
    else:
        with tarfile.open(temporary, "w:gz") as archive:
            _add_bytes(archive, "README.md", target.readme.encode(), 0o644)
            info = archive.gettarinfo(str(binary), command)
            info.mode, info.uid, info.gid, info.uname, info.gname = 0o755, 0, 0, "", ""
            with open(binary, "rb") as handle:
                archive.addfile(info, handle)
            for link in target.link_to:
                hard = tarfile.TarInfo(link)
                hard.type, hard.linkname, hard.mode, hard.mtime = tarfile.LNKTYPE, command, 0o755, info.mtime
                archive.addfile(hard)
    os.replace(temporary, destination)
    binary.unlink()
    return destination


def _in_directory(directory: Path, name: str) -> Path:
    """`directory/name`, with `name` one file-name component and the result under `directory` once resolved."""
    return inside(directory, directory / check_path_component(name), "the target directory")


def _add_bytes(archive: tarfile.TarFile, name: str, data: bytes, mode: int) -> None:
    info = tarfile.TarInfo(name)
    info.size, info.mode = len(data), mode
    archive.addfile(info, io.BytesIO(data))


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(COPY_BUFFER):
            digest.update(chunk)
    return digest.hexdigest()


def _write_checksums(directory: Path, results: list[ExtractedTool], release: ReleaseImage) -> None:
    release_text = (f"Name:      {release.payload.version}\nDigest:    {release.digest}\n"
                    f"Pull From: {release.pullspec}\n").encode()
    atomic_write(_in_directory(directory, "release.txt"), [release_text])
    lines = [f"{r.sha256}  {r.path.name}\n" for r in results]
    lines.append(f"{hashlib.sha256(release_text).hexdigest()}  release.txt\n")
    atomic_write(_in_directory(directory, "sha256sum.txt"), ["".join(sorted(lines, key=lambda line: line.split()[1])).encode()])
