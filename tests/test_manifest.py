"""Manifest parsing: exact bytes kept, digests of bytes, and any input either parses or fails cleanly."""

from __future__ import annotations

import contextlib
import json

from hypothesis import given
from hypothesis import strategies as st

from okd_release import digest as digests
from okd_release import mediatypes
from okd_release.content import Descriptor, Platform, RawManifest
from okd_release.errors import ManifestError
from okd_release.image import manifest as manifests
from okd_release.image.manifest import build_image_manifest, build_index

DIGEST = st.text("0123456789abcdef", min_size=64, max_size=64).map(lambda h: "sha256:" + h)
descriptor = st.builds(Descriptor, st.sampled_from([mediatypes.DOCKER_LAYER, mediatypes.OCI_LAYER]), DIGEST,
                       st.integers(0, 2**40))


@given(descriptor, st.lists(descriptor, max_size=8))
def test_built_manifest_round_trips_with_digest_of_exact_bytes(config, layers) -> None:
    built = build_image_manifest(config, layers)
    parsed = manifests.parse(built.raw)
    assert parsed.digest == digests.of(built.raw.data)
    assert parsed.config == config and list(parsed.layers) == layers


@given(st.lists(st.tuples(descriptor, st.sampled_from(["linux/amd64", "linux/arm64", "linux/s390x"])), max_size=5))
def test_built_index_round_trips(entries) -> None:
    index = build_index([Descriptor(d.media_type, d.digest, d.size, Platform.parse(p)) for d, p in entries])
    parsed = manifests.parse(index.raw)
    assert [str(e.platform) for e in parsed.manifests] == [p for _, p in entries]


json_values = st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=20),
                           lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4),
                           max_leaves=20)


@given(json_values, st.sampled_from(mediatypes.ALL_MANIFESTS))
def test_arbitrary_json_parses_or_raises_manifest_error(document, media_type) -> None:
    data = json.dumps(document).encode()
    try:
        manifests.parse(RawManifest(data, media_type, digests.of(data)))
    except ManifestError as error:
        assert str(error)


@given(st.binary(max_size=200))
def test_arbitrary_bytes_parse_or_raise_manifest_error(data) -> None:
    with contextlib.suppress(ManifestError):
        manifests.parse(RawManifest(data, mediatypes.DOCKER_MANIFEST, digests.of(data)))


def test_exact_bytes_are_kept_even_when_json_would_reserialise_differently() -> None:
    data = b'{"schemaVersion":2,  "mediaType":"application/vnd.oci.image.manifest.v1+json","config":' \
           b'{"mediaType":"x","digest":"sha256:' + b"a" * 64 + b'","size":1},"layers":[]}'
    parsed = manifests.parse(RawManifest(data, mediatypes.OCI_MANIFEST, digests.of(data)))
    assert parsed.raw.data == data and parsed.digest == digests.of(data)
