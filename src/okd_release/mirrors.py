"""Which mirrors serve an image: the rules of ImageContentSourcePolicy and ImageDigestMirrorSet files, as oc's
`--icsp-file` / `--idms-file` read them and as cri-o applies them on a node.

A rule names a source (a repository, or a prefix of repositories: `quay.io/okd` covers `quay.io/okd/release`)
and its mirrors; a repository under the source is found at each mirror with the same remainder. Rules apply
only to reads by digest: a tag names different content at the mirror and at the source. Pure: no I/O but
reading the files.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Literal

import msgspec
from msgspec import Struct

from okd_release import names
from okd_release import reference as references
from okd_release.documents import convert, load_yaml_all
from okd_release.errors import ConfigError, OkdReleaseError
from okd_release.reference import Reference

ALLOW_CONTACTING_SOURCE = "AllowContactingSource"
NEVER_CONTACT_SOURCE = "NeverContactSource"

ICSP = "ImageContentSourcePolicy"
IDMS = "ImageDigestMirrorSet"
_API_VERSIONS = {ICSP: "operator.openshift.io/v1alpha1", IDMS: "config.openshift.io/v1"}


class _RepositoryDigestMirrors(msgspec.Struct, frozen=True):
    source: str
    mirrors: list[str] = []


class _ImageDigestMirrors(msgspec.Struct, frozen=True, rename={"mirror_source_policy": "mirrorSourcePolicy"}):
    source: str
    mirrors: list[str] = []
    mirror_source_policy: Literal["", "AllowContactingSource", "NeverContactSource"] = ""


class _IcspSpec(msgspec.Struct, frozen=True, rename="camel"):
    repository_digest_mirrors: list[_RepositoryDigestMirrors] = []


class _IdmsSpec(msgspec.Struct, frozen=True, rename="camel"):
    image_digest_mirrors: list[_ImageDigestMirrors] = []


class _Kind(msgspec.Struct, frozen=True, rename="camel"):
    kind: str = ""
    api_version: str = ""


class _IcspDocument(msgspec.Struct, frozen=True):
    spec: _IcspSpec = _IcspSpec()


class _IdmsDocument(msgspec.Struct, frozen=True):
    spec: _IdmsSpec = _IdmsSpec()


class MirrorRule(Struct, frozen=True):
    """One source and its mirrors, in the order a node tries them; `policy` is the ImageDigestMirrorSet's
    mirrorSourcePolicy as written ("" when not given, as in every ImageContentSourcePolicy)."""

    source: str
    mirrors: tuple[str, ...]
    policy: str = ""

    @property
    def contact_source(self) -> bool:
        """Whether the source is read when no mirror has the image (all but NeverContactSource)."""
        return self.policy != NEVER_CONTACT_SOURCE

    def covers(self, name: str) -> bool:
        """Whether repository `name` (`registry/repository`) is the source or under it (cri-o's prefix match)."""
        return name == self.source or name.startswith(self.source + "/")


class ImageMirrors(Struct, frozen=True):
    """The mirror rules in force: where to read an image by digest, mirrors first. Empty: read the source only."""

    rules: tuple[MirrorRule, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.rules)

    def candidates(self, reference: Reference) -> list[Reference]:
        """The repositories to read `reference`'s content from by digest, in order: each mirror of every rule
        that covers it (oc's order: the files' order), then the source itself, unless every covering rule says
        NeverContactSource. Tag and digest are dropped: the caller asks each candidate for the digest."""
        source = Reference(reference.registry, reference.repository)
        if reference.is_file:
            return [source]
        name = source.name
        found: list[Reference] = []
        contact = True
        for rule in self.rules:
            if not rule.covers(name):
                continue
            contact = contact and rule.contact_source
            for mirror in rule.mirrors:
                found.append(_mirror_reference(mirror + name[len(rule.source):], rule))
        if contact or not found:
            found.append(source)
        return list(dict.fromkeys(found))

    def covers_registry(self, registry: str) -> bool:
        """Whether some rule's source is on `registry` (else reads from it need no mirror lookup at all)."""
        return any(rule.source == registry or rule.source.startswith(registry + "/") for rule in self.rules)


def load_mirror_files(icsp_files: Iterable[Path] = (), idms_files: Iterable[Path] = ()) -> ImageMirrors:
    """The rules of ImageContentSourcePolicy files (`--icsp-file`) and ImageDigestMirrorSet files (`--idms-file`).

    Each file may hold several YAML or JSON documents (`---` between them), each of the kind its flag names.

    Raises:
        ConfigError: a file cannot be read, is empty, is not valid YAML, holds a document of another kind or
            with a field of the wrong type, names a source or mirror that is not a repository, or gives one
            source two different mirrorSourcePolicy values (as oc refuses).
    """
    rules: list[MirrorRule] = []
    for path in icsp_files:
        rules += _rules(path, ICSP)
    for path in idms_files:
        rules += _rules(path, IDMS)
    _check_policies(rules)
    return ImageMirrors(tuple(rules))


def _rules(path: Path, kind: str) -> list[MirrorRule]:
    flag = "--icsp-file" if kind == ICSP else "--idms-file"
    try:
        data = path.read_bytes()
    except OSError as error:
        raise ConfigError(f"{flag} {path}: cannot read it ({error.strerror or error})") from None
    documents = [document for document in load_yaml_all(data, f"{flag} {path}", ConfigError) if document is not None]
    if not documents:
        raise ConfigError(f"{flag} {path} holds no {kind}")
    rules: list[MirrorRule] = []
    for number, document in enumerate(documents, 1):
        what = f"{kind} {number} of {path}" if len(documents) > 1 else f"{flag} {path}"
        header = convert(document, _Kind, what, ConfigError)
        if header.kind != kind or header.api_version != _API_VERSIONS[kind]:
            found = f"{header.api_version or '(no apiVersion)'} {header.kind or '(no kind)'}"
            raise ConfigError(f"{what} is {found}, not an {_API_VERSIONS[kind]} {kind}")
        if kind == ICSP:
            spec = convert(document, _IcspDocument, what, ConfigError).spec
            rules += [_rule(e.source, e.mirrors, what) for e in spec.repository_digest_mirrors]
        else:
            entries = convert(document, _IdmsDocument, what, ConfigError).spec.image_digest_mirrors
            rules += [_rule(e.source, e.mirrors, what, e.mirror_source_policy) for e in entries]
    return rules


def _rule(source: str, mirrors: Sequence[str], what: str, policy: str = "") -> MirrorRule:
    return MirrorRule(_repository_prefix(source, f"source in {what}"),
                      tuple(_repository_prefix(m, f"mirror of {names.shown(source)} in {what}") for m in mirrors), policy)


def _repository_prefix(text: str, what: str) -> str:
    """A source or mirror as cri-o compares it: `host` or `host/repository`, docker.io names normalised."""
    text = text.strip()
    host, slash, _ = text.partition("/")
    try:
        if not slash:
            return names.check_host(host)
        parsed = references.parse(text)
    except OkdReleaseError:
        raise ConfigError(f"{what}: {names.shown(text)} is not a repository (registry/namespace/name)") from None
    if parsed.digest or (parsed.tag and parsed.tag != "latest") or text.rsplit("/", 1)[-1].count(":"):
        raise ConfigError(f"{what}: {names.shown(text)} has a tag or digest; give a repository")
    return parsed.name


def _mirror_reference(name: str, rule: MirrorRule) -> Reference:
    try:
        parsed = references.parse(name)
    except OkdReleaseError:
        raise ConfigError(f"mirror {names.shown(name)} of source {rule.source} is not a repository") from None
    return Reference(parsed.registry, parsed.repository)


def _check_policies(rules: list[MirrorRule]) -> None:
    """oc's check: one source, one mirrorSourcePolicy (an entry that gives none agrees with AllowContactingSource)."""
    policies: dict[str, str] = {}
    for rule in rules:
        if not rule.policy:
            continue
        seen = policies.setdefault(rule.source, rule.policy)
        if seen != rule.policy:
            raise ConfigError(f"ImageDigestMirrorSet can only contain one MirrorSourcePolicy for source {rule.source}")
    for rule in rules:
        if not rule.policy and policies.get(rule.source) == NEVER_CONTACT_SOURCE:
            raise ConfigError(f"ImageDigestMirrorSet can only contain one MirrorSourcePolicy for source {rule.source}")
