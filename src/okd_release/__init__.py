"""okd-release: inspect, build, extract and mirror OKD/OpenShift release payloads.

The public API is the names in `__all__`, importable from the package itself::

    import okd_release

    with okd_release.Registries(okd_release.RegistryOptions()) as registries:
        release = okd_release.open_release(registries, "quay.io/openshift/okd:4.15.0-0.okd-2024-03-10-010116")
        print(okd_release.describe(release).version)

Names are imported on first use (module `__getattr__`), so `import okd_release` and the CLI start fast;
the modules they live in (`okd_release.release.mirror.plan`, ...) may move, these names will not.
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

# public name -> module that defines it (the same name there, except where noted in _RENAMED).
_EXPORTS: dict[str, str] = {
    # registry access
    "Registries": "okd_release.registry.session",
    "RegistryOptions": "okd_release.registry.options",
    "RetryPolicy": "okd_release.registry.options",
    # image references and platforms
    "Reference": "okd_release.reference",
    "parse_reference": "okd_release.reference",
    "Platform": "okd_release.content",
    # opening a release
    "ReleaseImage": "okd_release.release.payload.source",
    "open_release": "okd_release.release.payload.source",
    "open_payload_dir": "okd_release.release.payload.source",
    "open_payload_file": "okd_release.release.payload.source",
    "Payload": "okd_release.release.payload.model",
    # info
    "describe": "okd_release.release.info.describe",
    "ReleaseInfo": "okd_release.release.info.describe",
    "ImageEntry": "okd_release.release.info.describe",
    "ComponentVersion": "okd_release.release.info.describe",
    "diff_releases": "okd_release.release.info.diff",
    "ReleaseDiff": "okd_release.release.info.diff",
    # new
    "NewOptions": "okd_release.release.new.plan",
    "PlannedRelease": "okd_release.release.new.plan",
    "plan_release": "okd_release.release.new.plan",
    "push_release": "okd_release.release.new.publish",
    "PublishedRelease": "okd_release.release.new.publish",
    "release_digest": "okd_release.release.new.publish",
    "write_to_dir": "okd_release.release.new.publish",
    "write_to_file": "okd_release.release.new.publish",
    # extract
    "extract_manifests": "okd_release.release.extract.manifests",
    "manifest_file": "okd_release.release.extract.manifests",
    "UnpackResult": "okd_release.image.unpack",
    "extract_tools": "okd_release.release.extract.tools",
    "select_targets": "okd_release.release.extract.tools",
    "ExtractedTool": "okd_release.release.extract.tools",
    # mirror
    "MirrorOptions": "okd_release.release.mirror.plan",
    "MirrorResult": "okd_release.release.mirror.plan",
    "run_mirror": "okd_release.release.mirror.plan",
    "MirrorSource": "okd_release.release.mirror.instructions",
    "TransferSummary": "okd_release.transfer",
    # errors
    "OkdReleaseError": "okd_release.errors",
    "InvalidReference": "okd_release.errors",
    "RegistryError": "okd_release.errors",
    "TransientRegistryError": "okd_release.errors",
    "AuthenticationError": "okd_release.errors",
    "NotFound": "okd_release.errors",
    "DigestMismatch": "okd_release.errors",
    "ManifestError": "okd_release.errors",
    "PayloadError": "okd_release.errors",
    "ConfigError": "okd_release.errors",
    "TransferError": "okd_release.errors",
    "IncompleteTransfer": "okd_release.transfer",
}

# public name -> the name its module gives it.
_RENAMED = {"parse_reference": "parse"}

__all__ = ["__version__", *_EXPORTS]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'okd_release' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), _RENAMED.get(name, name))
    globals()[name] = value  # later look-ups skip __getattr__
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
