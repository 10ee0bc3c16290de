"""Problems the CVO would reject or mishandle in a payload, for people who build custom releases."""

from __future__ import annotations

import re

from msgspec import Struct

from okd_release.errors import PayloadError
from okd_release.release.cvo.graph import run_level
from okd_release.release.cvo.inclusion import CAPABILITY, FEATURE_SET, KNOWN_CAPABILITIES, KNOWN_FEATURE_SETS
from okd_release.release.cvo.objects import ManifestObject, ObjectId, is_manifest_file, parse_objects
from okd_release.release.payload.model import Payload

ERROR, WARNING = "error", "warning"
_PULLSPEC = re.compile(rb"[a-z0-9][a-z0-9.-]*(?::[0-9]+)?/[a-z0-9._/-]+@sha256:[a-f0-9]{64}")
_PROFILE = "include.release.openshift.io/"


class Finding(Struct, frozen=True):
    severity: str
    file: str
    message: str
    object: str = ""

    def __str__(self) -> str:
        where = f"{self.file}" + (f" {self.object}" if self.object else "")
        return f"{self.severity}: {where}: {self.message}"


def lint(payload: Payload) -> list[Finding]:
    """Every finding, errors and warnings, in file order."""
    findings: list[Finding] = []
    seen: dict[ObjectId, str] = {}
    known_pullspecs = {tag.pullspec.encode() for tag in payload.image_references.tags}
    for name in sorted(payload.manifests):
        data = payload.manifests[name]
        if not is_manifest_file(name):
            continue
        if run_level(name) is None:
            findings.append(Finding(WARNING, name, "name is outside the 0000_<NN>_<component>_ scheme: "
                                                    "the CVO applies it alone, in name order"))
        try:
            objects = parse_objects(name, data)
        except PayloadError as error:
            findings.append(Finding(ERROR, name, str(error)))
            continue
        for obj in objects:
            findings.extend(_object_findings(obj, seen))
        for pullspec in sorted(set(_PULLSPEC.findall(data)) - known_pullspecs):
            findings.append(Finding(ERROR, name, f"references image {pullspec.decode()}, which is not in "
                                                 "image-references (a mirror would not copy it)"))
    return findings


def _object_findings(obj: ManifestObject, seen: dict[ObjectId, str]) -> list[Finding]:
    findings = []
    where = str(obj.id)
    if obj.id in seen:
        findings.append(Finding(ERROR, obj.file, f"the same object is defined in {seen[obj.id]}", where))
    else:
        seen[obj.id] = obj.file
    annotations = obj.annotations
    if not any(key.startswith(_PROFILE) for key in annotations):
        findings.append(Finding(WARNING, obj.file, "no include.release.openshift.io/<profile> annotation: "
                                                   "the CVO applies it on no cluster profile", where))
    for capability in filter(None, annotations.get(CAPABILITY, "").split("+")):
        if capability not in KNOWN_CAPABILITIES:
            findings.append(Finding(ERROR, obj.file, f"unknown capability {capability!r} in {CAPABILITY}", where))
    if FEATURE_SET in annotations:
        for value in annotations[FEATURE_SET].split(","):
            if value not in KNOWN_FEATURE_SETS:
                findings.append(Finding(ERROR, obj.file, f"unknown feature set {value!r} in {FEATURE_SET}", where))
    return findings
