"""`okd-release extract`: manifests, one file, or the client and installer binaries."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING

from okd_release.cli import declare
from okd_release.cli.common import handle_errors, make_registries, mirror_config_options, registry_options
from okd_release.cli.history import extract_git_options
from okd_release.cli.output import echo
from okd_release.cli.table import rfc3339
from okd_release.content import Platform
from okd_release.errors import ConfigError
from okd_release.release.cvo.inclusion import DEFAULT_PROFILE, ClusterConfig
from okd_release.release.extract.tools import extract_tools, select_targets
from okd_release.release.payload.source import ReleaseImage, open_release_or_dir

if TYPE_CHECKING:
    from okd_release.release.signatures.signing import ChecksumSigner

# Each way of extracting imports what only it needs (the manifests' YAML re-encoding, the CVO's inclusion
# rules, info's description, GnuPG signing) when it runs, so that `extract --command` starts fast.

CREDENTIALS_WARNING = ("warning: if you intend to pass CredentialsRequests to ccoctl, you should use --included to "
                       "filter out requests that your cluster is not expected to need.")


@declare.command("extract")
@declare.argument("image", required=False)
@declare.option("--from", "from_", help="The release image (instead of the IMAGE argument, as oc accepts).")
@declare.option("--from-dir", type=declare.Path(file_okay=False), help="Read the payload from a directory.")
@declare.option("--to", "to", default=".", show_default=True, type=declare.Path(file_okay=False), help="Directory to write to.")
@declare.option("--file", "file_name", help="Write this one file of release-manifests to stdout, byte for byte.")
@declare.option("--raw", is_flag=True,
                help="Write every file of release-manifests byte for byte (oc re-encodes the manifests and skips other files).")
@declare.option("--included", is_flag=True,
                help="Only the manifests the cluster-version operator applies on the cluster --install-config describes.")
@declare.option("--install-config", type=declare.Path(exists=True, dir_okay=False),
                help="The install-config of the cluster --included judges for.")
@declare.option("--profile", help="With --included, instead of --install-config: the cluster profile "
                                  f"(default {DEFAULT_PROFILE}).")
@declare.option("--feature-set", help="With --included, instead of --install-config: the feature set (default Default).")
@declare.option("--baseline-capability-set", "baseline",
                help="With --included, instead of --install-config: the baseline capability set (None, v4.11 ... vCurrent).")
@declare.option("--additional-capabilities", "additional",
                help="With --included, instead of --install-config: capabilities enabled beyond the baseline (comma separated).")
@declare.option("--credentials-requests", is_flag=True, help="Only CredentialsRequest manifests.")
@declare.option("--cloud", help="Only CredentialsRequests for this cloud (aws, azure, gcp, ...).")
@declare.option("--tools", is_flag=True,
                help="Write the client and installer archives for this machine's OS and architecture (--command-os '*': all).")
@declare.option("--command", help="Write this binary (oc, openshift-install, ...).")
@declare.option("--command-os", help="OS for --command or --tools: linux, mac, windows, linux/arm64, mac/arm64, or '*' for "
                                     "all. Default: this machine's.")
@declare.option("--signing-key", type=declare.Path(exists=True, dir_okay=False),
                help="With --tools, sign sha256sum.txt with this GPG private key: sha256sum.txt.asc (asks its passphrase).")
@declare.option("--filter-by-os", help="For a multi-arch release, the platform whose payload to read (os/arch).")
@extract_git_options
@mirror_config_options
@registry_options
@handle_errors
def extract_command(image: str | None, from_: str | None, from_dir: str | None, to: str, file_name: str | None,
                    raw: bool, included: bool, install_config: str | None, profile: str | None,
                    feature_set: str | None, baseline: str | None, additional: str | None,
                    credentials_requests: bool, cloud: str | None, tools: bool, command: str | None,
                    command_os: str | None, signing_key: str | None, filter_by_os: str | None,
                    registry_config: str | None, insecure: bool,
                    ca_file: str | None, loglevel: int) -> None:
    """Extract the contents of a release: its manifests (default), one file, or its tools.

    By default the manifests are written to --to as oc writes them: image-references and release-metadata
    byte for byte, each YAML or JSON manifest re-encoded as oc encodes it, other files left out (--raw:
    every file byte for byte). --included keeps the manifests the cluster-version operator applies on the
    cluster --install-config describes (or --profile, --feature-set, --baseline-capability-set,
    --additional-capabilities), judged per document; --credentials-requests keeps CredentialsRequests,
    --cloud those of one cloud. --file prints one file. --command writes one binary (oc, openshift-install,
    ...) for --command-os, and --tools the client and installer archives with a sha256sum.txt; the
    installer is pinned to the release it came from, so it installs exactly that release. Nothing is
    written outside --to.

    \b
    Examples:
      # Write the release's manifests to a directory
      okd-release extract quay.io/openshift/okd:4.15.0-0.okd-2024-03-10-010116 --to manifests/

    \b
      # Only the manifests your cluster gets, and its AWS credentials requests for ccoctl
      okd-release extract quay.io/openshift/okd:4.15.0-0.okd-2024-03-10-010116 --to manifests/ \\
        --included --install-config install-config.yaml
      okd-release extract quay.io/openshift/okd:4.15.0-0.okd-2024-03-10-010116 --to credreqs/ \\
        --included --install-config install-config.yaml --credentials-requests --cloud aws

    \b
      # Print one file of the payload
      okd-release extract quay.io/openshift/okd:4.15.0-0.okd-2024-03-10-010116 --file image-references

    \b
      # The installer for Linux, pinned to install this release
      okd-release extract quay.io/openshift/okd:4.15.0-0.okd-2024-03-10-010116 \\
        --command openshift-install --command-os linux --to bin/

    \b
      # The client and installer archives for every OS and architecture
      okd-release extract quay.io/openshift/okd:4.15.0-0.okd-2024-03-10-010116 --tools --command-os '*' --to tools/
    """
    image = image or from_
    cluster_flags = any(v is not None for v in (profile, feature_set, baseline, additional))
    _check_flags(image, from_dir, to, file_name, raw, included, install_config, cluster_flags,
                 credentials_requests, cloud, tools, command)
    if credentials_requests and not included:
        echo(CREDENTIALS_WARNING, err=True)
    platform = Platform.parse(filter_by_os) if filter_by_os else None
    with make_registries(registry_config, insecure, ca_file, loglevel) as registries:
        # extract --to and --file stream the payload layer; the tools' release.txt counts the manifests
        release = open_release_or_dir(registries, image, from_dir, platform, with_manifests=bool(tools or command))
        if file_name:
            from okd_release.release.extract.manifests import manifest_file

            sys.stdout.buffer.write(manifest_file(release, file_name))
            return
        if tools or command:
            targets, as_archives = select_targets(release, command, command_os)
            signer = _signer(signing_key) if signing_key and as_archives else None  # before any work, as oc

            def release_text() -> str:
                from okd_release.cli.info import info_text
                from okd_release.release.info.describe import describe

                return info_text(describe(release), pullspecs=True)

            try:
                for tool in extract_tools(registries, release, targets, as_archives, Path(to), release_text):
                    for marker in tool.missing_markers:
                        echo(f"warning: {tool.path.name}: no {marker} marker to replace", err=True)
                    echo(f"{tool.path}")
                if signer is not None:
                    signer.sign_file(Path(to) / "sha256sum.txt")
            finally:
                if signer is not None:
                    signer.close()
            return
        from okd_release.release.extract.manifests import Selection, extract_manifests

        selection = Selection()
        if included or credentials_requests:
            cluster = _cluster(release, install_config, profile, feature_set, baseline, additional) if included else None
            selection = Selection(cluster, credentials_requests, cloud, install_config or "the given configuration")
        result = extract_manifests(release, Path(to), selection, raw=raw)
    for warning in result.warnings:
        echo(f"warning: {warning}", err=True)
    if result.errors:
        listed = result.errors[0] if len(result.errors) == 1 else "\n\n" + "".join(f"* {e}\n" for e in result.errors)
        echo(f"Errors: {listed}", err=True)
    if release.digest:
        echo(_extracted_line(release, image))


def _check_flags(image: str | None, from_dir: str | None, to: str, file_name: str | None, raw: bool, included: bool,
                 install_config: str | None, cluster_flags: bool, credentials_requests: bool, cloud: str | None,
                 tools: bool, command: str | None) -> None:
    """oc's flag checks, in oc's order and words, then ours."""
    if install_config and not included:
        raise ConfigError("--install-config is only supported with --included")
    if cloud and not credentials_requests and not included:
        raise ConfigError("--cloud is only supported with --credentials-requests or --included")
    if cloud:
        from okd_release.release.extract.manifests import check_cloud

        check_cloud(cloud)
    if sum(map(bool, (tools, credentials_requests, file_name, command))) > 1:
        raise ConfigError("only one of --tools, --command, --credentials-requests, --file, or --git may be specified")
    if not image and not from_dir:
        raise ConfigError("must specify an image containing a release payload with --from")
    if to not in ("", ".") and file_name:
        raise ConfigError("only one of --to and --file may be set")
    if cluster_flags and not included:
        raise ConfigError("--profile, --feature-set, --baseline-capability-set and --additional-capabilities are "
                          "only supported with --included")
    if included and not install_config and not cluster_flags:
        raise ConfigError("--included needs --install-config FILE (or --profile, --feature-set, "
                          "--baseline-capability-set, --additional-capabilities): okd-release does not read a live "
                          "cluster's configuration")
    if install_config and cluster_flags:
        raise ConfigError("give either --install-config or --profile/--feature-set/--baseline-capability-set/"
                          "--additional-capabilities, not both")
    if raw and (included or credentials_requests or tools or command or file_name):
        raise ConfigError("--raw writes every manifest file as the payload holds it: it cannot be combined with "
                          "--included, --credentials-requests, --file, --tools or --command")


def _cluster(release: ReleaseImage, install_config: str | None, profile: str | None, feature_set: str | None,
             baseline: str | None, additional: str | None) -> ClusterConfig:
    from okd_release.cli.plan import cluster_config
    from okd_release.release.extract.manifests import enabled_feature_gates

    config = cluster_config(profile or DEFAULT_PROFILE, feature_set or "Default", baseline, additional, install_config)
    if not install_config:
        return config
    if config.capabilities is not None:  # oc says the same of its own version
        echo("info: the known capabilities and capability sets are OpenShift 4.18's; those of the eventual "
                   "cluster's version may differ", err=True)
    # as oc with --install-config: the feature gates the release's FeatureGate manifests enable for it
    gates, problem = enabled_feature_gates(release, config.feature_set or "", config.profile or DEFAULT_PROFILE)
    if gates is None:
        echo(f"warning: Failed to extract feature gates from release: {problem}", err=True)
        return config
    return ClusterConfig(config.profile, config.feature_set, config.capabilities, config.exclude_identifier, gates,
                         config.platform)


def _signer(key_file: str) -> ChecksumSigner:
    """The --signing-key made ready (its passphrase asked only if it has one); the caller closes it."""
    from okd_release.release.signatures.signing import ChecksumSigner

    return ChecksumSigner(Path(key_file), _passphrase)


def _passphrase() -> str:
    import click  # noqa: PLC0415 - only for a signing key with a passphrase

    answer: str = click.prompt("Enter password for private key", hide_input=True, err=True, default="",
                               show_default=False)
    return answer


def _extracted_line(release: ReleaseImage, image: str | None) -> str:
    """oc's last line on stdout: the payload's digest (unless pulled by digest) and when it was created."""
    created = rfc3339(release.config.created if release.config else None)
    if image and "@" in image:
        return f"Extracted release payload created at {created}"
    return f"Extracted release payload from digest {release.digest} created at {created}"
