"""Signatures of a whole release, for the commands: its verification config (or the user's overrides) found and
checked, with what to say when it has none or fails and the user chose to go on."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from msgspec import Struct

from okd_release.registry.options import RegistryOptions
from okd_release.release.payload.source import ReleaseImage
from okd_release.release.signatures.config import find_verification_config, with_overrides
from okd_release.release.signatures.errors import UnverifiedRelease
from okd_release.release.signatures.export import SIGNATURES_DIR, write_signature_configmap
from okd_release.release.signatures.verify import Verification, verify_release

# oc's words, when a release carries no verification config map
UNCONFIGURED = "No release authenticity verification is configured, all releases are considered unverified"


class SignatureCheck(Struct, frozen=True):
    """What checking a release's signatures found: the verification (None when unverified), and why not."""

    verification: Verification | None
    warning: str = ""


def check_release(release: ReleaseImage, options: RegistryOptions, *, stores: Iterable[str] = (),
                  key_files: Iterable[Path] = (), signature_dirs: Iterable[Path] = (),
                  allow_unverified: bool = False, allow_flag: str = "--allow-unverified") -> SignatureCheck:
    """Verify `release` with its verification config map (or the `stores`/`key_files` overrides).

    A release without one is unverified, with oc's warning. A release that fails verification raises
    UnverifiedRelease naming `allow_flag`, unless `allow_unverified`, when the failure becomes the warning.
    """
    config = with_overrides(find_verification_config(release.payload), list(stores), list(key_files))
    if config is None:
        return SignatureCheck(None, UNCONFIGURED)
    try:
        return SignatureCheck(verify_release(release.digest, config, options, signature_dirs))
    except UnverifiedRelease as error:
        if allow_unverified:
            return SignatureCheck(None, f"{error} (going on: {allow_flag})")
        raise UnverifiedRelease(f"{error} (pass {allow_flag} to go on without verification)") from None


def signatures_dir(to_dir: Path | None, explicit: Path | None) -> Path | None:
    """Where mirror exports signatures: `--release-image-signature-to-dir`, else `<--to-dir>/config` as oc."""
    if explicit is not None:
        return explicit
    return to_dir / SIGNATURES_DIR if to_dir is not None else None


def check_mirrored_release(release: ReleaseImage, options: RegistryOptions, from_dir: Path | None,
                           allow_unverified: bool) -> SignatureCheck:
    """`check_release` for mirror: an upload from a disk mirror reads the signatures exported into its
    `config/` first, so an air-gapped side needs no signature store."""
    local = [from_dir / SIGNATURES_DIR] if from_dir is not None else []
    return check_release(release, options, signature_dirs=local, allow_unverified=allow_unverified)


def export_signatures(check: SignatureCheck, directory: Path | None) -> Path | None:
    """Write the verified signatures as oc's ConfigMap file into `directory`; its path (None: nothing to write)."""
    if directory is None or check.verification is None:
        return None
    verification = check.verification
    return write_signature_configmap(directory, verification.digest, verification.signature_data)
