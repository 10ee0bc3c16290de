"""Release signatures, as the cluster-version operator checks them (library-go's `verify` package): the payload's
verification ConfigMap, signatures fetched from its stores, GnuPG verification, and oc's signature ConfigMaps."""

from okd_release.release.signatures.config import (
    VERIFICATION_ANNOTATION,
    VerificationConfig,
    VerificationKey,
    find_verification_config,
    with_overrides,
)
from okd_release.release.signatures.errors import SignatureError, UnverifiedRelease
from okd_release.release.signatures.export import (
    SIGNATURES_DIR,
    read_signature_configmaps,
    signature_configmap,
    signature_file_name,
    write_signature_configmap,
)
from okd_release.release.signatures.release import SignatureCheck, check_release
from okd_release.release.signatures.verify import Verification, VerifiedSignature, verify_release

__all__ = [
    "SIGNATURES_DIR",
    "VERIFICATION_ANNOTATION",
    "SignatureCheck",
    "SignatureError",
    "UnverifiedRelease",
    "Verification",
    "VerificationConfig",
    "VerificationKey",
    "VerifiedSignature",
    "check_release",
    "find_verification_config",
    "read_signature_configmaps",
    "signature_configmap",
    "signature_file_name",
    "verify_release",
    "with_overrides",
    "write_signature_configmap",
]
