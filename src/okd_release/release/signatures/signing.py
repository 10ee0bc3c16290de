"""`extract --tools --signing-key KEY`: sha256sum.txt signed as oc signs it, an ASCII-armored detached signature
written beside it as sha256sum.txt.asc (checked with `gpg --verify sha256sum.txt.asc sha256sum.txt`)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from types import TracebackType

from okd_release.image.disk import atomic_write
from okd_release.release.signatures.config import read_key_file
from okd_release.release.signatures.errors import SignatureError
from okd_release.release.signatures.gpg import Keyring, PassphraseRequired

SIGNATURE_MODE = 0o644  # oc's


class ChecksumSigner:
    """A private key made ready before any work, as oc readies it: imported into a temporary keyring, and its
    passphrase, when it has one, asked once (`ask_passphrase`) and checked by signing a probe."""

    def __init__(self, key_file: Path, ask_passphrase: Callable[[], str]) -> None:
        data = read_key_file(key_file, "--signing-key", "private")
        self._keyring = Keyring()
        try:
            self._fingerprint = self._keyring.signing_key(data, str(key_file))
            self._passphrase: str | None = None
            try:
                self._keyring.sign_detached(b"", self._fingerprint, None)
            except PassphraseRequired:
                self._passphrase = ask_passphrase()
                try:
                    self._keyring.sign_detached(b"", self._fingerprint, self._passphrase)
                except PassphraseRequired:
                    raise SignatureError(f"unable to decrypt signing key {key_file}: wrong passphrase") from None
        except BaseException:
            self._keyring.close()
            raise

    def __enter__(self) -> ChecksumSigner:
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None, tb: TracebackType | None) -> None:
        self.close()

    def close(self) -> None:
        self._keyring.close()

    def sign_file(self, path: Path) -> Path:
        """Write `<path>.asc`, the armored detached signature of `path`; its path."""
        signature = self._keyring.sign_detached(path.read_bytes(), self._fingerprint, self._passphrase)
        destination = path.with_name(path.name + ".asc")
        try:
            atomic_write(destination, [signature], mode=SIGNATURE_MODE)
        except OSError as error:
            raise SignatureError(f"unable to write signed manifest {destination}: {error.strerror or error}") from None
        return destination
