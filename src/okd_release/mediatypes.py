"""Media types of the image world, shared by the registry client and the image model."""

DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
DOCKER_MANIFEST_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
DOCKER_CONFIG = "application/vnd.docker.container.image.v1+json"
DOCKER_LAYER = "application/vnd.docker.image.rootfs.diff.tar.gzip"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
OCI_LAYER = "application/vnd.oci.image.layer.v1.tar+gzip"
OCI_LAYER_UNCOMPRESSED = "application/vnd.oci.image.layer.v1.tar"

IMAGE_MANIFESTS = frozenset({DOCKER_MANIFEST, OCI_MANIFEST})
INDEXES = frozenset({DOCKER_MANIFEST_LIST, OCI_INDEX})
ALL_MANIFESTS = (DOCKER_MANIFEST_LIST, OCI_INDEX, DOCKER_MANIFEST, OCI_MANIFEST)


def sniff(data: bytes) -> str | None:
    """The media type a manifest declares or implies by its shape; None if it is no manifest."""
    import json

    try:
        document = json.loads(data)
    except ValueError:
        return None
    if not isinstance(document, dict):
        return None
    declared = document.get("mediaType")
    if declared in ALL_MANIFESTS:
        return str(declared)
    if isinstance(document.get("manifests"), list):
        return OCI_INDEX
    if isinstance(document.get("layers"), list):
        return OCI_MANIFEST
    return None
