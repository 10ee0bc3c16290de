"""Which manifests apply to a cluster: the CVO's inclusion rules (openshift/library-go `pkg/manifest`).

An object is excluded, with a reason, when it has no annotations; when it carries
`exclude.release.openshift.io/<identifier>: "true"`; when its `release.openshift.io/feature-set` list
does not name the cluster's feature set; when its `release.openshift.io/feature-gate` requirements are not
met by the enabled gates; when it lacks `include.release.openshift.io/<profile>: "true"`; or when a
capability it names (`capability.openshift.io/name`, `+`-separated) is unknown or not enabled.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from msgspec import Struct, field

from okd_release.documents import load_yaml
from okd_release.errors import ConfigError
from okd_release.release.cvo.objects import ManifestObject

DEFAULT_PROFILE = "self-managed-high-availability"
CAPABILITY = "capability.openshift.io/name"
FEATURE_SET = "release.openshift.io/feature-set"
FEATURE_GATE = "release.openshift.io/feature-gate"
KNOWN_FEATURE_SETS = ("Default", "TechPreviewNoUpgrade", "DevPreviewNoUpgrade", "CustomNoUpgrade", "OKD")

# openshift/api config/v1: the capabilities each baseline set enables (API data, as of v4.18 / vCurrent).
_V411 = ("baremetal", "marketplace", "openshift-samples", "MachineAPI")
_V412 = (*_V411, "Console", "Insights", "Storage", "CSISnapshot")
_V413 = (*_V412, "NodeTuning")
_V414 = (*_V413, "Build", "DeploymentConfig", "ImageRegistry")
_V415 = (*_V414, "OperatorLifecycleManager", "CloudCredential")
_V416 = (*_V415, "Ingress", "CloudControllerManager")
_V418 = (*_V416, "OperatorLifecycleManagerV1")
CAPABILITY_SETS: dict[str, frozenset[str]] = {
    "None": frozenset(), "v4.11": frozenset(_V411), "v4.12": frozenset(_V412), "v4.13": frozenset(_V413),
    "v4.14": frozenset(_V414), "v4.15": frozenset(_V415), "v4.16": frozenset(_V416), "v4.17": frozenset(_V416),
    "v4.18": frozenset(_V418), "vCurrent": frozenset(_V418),
}
KNOWN_CAPABILITIES = frozenset(_V418)


class Capabilities(Struct, frozen=True):
    enabled: frozenset[str]
    known: frozenset[str] = KNOWN_CAPABILITIES


class ClusterConfig(Struct, frozen=True):
    """What the rules are judged against; a field left None is not checked (as the CVO's nil pointers)."""

    profile: str | None = DEFAULT_PROFILE
    feature_set: str | None = "Default"
    capabilities: Capabilities | None = None
    exclude_identifier: str | None = None
    enabled_feature_gates: frozenset[str] | None = None
    platform: str | None = None
    extra: dict[str, str] = field(default_factory=dict)  # not compared

    def _compared(self) -> tuple[object, ...]:
        return (self.profile, self.feature_set, self.capabilities, self.exclude_identifier,
                self.enabled_feature_gates, self.platform)

    def __eq__(self, other: object) -> bool:
        return self._compared() == other._compared() if isinstance(other, ClusterConfig) else NotImplemented

    def __hash__(self) -> int:
        return hash(self._compared())


def capabilities(baseline: str, additional: list[str] | tuple[str, ...] = ()) -> Capabilities:
    if baseline not in CAPABILITY_SETS:
        raise ConfigError(f"unknown baseline capability set {baseline!r} (known: {', '.join(CAPABILITY_SETS)})")
    return Capabilities(CAPABILITY_SETS[baseline] | frozenset(additional))


def check_feature_set(value: str) -> str:
    name = value or "Default"
    if name not in KNOWN_FEATURE_SETS:
        raise ConfigError(f"unknown feature set {value!r} (known: {', '.join(KNOWN_FEATURE_SETS)})")
    return name


def exclusion(obj: ManifestObject, config: ClusterConfig) -> str | None:
    """Why the CVO would not apply `obj` on a cluster with `config`, or None when it would."""
    annotations = obj.annotations
    if not annotations:
        return "no annotations"
    if config.exclude_identifier is not None:
        key = f"exclude.release.openshift.io/{config.exclude_identifier}"
        if annotations.get(key) == "true":
            return f"{key}=true"
    if config.feature_set is not None and config.enabled_feature_gates is not None \
            and FEATURE_SET in annotations and FEATURE_GATE in annotations:
        return "both feature set and feature gate annotations are present"
    if config.feature_set is not None:
        reason = _feature_set(config.feature_set, annotations)
        if reason:
            return reason
    if config.enabled_feature_gates is not None:
        reason = _feature_gates(config.enabled_feature_gates, annotations)
        if reason:
            return reason
    if config.profile is not None:
        key = f"include.release.openshift.io/{config.profile}"
        if key not in annotations:
            return f"{key} unset"
        if annotations[key] != "true":
            return f"unrecognized value {key}={annotations[key]}"
    if config.capabilities is not None:
        return _capabilities(config.capabilities, annotations)
    return None


def _feature_set(required: str, annotations: dict[str, str]) -> str | None:
    if FEATURE_SET not in annotations:
        return None
    wanted = required or "Default"
    values = annotations[FEATURE_SET].split(",")
    unknown = [v for v in values if v not in KNOWN_FEATURE_SETS]
    if unknown:
        return f"unrecognized value {unknown[0]!r} in {FEATURE_SET}={annotations[FEATURE_SET]}"
    if wanted not in values:
        return f"{wanted!r} is required, and {FEATURE_SET}={','.join(sorted(set(values)))}"
    return None


def _feature_gates(enabled: frozenset[str], annotations: dict[str, str]) -> str | None:
    for requirement in (r.strip() for r in annotations.get(FEATURE_GATE, "").split(",")):
        if not requirement:
            continue
        if requirement.startswith("-"):
            if requirement[1:] in enabled:
                return f"feature gate {requirement[1:]} is enabled but manifest requires it to be disabled"
        elif requirement not in enabled:
            return f"feature gate {requirement} is required but not enabled"
    return None


def _capabilities(caps: Capabilities, annotations: dict[str, str]) -> str | None:
    value = annotations.get(CAPABILITY, "")
    if not value:
        return None
    names = value.split("+")
    unknown = [name for name in names if name not in caps.known]
    if unknown:
        return f"unrecognized capability names: {', '.join(unknown)}"
    disabled = [name for name in names if name not in caps.enabled]
    if disabled:
        return f"disabled capabilities: {', '.join(disabled)}"
    return None


def from_install_config(path: Path) -> ClusterConfig:
    """The cluster an install-config describes, as `oc adm release extract --install-config` reads it."""
    try:
        data = path.read_bytes()
    except OSError as error:
        raise ConfigError(f"cannot read install-config {path}: {error.strerror}") from None
    document: Any = load_yaml(data, f"install-config {path}", ConfigError)
    if not isinstance(document, dict):
        raise ConfigError(f"{path} is not an install-config")
    if document.get("apiVersion") != "v1":
        raise ConfigError(f"unrecognized {path} API version: {document.get('apiVersion')!r} (expected 'v1')")
    platform = document.get("platform")
    platform_name = next(iter(platform), None) if isinstance(platform, dict) and platform else None
    caps = document.get("capabilities")
    cluster_capabilities = None
    if isinstance(caps, dict):
        baseline = str(caps.get("baselineCapabilitySet") or "vCurrent")
        additional = caps.get("additionalEnabledCapabilities") or []
        if not isinstance(additional, list):
            raise ConfigError(f"{path}: capabilities.additionalEnabledCapabilities is not a list")
        cluster_capabilities = capabilities(baseline, [str(name) for name in additional])
    feature_set = check_feature_set(str(document.get("featureSet") or ""))
    return ClusterConfig(DEFAULT_PROFILE, feature_set, cluster_capabilities, None, None,
                         str(platform_name) if platform_name else None)
