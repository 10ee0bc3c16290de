"""Reading what the CLI produced, with the library, for assertions."""

from __future__ import annotations

from okd_release.content import RawManifest
from okd_release.image.manifest import ImageIndex
from okd_release.registry import Registries, RegistryOptions
from okd_release.registry.credentials import CredentialStore
from okd_release.release.payload.source import ReleaseImage, open_release


def read_release(pullspec: str) -> ReleaseImage:
    with Registries(RegistryOptions(insecure=True), CredentialStore()) as registries:
        return open_release(registries, pullspec)


def push_multi_arch_release(registries: Registries, sample_release, tag: str) -> tuple[ImageIndex, RawManifest, RawManifest]:
    """A manifest list of the sample release (as linux/amd64) and a rebuilt `4.15.0-arm` (as linux/arm64)."""
    from okd_release.content import Descriptor, Platform
    from okd_release.image.manifest import build_index
    from okd_release.stores import RegistryStore
    from tests.conftest import pushed_release, run_cli

    arm_tag = f"{sample_release.host}/okd/release:{tag}-arm"
    arm = pushed_release(run_cli("new", "--insecure", "--from-release", sample_release.release, "--name", "4.15.0-arm",
                                 "--to-image", arm_tag), arm_tag)
    store = RegistryStore(registries.client(sample_release.host))
    amd_raw = store.get_manifest("okd/release", sample_release.digest)
    arm_raw = store.get_manifest("okd/release", arm.split("@")[1])
    index = build_index([
        Descriptor(amd_raw.media_type, amd_raw.digest, len(amd_raw.data), Platform("linux", "amd64")),
        Descriptor(arm_raw.media_type, arm_raw.digest, len(arm_raw.data), Platform("linux", "arm64")),
    ])
    store.put_manifest("okd/release", tag, index.raw)
    return index, amd_raw, arm_raw


def build_sample_release(registries: Registries, host: str, prefix: str, directory, layer_mb: int = 0) -> str:
    """Push a sample to `host/<prefix>/content` and build its release as `<prefix>/release:1`; its pullspec."""
    from okd_release.stores import RegistryStore
    from okd_release.testing.sample import push_sample, write_image_stream
    from tests.conftest import pushed_release, run_cli

    sample = push_sample(RegistryStore(registries.client(host)), f"{prefix}/content", layer_mb=layer_mb)
    write_image_stream(sample.stream, directory / "stream.json")
    target = f"{host}/{prefix}/release:1"
    return pushed_release(run_cli("new", "--insecure", "-f", str(directory / "stream.json"), "--to-image", target), target)
