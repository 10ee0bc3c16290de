"""`okd-release info`: the views of a release payload, and what changed between two, printed as oc prints them."""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from okd_release.cli import declare
from okd_release.cli.common import dump, handle_errors, make_registries, mirror_config_options, registry_options
from okd_release.cli.history import info_history_options
from okd_release.cli.output import echo
from okd_release.cli.table import TabWriter, human_size, rfc3339
from okd_release.content import Platform
from okd_release.errors import ConfigError, OkdReleaseError, PayloadError
from okd_release.registry.session import Registries
from okd_release.release.info.describe import ReleaseInfo, describe
from okd_release.release.info.gojson import encode
from okd_release.release.payload.model import IMAGE_REFERENCES
from okd_release.release.payload.source import ReleaseImage, open_release, open_release_or_dir
from okd_release.release.payload.versions import parse_semver

if TYPE_CHECKING:
    from okd_release.release.info.diff import ImageChange, ReleaseDiff

LISTS = ("name", "pullspec", "digest")
TEMPLATES = ("jsonpath", "template", "go-template")
FORMATS = ("json", "yaml", *LISTS, *TEMPLATES)
EXCLUSIVE = "only one of --commits, --commit-urls, --pullspecs, --contents, --size, --verify may be specified"


def _open(registries: Registries, text: str | None, from_dir: str | None, platform: Platform | None) -> ReleaseImage:
    return open_release_or_dir(registries, text, from_dir, platform)


def _format(output: str | None) -> tuple[str, str]:
    """`-o` split into the format and its template (`jsonpath={.x}` → ("jsonpath", "{.x}"))."""
    if not output:
        return "", ""
    name, _, template = output.partition("=")
    if name not in FORMATS:
        raise ConfigError(f"--output only supports {', '.join(FORMATS)}")
    if name in TEMPLATES and not template:
        raise ConfigError(f"--output {name} needs a template: -o {name}=TEMPLATE")
    return name, template


@declare.command("info")
@declare.argument("images", nargs=-1, metavar="[RELEASE] [OTHER]")
@declare.option("--from-dir", type=declare.Path(file_okay=False), help="Read the payload from a directory.")
@declare.option("--changes-from", help="Show changes from this image to the requested image.")
@declare.option("--pullspecs", is_flag=True, help="Display the pull spec of each image instead of the digest.")
@declare.option("--commits", is_flag=True, help="Display information about the source an image was created with.")
@declare.option("--commit-urls", is_flag=True, help="Display a link (if possible) to the source code.")
@declare.option("--size", is_flag=True, help="Display the size of each image including overlap.")
@declare.option("--contents", is_flag=True, help="Display the contents of a release (with two releases: the diffs).")
@declare.option("--image-for", help="Print the pull spec of the specified image or an error if it does not exist.")
@declare.option("--include-images", is_flag=True, help="With -o json, include the images the release references.")
@declare.option("--verify", is_flag=True,
                help="Check every image the release references exists and matches its digest; one line per release.")
@declare.option("--filter-by-os", help="For a multi-arch release, the platform to show (os/arch).")
@declare.option("-o", "--output", help="digest|json|yaml|name|pullspec|jsonpath=...|template=...|go-template=...")
@info_history_options
@mirror_config_options
@registry_options
@handle_errors
def info_command(images: tuple[str, ...], from_dir: str | None, changes_from: str | None, pullspecs: bool,
                 commits: bool, commit_urls: bool, size: bool, contents: bool, image_for: str | None,
                 include_images: bool, verify: bool, filter_by_os: str | None, output: str | None,
                 registry_config: str | None, insecure: bool, ca_file: str | None, loglevel: int) -> None:
    """Show a release payload: metadata, component versions, images; or the differences between two.

    Shows the release's name, digest, creation time, OS/arch, release metadata (version, the versions it
    upgrades from) and the component versions it declares, then each image with its digest. --pullspecs,
    --commits, --commit-urls and --size change the image table; --contents prints every file of the payload.
    Given two releases (or --changes-from), it shows what changed between them. A multi-arch release shows
    its manifest list; --filter-by-os chooses the payload shown.

    \b
    Examples:
      # Show a release
      okd-release info quay.io/openshift/okd:4.15.0-0.okd-2024-03-10-010116

    \b
      # Show the source repository and commit of each image, as links
      okd-release info quay.io/openshift/okd:4.15.0-0.okd-2024-03-10-010116 --commit-urls

    \b
      # Show what changed between two releases
      okd-release info quay.io/openshift/okd:4.14.0-0.okd-2024-01-26-175629 \\
        quay.io/openshift/okd:4.15.0-0.okd-2024-03-10-010116

    \b
      # Print the pull spec of one image of the release
      okd-release info quay.io/openshift/okd:4.15.0-0.okd-2024-03-10-010116 --image-for cli

    \b
      # The release as JSON, for scripts
      okd-release info quay.io/openshift/okd:4.15.0-0.okd-2024-03-10-010116 -o json
    """
    if sum(map(bool, (image_for, commits, commit_urls, pullspecs, contents, size, verify))) > 1:
        raise ConfigError(EXCLUSIVE)
    if image_for and output:
        raise ConfigError("--output and --image-for may not both be specified")
    form, template = _format(output)
    if not images and not from_dir:
        raise ConfigError("info expects at least one argument, a release image pull spec")
    if not changes_from and len(images) == 2 and not verify:
        changes_from, images = images[0], images[1:]
    if changes_from and len(images) + bool(from_dir) != 1:
        raise ConfigError("must specify a single release image as argument when comparing to another release image")
    platform = Platform.parse(filter_by_os) if filter_by_os else None
    with make_registries(registry_config, insecure, ca_file, loglevel) as registries:
        if changes_from and not verify:
            _changes(registries, changes_from, images[0] if images else None, from_dir, platform, form, contents,
                     commits)
            return
        failed = False
        for text in images or (None,):
            try:
                release = _open(registries, text, from_dir, platform)
                wanted_files = contents or verify or form in ("json", "yaml", *TEMPLATES)
                info = describe(release, registries, sizes=size, images=include_images or verify,
                                files=wanted_files)
                if verify:
                    _verify(info)
                else:
                    _print_info(info, form, template, image_for, pullspecs, commits, commit_urls, size, contents)
            except OkdReleaseError as error:
                if len(images) < 2:
                    raise
                echo(f"error: {' '.join(str(error).split())}", err=True)
                failed = True
        if failed:
            sys.exit(1)


def _verify(info: ReleaseInfo) -> None:
    """oc's --verify line; an image that is missing or does not match its digest fails the release."""
    broken = [w for w in info.warnings if w.startswith("tag ")]
    if broken:
        raise PayloadError(f"release {info.name} failed verification: {'; '.join(broken)}")
    created = json.loads(info.files[IMAGE_REFERENCES]).get("metadata", {}).get("creationTimestamp")
    echo(f"{info.image_digest or info.digest} {rfc3339(created)} {info.version}")


def _emit(text: str) -> None:
    echo(text, nl=False)


def _print_info(info: ReleaseInfo, form: str, template: str, image_for: str | None, pullspecs: bool,
                commits: bool, commit_urls: bool, size: bool, contents: bool) -> None:
    if contents:
        _emit(_contents(info))
    elif form in ("json", "yaml"):
        value = info.as_dict()
        if form == "json":
            echo(encode(value))
        else:
            dump(value, "yaml")
    elif form in LISTS:
        _lists(info, form)
    elif form == "jsonpath":
        from okd_release.cli.template import jsonpath  # only for -o jsonpath

        _emit(jsonpath(template, info.as_dict()))
    elif form in ("template", "go-template"):
        from okd_release.cli.template import go_template  # only for -o template

        _emit(go_template(template, info.as_dict()))
    elif image_for:
        echo(info.image(image_for).pullspec)
    else:
        _emit(info_text(info, commits=commits, commit_urls=commit_urls, pullspecs=pullspecs, size=size))


def _lists(info: ReleaseInfo, form: str) -> None:
    for image in info.images:
        if form == "name":
            echo(image.name)
        elif form == "pullspec":
            echo(image.pullspec)
        elif "@" in image.pullspec:
            echo(image.pullspec.split("@", 1)[1])
        else:
            echo(f"error: {image.name} does not point to a digest", err=True)


def _contents(info: ReleaseInfo) -> str:
    """image-references and release-metadata first, then the manifests (oc counts other files but omits them)."""
    raw = [name for name in info.files if name in (IMAGE_REFERENCES, "release-metadata")]
    parts = []
    for name in [*sorted(raw), *sorted(info.manifest_files)]:
        data = info.files[name].decode(errors="replace")
        parts.append(f"# {name}\n{data}" + ("\n" if data and not data.endswith("\n") else ""))
    return "".join(parts)


# -- the default view ------------------------------------------------------------------------------
def short_duration(value: str | None, now: datetime | None = None) -> str:
    """Kubernetes' ShortHumanDuration of the time since `value` (as oc's AGE and Created columns)."""
    if not value:
        return "<invalid>"
    try:
        moment = datetime.fromisoformat(rfc3339(value).replace("Z", "+00:00"))
    except ValueError:
        return "<invalid>"
    seconds = int(((now or datetime.now(UTC)) - moment).total_seconds())
    if seconds < -1:
        return "<invalid>"
    if seconds < 0:
        return "0s"
    if seconds < 60:
        return f"{seconds}s"
    if seconds < 3600:
        return f"{seconds // 60}m"
    hours = seconds // 3600
    if hours < 24:
        return f"{hours}h"
    if hours < 24 * 365:
        return f"{hours // 24}d"
    return f"{hours // 24 // 365}y"


def _go_value(value: Any) -> str:
    """Go's %v of a decoded JSON value (release-metadata's metadata)."""
    if value is None:
        return "<nil>"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return str(int(value)) if float(value).is_integer() and abs(value) < 1e21 else repr(float(value))
    if isinstance(value, list):
        return "[" + " ".join(_go_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "map[" + " ".join(f"{k}:{_go_value(value[k])}" for k in sorted(value)) + "]"
    return str(value)


def _semver_key(version: str) -> tuple[Any, ...]:
    core, _, prerelease = parse_semver(version).partition("-")
    numbers = tuple(int(part) for part in core.split("."))
    if not prerelease:
        return (numbers, 1, ())
    return (numbers, 0, tuple((0, int(p), "") if p.isdigit() else (1, 0, p) for p in prerelease.split(".")))


def _sorted_versions(versions: tuple[str, ...]) -> list[str]:
    """Semantic version order, or as given when any is not a semantic version (as oc)."""
    try:
        return sorted(versions, key=_semver_key)
    except PayloadError:
        return list(versions)


def _section(outer: TabWriter, body: Callable[[TabWriter], None]) -> None:
    """oc's writeTabSection: a block laid out by its own tabwriter, written through the outer one."""
    inner = TabWriter(outer.write)
    body(inner)
    inner.flush()


def info_text(info: ReleaseInfo, *, commits: bool = False, commit_urls: bool = False, pullspecs: bool = False,
              size: bool = False, now: datetime | None = None) -> str:
    """The default view, laid out as oc's describeReleaseInfo lays it out."""
    out: list[str] = []
    w = TabWriter(out.append)
    w.write(f"Name:\t{info.version}\nDigest:\t{info.digest}\nCreated:\t{rfc3339(info.created)}\n"
            f"OS/Arch:\t{info.platform}\nManifests:\t{info.manifests}\n")
    if info.metadata_files:
        w.write(f"Metadata files:\t{info.metadata_files}\n")
    w.write(f"\nPull From:\t{info.pull_from}\n")
    if info.platforms:  # ours: the platforms of a manifest list
        w.write("\nManifest List:\n" + "".join(f"  {p}\t{d}\n" for p, d in info.platforms))
    if info.has_metadata:
        upgrades = ", ".join(_sorted_versions(info.upgrades)) or "<none>"
        w.write(f"\nRelease Metadata:\n  Version:\t{info.version}\n  Upgrades:\t{upgrades}\n")
        shown = sorted(k for k, v in info.metadata.items() if not (isinstance(v, (str, list, dict)) and not v))
        _section(w, lambda s: s.write("  Metadata:\n" + "".join(f"    {k}:\t{_go_value(info.metadata[k])}\n"
                                                                  for k in shown)))
    if info.component_versions:
        w.write("\nComponent Versions:\n" + "".join(f"  {v.name}\t{v.version}\t{v.display_name}\n"
                                                   for v in info.component_versions))
    _section(w, lambda s: _images(s, info, commits, commit_urls, pullspecs, size, now))
    if info.warnings:
        _section(w, lambda s: s.write("\nWarnings:\n" + "".join(f"* {warning}\n" for warning in info.warnings)))
    w.write("\n")
    w.flush()
    return "".join(out)


def _images(w: TabWriter, info: ReleaseInfo, commits: bool, commit_urls: bool, pullspecs: bool, size: bool,
            now: datetime | None) -> None:
    w.write("\nImages:\n")
    if size:
        _sizes(w, info, now)
    elif commit_urls:
        w.write("  NAME\tURL\t\n" + "".join(f"  {i.name}\t{i.commit_url}\n" for i in info.images))
    elif commits:
        w.write("  NAME\tREPO\tCOMMIT\t\n" + "".join(f"  {i.name}\t{i.source}\t{i.commit}\n" for i in info.images))
    elif pullspecs:
        w.write("  NAME\tPULL SPEC\n" + "".join(f"  {i.name}\t{i.pullspec}\n" for i in info.images))
    else:
        w.write("  NAME\tDIGEST\n" + "".join(f"  {i.name}\t{i.digest}\n" for i in info.images))


def _sizes(w: TabWriter, info: ReleaseInfo, now: datetime | None) -> None:
    """oc's --size table: each image's age, layers, size and the size only it has; shared layers count once."""
    fetched = [i.fetched for i in info.images if i.fetched is not None]
    counts: dict[str, int] = {}
    sizes: dict[str, int] = {}
    bases: dict[str, int] = {}
    for one in fetched:
        for number, (_, digest, layer_size) in enumerate(one.layers):
            if number == 0:
                bases[digest] = 0
            counts[digest] = counts.get(digest, 0) + 1
            sizes.setdefault(digest, layer_size)
    many_bases = len(bases) > 1
    w.write(f"  NAME\t AGE\t LAYERS\t SIZE MB\t UNIQUE MB\t {'BASE' if many_bases else ''}\n")
    covered: set[str] = set()
    next_base = 1
    for entry in info.images:
        image = entry.fetched
        if image is None:
            w.write(f"  {entry.name}\t\t\t\t\t\n")
            continue
        base = ""
        if many_bases and image.layers and image.layers[0][1] in bases:
            first = image.layers[0][1]
            if bases[first] == 0:
                bases[first] = next_base
                next_base += 1
            index = bases[first]
            base = " " * (index - 1) + chr(ord("A") + index - 1) if len(bases) <= 5 else str(index)
        total = sum(s for _, _, s in image.layers)
        unique = sum(s for _, d, s in image.layers if counts[d] <= 1)
        if unique == 0 and image.layers and image.layers[-1][1] not in covered:
            unique = image.layers[-1][2]
            covered.add(image.layers[-1][1])
        created = image.config.created
        age = short_duration(created, now) if created and not created.startswith("0001-01-01") else ""
        w.write(f"  {entry.name}\t{age:>4}\t{len(image.layers):7d}\t{total / 1024 / 1024:8.1f}\t"
                f"{unique / 1024 / 1024:10.1f}\t {base}\n")
    w.write("\n")
    summary = f"  {human_size(sum(sizes.values()))} across {len(counts)} layers"
    w.write(summary + (f", {len(bases)} different base images\n" if many_bases else "\n"))


# -- two releases ----------------------------------------------------------------------------------
def _changes(registries: Registries, old_text: str, new_text: str | None, from_dir: str | None,
             platform: Platform | None, form: str, contents: bool, commits: bool) -> None:
    if form not in ("", "json", "yaml"):
        raise ConfigError(f"unrecognized output mode: {form}")
    files = contents or bool(form)
    new = describe(_open(registries, new_text, from_dir, platform), registries, files=files)
    old = describe(open_release(registries, old_text, platform), registries, files=files)
    from okd_release.release.info.diff import diff_releases  # noqa: PLC0415 - only for two releases

    difference = diff_releases(old, new)
    if contents:  # ours: the manifests' diffs (oc prints how to extract both and diff them)
        echo(f"# {new.version} (changes from {old.version})")
        for text in difference.manifest_diffs():
            echo(f"\n{text.rstrip()}")
    elif form == "json":
        echo(encode(difference.as_dict()))
    elif form == "yaml":
        dump(difference.as_dict(), "yaml")
    else:
        _emit(diff_text(difference, commits))


def _repo_commit_url(repo: str, commit: str, kind: str = "commit") -> str:
    if repo.startswith("https://github.com/"):
        head, _, tail = repo.partition("?")
        path = re.sub(r"/+$", "", head)
        return f"{path}/{kind}/{commit}" + (f"?{tail}" if tail else "")
    return f"{repo} {commit}"


def _git_diff_or_commit(change: ImageChange) -> str:
    """oc's gitDiffOrCommit: a compare link within a repository, else each side's commit."""
    assert change.old and change.new
    old_repo, new_repo, old_commit, new_commit = change.old.source, change.new.source, change.old.commit, change.new.commit
    if not new_repo or not new_commit:
        return "<unknown>"
    if old_repo == new_repo:
        if old_commit == new_commit:
            return _repo_commit_url(new_repo, new_commit)
        if new_repo.startswith("https://github.com/"):
            return _repo_commit_url(new_repo, f"{old_commit}...{new_commit}", "compare")
        return f"{new_repo} {old_commit} {new_commit}"
    if not old_commit:
        return f"{old_repo} <unknown> -> {_repo_commit_url(new_repo, new_commit)}"
    if old_commit == new_commit:
        return f"{old_repo} -> {_repo_commit_url(new_repo, new_commit)}"
    return f"{_repo_commit_url(old_repo, old_commit)} -> {_repo_commit_url(new_repo, new_commit)}"


def _repo_and_commit(entry: Any) -> str:
    if not entry.source or not entry.commit:
        return "<unknown>"
    return _repo_commit_url(entry.source, entry.commit)


def diff_text(difference: ReleaseDiff, commits: bool = False, now: datetime | None = None) -> str:
    """What changed, laid out as oc's describeReleaseDiff lays it out."""
    old, new = difference.old, difference.new
    if (old.image_digest or old.digest) == (new.image_digest or new.digest):
        return "Releases are identical\n"
    out: list[str] = []
    w = TabWriter(out.append, padding=2)
    w.write(f"\tFROM\tTO\nName:\t{old.version}\t{new.version}\n"
            f"Created:\t{short_duration(old.created, now)}\t{short_duration(new.created, now)}\n")
    if old.platform != new.platform:
        w.write(f"OS/Arch:\t{old.platform}\t{new.platform}\n")
    if old.has_metadata and new.has_metadata:
        upgrade = "Yes" if old.version in new.upgrades else "No"
        w.write(f"\nVersion:\t{old.version}\t{new.version}\nUpgrade From:\t\t{upgrade}\n")
    elif old.has_metadata:
        w.write("Has Release Metadata:\tYes\t\n")
    elif new.has_metadata:
        w.write("Has Release Metadata:\t\tYes\n")
    if difference.images:
        width = max(len(c.name) for c in difference.images)

        def row(change: ImageChange) -> str:
            assert change.old and change.new
            if commits:
                return f"  {change.name.ljust(width)}\t{_git_diff_or_commit(change)}\n"
            return f"  {change.name.ljust(width)}\t{change.old.digest}\t{change.new.digest}\n"

        for title, changes in (("Images Changed", difference.images_changed),
                               ("Images Rebuilt", difference.images_rebuilt)):
            if changes:
                _section(w, lambda s, t=title, c=changes: s.write(  # type: ignore[misc]
                    f"\n{t}:\n" + "".join(row(x) for x in c if x.old and x.new and x.old.digest != x.new.digest)))
        added = difference.images_added
        if added:
            _section(w, lambda s: s.write("\nImages Added:\n" + "".join(
                f"  {c.name.ljust(width)}\t{_repo_and_commit(c.new) if commits else c.new.digest}\n"
                for c in added if c.new)))
        removed = difference.images_removed
        if removed:
            _section(w, lambda s: s.write("\nImages Removed:\n" + "".join(f"  {c.name.ljust(width)}\n" for c in removed)))
    w.write("\n")
    w.flush()
    return "".join(out)
