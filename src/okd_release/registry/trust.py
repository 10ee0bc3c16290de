"""Which certificates a registry's TLS is verified against: none (`--insecure`), a given CA file
(`--certificate-authority`), or the system's CAs.

The system's CAs are one bundle file and, on Debian, Ubuntu and their kin, also a directory in OpenSSL's
hashed layout (`/etc/ssl/certs`: a link per CA named by its subject's hash). Loading the bundle parses every
CA in it, about 35 ms of OpenSSL 3's time at each start of the program; given the directory only, OpenSSL
reads the one or two CAs a chain names, when it needs them. So where there is such a directory (and
`SSL_CERT_FILE`, if set, names the system's bundle rather than one of the user's), a client first trusts
the directory alone. A certificate that fails to verify against it is tried again against everything
(`widen`): the bundle and the directory, as OpenSSL's defaults give them. Whatever the first context
accepts the second would, so what is trusted is the same; only when it is loaded differs.
"""

from __future__ import annotations

import os
import re
import threading
from typing import TYPE_CHECKING

from okd_release.errors import ConfigError

if TYPE_CHECKING:
    import ssl

_HASHED_NAME = re.compile(r"[0-9a-f]{8}\.[0-9]+")


class Trust:
    """A client's TLS verification: its SSLContext, made on first use (a plain-HTTP run never loads `ssl`)."""

    def __init__(self, verify: bool | ssl.SSLContext = True, ca_file: str | None = None) -> None:
        self._verify = verify
        self._ca_file = ca_file
        self._context: ssl.SSLContext | None = None if isinstance(verify, bool) else verify
        self._on_demand = False  # the context trusts the hashed directory alone, so far
        self._lock = threading.Lock()

    def context(self) -> ssl.SSLContext:
        with self._lock:
            if self._context is None:
                self._context = self._make()
            return self._context

    def widen(self, failed: ssl.SSLContext) -> bool:
        """After a certificate failed to verify against `failed`: trust every system CA from now on. True when
        the handshake is worth trying again: the context is wider than `failed` (now, or since another
        thread's handshake widened it)."""
        with self._lock:
            if self._context is not failed:
                return True
            if not self._on_demand:
                return False
            self._context, self._on_demand = _verifying(), False
            return True

    def _make(self) -> ssl.SSLContext:
        import ssl  # noqa: PLC0415 - a run against plain-HTTP registries never needs it

        if self._verify is False:  # no CAs to load: a fraction of the cost
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
            return context
        if self._ca_file:
            return _verifying(cafile=self._ca_file)
        paths = ssl.get_default_verify_paths()  # capath: SSL_CERT_DIR when set; None when it does not exist
        bundle = os.environ.get(paths.openssl_cafile_env)
        system_bundle = bundle is None or os.path.realpath(bundle) == os.path.realpath(paths.openssl_cafile)
        if system_bundle and paths.capath and _hashed(paths.capath):
            self._on_demand = True
            return _verifying(capath=paths.capath)
        return _verifying()


def _verifying(cafile: str | None = None, capath: str | None = None) -> ssl.SSLContext:
    """A verifying context: `cafile` and/or `capath` when given, else the system's CAs as OpenSSL finds them."""
    import ssl  # noqa: PLC0415

    try:
        context = ssl.create_default_context(cafile=cafile, capath=capath)
    except OSError as error:  # ssl.SSLError included: a file that holds no certificate
        raise ConfigError(f"cannot use {cafile or capath or 'the system'} CA certificates: "
                          f"{error.strerror or error}") from None
    # Python 3.13 turns on RFC 5280's strict checks, which refuse CAs that Go (oc, podman) and OpenSSL's own
    # default accept, such as one made without an Authority Key Identifier: the self-signed CA of many a
    # mirror registry. The chain, names and dates are verified as before.
    context.verify_flags &= ~getattr(ssl, "VERIFY_X509_STRICT", 0)
    return context


def _hashed(directory: str) -> bool:
    """Whether `directory` holds CAs in OpenSSL's hashed layout (`5ad8a5d6.0`, ...)."""
    try:
        with os.scandir(directory) as entries:
            return any(_HASHED_NAME.fullmatch(entry.name) for entry in entries)
    except OSError:
        return False
