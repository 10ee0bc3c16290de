"""`extract --tools/--command`: the client and installer binaries, pinned to the release they came from.

The targets follow openshift/oc extract_tools.go: which image holds which binary for which OS and
architecture, which markers are injected, how archives are named, and what they hold: oc's README, the
binary and a `kubectl` hard link, every member with the binary's mode bits and mtime, laid out as Go's
archive/tar writes them (the gzip or zip compression is zlib's, so the compressed bytes differ from oc's).
"""

from __future__ import annotations

import gzip
import hashlib
import os
import platform as host_platform
import struct
import tarfile
import tempfile
import time
import zipfile
from collections.abc import Callable
from pathlib import Path

from msgspec import Struct
from msgspec.structs import replace

from okd_release.content import Descriptor
from okd_release.errors import ConfigError, DigestMismatch, NotFound, PayloadError
from okd_release.image import gotar
from okd_release.image.disk import atomic_write, inside
from okd_release.image.layer import COPY_BUFFER, layer_tar, normalise
from okd_release.names import check_path_component
from okd_release.registry.session import Registries
from okd_release.release.extract import markers
from okd_release.release.extract.pin import Replacement, pin
from okd_release.release.payload.components import ComponentManifest, resolve_manifest
from okd_release.release.payload.source import ReleaseImage

RELEASE_ARCH = "release-arch"
ARCHIVE_GZIP_LEVEL = 3  # oc's gzip.NewWriterLevel(w, 3)

# The README each archive holds: oc's texts (extract_tools.go), word for word, so that archives match oc's.
README_INSTALLER = """# OpenShift Install

The OpenShift installer `openshift-install` makes it easy to get a cluster
running on the public cloud or your local infrastructure.

To learn more about installing OpenShift, visit [docs.openshift.com](https://docs.openshift.com)
and select the version of OpenShift you are using.

## Installing the tools

After extracting this archive, you can move the `openshift-install` binary
to a location on your PATH such as `/usr/local/bin`, or keep it in a temporary
directory and reference it via `./openshift-install`.

## License

OpenShift is licensed under the Apache Public License 2.0. The source code for this
program is [located on github](https://github.com/openshift/installer).
"""
README_CLIENT = """# OpenShift Clients

The OpenShift client `oc` simplifies working with Kubernetes and OpenShift
clusters, offering a number of advantages over `kubectl` such as easy login,
kube config file management, and access to developer tools. The `kubectl`
binary is included alongside for when strict Kubernetes compliance is necessary.

To learn more about OpenShift, visit [docs.openshift.com](https://docs.openshift.com)
and select the version of OpenShift you are using.

## Installing the tools

After extracting this archive, move the `oc` and `kubectl` binaries
to a location on your PATH such as `/usr/local/bin`. Then run:

    oc login [API_URL]

to start a session against an OpenShift cluster. After login, run `oc` and
`oc help` to learn more about how to get started with OpenShift.

## License

OpenShift is licensed under the Apache Public License 2.0. The source code for this
program is [located on github](https://github.com/openshift/oc).
"""
README_CLIENT_WINDOWS = """# OpenShift Clients

The OpenShift client `oc.exe` simplifies working with Kubernetes and OpenShift
clusters, offering a number of advantages over `kubectl.exe` such as easy login,
kube config file management, and access to developer tools.

To learn more about OpenShift, visit [docs.openshift.com](https://docs.openshift.com)
and select the version of OpenShift you are using.

## Installing the tools

After extracting this archive, move the `oc.exe` binary\tto a location on your
PATH. Then run:

    oc login [API_URL]

to start a session against an OpenShift cluster. After login, run `oc.exe` and
`oc.exe help` to learn more about how to get started with OpenShift.

If you would like to use `kubectl.exe` instead, copy the `oc.exe` file
and rename it to `kubectl.exe`. The interface will follow the conventions of that
CLI.

## License

OpenShift is licensed under the Apache Public License 2.0. The source code for this
program is [located on github](https://github.com/openshift/oc).
"""
README_CCOCTL = """# Cloud Credential Operator utility

The ccoctl tool provides various commands to assist with the creating and maintenance of
cloud credentials from outside the cluster (necessary when CCO is put in "Manual" mode).

To learn more about OpenShift, visit [docs.openshift.com](https://docs.openshift.com)
and select the version of OpenShift you are using.

## Installing the tools

After extracting this archive, move the `ccoctl` binary to a location on your
PATH such as `/usr/local/bin`, or keep it in a temporary directory and
reference it via `./ccoctl`.

## License

OpenShift is licensed under the Apache Public License 2.0. The source code for this
program is [located on github](https://github.com/openshift/cloud-credential-operator).
"""
RELEASE_TEXT_HEADER = """Client tools for OpenShift
--------------------------

These archives contain the client tooling for [OpenShift](https://docs.openshift.com).

To verify the contents of this directory, use the 'gpg' and 'shasum' tools to
ensure the archives you have downloaded match those published from this location.

The openshift-install binary has been preconfigured to install the following release:

---

"""


class Target(Struct, frozen=True):
    """One binary oc knows how to extract: where it lives, what it is called, and how it is packed."""

    os: str
    arch: str
    command: str
    image: str
    path: str
    archive: str
    readme: str
    inject_image: bool = False
    inject_version: bool = True
    inject_architecture: bool = False
    link_to: tuple[str, ...] = ()
    optional: bool = False
    new_arch: bool = False
    name: str = ""  # the binary's name when it differs from `command` (oc.rhel9 is written as oc)

    @property
    def binary(self) -> str:
        return self.name or self.command


def _client(os_: str, arch: str, image: str, path: str, archive: str, new_arch: bool = False,
            command: str = "oc") -> Target:
    windows = os_ == "windows"
    return Target(os_, arch, command, image, path, archive, README_CLIENT_WINDOWS if windows else README_CLIENT,
                  link_to=() if windows else ("kubectl",), new_arch=new_arch, name="oc" if command != "oc" else "")


def _installer(os_: str, arch: str, image: str, path: str, archive: str, new_arch: bool = False,
               command: str = "openshift-install", optional: bool = False) -> Target:
    return Target(os_, arch, command, image, path, archive, README_INSTALLER, inject_image=True,
                  inject_architecture=True, optional=optional, new_arch=new_arch)


def _ccoctl(command: str, path: str, archive: str) -> Target:
    return Target("linux", RELEASE_ARCH, command, "cloud-credential-operator", path, archive, README_CCOCTL,
                  inject_version=False, new_arch=True, name="ccoctl" if command != "ccoctl" else "")


_SHARE = "usr/share/openshift"
# oc's availableTargets, in its order (the order of sha256sum.txt does not depend on it: it is sorted)
TARGETS: tuple[Target, ...] = (
    _client("darwin", "amd64", "cli-artifacts", f"{_SHARE}/mac/oc", "openshift-client-mac-{}.tar.gz"),
    _client("darwin", "arm64", "cli-artifacts", f"{_SHARE}/mac_arm64/oc", "openshift-client-mac-arm64-{}.tar.gz", True),
    _client("linux", RELEASE_ARCH, "cli", "usr/bin/oc", "openshift-client-linux-{}.tar.gz"),
    _client("linux", "amd64", "cli-artifacts", f"{_SHARE}/linux_amd64/oc", "openshift-client-linux-amd64-{}.tar.gz"),
    _client("linux", "amd64", "cli-artifacts", f"{_SHARE}/linux_amd64/oc.rhel9",
            "openshift-client-linux-amd64-rhel9-{}.tar.gz", command="oc.rhel9"),
    _client("linux", "amd64", "cli-artifacts", f"{_SHARE}/linux_amd64/oc.rhel8",
            "openshift-client-linux-amd64-rhel8-{}.tar.gz", command="oc.rhel8"),
    _client("linux", "arm64", "cli-artifacts", f"{_SHARE}/linux_arm64/oc", "openshift-client-linux-arm64-{}.tar.gz", True),
    _client("linux", "arm64", "cli-artifacts", f"{_SHARE}/linux_arm64/oc.rhel9",
            "openshift-client-linux-arm64-rhel9-{}.tar.gz", True, "oc.rhel9"),
    _client("linux", "arm64", "cli-artifacts", f"{_SHARE}/linux_arm64/oc.rhel8",
            "openshift-client-linux-arm64-rhel8-{}.tar.gz", True, "oc.rhel8"),
    _client("linux", "ppc64le", "cli-artifacts", f"{_SHARE}/linux_ppc64le/oc", "openshift-client-linux-ppc64le-{}.tar.gz",
            True),
    _client("linux", "ppc64le", "cli-artifacts", f"{_SHARE}/linux_ppc64le/oc.rhel9",
            "openshift-client-linux-ppc64le-rhel9-{}.tar.gz", True, "oc.rhel9"),
    _client("linux", "ppc64le", "cli-artifacts", f"{_SHARE}/linux_ppc64le/oc.rhel8",
            "openshift-client-linux-ppc64le-rhel8-{}.tar.gz", True, "oc.rhel8"),
    _client("linux", "s390x", "cli-artifacts", f"{_SHARE}/linux_s390x/oc.rhel9",
            "openshift-client-linux-s390x-rhel9-{}.tar.gz", True, "oc.rhel9"),
    _client("linux", "s390x", "cli-artifacts", f"{_SHARE}/linux_s390x/oc.rhel8",
            "openshift-client-linux-s390x-rhel8-{}.tar.gz", True, "oc.rhel8"),
    _client("windows", "amd64", "cli-artifacts", f"{_SHARE}/windows/oc.exe", "openshift-client-windows-{}.zip"),
    _installer("darwin", "amd64", "installer-artifacts", f"{_SHARE}/mac/openshift-install",
               "openshift-install-mac-{}.tar.gz"),
    _installer("darwin", "arm64", "installer-artifacts", f"{_SHARE}/mac_arm64/openshift-install",
               "openshift-install-mac-arm64-{}.tar.gz", True),
    _installer("linux", RELEASE_ARCH, "installer", "usr/bin/openshift-install", "openshift-install-linux-{}.tar.gz"),
    _installer("linux", "amd64", "installer-artifacts", f"{_SHARE}/linux_amd64/openshift-install",
               "openshift-install-linux-amd64-{}.tar.gz", True),
    _installer("linux", "arm64", "installer-artifacts", f"{_SHARE}/linux_arm64/openshift-install",
               "openshift-install-linux-arm64-{}.tar.gz", True),
    _installer("linux", RELEASE_ARCH, "baremetal-installer", "usr/bin/openshift-install",
               "openshift-baremetal-install-linux-{}.tar.gz", command="openshift-baremetal-install", optional=True),
    _installer("linux", RELEASE_ARCH, "baremetal-installer", "usr/bin/openshift-install",
               "openshift-install-rhel-{}.tar.gz", command="openshift-install-fips", optional=True),
    _ccoctl("ccoctl", "usr/bin/ccoctl", "ccoctl-linux-{}.tar.gz"),
    _ccoctl("ccoctl.rhel8", "usr/bin/ccoctl.rhel8", "ccoctl-linux-rhel8-{}.tar.gz"),
    _ccoctl("ccoctl.rhel9", "usr/bin/ccoctl.rhel9", "ccoctl-linux-rhel9-{}.tar.gz"),
)
COMMANDS = sorted({t.command for t in TARGETS})


def host_os_arch() -> tuple[str, str]:
    """This machine's OS and architecture as Go names them (runtime.GOOS, runtime.GOARCH): oc's default."""
    system = {"Linux": "linux", "Darwin": "darwin", "Windows": "windows"}.get(host_platform.system(), "linux")
    machine = {"x86_64": "amd64", "AMD64": "amd64", "aarch64": "arm64", "arm64": "arm64", "ppc64le": "ppc64le",
               "s390x": "s390x"}.get(host_platform.machine(), "amd64")
    return system, machine


def parse_command_os(value: str | None) -> tuple[str, str]:
    """oc's --command-os: `linux`, `mac`, `windows`, `linux/arm64`, `mac/arm64`, `*` for all; none: this machine."""
    if not value:
        return host_os_arch()
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
    """The targets to extract, and whether they are written as archives (oc: --tools, or --command-os='*').

    Without --command-os, this machine's OS and architecture, as oc defaults to (for --tools too).
    """
    if command and command not in COMMANDS:
        raise ConfigError(f"unknown command {command!r}: the supported commands are {', '.join(COMMANDS)}")
    os_, arch = parse_command_os(command_os)
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
            continue  # oc fails on a new-arch target whose image is absent (ccoctl); we leave it out
        chosen.append(resolved)
    if not chosen:
        what = f"command {command!r}" if command else "tools"
        shown = "all platforms" if os_ == "*" else f"{'mac' if os_ == 'darwin' else os_}/{arch}"
        if missing:
            raise PayloadError(f"release {release.payload.version} has no {', '.join(sorted(missing))} image, needed for {what}")
        raise PayloadError(f"release {release.payload.version} does not ship {what} for {shown}")
    return chosen, (not command) or command_os == "*"


class ExtractedTool(Struct, frozen=True):
    """A binary (or archive) `extract_tools` wrote: what it is, where, its sha256, and markers it lacked."""

    target: Target
    path: Path
    sha256: str
    missing_markers: tuple[str, ...]


class _Found(Struct, frozen=True):
    path: Path  # the pinned binary, in the scratch directory
    size: int
    mtime: int
    missing_markers: list[str]


def _find_file(component: ComponentManifest, path: str, work: Path, replacements: list[Replacement]) -> _Found | None:
    """Stream layers from the top down until one holds `path`; pin it into a temporary file (None: no layer has it)."""
    repository = component.reference.repository
    for layer in reversed(component.image.layers):
        what = f"layer {layer.digest} of image {component.name}"

        def read(layer: Descriptor = layer, what: str = what) -> _Found | None:
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
    return None


def _write_pinned(tar: tarfile.TarFile, member: tarfile.TarInfo, work: Path, replacements: list[Replacement]) -> _Found:
    handle = tar.extractfile(member)
    assert handle is not None
    stream, pinner = pin(iter(lambda: handle.read(COPY_BUFFER), b""), replacements)
    descriptor, name = tempfile.mkstemp(dir=work, prefix=".tool-")
    size = 0
    with os.fdopen(descriptor, "wb") as out:
        for chunk in stream:
            out.write(chunk)
            size += len(chunk)
    return _Found(Path(name), size, int(member.mtime), pinner.missing)


def _platform_text(release: ReleaseImage) -> str:
    schema = release.config.schema if release.config else None
    text = f"{(schema.os if schema else '') or 'unknown'}/{(schema.architecture if schema else '') or 'unknown'}"
    return f"multi ({text})" if release.index else text


def _replacements(target: Target, release: ReleaseImage) -> list[Replacement]:
    result = []
    if target.inject_image:
        result.append(Replacement("release image", markers.RELEASE_IMAGE, release.pullspec))
    if target.inject_version:
        result.append(Replacement("release version", markers.RELEASE_VERSION, release.payload.version))
    if target.inject_architecture:
        result.append(Replacement("release architecture", markers.RELEASE_ARCHITECTURE, _platform_text(release)))
    return result


def extract_tools(registries: Registries, release: ReleaseImage, targets: list[Target], as_archives: bool,
                  directory: Path, release_text: str | Callable[[], str] | None = None) -> list[ExtractedTool]:
    """Write the client and installer binaries of a release into `directory`, pinned to the release.

    The installer gets the release's pullspec (by digest), version and platform written into its markers,
    so it installs exactly this release. With `as_archives`, each binary is packed as oc packs it, and
    release.txt (`RELEASE_TEXT_HEADER` and `release_text`: the release described as `info --pullspecs`
    prints it) and sha256sum.txt are written beside the archives.

    Args:
        registries: the registry clients to read the component images with.
        release: from `open_release`.
        targets, as_archives: from `select_targets(release, command, command_os)`.
        directory: where to write (created if missing). The release version, which names the archives, is
            checked to be a file-name component before anything is written.
        release_text: the description for release.txt (or a function giving it); None: name, digest and pullspec.

    Raises:
        NotFound: an image lacks the binary (a binary oc also tolerates missing, such as the RHEL 8 and 9
            builds or those of newer architectures, is left out).
        PayloadError: a pullspec or version does not fit the binary's marker.
        OkdReleaseError: any registry or layer failure (DigestMismatch, ...).
    """
    check_path_component(release.payload.version, "release version")
    directory.mkdir(parents=True, exist_ok=True)
    tags = {t.name: t for t in release.payload.image_references.tags}
    components: dict[str, ComponentManifest] = {}  # only layers are read: no config is asked for
    results = []
    absent: list[str] = []
    with tempfile.TemporaryDirectory(dir=directory, prefix=".okd-extract-") as scratch:
        work = Path(scratch)
        for target in targets:
            if target.image not in components:
                components[target.image] = resolve_manifest(registries, target.image, tags[target.image].pullspec)
            found = _find_file(components[target.image], target.path, work, _replacements(target, release))
            if found is None:
                # oc: a missing new-arch binary, or a RHEL build when all tools are asked for, is no error
                if not target.new_arch and not (as_archives and ".rhel" in target.path):
                    absent.append(target.path)
                continue
            destination = _finish(target, found, as_archives, directory, release.payload.version)
            results.append(ExtractedTool(target, destination, _sha256(destination), tuple(found.missing_markers)))
    if absent:
        if len(absent) == 1:
            raise NotFound(f"image {tags[_image_of(absent[0], targets)].pullspec} did not contain /{absent[0]}")
        raise NotFound(f"unable to find multiple files: {', '.join(sorted(absent))}")
    if as_archives:
        text = release_text() if callable(release_text) else release_text
        _write_checksums(directory, results, release, text)
    return results


def _image_of(path: str, targets: list[Target]) -> str:
    return next(t.image for t in targets if t.path == path)


def _finish(target: Target, found: _Found, as_archive: bool, directory: Path, version: str) -> Path:
    if not as_archive:
        os.chmod(found.path, 0o755)
        destination = _in_directory(directory, target.binary)
        os.utime(found.path, (found.mtime, found.mtime))
        os.replace(found.path, destination)
        return destination
    destination = _in_directory(directory, target.archive.format(version))
    temporary = _in_directory(directory, f".partial-{destination.name}")
    try:
        if destination.name.endswith(".zip"):
            _write_zip(temporary, target, found)
        else:
            _write_tar_gz(temporary, target, found)
        os.chmod(temporary, 0o755)  # oc creates archives as it creates binaries: 0755
        os.utime(temporary, (found.mtime, found.mtime))
        os.replace(temporary, destination)
    finally:
        temporary.unlink(missing_ok=True)
        found.path.unlink(missing_ok=True)
    return destination


def _write_tar_gz(path: Path, target: Target, found: _Found) -> None:
    """README.md (0644), the binary (0755) and its hard links, each with the binary's mtime, as Go writes a tar."""
    readme = target.readme.encode()
    with open(path, "wb") as raw, gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0,
                                               compresslevel=ARCHIVE_GZIP_LEVEL) as out:
        out.write(gotar.header("README.md", 0o644, len(readme), found.mtime, tarfile.REGTYPE))
        out.write(readme + gotar.padding(len(readme)))
        out.write(gotar.header(target.binary, 0o755, found.size, found.mtime, tarfile.REGTYPE))
        with open(found.path, "rb") as binary:
            while chunk := binary.read(COPY_BUFFER):
                out.write(chunk)
        out.write(gotar.padding(found.size))
        for link in target.link_to:
            out.write(gotar.header(link, 0o755, 0, found.mtime, tarfile.LNKTYPE, target.binary))
        out.write(gotar.TRAILER)


def _dos_date_time(mtime: int) -> tuple[int, int, int, int, int, int]:
    """Go's timeToMsDosTime, which wraps a year before 1980 around (1970 is written as 2098, as oc's zips show)."""
    moment = time.gmtime(mtime)
    packed = (moment.tm_mday + (moment.tm_mon << 5) + ((moment.tm_year - 1980) << 9)) & 0xFFFF
    return 1980 + (packed >> 9), (packed >> 5) & 15, packed & 31, moment.tm_hour, moment.tm_min, moment.tm_sec // 2 * 2


def _zip_info(name: str, mtime: int) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name, _dos_date_time(mtime))
    info.compress_type = zipfile.ZIP_DEFLATED
    info.create_system = 3
    info.external_attr = (0o100755 << 16)  # oc: SetMode(0755) for both entries
    info.extra = struct.pack("<HHBI", 0x5455, 5, 1, mtime & 0xFFFFFFFF)  # Go's extended timestamp
    return info


def _write_zip(path: Path, target: Target, found: _Found) -> None:
    """README.md with CRLF line ends and `<binary>.exe`, both 0755 and with the binary's mtime, as oc writes them."""
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr(_zip_info("README.md", found.mtime), target.readme.replace("\n", "\r\n"))
        with open(found.path, "rb") as binary, archive.open(_zip_info(target.binary + ".exe", found.mtime), "w") as out:
            while chunk := binary.read(COPY_BUFFER):
                out.write(chunk)


def _in_directory(directory: Path, name: str) -> Path:
    """`directory/name`, with `name` one file-name component and the result under `directory` once resolved."""
    return inside(directory, directory / check_path_component(name), "the target directory")


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(COPY_BUFFER):
            digest.update(chunk)
    return digest.hexdigest()


def _write_checksums(directory: Path, results: list[ExtractedTool], release: ReleaseImage, text: str | None) -> None:
    """release.txt, then sha256sum.txt: one line per archive and release.txt, in oc's order (its keys are the
    archives' paths as given, joined to --to, and the bare name release.txt, sorted as strings)."""
    if text is None:
        text = f"Name:      {release.payload.version}\nDigest:    {release.digest}\nPull From: {release.pullspec}\n"
    release_text = (RELEASE_TEXT_HEADER + text).encode()
    atomic_write(_in_directory(directory, "release.txt"), [release_text])
    keyed = [(os.path.normpath(os.path.join(str(directory), r.path.name)), r.sha256, r.path.name) for r in results]
    keyed.append(("release.txt", hashlib.sha256(release_text).hexdigest(), "release.txt"))
    lines = "".join(f"{sha}  {name}\n" for _, sha, name in sorted(keyed))
    atomic_write(_in_directory(directory, "sha256sum.txt"), [lines.encode()])
