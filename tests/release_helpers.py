"""Reading what the CLI produced, with the library, for assertions."""

from __future__ import annotations

from okd_release.registry import Registries, RegistryOptions
from okd_release.registry.credentials import CredentialStore
from okd_release.release.source import ReleaseImage, open_release


def read_release(pullspec: str) -> ReleaseImage:
    with Registries(RegistryOptions(insecure=True), CredentialStore()) as registries:
        return open_release(registries, pullspec)
