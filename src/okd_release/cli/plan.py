"""`okd-release plan` and `okd-release lint`: the cluster-version operator's view of a payload."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

from okd_release.cli import declare
from okd_release.cli.common import handle_errors, make_registries, registry_options
from okd_release.cli.output import echo
from okd_release.content import Platform
from okd_release.errors import ConfigError, PayloadError
from okd_release.registry.session import Registries
from okd_release.release.cvo import render
from okd_release.release.cvo.changes import changes
from okd_release.release.cvo.graph import Plan, plan
from okd_release.release.cvo.inclusion import (
    DEFAULT_PROFILE,
    ClusterConfig,
    capabilities,
    check_feature_set,
    from_install_config,
)
from okd_release.release.cvo.lint import ERROR, lint
from okd_release.release.cvo.objects import payload_objects
from okd_release.release.payload.source import ReleaseImage, open_payload_dir, open_release


def open_any(registries: Registries, text: str, platform: Platform | None) -> ReleaseImage:
    """A release image, or a directory holding a payload's files."""
    if Path(text).is_dir():
        return open_payload_dir(Path(text))
    return open_release(registries, text, platform)


def cluster_config(profile: str, feature_set: str, baseline: str | None, additional: str | None,
                   install_config: str | None) -> ClusterConfig:
    if install_config:
        return from_install_config(Path(install_config))
    extra = [name for name in (additional or "").split(",") if name]
    caps = capabilities(baseline or "vCurrent", extra) if baseline or extra else None
    return ClusterConfig(profile, check_feature_set(feature_set), caps)


@declare.command("plan")
@declare.argument("release")
@declare.option("--profile", default=DEFAULT_PROFILE, show_default=True,
                help="Cluster profile: manifests need include.release.openshift.io/<profile>: \"true\".")
@declare.option("--feature-set", default="Default", show_default=True,
                help="Cluster feature set (Default, TechPreviewNoUpgrade, DevPreviewNoUpgrade, CustomNoUpgrade, OKD).")
@declare.option("--baseline-capability-set", "baseline",
                help="Enabled capabilities: a baseline set (None, v4.11 ... v4.18, vCurrent). Default: no filtering.")
@declare.option("--additional-capabilities", "additional", help="Capabilities enabled beyond the baseline (comma separated).")
@declare.option("--install-config", type=declare.Path(exists=True, dir_okay=False),
                help="Judge for the cluster this install-config describes (overrides the options above).")
@declare.option("--changes-from", "changes_from", help="Show what an update from this older release applies.")
@declare.option("--contents", is_flag=True, help="With --changes-from: show each changed object's diff.")
@declare.option("--filter-by-os", help="For a multi-arch release, the platform whose payload to read (os/arch).")
@declare.option("-o", "--output", type=declare.Choice(["text", "json", "dot", "mermaid", "svg"]), default="text",
                show_default=True, help="Output format; svg needs Graphviz's dot.")
@registry_options
@handle_errors
def plan_command(release: str, profile: str, feature_set: str, baseline: str | None, additional: str | None,
                 install_config: str | None, changes_from: str | None, contents: bool, filter_by_os: str | None,
                 output: str, registry_config: str | None, insecure: bool, ca_file: str | None, loglevel: int) -> None:
    """Show the order in which the cluster-version operator applies a release's manifests.

    Run levels in order; within each, the components that run in parallel and their objects in order; and
    the manifests left out for this cluster, with the reason (profile, capability, feature set). With
    --changes-from, what an update from the older release applies: objects added and changed, and objects
    it leaves behind. docs/cvo.md says which of the CVO's rules are followed.

    \b
    Examples:
      # The order in which the CVO applies a release on a default cluster
      okd-release plan quay.io/openshift/okd:4.15.0-0.okd-2024-03-10-010116

    \b
      # For the cluster an install-config describes (profile, capabilities, feature set)
      okd-release plan --install-config install-config.yaml RELEASE

    \b
      # What an update from OLD applies, with each changed object's diff
      okd-release plan --changes-from OLD NEW --contents

    \b
      # The run-level graph as a picture
      okd-release plan RELEASE -o dot | dot -Tsvg > plan.svg
    """
    config = cluster_config(profile, feature_set, baseline, additional, install_config)
    platform = Platform.parse(filter_by_os) if filter_by_os else None
    with make_registries(registry_config, insecure, ca_file, loglevel) as registries:
        new = open_any(registries, release, platform)
        new_plan = plan(payload_objects(new.payload.manifests), config)
        if changes_from:
            old = open_any(registries, changes_from, platform)
            _print_changes(plan(payload_objects(old.payload.manifests), config), new_plan, output, contents)
            return
    _print_plan(new_plan, new.payload.version, config, output)


def _print_plan(result: Plan, name: str, config: ClusterConfig, output: str) -> None:
    if output == "json":
        echo(json.dumps(render.as_json(result, name, config), indent=2))
    elif output == "dot":
        echo(render.dot(result, name), nl=False)
    elif output == "mermaid":
        echo(render.mermaid(result), nl=False)
    elif output == "svg":
        if shutil.which("dot") is None:
            raise ConfigError("-o svg needs Graphviz's dot (Debian package graphviz); or use -o dot or -o mermaid")
        svg = subprocess.run(["dot", "-Tsvg"], input=render.dot(result, name), capture_output=True, text=True, check=True)
        echo(svg.stdout, nl=False)
    else:
        echo(render.text(result, name, config), nl=False)


def _print_changes(old: Plan, new: Plan, output: str, contents: bool) -> None:
    found = changes(old, new)
    if output == "json":
        echo(json.dumps([{"change": c.kind, **render.object_json(c.object),
                                **({"diff": c.diff()} if contents and c.kind == "changed" else {})} for c in found],
                              indent=2))
        return
    if output != "text":
        raise ConfigError(f"-o {output} is not available with --changes-from (use text or json)")
    counts = {kind: sum(1 for c in found if c.kind == kind) for kind in ("added", "changed", "removed")}
    echo(f"{counts['added']} added, {counts['changed']} changed, {counts['removed']} left behind")
    group: tuple[str, str, str] | None = None
    for change in found:
        heading = (change.kind, *change.group)
        if heading != group:
            title = {"added": "Added", "changed": "Changed", "removed": "Left behind (not in the new release)"}
            level, component = change.group
            echo(f"\n{title[change.kind]}: run level {level or '-'} {component or '(unnumbered)'}")
            group = heading
        echo(f"  {change.object.id}  ({change.object.file})")
        if contents and change.kind == "changed":
            echo("".join(f"    {line}" for line in change.diff().splitlines(True)), nl=False)


@declare.command("lint")
@declare.argument("release")
@declare.option("--filter-by-os", help="For a multi-arch release, the platform whose payload to read (os/arch).")
@declare.option("-o", "--output", type=declare.Choice(["text", "json"]), default="text", show_default=True,
                help="Output format.")
@registry_options
@handle_errors
def lint_command(release: str, filter_by_os: str | None, output: str, registry_config: str | None, insecure: bool,
                 ca_file: str | None, loglevel: int) -> None:
    """Find manifests the cluster-version operator would reject or mishandle; exit 1 when there are errors.

    Errors: documents that are not Kubernetes objects, the same object in two files, unknown capability or
    feature-set values, image references that are not in image-references. Warnings: file names outside the
    0000_<NN>_<component>_ scheme, objects no cluster profile includes.

    \b
    Examples:
      # Check a custom release before installing it
      okd-release lint registry.example.com/okd/release:custom

    \b
      # Check a payload directory written by `new --to-dir`, as JSON
      okd-release lint ./payload -o json
    """
    platform = Platform.parse(filter_by_os) if filter_by_os else None
    with make_registries(registry_config, insecure, ca_file, loglevel) as registries:
        payload = open_any(registries, release, platform).payload
    findings = lint(payload)
    if output == "json":
        echo(json.dumps([{"severity": f.severity, "file": f.file, "object": f.object, "message": f.message}
                               for f in findings], indent=2))
    else:
        for finding in findings:
            echo(str(finding))
        errors = sum(1 for f in findings if f.severity == ERROR)
        echo(f"{errors} errors, {len(findings) - errors} warnings", err=True)
    if any(f.severity == ERROR for f in findings):
        raise PayloadError(f"{release}: {sum(1 for f in findings if f.severity == ERROR)} errors found by lint")
