"""A pool of registry clients sharing options and credentials, one client per host."""

from __future__ import annotations

import threading

from okd_release.registry.client import RegistryClient
from okd_release.registry.credentials import CredentialStore
from okd_release.registry.options import RegistryOptions
from okd_release.registry.retry import RetryCounter


class Registries:
    """Hands out one RegistryClient per host; credentials come from the configured store.

    `retries` counts the transient failures retried by this session's clients (and by whatever else is
    handed it, such as a Transfer), not those of other sessions running at the same time.
    """

    def __init__(self, options: RegistryOptions | None = None, credentials: CredentialStore | None = None) -> None:
        self.options = options or RegistryOptions()
        self.credentials = credentials if credentials is not None else CredentialStore.load(self.options.registry_config)
        self.retries = RetryCounter()
        self._clients: dict[str, RegistryClient] = {}
        self._lock = threading.Lock()

    def client(self, registry: str) -> RegistryClient:
        with self._lock:
            if registry not in self._clients:
                self._clients[registry] = RegistryClient(registry, self.options, self.credentials.for_registry(registry),
                                                         self.retries)
            return self._clients[registry]

    def close(self) -> None:
        with self._lock:
            for client in self._clients.values():
                client.close()
            self._clients.clear()

    def __enter__(self) -> Registries:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
