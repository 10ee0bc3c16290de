"""GnuPG (the `gpg` program, through python-gnupg) in a temporary home holding only the keys given to it, so the
user's own keyring and trust settings never decide whether a release is trusted; the home is always removed."""

from __future__ import annotations

import logging
import shutil
import subprocess
import tempfile
from types import TracebackType

import gnupg  # type: ignore[import-untyped]
from msgspec import Struct

from okd_release.release.signatures.errors import SignatureError

# python-gnupg logs gpg's whole conversation at DEBUG (--loglevel 4): ours says what matters, without key material
logging.getLogger("gnupg").setLevel(logging.WARNING)

# the statuses with which gpg refuses a key's passphrase (python-gnupg's names for them)
_PASSPHRASE_STATUSES = ("bad passphrase", "missing passphrase", "need passphrase")


class SignedContent(Struct, frozen=True):
    """What a valid signature signed, and by whom: the primary key's fingerprint and its user id."""

    content: bytes
    fingerprint: str
    signer: str


class PassphraseRequired(SignatureError):
    """The signing key is protected by a passphrase, and none (or a wrong one) was given."""


class Keyring:
    """A throwaway GnuPG home: import keys, verify signed messages, make detached signatures; `close` removes it."""

    def __init__(self) -> None:
        binary = shutil.which("gpg")
        if binary is None:
            raise SignatureError("gpg (GnuPG) is not installed; it is needed to check release signatures "
                                 "(Debian: apt-get install gnupg)")
        self._home = tempfile.mkdtemp(prefix="okd-gpg-")
        try:
            self._gpg = gnupg.GPG(gpgbinary=binary, gnupghome=self._home)
        except (OSError, ValueError) as error:
            self.close()
            raise SignatureError(f"gpg cannot be run: {error}") from None

    def __enter__(self) -> Keyring:
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None, tb: TracebackType | None) -> None:
        self.close()

    def close(self) -> None:
        # gpg starts an agent for its home; stop it before the home goes, or it lingers with a dangling socket
        subprocess.run(["gpgconf", "--homedir", self._home, "--kill", "all"], capture_output=True, check=False)
        shutil.rmtree(self._home, ignore_errors=True)

    def import_keys(self, data: bytes, what: str) -> tuple[str, ...]:
        """Import the keys in `data` (armored or binary); their primary fingerprints. SignatureError when it holds none."""
        result = self._gpg.import_keys(data)
        fingerprints = tuple(dict.fromkeys(f for f in result.fingerprints if f))
        if not fingerprints:
            raise SignatureError(f"{what} must be a GPG public key: gpg found no key in it")
        return fingerprints

    def verify(self, message: bytes, what: str) -> SignedContent:
        """The content of a signed message (`gpg --sign` output) whose signature is valid by an imported key."""
        result = self._gpg.decrypt(message)
        if not result.valid:
            status = result.status or "not a signed message"
            if status == "no public key":
                status = f"signed by an unknown key ({result.key_id})"
            raise SignatureError(f"{what}: {status}")
        fingerprint = result.pubkey_fingerprint or result.fingerprint
        return SignedContent(bytes(result.data), str(fingerprint), str(result.username or ""))

    def signing_key(self, data: bytes, what: str) -> str:
        """Import a private key; the fingerprint of the first key in it that can sign."""
        self._gpg.import_keys(data)
        for key in self._gpg.list_keys(secret=True):
            if "S" in key.get("cap", "") or "s" in key.get("cap", ""):
                return str(key["fingerprint"])
        raise SignatureError(f"no private key exists in {what} capable of signing the output")

    def sign_detached(self, data: bytes, fingerprint: str, passphrase: str | None) -> bytes:
        """An ASCII-armored detached signature of `data` (what `gpg --armor --detach-sign` writes)."""
        # python-gnupg reads an empty passphrase from the data itself (its first line): give none, and keep gpg
        # from asking a terminal for one (loopback, in --batch, fails at once instead)
        result = self._gpg.sign(data, keyid=fingerprint, detach=True, passphrase=passphrase or None,
                                extra_args=["--pinentry-mode", "loopback"])
        if result.status in _PASSPHRASE_STATUSES or (not result.data and "passphrase" in (result.stderr or "").lower()):
            raise PassphraseRequired("the signing key is protected by a passphrase"
                                     + (": the one given is wrong" if passphrase else ""))
        if not result.data:
            raise SignatureError(f"gpg could not sign: {result.status or 'no signature made'}")
        return bytes(result.data)
