"""Bug references in commit messages, as oc's extractRefs finds them: Bugzilla (`Bug 123: `) and Jira
(`OCPBUGS-1: `) prefixes of a pull request's title, after any `[release-4.1]` style prefixes.

Nothing here contacts a tracker: the references are what the merge messages say.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Iterable

from msgspec import Struct

BUGZILLA_BROWSE = "https://bugzilla.redhat.com/show_bug.cgi?id={}"
JIRA_BROWSE = "https://issues.redhat.com/browse/{}"
BUG_PROJECTS = ("OCPBUGS-", "OCPBUGSM-")
"""The Jira projects whose keys are bugs (oc's --bugs lists only these of the Jira references)."""

# re.ASCII: Go's \w, \d and \s are ASCII-only, and these patterns are oc's.
_PREFIXES = re.compile(r"^(\[[\w.\-]+\]\s*)+", re.ASCII)
_BUGZILLA = re.compile(r"^[B|b]ug(?:s)?\s([\d\s,]+)(?:-|:)\s*", re.ASCII)
_JIRA = re.compile(r"^([A-Z]+-\d+[\s,]*)+(?:-|:)\s*", re.ASCII)


class RefSource(enum.IntEnum):
    """Where a reference points; the values are oc's (its `-o json` writes them as numbers)."""

    BUGZILLA = 0
    JIRA = 1


class Ref(Struct, frozen=True):
    """One bug or issue reference: `1743564` (Bugzilla) or `OCPBUGS-17` (Jira)."""

    id: str
    source: RefSource

    @property
    def url(self) -> str:
        return (BUGZILLA_BROWSE if self.source is RefSource.BUGZILLA else JIRA_BROWSE).format(self.id)

    @property
    def is_bug(self) -> bool:
        """Bugzilla entries are bugs; of Jira keys only those of the bug projects are."""
        return self.source is RefSource.BUGZILLA or self.id.startswith(BUG_PROJECTS)


def extract_refs(message: str) -> tuple[tuple[Ref, ...], str]:
    """The references a message starts with (sorted by id) and the message without them."""
    if not message:
        return (), ""
    message = _PREFIXES.sub("", message.strip(), count=1)
    match = _BUGZILLA.match(message)
    if match is not None:
        source, listed = RefSource.BUGZILLA, match.group(1)
    else:
        match = _JIRA.match(message)
        if match is None:
            return (), message
        source, listed = RefSource.JIRA, match.group(0).strip().removesuffix(":").removesuffix("-")
    rest = message[match.end():]
    ids = [word.strip() for part in listed.split(",") for word in part.split(" ") if word.strip()]
    return tuple(sorted((Ref(i, source) for i in ids), key=lambda ref: ref.id)), rest


def markdown_refs(refs: Iterable[Ref]) -> str:
    """oc's PrintRefs: ` [Bug 1](url), [2](url):` (only the first Bugzilla link says "Bug"); empty for none."""
    links = []
    for number, ref in enumerate(refs):
        label = f"Bug {ref.id}" if number == 0 and ref.source is RefSource.BUGZILLA else ref.id
        links.append(f"[{label}]({ref.url})")
    return f" {', '.join(links)}:" if links else ""


def urls_for(refs: Iterable[Ref], source: RefSource) -> dict[str, str]:
    """oc's GetRefsForSource: {id: browse URL} of the references of one tracker, in id order."""
    return {ref.id: ref.url for ref in sorted(refs, key=lambda r: r.id) if ref.source is source}


def bug_list(refs: Iterable[Ref]) -> list[Ref]:
    """oc's --bugs list: the bug references, each once, sorted by id (Jira keys outside the bug projects left out)."""
    unique: dict[str, Ref] = {}
    for ref in refs:
        if ref.is_bug:
            unique.setdefault(ref.id, ref)
    return sorted(unique.values(), key=lambda ref: ref.id)
