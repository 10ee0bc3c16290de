"""`okd-release source COMPONENT RELEASE`: where one image of a release was built from, and how to get exactly that code."""

from __future__ import annotations

import json
import shlex

from okd_release.cli import declare
from okd_release.cli.common import handle_errors, make_registries, registry_options
from okd_release.cli.output import echo
from okd_release.content import Platform
from okd_release.errors import PayloadError
from okd_release.release.history.git import check_commit, parse_source
from okd_release.release.payload.model import ANNOTATION_COMMIT, ANNOTATION_REF, ANNOTATION_SOURCE
from okd_release.release.payload.source import open_release_or_dir


@declare.command("source")
@declare.argument("component")
@declare.argument("release", required=False)
@declare.option("--from-dir", type=declare.Path(file_okay=False), help="Read the payload from a directory.")
@declare.option("--filter-by-os", help="For a multi-arch release, the platform whose payload to read (os/arch).")
@declare.option("-o", "--output", type=declare.Choice(["json"]), help="Print the same as a JSON object.")
@registry_options
@handle_errors
def source_command(component: str, release: str | None, from_dir: str | None, filter_by_os: str | None,
                   output: str | None, registry_config: str | None, insecure: bool, ca_file: str | None,
                   loglevel: int) -> None:
    """Show the source of one image of a release: repository, commit, a link, and the git commands to get it.

    The repository and commit are the image's io.openshift.build.source-location and
    io.openshift.build.commit.id, as the release records them (info --commits shows them for every image).
    The commands clone the repository into a directory named after it and check out exactly that commit;
    extract --git does the same for every image of the release.

    \b
    Examples:
      # Where the console image of a release was built from, and how to get that code
      okd-release source console quay.io/openshift/okd:4.15.0-0.okd-2024-03-10-010116

    \b
      # The same as JSON, for scripts
      okd-release source console quay.io/openshift/okd:4.15.0-0.okd-2024-03-10-010116 -o json
    """
    platform = Platform.parse(filter_by_os) if filter_by_os else None
    with make_registries(registry_config, insecure, ca_file, loglevel) as registries:
        opened = open_release_or_dir(registries, release, from_dir, platform, with_manifests=False)
    tag = opened.payload.image_references.tag(component)
    if tag is None:
        raise PayloadError(f"no image tag {json.dumps(component)} exists in the release image {opened.name}")
    repository, commit = tag.annotations.get(ANNOTATION_SOURCE, ""), tag.annotations.get(ANNOTATION_COMMIT, "")
    if not repository or not commit:
        raise PayloadError(f"image {component} of {opened.name} records no source "
                           f"({ANNOTATION_SOURCE} and {ANNOTATION_COMMIT})")
    source = parse_source(repository)
    check_commit(commit)
    directory = source.path.rsplit("/", 1)[-1]
    commands = [f"git clone {shlex.quote(repository)} {shlex.quote(directory)}",
                f"git -C {shlex.quote(directory)} checkout --detach {commit}"]
    value = {"name": component, "repository": repository, "commit": commit, "commitURL": source.commit_url(commit),
             "ref": tag.annotations.get(ANNOTATION_REF, ""), "image": tag.pullspec, "commands": commands}
    if output == "json":
        echo(json.dumps(value, indent=2))
        return
    lines = [f"Component:   {component}", f"Image:       {tag.pullspec}", f"Repository:  {repository}",
             f"Commit:      {commit}"]
    if value["ref"]:
        lines.append(f"Ref:         {value['ref']}")
    lines += [f"Commit URL:  {value['commitURL']}", "", "Get exactly this source:", *(f"  {c}" for c in commands)]
    echo("\n".join(lines))
