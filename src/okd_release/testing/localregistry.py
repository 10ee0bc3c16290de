"""A throwaway local registry: the `docker-registry` (CNCF distribution) process on 127.0.0.1.

Used by `okd-release demo`, the test suite and the benchmarks. Plain HTTP by default; TLS and htpasswd
auth when given a certificate and an htpasswd file.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import ssl
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

import yaml
from msgspec import Struct

from okd_release.errors import ConfigError

BINARY = "docker-registry"


class LocalRegistry(Struct):
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
    # Port 0 lets the registry bind a free port itself and say which: a port picked here and released before
    # the registry binds it could be taken by another process in between.
    http: dict[str, object] = {"addr": f"{address}:{port or 0}", "secret": "local-registry",
                               "headers": {"X-Content-Type-Options": ["nosniff"]}}
    if certificate and key:
        http["tls"] = {"certificate": str(certificate), "key": str(key)}
    config: dict[str, object] = {
        "version": 0.1,
        "log": {"level": "info", "accesslog": {"disabled": True}},  # info: the "listening on" line
        "storage": {"filesystem": {"rootdirectory": str(storage)}, "delete": {"enabled": True}},
        "http": http,
    }
    if htpasswd:
        config["auth"] = {"htpasswd": {"realm": "okd-release-test", "path": str(htpasswd)}}
    elif token:
        config["auth"] = {"token": token}  # realm, service, issuer, rootcertbundle
    config_path = workdir / "config.yml"
    config_path.write_text(yaml.safe_dump(config))
    log = workdir / "registry.log"
    logged = log.stat().st_size if log.exists() else 0
    process = _spawn(config_path, workdir)
    host = _listening_address(log, logged, process)
    http["addr"] = host  # a restart binds the same port again
    config_path.write_text(yaml.safe_dump(config))
    _wait_ready(host, bool(certificate), process)
    return LocalRegistry(host, storage, workdir, process, bool(certificate), config_path)


def _spawn(config: Path, workdir: Path) -> subprocess.Popen[bytes]:
    log = open(workdir / "registry.log", "ab")  # noqa: SIM115 - the process owns it
    env = {k: v for k, v in os.environ.items() if not k.startswith("REGISTRY_")}
    return subprocess.Popen([BINARY, "serve", str(config)], stdout=log, stderr=log, env=env, start_new_session=True)


_LISTENING = re.compile(rb'msg="listening on ([0-9a-fA-F.:\[\]]+:[0-9]+)')


def _listening_address(log: Path, offset: int, process: subprocess.Popen[bytes], timeout: float = 20.0) -> str:
    """The address the process bound, from the "listening on" line it logs after `offset` in its log."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with open(log, "rb") as handle:
            handle.seek(offset)
            found = _LISTENING.search(handle.read())
        if found:
            return found.group(1).decode()
        if process.poll() is not None:
            raise ConfigError(f"{BINARY} exited with code {process.returncode}; see {log}")
        time.sleep(0.01)
    process.kill()
    process.wait()
    raise ConfigError(f"{BINARY} did not say where it listens within {timeout:.0f}s; see {log}")


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
