"""Reading a payload holds each file once and each repeated value once, and reads every byte as it was."""

from __future__ import annotations

import gc
import io
import json
import random
import tarfile
from pathlib import Path

import pytest

from okd_release.errors import PayloadError
from okd_release.image.layer import LayerEntry, build_layer, read_files
from okd_release.release.payload.model import (
    ANNOTATION_COMMIT,
    ANNOTATION_REF,
    ANNOTATION_SOURCE,
    ImageStream,
)

DIGEST = "sha256:" + "a" * 64


def _rechunked(path: Path, sizes: list[int]) -> list[bytes]:
    data, chunks, at = path.read_bytes(), [], 0
    while at < len(data):
        size = sizes[len(chunks) % len(sizes)]
        chunks.append(data[at:at + size])
        at += size
    return chunks


@pytest.mark.parametrize("compressed", [True, False])
def test_read_files_returns_a_file_of_many_reading_pieces_byte_for_byte(tmp_path: Path, compressed: bool) -> None:
    rng = random.Random(7)
    big = bytes(rng.getrandbits(8) for _ in range(300_000)) * 3 + b"end"  # ~0.9 MB: several pieces of 256 KiB
    small = b'{"kind": "ConfigMap"}'
    entries = [LayerEntry.file("release-manifests/image-references", big),
               LayerEntry.file("release-manifests/0000_x.yaml", small)]
    if compressed:
        layer = build_layer(entries, tmp_path).path
    else:
        layer = tmp_path / "plain.tar"
        with tarfile.open(layer, "w", format=tarfile.PAX_FORMAT) as tar:
            for entry in entries:
                assert entry.data is not None
                info = tarfile.TarInfo(entry.name)
                info.size = len(entry.data)
                tar.addfile(info, io.BytesIO(entry.data))
    files = read_files(iter(_rechunked(layer, [1, 4093, 70_000, 65_536])), lambda name: True, "layer")
    assert files == {"release-manifests/image-references": big, "release-manifests/0000_x.yaml": small}
    assert all(type(data) is bytes for data in files.values())


def _stream(tags: list[dict[str, object]]) -> bytes:
    return json.dumps({"kind": "ImageStream", "apiVersion": "image.openshift.io/v1", "metadata": {"name": "4.15.0"},
                       "spec": {"tags": tags}}).encode()


def _tag(name: str, **annotations: str) -> dict[str, object]:
    return {"name": name, "annotations": annotations, "from": {"kind": "DockerImage", "name": f"quay.io/okd/c@{DIGEST}"}}


def test_tags_with_the_same_annotation_value_as_the_tag_before_share_one_string() -> None:
    origin, cli = "https://github.com/openshift/origin", "https://github.com/openshift/cli"
    document = _stream([
        _tag("a", **{ANNOTATION_REF: "release-4.15", ANNOTATION_SOURCE: origin, ANNOTATION_COMMIT: "1" * 40}),
        _tag("b", **{ANNOTATION_REF: "release-4.15", ANNOTATION_SOURCE: origin, ANNOTATION_COMMIT: "2" * 40}),
        _tag("c", **{ANNOTATION_REF: "release-4.15", ANNOTATION_SOURCE: cli, ANNOTATION_COMMIT: "2" * 40}),
        _tag("d", **{ANNOTATION_SOURCE: origin}),
    ])
    tags = ImageStream.parse(document).tags
    assert [dict(tag.annotations) for tag in tags] == [json.loads(document)["spec"]["tags"][i]["annotations"] for i in range(4)]
    a, b, c, d = (tag.annotations for tag in tags)
    assert a[ANNOTATION_REF] is b[ANNOTATION_REF] is c[ANNOTATION_REF]
    assert a[ANNOTATION_SOURCE] is b[ANNOTATION_SOURCE]
    assert b[ANNOTATION_COMMIT] is c[ANNOTATION_COMMIT]
    assert a[ANNOTATION_COMMIT] != b[ANNOTATION_COMMIT]
    assert d[ANNOTATION_SOURCE] == origin
    assert list(a) == list(b) and all(x is y for x, y in zip(a, b, strict=True))  # names: one string each


def test_tags_are_not_tracked_by_the_garbage_collector() -> None:
    tags = ImageStream.parse(_stream([_tag("a", x="1"), _tag("b")])).tags
    assert not any(gc.is_tracked(tag) for tag in tags)


def test_a_bad_tag_after_many_good_ones_is_still_named_by_its_place() -> None:
    document = _stream([_tag(f"c{i}") for i in range(50)] + [{"name": 7}])
    expected = r"^image-references is invalid at \$\.spec\.tags\[50\]\.name: expected `str`, got `int`$"
    with pytest.raises(PayloadError, match=expected):
        ImageStream.parse(document)
