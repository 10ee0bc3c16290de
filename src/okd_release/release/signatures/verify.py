"""Verify a release digest as the CVO does (library-go's `releaseVerifier.Verify`): every verification key must
have made at least one valid signature, read from any store, whose signed document names the release's digest."""

from __future__ import annotations

from collections.abc import Generator, Iterable
from pathlib import Path
from typing import Any

from msgspec import Struct

from okd_release import digest as digests
from okd_release import logs
from okd_release.registry.options import RegistryOptions
from okd_release.release.signatures.config import VerificationConfig
from okd_release.release.signatures.document import parse_signed
from okd_release.release.signatures.errors import SignatureError, UnverifiedRelease
from okd_release.release.signatures.export import read_signature_configmaps
from okd_release.release.signatures.gpg import Keyring
from okd_release.release.signatures.store import Candidate, fetch_signatures, http_client

_PROBLEMS_SHOWN = 3


class VerifiedSignature(Struct, frozen=True):
    """One valid signature of the release: which verification key it satisfies, the key's fingerprint and user
    id, where it was read, and what the signed document says (identity, creator, timestamp)."""

    key: str
    fingerprint: str
    signer: str
    store: str
    location: str
    identity: str
    creator: str
    timestamp: int
    data: bytes

    def to_json(self) -> dict[str, Any]:
        return {"key": self.key, "fingerprint": self.fingerprint, "signer": self.signer, "store": self.store,
                "location": self.location, "identity": self.identity, "creator": self.creator,
                "timestamp": self.timestamp}


class Verification(Struct, frozen=True):
    """A verified release: its digest, the config it was verified with, and one signature per key."""

    digest: str
    source: str
    signatures: tuple[VerifiedSignature, ...]
    problems: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()

    @property
    def signature_data(self) -> list[bytes]:
        """The signatures that verified it, each once, in the order found (what oc exports)."""
        return list(dict.fromkeys(signature.data for signature in self.signatures))

    def to_json(self) -> dict[str, Any]:
        return {"digest": self.digest, "verified": True, "config": self.source,
                "signatures": [signature.to_json() for signature in self.signatures]}


def verify_release(digest: str, config: VerificationConfig, options: RegistryOptions | None = None,
                   signature_dirs: Iterable[Path] = ()) -> Verification:
    """Verify `digest` with `config`: signatures from the ConfigMap files oc exported into `signature_dirs`
    first (an air-gapped mirror's own), then from the config's stores over HTTP.

    Raises:
        UnverifiedRelease: some verification key has no valid signature; the message names the key and the
            first problems met (bad signature, unknown key, another digest, store unreachable).
        SignatureError: a verification key is not a GPG public key, or gpg is missing.
    """
    digests.validate(digest)
    options = options or RegistryOptions()
    with Keyring() as keyring:
        owners: dict[str, list[str]] = {}
        for key in config.keys:
            for fingerprint in keyring.import_keys(key.data, f"{config.source}: {key.name}"):
                owners.setdefault(fingerprint, []).append(key.name)
        remaining = {key.name for key in config.keys}
        found: list[VerifiedSignature] = []
        problems: list[str] = []
        candidates = _candidates(digest, config, options, signature_dirs)
        for candidate in candidates:
            if candidate.problem:
                problems.append(candidate.problem)
                continue
            try:
                signed = keyring.verify(candidate.data, candidate.location)
                document = parse_signed(signed.content, digest, f"the document signed in {candidate.location}")
            except SignatureError as error:
                problems.append(str(error))
                continue
            satisfied = sorted(name for name in owners.get(signed.fingerprint, []) if name in remaining)
            for name in satisfied:
                found.append(VerifiedSignature(name, signed.fingerprint, signed.signer, candidate.store,
                                               candidate.location, document.identity, document.optional.creator,
                                               document.optional.timestamp, candidate.data))
            remaining -= set(satisfied)
            if not remaining:
                candidates.close()  # now, not when collected: it closes its HTTP client
                return Verification(digest, config.source, tuple(found), tuple(problems), config.notes)
    raise UnverifiedRelease(_unverified(digest, config, sorted(remaining), problems))


def _candidates(digest: str, config: VerificationConfig, options: RegistryOptions,
                signature_dirs: Iterable[Path]) -> Generator[Candidate, None, None]:
    for directory in signature_dirs:
        yield from read_signature_configmaps(directory, digest)
    with http_client(options) as client:
        for store in config.stores:
            logs.info(__name__, "reading signatures of %s from %s", digest, store)
            yield from fetch_signatures(client, store, digest, options.request_deadline)


def _unverified(digest: str, config: VerificationConfig, keys: list[str], problems: list[str]) -> str:
    why = "; ".join(problems[:_PROBLEMS_SHOWN]) or f"no signatures in {', '.join(config.stores)}"
    more = f" (and {len(problems) - _PROBLEMS_SHOWN} more)" if len(problems) > _PROBLEMS_SHOWN else ""
    return (f"release {digest} is not verified: no valid signature by {', '.join(keys)} ({config.source}): "
            f"{why}{more}")
