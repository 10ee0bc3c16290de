"""A release's tags held packed: image-references read as JSON keeps its tags as compressed blocks of their
JSON, decoded as they are read, and they read exactly as the tags the document names."""

from __future__ import annotations

import json
import threading
import tracemalloc

import pytest

from okd_release.errors import PayloadError, UnsafeName
from okd_release.release.payload import packed
from okd_release.release.payload.model import NO_POLICY, ImageStream, ImageTag, TagPolicy

DIGEST = "sha256:" + "ab" * 32


def _document(count: int) -> dict[str, object]:
    return {"kind": "ImageStream", "apiVersion": "image.openshift.io/v1", "metadata": {"name": "4.15.0"},
            "spec": {"tags": [{"name": f"component-{number}",
                               "annotations": {"io.openshift.build.commit.id": f"{number:040x}",
                                               "io.openshift.build.commit.ref": "main",
                                               "io.openshift.build.source-location": f"https://example.com/c{number % 7}"},
                               "from": {"kind": "DockerImage", "name": f"quay.io/okd/scos-content@{DIGEST}"},
                               "importPolicy": {"scheduled": number % 3 == 0}}
                              for number in range(count)]}}


def _expected(count: int) -> ImageStream:
    """The stream `_document(count)` describes, made tag by tag."""
    return ImageStream("4.15.0", tuple(
        ImageTag(f"component-{number}", f"quay.io/okd/scos-content@{DIGEST}",
                 {"io.openshift.build.commit.id": f"{number:040x}", "io.openshift.build.commit.ref": "main",
                  "io.openshift.build.source-location": f"https://example.com/c{number % 7}"},
                 TagPolicy(import_policy={"scheduled": True}) if number % 3 == 0 else NO_POLICY)
        for number in range(count)))


@pytest.mark.parametrize("count", [0, 1, packed.BLOCK - 1, packed.BLOCK, packed.BLOCK + 1, 3 * packed.BLOCK + 5])
def test_packed_tags_read_as_the_tags_the_document_names(count: int) -> None:
    stream = ImageStream.parse(json.dumps(_document(count)).encode())
    whole = _expected(count)
    assert isinstance(stream.tags, packed.PackedSequence if count > packed.BLOCK else tuple)
    assert len(stream.tags) == count
    assert list(stream.tags) == list(whole.tags) and stream.tags == whole.tags and whole.tags == stream.tags
    assert stream == whole and stream.encode() == whole.encode()
    assert [stream.tags[number] for number in range(count)] == list(whole.tags)  # each by its index, any block
    if count:
        assert stream.tags[-1] == whole.tags[-1] and stream.tags[1:3] == whole.tags[1:3]
        assert stream.tag(f"component-{count // 2}") == whole.tags[count // 2]
    for outside in (count, -count - 1):
        with pytest.raises(IndexError):
            stream.tags[outside]


def test_packed_tags_differ_where_a_tag_differs() -> None:
    stream = ImageStream.parse(json.dumps(_document(300)).encode())
    changed = list(stream.tags)
    changed[299] = ImageTag(changed[299].name, "quay.io/okd/other@" + DIGEST, changed[299].annotations, changed[299].policy)
    assert stream.tags != tuple(changed) and stream.tags != tuple(changed[:299]) and stream.tags != changed


def test_a_bad_tag_in_a_later_block_is_refused_at_parse_naming_its_index() -> None:
    document = _document(packed.BLOCK + 10)
    document["spec"]["tags"][packed.BLOCK + 3]["name"] = "../etc"  # type: ignore[index]
    with pytest.raises(UnsafeName, match=rf"\$\.spec\.tags\[{packed.BLOCK + 3}\]\.name"):
        ImageStream.parse(json.dumps(document).encode())
    document["spec"]["tags"][packed.BLOCK + 3] = {"name": "x", "from": {"kind": "ImageStreamTag", "name": "y"}}  # type: ignore[index]
    with pytest.raises(PayloadError, match="tag 'x' has no DockerImage 'from'"):
        ImageStream.parse(json.dumps(document).encode())


def test_packed_tags_hold_a_fraction_of_the_decoded_tags() -> None:
    data = json.dumps(_document(4000)).encode()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        stream = ImageStream.parse(data)
        held_packed = tracemalloc.get_traced_memory()[0] - before
        decoded = tuple(stream.tags)
        held_decoded = tracemalloc.get_traced_memory()[0] - before - held_packed
    finally:
        tracemalloc.stop()
    assert len(decoded) == 4000
    assert held_packed * 4 < held_decoded, (held_packed, held_decoded)


def test_threads_reading_packed_tags_at_once_each_read_every_tag_in_order() -> None:
    stream = ImageStream.parse(json.dumps(_document(5 * packed.BLOCK)).encode())
    expected = [f"component-{number}" for number in range(5 * packed.BLOCK)]
    seen: list[list[str]] = []

    def read() -> None:
        for _ in range(3):
            seen.append([tag.name for tag in stream.tags])

    threads = [threading.Thread(target=read) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(seen) == 12 and all(names == expected for names in seen)
