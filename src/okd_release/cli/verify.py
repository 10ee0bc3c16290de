"""`okd-release verify RELEASE`: whether a release is signed by the keys its verification config map names, as
the cluster-version operator will check before it applies an update; who signed it, with which key, from where."""

from __future__ import annotations

import datetime
import json
from pathlib import Path

from okd_release import reference as references
from okd_release.cli import declare
from okd_release.cli.common import handle_errors, make_registries, mirror_config_options, registry_options
from okd_release.cli.output import echo
from okd_release.cli.table import columns
from okd_release.content import Platform
from okd_release.errors import ConfigError
from okd_release.release.payload.source import open_release
from okd_release.release.signatures import SIGNATURES_DIR, Verification, find_verification_config, verify_release, with_overrides


@declare.command("verify")
@declare.argument("release")
@declare.option("--signature-store", "stores", multiple=True, metavar="URL",
                help="Read signatures from this store instead of those the release names (repeatable).")
@declare.option("--verification-key", "keys", multiple=True, type=declare.Path(dir_okay=False, exists=True), metavar="FILE",
                help="A GPG public key (armored or not) that must have signed the release, instead of the keys the "
                     "release names (repeatable: each must have signed).")
@declare.option("--signature-dir", "signature_dirs", multiple=True, type=declare.Path(file_okay=False), metavar="DIR",
                help="Read signatures first from the signature config maps mirror exported here (repeatable).")
@declare.option("--from-dir", type=declare.Path(file_okay=False),
                help="Read a file:// release from this on-disk mirror (and signatures from its config/ directory).")
@declare.option("--filter-by-os", help="For a multi-arch release, the platform whose payload to read (os/arch).")
@declare.option("-o", "--output", type=declare.Choice(["json"]), help="Print the result as a JSON object.")
@mirror_config_options
@registry_options
@handle_errors
def verify_command(release: str, stores: tuple[str, ...], keys: tuple[str, ...], signature_dirs: tuple[str, ...],
                   from_dir: str | None, filter_by_os: str | None, output: str | None, registry_config: str | None,
                   insecure: bool, ca_file: str | None, loglevel: int) -> None:
    """Check a release's signatures as the cluster-version operator does before it applies an update.

    A release names the GPG keys that must have signed it and the stores its signatures are in, in a ConfigMap
    manifest annotated release.openshift.io/verification-config-map. Each key must have made at least one valid
    signature whose signed document (critical.image.docker-manifest-digest) names the release's digest.
    Signatures are read from <store>/sha256=<hash>/signature-1, -2, ... over HTTPS (TLS verified unless
    --insecure), and checked with gpg in a temporary keyring holding only those keys. Prints who signed the
    release, with which key fingerprint, from which store; exits 1 when it is not verified.

    For a release built and signed by someone else (an OKD build signed by its own key), --verification-key and
    --signature-store replace the keys and stores the release names.

    \b
    Examples:
      # Is this release signed by the keys it names?
      okd-release verify quay.io/openshift/okd:4.15.0-0.okd-2024-03-10-010116

    \b
      # A release signed by your own key, with signatures on your web server
      okd-release verify registry.example.com/okd/release:4.15.1 \\
        --verification-key my-key.asc --signature-store https://example.com/signatures

    \b
      # On the air-gapped side: a disk mirror and the signatures mirror exported beside it
      okd-release verify --from-dir /media/usb/okd file://openshift/release:4.15.0-0.okd-2024-03-10-010116-x86_64
    """
    platform = Platform.parse(filter_by_os) if filter_by_os else None
    root = Path(from_dir) if from_dir else None
    directories = [Path(d) for d in signature_dirs] + ([root / SIGNATURES_DIR] if root else [])
    with make_registries(registry_config, insecure, ca_file, loglevel) as registries:
        if release.startswith(references.FILE_SCHEME) and root is None:
            raise ConfigError("a file:// release needs --from-dir, the on-disk mirror holding it")
        opened = open_release(registries, release, platform, root)
        if not opened.digest:
            raise ConfigError(f"{release} has no digest to verify: verify a release image, not a payload file")
        config = with_overrides(find_verification_config(opened.payload), list(stores), [Path(k) for k in keys])
        if config is None:
            raise ConfigError(f"{release} has no verification config map (a ConfigMap annotated "
                              "release.openshift.io/verification-config-map): nothing says who must sign it; "
                              "give --verification-key FILE and --signature-store URL")
        for note in config.notes:
            echo(f"warning: {note}", err=True)
        verification = verify_release(opened.digest, config, registries.options, directories)
    if output == "json":
        echo(json.dumps({"release": opened.pullspec, **verification.to_json()}, indent=2))
        return
    echo(_text(opened.pullspec, verification))


def _text(pullspec: str, verification: Verification) -> str:
    lines = [f"Release:   {pullspec}", f"Digest:    {verification.digest}",
             f"Verified:  yes, by every key of {verification.source}", ""]
    rows = [["KEY", "FINGERPRINT", "SIGNER", "SIGNED", "STORE"]]
    for signature in verification.signatures:
        rows.append([signature.key, signature.fingerprint, signature.signer, _when(signature.timestamp),
                     signature.location])
    return "\n".join(lines + columns(rows, indent="", gap=3))


def _when(timestamp: int) -> str:
    """The signed document's timestamp as UTC, or as the number it is when no date can hold it."""
    try:
        return datetime.datetime.fromtimestamp(timestamp, datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    except (OverflowError, OSError, ValueError):
        return str(timestamp)
