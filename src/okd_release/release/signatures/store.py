"""Signature stores over HTTP (containers/image's "sigstore" layout, as library-go reads it): the signatures of
`sha256:<hash>` are `<store>/sha256=<hash>/signature-1`, `-2`, ... up to the first that is missing."""

from __future__ import annotations

from collections.abc import Iterator

from msgspec import Struct

from okd_release import digest as digests
from okd_release.registry.deadlines import deadline
from okd_release.registry.failures import ConnectError, TransportError
from okd_release.registry.http import Client
from okd_release.registry.limits import read_capped
from okd_release.registry.options import RegistryOptions
from okd_release.registry.transport import make_http_client
from okd_release.release.signatures.errors import SignatureError

MAX_SIGNATURES = 9  # signature-1 .. signature-9: library-go stops there, so a hostile store cannot keep us reading
MAX_SIGNATURE_BYTES = 50 * 1024  # library-go reads no more of a signature; a real one is under 1 KiB


class Candidate(Struct, frozen=True):
    """A signature read from a store (`data`), or why one could not be (`problem`)."""

    store: str
    location: str
    data: bytes = b""
    problem: str = ""


def signature_location(store: str, digest: str, number: int) -> str:
    algorithm, _, hash_ = digests.validate(digest).partition(":")
    return f"{store.rstrip('/')}/{algorithm}={hash_}/signature-{number}"


def http_client(options: RegistryOptions) -> Client:
    """A client for signature stores: TLS verified (with the user's CA) unless --insecure."""
    return make_http_client(options, verify=not options.insecure)


def fetch_signatures(client: Client, store: str, digest: str, request_deadline: float) -> Iterator[Candidate]:
    """Each signature of `digest` in `store`, in number order, up to the first missing one (404).

    A failing number is reported and the next one tried, as library-go does; a failure to reach the store at all
    ends the store's search (every later number would fail the same way).
    """
    for number in range(1, MAX_SIGNATURES + 1):
        url = signature_location(store, digest, number)
        try:
            with deadline(request_deadline), client.send("GET", url) as response:
                if response.status_code == 404:
                    return
                if not 200 <= response.status_code < 300:
                    yield Candidate(store, url, problem=f"{url}: response status {response.status_code}")
                    continue
                data = read_capped(response, MAX_SIGNATURE_BYTES, f"signature {url}", SignatureError)
        except SignatureError as error:
            yield Candidate(store, url, problem=str(error))
            continue
        except TransportError as error:
            yield Candidate(store, url, problem=f"{url}: {_network_problem(error)}")
            return
        if data:
            yield Candidate(store, url, data)


def _network_problem(error: TransportError) -> str:
    text = str(error) or type(error).__name__
    if isinstance(error, ConnectError) and "CERTIFICATE_VERIFY_FAILED" in text:
        return "TLS certificate not trusted (add --certificate-authority FILE, or --insecure)"
    return " ".join(text.split())
