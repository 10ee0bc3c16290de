"""A realistic synthetic release: component images pushed to a registry, and an ImageStream naming them.

Deterministic: the same arguments give the same digests. It is the default input of the demo, the tests
and the benchmarks.
"""

from __future__ import annotations

import json
import random
import shutil
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from msgspec import Struct, field

from okd_release.image.build import image_config, push_image
from okd_release.image.layer import BuiltLayer, LayerEntry, build_layer
from okd_release.image.store import ImageStore
from okd_release.listener import ProgressListener, SilentProgress
from okd_release.release.extract import markers
from okd_release.release.payload.model import (
    ANNOTATION_COMMIT,
    ANNOTATION_DISPLAY_NAMES,
    ANNOTATION_REF,
    ANNOTATION_SOURCE,
    ANNOTATION_VERSIONS,
    LABEL_OPERATOR,
    ImageStream,
    ImageTag,
)

CREATED = "2024-01-01T00:00:00Z"
PLACEHOLDER = "quay.io/openshift/origin-{name}:latest"
KUBERNETES = "1.28.3"
MACHINE_OS = "39.20240101.3-0"  # oc requires component versions to be semantic versions
CLI_ARTIFACT_DIRS = {"linux_amd64": "oc", "linux_arm64": "oc", "mac": "oc", "mac_arm64": "oc", "windows": "oc.exe"}
INSTALLER_ARTIFACT_DIRS = ("linux_amd64", "linux_arm64", "mac", "mac_arm64")


class Component(Struct):
    name: str
    files: list[LayerEntry] = field(default_factory=list)
    labels: dict[str, str] = field(default_factory=dict)
    references: list[str] = field(default_factory=list)  # tags this operator's manifests name

    @property
    def operator(self) -> bool:
        return self.labels.get(LABEL_OPERATOR) == "true"


def fake_binary(kind: str, name: str, rng: random.Random, extra: bytes = b"") -> bytes:
    header = {"linux": b"\x7fELF\x02\x01\x01", "mac": b"\xcf\xfa\xed\xfe", "windows": b"MZ\x90\x00"}[kind]
    body = rng.randbytes(4096)
    return header + f"\x00{name} sample binary\x00".encode() + body[:2048] + extra + body[2048:]


def installer_binary(kind: str, rng: random.Random) -> bytes:
    return fake_binary(kind, "openshift-install", rng, markers.RELEASE_IMAGE + b"\x00gap\x00" + markers.RELEASE_VERSION)


def client_binary(kind: str, rng: random.Random) -> bytes:
    return fake_binary(kind, "oc", rng, markers.RELEASE_VERSION)


def _manifest(component: str, kind: str, name: str, images: list[str]) -> bytes:
    lines = [
        "apiVersion: apps/v1" if kind == "Deployment" else "apiVersion: v1",
        f"kind: {kind}",
        "metadata:",
        f"  name: {name}",
        f"  namespace: openshift-{component}",
        "  annotations:",
        "    include.release.openshift.io/self-managed-high-availability: \"true\"",
        "    release.openshift.io/version: 0.0.1-snapshot",
    ]
    if images:
        lines += ["spec:", "  template:", "    spec:", "      containers:"]
        for index, image in enumerate(images):
            lines += [f"      - name: c{index}", f"        image: {image}"]
    return ("\n".join(lines) + "\n").encode()


def _placeholder_references(references: list[str]) -> bytes:
    """An operator's image-references naming its placeholders (written as before, so that the sample's
    digests, which the recorded goldens name, stay the same)."""
    tags = [{"name": ref, "from": {"kind": "DockerImage", "name": PLACEHOLDER.format(name=ref)}} for ref in references]
    document = {"kind": "ImageStream", "apiVersion": "image.openshift.io/v1",
                "metadata": {"name": "", "creationTimestamp": None},
                "spec": {"lookupPolicy": {"local": False}, "tags": tags}}
    return (json.dumps(document, indent=2) + "\n").encode()


def _operator_files(component: Component) -> list[LayerEntry]:
    placeholders = [PLACEHOLDER.format(name=ref) for ref in component.references]
    files = [
        LayerEntry.directory("manifests/"),
        LayerEntry.file("manifests/image-references", _placeholder_references(component.references)),
        LayerEntry.file(f"manifests/0000_50_{component.name}_00_namespace.yaml",
                        _manifest(component.name, "Namespace", f"openshift-{component.name}", [])),
        LayerEntry.file(f"manifests/0000_50_{component.name}_05_deployment.yaml",
                        _manifest(component.name, "Deployment", component.name, placeholders)),
        LayerEntry.file("manifests/README.md", b"not a manifest: copied into the payload as it is, like every file here\n"),
    ]
    if component.name == "console-operator":
        # not named 0000_*: `new` renames it 0000_50_<tag>_<file>
        files.append(LayerEntry.file("manifests/console-config.yaml", _manifest(
            component.name, "ConfigMap", "console-config", [PLACEHOLDER.format(name="console") + "@sha256:" + "0" * 64])))
    if component.name == "cluster-kube-apiserver-operator":
        files.append(LayerEntry.file(
            "manifests/0000_20_kube-apiserver-operator_07_version.yaml",
            b"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: versions\ndata:\n"
            b"  release: 0.0.1-snapshot\n  kubernetes: 0.0.1-snapshot-kubernetes\n",
        ))
    return files


def _operator(name: str, *references: str, files: list[LayerEntry] | None = None) -> Component:
    return Component(name, files or [], {LABEL_OPERATOR: "true"}, [name, *references])


def _program(name: str, path: str, rng: random.Random, labels: dict[str, str] | None = None) -> Component:
    return Component(name, [LayerEntry.file(path, fake_binary("linux", name, rng), 0o755)], labels or {})


def components(images: int) -> list[Component]:
    """The sample's components; `images` above the core set adds numbered filler components."""
    rng = random.Random("okd-release-sample-binaries")
    tools = ["cli", "cli-artifacts", "installer", "installer-artifacts", "hyperkube", "machine-os-content"]
    cvo_binary = LayerEntry.file("usr/bin/cluster-version-operator", fake_binary("linux", "cvo", rng), 0o755)
    core = [
        _operator("cluster-version-operator", *tools, files=[cvo_binary]),
        _operator("cluster-monitoring-operator", "prometheus", "prometheus-operator"),
        _operator("cluster-kube-apiserver-operator", "hyperkube"),
        _operator("machine-config-operator", "machine-os-content"),
        _operator("console-operator", "console"),
        _operator("cluster-network-operator"),
        _program("prometheus", "bin/prometheus", rng),
        _program("prometheus-operator", "bin/operator", rng),
        _program("console", "opt/bridge/bin/bridge", rng),
        _program("hyperkube", "usr/bin/hyperkube", rng, {ANNOTATION_VERSIONS: f"kubernetes={KUBERNETES},kubectl={KUBERNETES}"}),
        Component("machine-os-content", [LayerEntry.file("srv/repo/README", b"machine-os content\n")],
                  {ANNOTATION_VERSIONS: f"machine-os={MACHINE_OS}", ANNOTATION_DISPLAY_NAMES: "machine-os=Fedora CoreOS"}),
        Component("cli", [LayerEntry.file("usr/bin/oc", client_binary("linux", rng), 0o755)]),
        Component("cli-artifacts", [
            LayerEntry.file(f"usr/share/openshift/{d}/{n}", client_binary(d.split("_")[0], rng), 0o755)
            for d, n in CLI_ARTIFACT_DIRS.items()
        ]),
        Component("installer", [LayerEntry.file("usr/bin/openshift-install", installer_binary("linux", rng), 0o755)]),
        Component("installer-artifacts", [
            LayerEntry.file(f"usr/share/openshift/{d}/openshift-install", installer_binary(d.split("_")[0], rng), 0o755)
            for d in INSTALLER_ARTIFACT_DIRS
        ]),
    ]
    extras = [f"component-{index:03d}" for index in range(max(0, images - len(core) - 1))]
    if extras:
        core.append(_operator("sample-extras-operator", *extras))
        core.extend(_program(name, f"usr/bin/{name}", rng) for name in extras)
    for component in core:
        component.labels.update({
            ANNOTATION_COMMIT: random.Random(component.name).randbytes(20).hex(),
            ANNOTATION_REF: "release-4.15",
            ANNOTATION_SOURCE: f"https://github.com/openshift/{component.name}",
            "vcs-type": "git",
            "vcs-url": f"https://github.com/openshift/{component.name}",
            "io.openshift.build.name": f"{component.name}-build",
            "io.k8s.display-name": component.name,
        })
        component.labels["vcs-ref"] = component.labels[ANNOTATION_COMMIT]
        if component.operator:
            component.files = _operator_files(component) + component.files
    return core


class Sample(Struct, frozen=True):
    stream: ImageStream
    repository: str


def _base_layer(directory: Path, size_kb: int) -> BuiltLayer:
    rng = random.Random("okd-release-sample-base")
    entries = [
        LayerEntry.directory("etc/"), LayerEntry.file("etc/os-release", b'NAME="Sample OS"\nID=sample\nVERSION_ID="9"\n'),
        LayerEntry.directory("usr/"), LayerEntry.directory("usr/lib/"),
        LayerEntry.file("usr/lib/libsample.so", rng.randbytes(size_kb * 1024)),
    ]
    return build_layer(entries, directory, compresslevel=1)


def _component_layer(component: Component, directory: Path, layer_mb: int) -> BuiltLayer:
    entries = list(component.files)
    if layer_mb:
        rng = random.Random(f"okd-release-sample-filler-{component.name}")
        filler = directory / f"{component.name}.filler"
        with open(filler, "wb") as handle:
            for _ in range(layer_mb):
                handle.write(rng.randbytes(1 << 20))
        entries.append(LayerEntry(f"usr/share/{component.name}/data.bin", source=filler))
    layer = build_layer(entries, directory, compresslevel=0 if layer_mb else 6)
    if layer_mb:
        filler.unlink()
    return layer


def push_sample(store: ImageStore, repository: str, images: int = 0, layer_mb: int = 0, base_kb: int = 256,
                workers: int = 4, version: str = "4.15.0-0.okd-sample", progress: ProgressListener | None = None) -> Sample:
    """Push every component as `repository:<name>` and return the ImageStream naming them by digest."""
    work = Path(tempfile.mkdtemp(prefix="okd-sample-"))
    try:
        base = _base_layer(work, base_kb)
        selected = components(images)
        listener = progress or SilentProgress()
        listener.planned(len(selected), 0, 0)

        def push(component: Component) -> ImageTag:
            layer = _component_layer(component, work, layer_mb)
            config = image_config([base, layer], component.labels, CREATED)
            manifest = push_image(store, repository, component.name, [base, layer], config)
            layer.path.unlink()
            listener.image_done(component.name, True)
            return ImageTag(component.name, f"{store.reference_name(repository)}@{manifest.digest}")

        with ThreadPoolExecutor(max_workers=workers) as pool:
            tags = list(pool.map(push, selected))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return Sample(ImageStream(version, tuple(sorted(tags, key=lambda t: t.name))), repository)


def write_image_stream(stream: ImageStream, path: Path) -> None:
    """Write the ImageStream for `new -f`, with the `status.publicDockerImageRepository` oc's default
    `--reference-mode=public` needs when every image lives in one repository."""
    document = stream.to_json()
    repositories = {tag.pullspec.split("@", 1)[0] for tag in stream.tags}
    if len(repositories) == 1:
        document["status"] = {"dockerImageRepository": "", "publicDockerImageRepository": repositories.pop()}
    path.write_text(json.dumps(document, indent=2) + "\n")
