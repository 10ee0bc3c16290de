"""The errors of release signatures."""

from okd_release.errors import OkdReleaseError


class SignatureError(OkdReleaseError):
    """A verification ConfigMap, key, signature store or signature file that cannot be used."""


class UnverifiedRelease(SignatureError):
    """No valid signature from one of the release's verification keys: the release is not trusted."""
