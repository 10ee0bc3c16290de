"""The distribution API v2 client: transport, authentication and registry operations."""

from okd_release.registry.client import RegistryClient
from okd_release.registry.options import RegistryOptions
from okd_release.registry.session import Registries

__all__ = ["Registries", "RegistryClient", "RegistryOptions"]
