"""The exception hierarchy: every error the library raises derives from OkdReleaseError."""


class OkdReleaseError(Exception):
    """Root of every error okd-release raises; the CLI prints its message on one line."""

    exit_code = 1


class InvalidReference(OkdReleaseError):
    """An image reference that cannot be parsed."""


class UnsafeName(InvalidReference):
    """A tag, repository, digest or file name (from a user, a payload or a registry) that is not safe to put
    into a URL or a path."""


class RegistryError(OkdReleaseError):
    """A registry answered with an error or could not be reached."""


class TransientRegistryError(RegistryError):
    """A failure worth retrying: connection dropped, 429, 5xx."""

    def __init__(self, message: str, retry_after: float | None = None, exhausted: bool = False) -> None:
        super().__init__(message)
        self.retry_after = retry_after
        self.exhausted = exhausted  # retries were already spent on it: retrying again only adds time


class AuthenticationError(RegistryError):
    """The registry refused our credentials (or we had none)."""


class ManifestBlobUnknown(RegistryError):
    """The registry refused a manifest that names a blob it does not see. Right after the blob was verified
    present, this is a registry racing with another writer of the same blob, and worth another try."""


class NotFound(RegistryError):
    """A manifest, blob or repository does not exist."""


class DigestMismatch(OkdReleaseError):
    """Bytes do not match the digest that names them."""


class ManifestError(OkdReleaseError):
    """A manifest, index or config that cannot be understood."""


class PayloadError(OkdReleaseError):
    """A release payload that is malformed or does not hold what was asked for."""


class ConfigError(OkdReleaseError):
    """Bad user input: a flag, a file or a credential store that cannot be used."""


class TransferError(OkdReleaseError):
    """A copy that did not complete; names what failed."""
