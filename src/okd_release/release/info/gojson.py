"""Documents as oc's Go structs print them, so `info -o json` has oc's exact schema.

oc decodes the release config, release-metadata and image-references into Go structs and encodes them
again: unknown fields are dropped, keys are matched case-insensitively, fields appear in struct order,
`omitempty` fields are left out when empty and the others are always there (null when absent). Each
schema below lists one struct's fields in order as (json name, omitempty, how to convert the value).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

Convert = Callable[[Any], Any]
Schema = tuple[tuple[str, bool, Convert], ...]

ZERO_TIME = "0001-01-01T00:00:00Z"


def _same(value: Any) -> Any:
    return value


def _string(value: Any) -> Any:
    return value if isinstance(value, str) else ("" if value is None else value)


def _number(value: Any) -> Any:
    return 0 if value is None else value


def _flag(value: Any) -> Any:
    return bool(value)


def _time(value: Any) -> Any:
    """A Go time.Time: the zero time when absent."""
    return value if isinstance(value, str) and value else ZERO_TIME


def _kube_time(value: Any) -> Any:
    """A metav1.Time: null when absent."""
    return value if isinstance(value, str) and value else None


def _set(value: Any) -> Any:
    """map[string]struct{}: keys kept (sorted, as Go writes maps), values are empty objects."""
    return {key: {} for key in sorted(value)} if isinstance(value, dict) else value


def _any(value: Any) -> Any:
    """An interface{} value: Go writes the keys of every map in it sorted."""
    if isinstance(value, dict):
        return {key: _any(value[key]) for key in sorted(value)}
    if isinstance(value, list):
        return [_any(item) for item in value]
    return value


def _empty(value: Any) -> bool:
    """What Go's omitempty leaves out: false, 0, "", null, and empty lists and maps."""
    if value is None or isinstance(value, bool):
        return not value
    if isinstance(value, (int, float)):
        return value == 0
    return isinstance(value, (str, list, dict)) and len(value) == 0


def _lookup(document: dict[str, Any], name: str) -> tuple[bool, Any]:
    """Go's field matching: the exact key, else one equal ignoring case."""
    if name in document:
        return True, document[name]
    folded = name.casefold()
    for key, value in document.items():
        if key.casefold() == folded:
            return True, value
    return False, None


def struct(schema: Schema) -> Convert:
    def convert(document: Any) -> Any:
        source = document if isinstance(document, dict) else {}
        result: dict[str, Any] = {}
        for name, omitempty, field in schema:
            _, value = _lookup(source, name)
            value = field(value)
            if omitempty and (value is None if field in _POINTERS else _empty(value)):
                continue
            result[name] = value
        return result
    return convert


_POINTERS: set[Convert] = set()


def pointer(schema: Schema) -> Convert:
    """A pointer to a struct: null when absent; omitempty leaves out only null, not an empty struct."""
    convert = struct(schema)

    def convert_pointer(value: Any) -> Any:
        return None if value is None else convert(value)
    _POINTERS.add(convert_pointer)
    return convert_pointer


def each(convert: Convert) -> Convert:
    return lambda value: [convert(item) for item in value] if isinstance(value, list) else None


def strings_map(value: Any) -> Any:
    """A map[string]string: null when absent, keys sorted."""
    return {key: value[key] for key in sorted(value)} if isinstance(value, dict) else None


DOCKER_CONFIG: Schema = (
    ("Hostname", True, _string), ("Domainname", True, _string), ("User", True, _string),
    ("Memory", True, _number), ("MemorySwap", True, _number), ("CpuShares", True, _number),
    ("Cpuset", True, _string), ("AttachStdin", True, _flag), ("AttachStdout", True, _flag),
    ("AttachStderr", True, _flag), ("PortSpecs", True, _same), ("ExposedPorts", True, _set), ("Tty", True, _flag),
    ("OpenStdin", True, _flag), ("StdinOnce", True, _flag), ("Env", True, _same), ("Cmd", True, _same),
    ("Dns", True, _same), ("Image", True, _string), ("Volumes", True, _set), ("VolumesFrom", True, _string),
    ("WorkingDir", True, _string), ("Entrypoint", True, _same), ("NetworkDisabled", True, _flag),
    ("SecurityOpts", True, _same), ("OnBuild", True, _same), ("Labels", True, strings_map),
)
HISTORY: Schema = (("created", False, _time), ("author", True, _string), ("created_by", True, _string),
                   ("comment", True, _string), ("empty_layer", True, _flag))
ROOTFS: Schema = (("type", False, _string), ("diff_ids", True, _same))
IMAGE_CONFIG: Schema = (
    ("id", False, _string), ("parent", True, _string), ("comment", True, _string), ("created", False, _time),
    ("container", True, _string), ("container_config", False, struct(DOCKER_CONFIG)),
    ("docker_version", True, _string), ("author", True, _string), ("config", True, pointer(DOCKER_CONFIG)),
    ("architecture", True, _string), ("size", True, _number), ("rootfs", True, pointer(ROOTFS)),
    ("history", True, each(struct(HISTORY))), ("os", True, _string), ("os.version", True, _string),
    ("os.features", True, _same),
)
CINCINNATI_METADATA: Schema = (("kind", False, _string), ("version", False, _string), ("previous", False, _same),
                               ("next", True, _same), ("metadata", True, _any))
OBJECT_REFERENCE: Schema = (("kind", True, _string), ("namespace", True, _string), ("name", True, _string),
                            ("uid", True, _string), ("apiVersion", True, _string),
                            ("resourceVersion", True, _string), ("fieldPath", True, _string))
OBJECT_META: Schema = (
    ("name", True, _string), ("generateName", True, _string), ("namespace", True, _string),
    ("selfLink", True, _string), ("uid", True, _string), ("resourceVersion", True, _string),
    ("generation", True, _number), ("creationTimestamp", True, _kube_time), ("deletionTimestamp", True, _kube_time),
    ("deletionGracePeriodSeconds", True, _same), ("labels", True, strings_map), ("annotations", True, strings_map),
    ("ownerReferences", True, _same), ("finalizers", True, _same), ("managedFields", True, _same),
)
TAG_REFERENCE: Schema = (
    ("name", False, _string), ("annotations", False, strings_map), ("from", True, pointer(OBJECT_REFERENCE)),
    ("reference", True, _flag), ("generation", False, _same),
    ("importPolicy", False, struct((("insecure", True, _flag), ("scheduled", True, _flag),
                                    ("importMode", True, _string)))),
    ("referencePolicy", False, struct((("type", False, _string),))),
)
TAG_EVENT: Schema = (("created", False, _kube_time), ("dockerImageReference", False, _string),
                     ("image", False, _string), ("generation", False, _number))
TAG_EVENT_CONDITION: Schema = (("type", False, _string), ("status", False, _string),
                               ("lastTransitionTime", True, _kube_time), ("reason", True, _string),
                               ("message", True, _string), ("generation", False, _number))
NAMED_TAG_EVENT_LIST: Schema = (("tag", False, _string), ("items", False, each(struct(TAG_EVENT))),
                                ("conditions", True, each(struct(TAG_EVENT_CONDITION))))
IMAGE_STREAM: Schema = (
    ("kind", True, _string), ("apiVersion", True, _string), ("metadata", False, struct(OBJECT_META)),
    ("spec", False, struct((("lookupPolicy", False, struct((("local", False, _flag),))),
                            ("dockerImageRepository", True, _string), ("tags", True, each(struct(TAG_REFERENCE)))))),
    ("status", False, struct((("dockerImageRepository", False, _string),
                              ("publicDockerImageRepository", True, _string),
                              ("tags", True, each(struct(NAMED_TAG_EVENT_LIST)))))),
)

image_config = struct(IMAGE_CONFIG)
cincinnati_metadata = struct(CINCINNATI_METADATA)
image_stream = struct(IMAGE_STREAM)
tag_reference = struct(TAG_REFERENCE)


def descriptor(media_type: str, digest: str, size: int) -> dict[str, Any]:
    """A distribution.Descriptor (a layer of `images` with --include-images)."""
    value: dict[str, Any] = struct((("mediaType", True, _string), ("digest", True, _string), ("size", True, _number)))(
        {"mediaType": media_type, "digest": digest, "size": size})
    return value


def encode(value: Any) -> str:
    """Go's json.MarshalIndent(value, "", "  "): UTF-8 kept, and <, >, & escaped as Go does for HTML safety."""
    text = json.dumps(value, indent=2, ensure_ascii=False)
    for char, escape in (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026"), ("\u2028", "\\u2028"),
                         ("\u2029", "\\u2029")):
        text = text.replace(char, escape)  # these occur only inside strings in JSON text
    return text
