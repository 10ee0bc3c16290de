"""The work behind the contributor's-loop flags of `info` and `extract` (see okd_release.cli.history):
parsing and printing only; the work itself is in okd_release.release.history."""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from okd_release.cli.common import handle_errors, make_registries
from okd_release.cli.output import echo
from okd_release.content import Platform
from okd_release.errors import ConfigError, OkdReleaseError, PayloadError
from okd_release.registry.session import Registries
from okd_release.release.history import changelog, rpmdb
from okd_release.release.history.git import clone_path, ensure_clone
from okd_release.release.history.summary import read_histories, summarize
from okd_release.release.info.describe import ReleaseInfo, describe
from okd_release.release.payload.components import resolve
from okd_release.release.payload.model import (
    ANNOTATION_COMMIT,
    ANNOTATION_FROM_RELEASE,
    ANNOTATION_SOURCE,
    IMAGE_REFERENCES,
    ImageTag,
)
from okd_release.release.payload.source import open_release_or_dir

CLONE_WORKERS = 8


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _validate_info(changes_from: str | None, output: str | None, changelog_dir: str | None, bugs_dir: str | None,
                   skip_bug_check: bool, list_rpms: bool, cache: str | None, image: str | None, diff_rpms: bool,
                   summary: bool = False) -> None:
    """oc's checks, in oc's words (and ours for --summary)."""
    if summary:
        _validate_summary(changes_from, output, bugs_dir, skip_bug_check, list_rpms, cache, image, diff_rpms)
        return
    if skip_bug_check and not bugs_dir:
        raise ConfigError("--skip-bug-check requires --bugs")
    if (changelog_dir or bugs_dir or diff_rpms) and not changes_from:
        raise ConfigError("--changelog/--bugs/--rpmdb-diff require --changes-from")
    if list_rpms and diff_rpms:
        raise ConfigError("--rpmdb/--rpmdb-diff are mutually exclusive")
    if (list_rpms or diff_rpms) and not cache:
        raise ConfigError("--rpmdb/--rpmdb-diff require --rpmdb-cache")
    if (cache or image) and not (list_rpms or diff_rpms):
        raise ConfigError("--rpmdb-cache and --rpmdb-image are used by --rpmdb or --rpmdb-diff")
    if sum(map(bool, (changelog_dir, bugs_dir, diff_rpms))) > 1:
        raise ConfigError("--changelog/--bugs/--rpmdb-diff are mutually exclusive")
    if bugs_dir and output not in (None, "", "name", "json"):
        raise ConfigError("--output only supports 'name' or 'json' for --bugs")
    if changelog_dir and output not in (None, "", "json"):
        raise ConfigError("--output only supports 'json' for --changelog")
    if (list_rpms or diff_rpms) and output not in (None, "", "json"):
        raise ConfigError("--output only supports 'json' for --rpmdb/--rpmdb-diff")


def _validate_summary(changes_from: str | None, output: str | None, bugs_dir: str | None, skip_bug_check: bool,
                      list_rpms: bool, cache: str | None, image: str | None, diff_rpms: bool) -> None:
    """--summary takes --changelog's clones and --rpmdb-cache's packages, and is a view of its own."""
    if bugs_dir or skip_bug_check or list_rpms or diff_rpms:
        raise ConfigError("--summary may not be combined with --bugs, --skip-bug-check, --rpmdb or --rpmdb-diff")
    if not changes_from:
        raise ConfigError("--summary requires --changes-from (or two releases)")
    if image and not cache:
        raise ConfigError("--rpmdb-image requires --rpmdb-cache")
    if output not in (None, "", "json"):
        raise ConfigError("--output only supports 'json' for --summary")


@handle_errors
def info_history(images: tuple[str, ...], changes_from: str | None, from_dir: str | None, filter_by_os: str | None,
                  output: str | None, registry_config: str | None, insecure: bool, ca_file: str | None,
                  loglevel: int, changelog: str | None, bugs: str | None, skip_bug_check: bool, rpmdb: bool,
                  rpmdb_cache: str | None, rpmdb_image: str | None, rpmdb_diff: bool, summary: bool,
                  **_info_options: Any) -> None:
    if not changes_from and len(images) == 2:  # `info OLD NEW`, as the info command reads two releases
        changes_from, images = images[0], images[1:]
    _validate_info(changes_from, output, changelog, bugs, skip_bug_check, rpmdb, rpmdb_cache, rpmdb_image, rpmdb_diff,
                   summary)
    if len(images) + bool(from_dir) != 1:
        raise ConfigError("must specify a single release image as argument" if changes_from
                          else "info expects one release image with --rpmdb")
    platform = Platform.parse(filter_by_os) if filter_by_os else None
    as_json = output == "json"
    with make_registries(registry_config, insecure, ca_file, loglevel) as registries:
        new = _describe(registries, images[0] if images else None, from_dir, platform)
        if rpmdb:
            _list_rpms(registries, new, Path(rpmdb_cache or ""), rpmdb_image, as_json)
            return
        assert changes_from is not None
        old = _describe(registries, changes_from, None, platform)
        if (old.image_digest or old.digest) == (new.image_digest or new.digest):
            raise PayloadError("releases are identical")
        if rpmdb_diff:
            _diff_rpms(registries, old, new, Path(rpmdb_cache or ""), rpmdb_image, as_json)
            return
        # the OS image's packages are read while the registries are open; the clones need none
        rpms = _os_rpm_diff(registries, old, new, Path(rpmdb_cache), rpmdb_image) if summary and rpmdb_cache else {}
    if summary:
        _summary(side(old), side(new), Path(changelog) if changelog else None, rpms, as_json)
        return
    _code_history(side(old), side(new), Path(changelog or bugs or ""), bool(changelog), as_json)


def _describe(registries: Registries, text: str | None, from_dir: str | None, platform: Platform | None) -> ReleaseInfo:
    release = open_release_or_dir(registries, text, from_dir, platform)
    return describe(release, registries, files=True)


def side(info: ReleaseInfo) -> changelog.ReleaseSide:
    """What the changelog needs of a described release."""
    stream = json.loads(info.files[IMAGE_REFERENCES]) if IMAGE_REFERENCES in info.files else {}
    metadata = stream.get("metadata") or {}
    created = metadata.get("creationTimestamp") or ""
    promoted = (metadata.get("annotations") or {}).get(ANNOTATION_FROM_RELEASE, "")
    tags = tuple(ImageTag(i.name, i.pullspec, dict(i.annotations)) for i in info.images)
    versions = {v.name: (v.version, v.display_name) for v in info.component_versions}
    return changelog.ReleaseSide(info.version, info.image_digest or info.digest, str(created), str(promoted), tags,
                                 versions)


def _code_history(old: changelog.ReleaseSide, new: changelog.ReleaseSide, directory: Path, full: bool,
                  as_json: bool) -> None:
    changes = changelog.content_changes(old, new)
    directory.mkdir(parents=True, exist_ok=True)
    logs = changelog.read_logs(directory, changes)
    if full:
        if as_json:
            echo(changelog.encode(changelog.as_dict(old, new, changes, logs)))
        else:
            echo(changelog.markdown(old, new, changes, logs), nl=False)
    else:
        found = changelog.bugs(logs)
        if as_json:
            echo(changelog.encode([{"id": r.id, "status": "", "priority": "", "summary": "",
                                          "source": int(r.source)} for r in found]) if found else "", nl=bool(found))
        else:
            echo("".join(f"{ref.id}\n" for ref in found), nl=False)
    failed = [entry.error for entry in logs if entry.error]
    for error in failed:
        echo(f"error: {_one_line(error)}", err=True)
    if failed:
        sys.exit(1)


def _os_tag(info: ReleaseInfo, name: str | None) -> ImageTag:
    if not name:
        name = info.component_tags.get("machine-os")
        if not name:
            raise PayloadError("component machine-os not found in release")
    for image in info.images:
        if image.name == name:
            return ImageTag(image.name, image.pullspec, dict(image.annotations))
    raise PayloadError(f"tag {name} not found in release")


def _packages(registries: Registries, tag: ImageTag, cache: Path) -> dict[str, str]:
    component = resolve(registries, tag.name, tag.pullspec)
    packages = rpmdb.image_packages(component.store, component.reference.repository, component.image,
                                    rpmdb.RpmdbCache(cache), f"image {tag.name} ({tag.pullspec})")
    return rpmdb.package_versions(packages)


def _list_rpms(registries: Registries, info: ReleaseInfo, cache: Path, image: str | None, as_json: bool) -> None:
    versions = _packages(registries, _os_tag(info, image), cache)
    if as_json:
        echo(json.dumps(dict(sorted(versions.items())), indent=2, ensure_ascii=False))
    else:
        echo("Package contents:\n" + "".join(f"  {n}-{versions[n]}\n" for n in sorted(versions)), nl=False)


def _diff_rpms(registries: Registries, old: ReleaseInfo, new: ReleaseInfo, cache: Path, image: str | None,
               as_json: bool) -> None:
    after = _os_tag(new, image)
    before = _os_tag(old, after.name)
    if before.pullspec == after.pullspec:
        echo("{}" if as_json else f"Releases have the same {after.name} image.")
        return
    difference = rpmdb.diff_packages(_packages(registries, before, cache), _packages(registries, after, cache))
    if as_json:
        echo(json.dumps(difference.as_dict(), indent=2, ensure_ascii=False))
    else:
        echo(difference.text(), nl=False)


def _os_rpm_diff(registries: Registries, old: ReleaseInfo, new: ReleaseInfo, cache: Path,
                 image: str | None) -> dict[str, rpmdb.RpmDiff]:
    """{OS image: its packages' difference} when the OS image changed; an OS image new in `new` adds them all."""
    after = _os_tag(new, image)
    before = next((i for i in old.images if i.name == after.name), None)
    if before is not None and before.pullspec == after.pullspec:
        return {}
    old_versions = _packages(registries, _os_tag(old, after.name), cache) if before is not None else {}
    return {after.name: rpmdb.diff_packages(old_versions, _packages(registries, after, cache))}


def _summary(old: changelog.ReleaseSide, new: changelog.ReleaseSide, clones: Path | None,
             rpms: dict[str, rpmdb.RpmDiff], as_json: bool) -> None:
    histories = None
    if clones is not None:
        clones.mkdir(parents=True, exist_ok=True)
        histories = read_histories(clones, old, new)
    result = summarize(old, new, histories, rpms)
    if as_json:
        echo(json.dumps(result.as_dict(), indent=2, ensure_ascii=False))
    else:
        echo(result.text(), nl=False)
    for error in result.errors:
        echo(f"error: {_one_line(error)}", err=True)
    if result.errors:
        sys.exit(1)


@handle_errors
def extract_git(git: str, output: str | None, image: str | None, from_: str | None, from_dir: str | None,
                 file_name: str | None, tools: bool, command: str | None, filter_by_os: str | None,
                 registry_config: str | None, insecure: bool, ca_file: str | None, loglevel: int,
                 **ignored: Any) -> None:
    if file_name or tools or command or ignored.get("credentials_requests"):
        raise ConfigError("only one of --tools, --command, --credentials-requests, --file, or --git may be specified")
    image = image or from_
    platform = Platform.parse(filter_by_os) if filter_by_os else None
    with make_registries(registry_config, insecure, ca_file, loglevel) as registries:
        release = open_release_or_dir(registries, image, from_dir, platform, with_manifests=False)
    sources = _sources(release.payload.image_references.tags)
    root = Path(git)
    root.mkdir(parents=True, exist_ok=True)
    # `x` and `x.git` share a clone: repositories of one clone are done one after another, clones in parallel
    groups: dict[str, list[tuple[str, str]]] = {}
    for repository, commit in sources.items():
        groups.setdefault(_clone_key(root, repository), []).append((repository, commit))
    with ThreadPoolExecutor(max_workers=CLONE_WORKERS) as pool:
        done = list(pool.map(lambda group: [(repo, _clone(root, repo, commit, output == "commit"))
                                            for repo, commit in group], groups.values()))
    results = dict(pair for group in done for pair in group)
    failed = False
    for line, error in (results[repository] for repository in sources):  # the release's order
        if error:
            echo(f"error: {error}", err=True)
            failed = True
        else:
            echo(line)
    if failed:
        sys.exit(1)


def _clone_key(root: Path, repository: str) -> str:
    try:
        return str(clone_path(root, repository))
    except OkdReleaseError:
        return repository


def _sources(tags: Sequence[ImageTag]) -> dict[str, str]:
    """{repository: commit}, the first tag naming a repository deciding its commit (as oc), with oc's warnings."""
    found: dict[str, str] = {}
    for tag in tags:
        repository, commit = tag.annotations.get(ANNOTATION_SOURCE, ""), tag.annotations.get(ANNOTATION_COMMIT, "")
        if not repository or not commit:
            echo(f"warning: Tag {tag.name} has no source info", err=True)
            continue
        if repository in found:
            if found[repository] != commit:
                echo(f"warning: Repo {repository} referenced more than once with different commits, "
                           "only checking out the first reference", err=True)
            continue
        found[repository] = commit
    return found


def _clone(root: Path, repository: str, commit: str, verify_only: bool) -> tuple[str, str]:
    """(line to print, error): clone or reuse, then check out `commit` (or, for -o commit, only make sure it is there)."""
    try:
        clone = ensure_clone(root, repository)
        if verify_only:
            clone.ensure_commits(repository, [commit])
            return f"{clone.path} {commit}", ""
        clone.checkout(repository, commit)
        return str(clone.path), ""
    except OkdReleaseError as error:
        return "", f"{repository}: {_one_line(str(error))}"
