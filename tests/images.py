"""Images made by tests: real layers built with the library and pushed to a real registry."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from okd_release.image.build import image_config, push_image
from okd_release.image.layer import LayerEntry, build_layer
from okd_release.image.manifest import ImageManifest
from okd_release.registry import Registries
from okd_release.stores import RegistryStore


def push_random_image(registries: Registries, host: str, repository: str, tag: str, layer_sizes: list[int],
                      labels: dict[str, str] | None = None, oci: bool = False) -> ImageManifest:
    directory = Path(tempfile.mkdtemp(prefix="okd-test-layers-"))
    layers = [
        build_layer([LayerEntry.file(f"data/file{index}", os.urandom(size))], directory, compresslevel=1)
        for index, size in enumerate(layer_sizes)
    ]
    config = image_config(layers, labels or {"test": repository}, "2024-01-01T00:00:00Z")
    store = RegistryStore(registries.client(host))
    manifest = push_image(store, repository, tag, layers, config, oci=oci)
    for layer in layers:
        layer.path.unlink()
    return manifest
