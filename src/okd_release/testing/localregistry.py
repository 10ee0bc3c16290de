"""A throwaway local registry: the `docker-registry` (CNCF distribution) process on 127.0.0.1.

Used by `okd-release demo`, the test suite and the benchmarks. Plain HTTP by default; TLS and htpasswd
auth when given a certificate and an htpasswd file.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import ssl
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import yaml

from okd_release.errors import ConfigError

BINARY = "docker-registry"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class LocalRegistry:
    """A running registry process; `host` is `127.0.0.1:<port>`."""

    host: str
    storage: Path
    workdir: Path
    process: subprocess.Popen[bytes]
    tls: bool
    config: Path

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()

    def restart(self) -> None:
        """Start the process again on the same port and storage (after stop or kill)."""
        self.stop()
        self.process = _spawn(self.config, self.workdir)
        _wait_ready(self.host, self.tls, self.process)

    def remove(self) -> None:
        self.stop()
        shutil.rmtree(self.workdir, ignore_errors=True)


def start(
    workdir: Path | None = None,
    *,
    certificate: Path | None = None,
    key: Path | None = None,
    htpasswd: Path | None = None,
    token: dict[str, str] | None = None,
    port: int | None = None,
    address: str = "127.0.0.1",
) -> LocalRegistry:
    if shutil.which(BINARY) is None:
        raise ConfigError(f"{BINARY} is not installed (Debian package docker-registry)")
    workdir = Path(workdir or tempfile.mkdtemp(prefix="okd-registry-"))
    storage = workdir / "storage"
    storage.mkdir(parents=True, exist_ok=True)
    host = f"{address}:{port or free_port()}"
    http: dict[str, object] = {"addr": host, "secret": "local-registry", "headers": {"X-Content-Type-Options": ["nosniff"]}}
    if certificate and key:
        http["tls"] = {"certificate": str(certificate), "key": str(key)}
    config: dict[str, object] = {
        "version": 0.1,
        "log": {"level": "error", "accesslog": {"disabled": True}},
        "storage": {"filesystem": {"rootdirectory": str(storage)}, "delete": {"enabled": True}},
        "http": http,
    }
    if htpasswd:
        config["auth"] = {"htpasswd": {"realm": "okd-release-test", "path": str(htpasswd)}}
    elif token:
        config["auth"] = {"token": token}  # realm, service, issuer, rootcertbundle
    config_path = workdir / "config.yml"
    config_path.write_text(yaml.safe_dump(config))
    process = _spawn(config_path, workdir)
    _wait_ready(host, bool(certificate), process)
    return LocalRegistry(host, storage, workdir, process, bool(certificate), config_path)


def _spawn(config: Path, workdir: Path) -> subprocess.Popen[bytes]:
    log = open(workdir / "registry.log", "ab")  # noqa: SIM115 - the process owns it
    env = {k: v for k, v in os.environ.items() if not k.startswith("REGISTRY_")}
    return subprocess.Popen([BINARY, "serve", str(config)], stdout=log, stderr=log, env=env, start_new_session=True)


def _wait_ready(host: str, tls: bool, process: subprocess.Popen[bytes], timeout: float = 20.0) -> None:
    url = f"{'https' if tls else 'http'}://{host}/v2/"
    context = ssl._create_unverified_context() if tls else None  # noqa: S323 - readiness probe only
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise ConfigError(f"{BINARY} exited with code {process.returncode} on {host}")
        try:
            urllib.request.urlopen(url, timeout=1, context=context)  # noqa: S310
            return
        except urllib.error.HTTPError:
            return  # 401 from an auth-enabled registry: it is up
        except (urllib.error.URLError, OSError):
            time.sleep(0.05)
    raise ConfigError(f"{BINARY} did not start on {host} within {timeout:.0f}s")
