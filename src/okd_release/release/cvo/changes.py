"""What an update applies: the objects an update from OLD to NEW adds, changes and leaves behind.

The CVO applies every included object of NEW; objects of OLD that NEW no longer has are not deleted (unless
NEW says so with a `release.openshift.io/delete` annotation): they are left behind on the cluster.
"""

from __future__ import annotations

import difflib
import json

import yaml
from msgspec import Struct

from okd_release.release.cvo.graph import Plan, run_level
from okd_release.release.cvo.objects import ManifestObject, ObjectId


class Change(Struct, frozen=True):
    kind: str  # added, changed, removed
    object: ManifestObject
    old: ManifestObject | None = None

    @property
    def group(self) -> tuple[str, str]:
        """(run level, component) of the file the object is in (NEW's, or OLD's for a removed object)."""
        return run_level(self.object.file) or ("", "")

    def diff(self) -> str:
        if self.old is None:
            return ""
        before, after = _yaml(self.old), _yaml(self.object)
        return "".join(difflib.unified_diff(before.splitlines(True), after.splitlines(True),
                                            f"old/{self.old.file}", f"new/{self.object.file}"))


def _yaml(obj: ManifestObject) -> str:
    return yaml.safe_dump(obj.document, sort_keys=True, default_flow_style=False)


def _canonical(obj: ManifestObject) -> str:
    return json.dumps(obj.document, sort_keys=True, default=str)


def changes(old: Plan, new: Plan) -> list[Change]:
    """Added and changed objects in NEW's apply order, then those left behind in OLD's order."""
    before: dict[ObjectId, ManifestObject] = {obj.id: obj for obj in old.objects()}
    after_ids = set()
    result = []
    for obj in new.objects():
        after_ids.add(obj.id)
        previous = before.get(obj.id)
        if previous is None:
            result.append(Change("added", obj))
        elif _canonical(previous) != _canonical(obj):
            result.append(Change("changed", obj, previous))
    result.extend(Change("removed", obj) for obj in old.objects() if obj.id not in after_ids)
    return result
