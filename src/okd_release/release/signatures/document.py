"""The signed payload of a release signature: a containers/image "simple signing" document (the atomic container
signature), checked as library-go checks it: no unknown fields, the right type, an identity, the release's digest."""

from __future__ import annotations

import msgspec

from okd_release.documents import decode_json
from okd_release.release.signatures.errors import SignatureError

SIGNATURE_TYPE = "atomic container signature"


class _Image(msgspec.Struct, frozen=True, forbid_unknown_fields=True, rename="kebab"):
    docker_manifest_digest: str = ""


class _Identity(msgspec.Struct, frozen=True, forbid_unknown_fields=True, rename="kebab"):
    docker_reference: str = ""


class _Critical(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    type: str = ""
    image: _Image = msgspec.field(default_factory=_Image)
    identity: _Identity = msgspec.field(default_factory=_Identity)


class _Optional(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    creator: str = ""
    timestamp: int = 0


class SimpleSigningDocument(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """`{"critical": {"type", "image": {"docker-manifest-digest"}, "identity": {"docker-reference"}},
    "optional": {"creator", "timestamp"}}`; unknown fields are refused, as library-go refuses them."""

    critical: _Critical = msgspec.field(default_factory=_Critical)
    optional: _Optional = msgspec.field(default_factory=_Optional)

    @property
    def digest(self) -> str:
        return self.critical.image.docker_manifest_digest

    @property
    def identity(self) -> str:
        return self.critical.identity.docker_reference


def parse_signed(content: bytes, release_digest: str, what: str) -> SimpleSigningDocument:
    """The document signed in `content`, if it attests `release_digest`; else SignatureError saying why."""
    document = decode_json(content, SimpleSigningDocument, what, SignatureError)
    if document.critical.type != SIGNATURE_TYPE:
        raise SignatureError(f"{what} is not the correct type ({document.critical.type!r}, "
                             f"expected {SIGNATURE_TYPE!r})")
    if not document.identity:
        raise SignatureError(f"{what} must have an identity")
    if document.digest != release_digest:
        raise SignatureError(f"{what} is for another digest ({document.digest or 'none'})")
    return document
