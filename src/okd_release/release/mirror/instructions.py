"""Mirror configuration for clusters, as oc prints it: the install-config snippet and an
ImageContentSourcePolicy (icsp) or ImageDigestMirrorSet (idms)."""

from __future__ import annotations

import yaml
from msgspec import Struct

KINDS = ("icsp", "idms", "none")


class MirrorSource(Struct, frozen=True):
    """A source repository and the mirrors that serve it (one entry of an ImageDigestMirrorSet)."""

    source: str
    mirrors: tuple[str, ...]


def mirror_sources(sources: set[str], mirrors: list[str]) -> list[MirrorSource]:
    """Each source repository, sorted, served by every mirror repository (oc's `--to`, `--to-release-image`)."""
    unique = tuple(dict.fromkeys(mirrors))
    return [MirrorSource(source, unique) for source in sorted(sources)] if unique else []


def _entries(sources: list[MirrorSource]) -> list[dict[str, object]]:
    return [{"mirrors": list(s.mirrors), "source": s.source} for s in sources]


def install_config(sources: list[MirrorSource], kind: str) -> str:
    key = "imageDigestSources" if kind == "idms" else "imageContentSources"
    return yaml.safe_dump({key: _entries(sources)}, sort_keys=False)


def cluster_resource(sources: list[MirrorSource], kind: str) -> str:
    if kind == "idms":
        document = {"apiVersion": "config.openshift.io/v1", "kind": "ImageDigestMirrorSet",
                    "metadata": {"name": "example"}, "spec": {"imageDigestMirrors": _entries(sources)}}
    else:
        document = {"apiVersion": "operator.openshift.io/v1alpha1", "kind": "ImageContentSourcePolicy",
                    "metadata": {"name": "example"}, "spec": {"repositoryDigestMirrors": _entries(sources)}}
    return yaml.safe_dump(document, sort_keys=False)


def instructions_text(sources: list[MirrorSource], kind: str) -> str:
    if kind == "none" or not sources:
        return ""
    name = "ImageDigestMirrorSet" if kind == "idms" else "ImageContentSourcePolicy"
    return (
        "\nTo use the new mirrored repository to install, add the following section to the install-config.yaml:\n\n"
        + install_config(sources, kind)
        + f"\n\nTo use the new mirrored repository for upgrades, use the following to create an {name}:\n\n"
        + cluster_resource(sources, kind)
    )
