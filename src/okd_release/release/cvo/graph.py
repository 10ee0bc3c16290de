"""The order in which the CVO applies a payload during an update (its `ByNumberAndComponent` task graph).

Manifests are read in file-name order. File names `0000_<NN>_<component>_...` give a run level and a
component. Consecutive objects of one run level are grouped by component: when a run level holds several
components, they run in parallel (each one's objects in order) and the next run level waits for all of
them; runs of single-component levels, and files outside the naming scheme, are applied one after another.
"""

from __future__ import annotations

import re

from msgspec import Struct, field

from okd_release.release.cvo.inclusion import ClusterConfig, exclusion
from okd_release.release.cvo.objects import ManifestObject

_RUN_LEVEL = re.compile(r"^0000_(\d+)_([a-zA-Z0-9]+(?:-[a-zA-Z0-9]+)*?)_")


def run_level(file: str) -> tuple[str, str] | None:
    """(run level, component) from a manifest file name, or None outside the `0000_NN_component_` scheme."""
    match = _RUN_LEVEL.match(file)
    return (match.group(1), match.group(2)) if match else None


class Node(Struct, frozen=True):
    """Objects applied one after another; `component` is empty for a node that spans several."""

    run_level: str
    component: str
    objects: tuple[ManifestObject, ...]


class Step(Struct, frozen=True):
    """Nodes that run in parallel; the next step starts when all of them are done."""

    nodes: tuple[Node, ...]

    @property
    def parallel(self) -> bool:
        return len(self.nodes) > 1


class Excluded(Struct, frozen=True):
    object: ManifestObject
    reason: str


class Plan(Struct, frozen=True):
    """What the CVO applies for one cluster configuration, in order, and what it leaves out and why."""

    steps: tuple[Step, ...]
    excluded: tuple[Excluded, ...] = field(default=())

    def objects(self) -> list[ManifestObject]:
        return [obj for step in self.steps for node in step.nodes for obj in node.objects]


def plan(objects: list[ManifestObject], config: ClusterConfig) -> Plan:
    included, excluded = [], []
    for obj in objects:
        reason = exclusion(obj, config)
        if reason is None:
            included.append(obj)
        else:
            excluded.append(Excluded(obj, reason))
    return Plan(tuple(steps(included)), tuple(excluded))


def steps(objects: list[ManifestObject]) -> list[Step]:
    """Group objects into steps as the CVO's ByNumberAndComponent does."""
    keys = [run_level(obj.file) for obj in objects]
    result: list[Step] = []
    serial: list[ManifestObject] | None = None  # the open run of objects applied one after another
    i = 0
    while i < len(objects):
        groups: list[tuple[int, int]] = []
        j = i + 1
        start = i
        while j < len(objects):
            base, following = keys[j - 1], keys[j]
            if base is None or following is None or base[0] != following[0]:
                break
            if base[1] != following[1]:
                groups.append((start, j))
                start = j
            j += 1
        if groups:
            groups.append((start, j))
            result.append(Step(tuple(_node(objects[a:b]) for a, b in groups)))
            serial = None
        elif serial is None:
            serial = list(objects[i:j])
            result.append(Step((_node(serial),)))
        else:
            serial.extend(objects[i:j])
            result[-1] = Step((_node(serial),))
        i = j
    return result


def _node(objects: list[ManifestObject]) -> Node:
    """A node named by its run level and component when all of its objects share them."""
    keys = {run_level(obj.file) for obj in objects}
    key = keys.pop() if len(keys) == 1 else None
    run, component = key or ("", "")
    return Node(run, component, tuple(objects))
