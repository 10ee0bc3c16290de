"""The network the user has: a real forward proxy (Debian's tinyproxy) and NO_PROXY, failures that retrying
cannot cure reported at once, --retries and --request-timeout, and the free space a disk mirror needs.

Go's proxy rules never proxy `localhost` or a loopback address, so the proxied registry is named by this
machine's host name, which resolves to a loopback address (the registry listens there, and only there).
"""

from __future__ import annotations

import datetime
import ipaddress
import json
import shutil
import socket
import subprocess
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from okd_release.errors import TransientRegistryError
from okd_release.registry import Registries, RegistryOptions
from okd_release.registry.credentials import Credentials, CredentialStore
from okd_release.registry.options import RetryPolicy
from okd_release.registry.proxy import ProxySettings
from okd_release.registry.url import parse_url
from okd_release.testing import localregistry
from tests.conftest import PASSWORD, USERNAME, run_cli, write_auth_file
from tests.faultproxy import FaultPlan
from tests.images import push_random_image

PROXY_VARIABLES = ("HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY", "http_proxy", "https_proxy", "no_proxy")


def proxy_env(**values: str) -> dict[str, str | None]:
    """The proxy variables for a run: those given, the others unset (whatever the machine has)."""
    return {name: values.get(name) for name in PROXY_VARIABLES}


def loopback_name() -> tuple[str, str]:
    """A name for this machine that resolves to a loopback address but is not `localhost`, and that address."""
    name = socket.gethostname()
    try:
        address = socket.gethostbyname(name)
    except OSError:
        pytest.skip(f"the host name {name} does not resolve")
    if name == "localhost" or not ipaddress.ip_address(address).is_loopback:
        pytest.skip(f"the host name {name} does not resolve to a loopback address")
    return name, address


@dataclass
class Tinyproxy:
    url: str
    log: Path
    process: subprocess.Popen[bytes]

    def mark(self) -> int:
        return self.log.stat().st_size if self.log.exists() else 0

    def requests_since(self, mark: int) -> list[str]:
        """The request lines the proxy logged after `mark`: `GET http://host:port/v2/ HTTP/1.1`, `CONNECT host:port ...`."""
        with open(self.log, "rb") as handle:
            handle.seek(mark)
            text = handle.read().decode(errors="replace")
        return [line.split("): ", 1)[1] for line in text.splitlines() if "Request (file descriptor" in line]


def start_tinyproxy(directory: Path, basic_auth: tuple[str, str] | None = None) -> Tinyproxy:
    directory.mkdir(parents=True, exist_ok=True)
    for _ in range(5):  # a port picked here could be taken before tinyproxy binds it: then another
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        log = directory / f"tinyproxy-{port}.log"
        config = directory / f"tinyproxy-{port}.conf"
        lines = [f"Port {port}", "Listen 127.0.0.1", "Timeout 60", f'LogFile "{log}"', "LogLevel Connect",
                 "MaxClients 64", "Allow 127.0.0.1", "DisableViaHeader Yes"]  # no ConnectPort: CONNECT to any port
        if basic_auth:
            lines.append(f"BasicAuth {basic_auth[0]} {basic_auth[1]}")
        config.write_text("\n".join(lines) + "\n")
        process = subprocess.Popen(["tinyproxy", "-d", "-c", str(config)], stdout=subprocess.DEVNULL,
                                   stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and process.poll() is None:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                return Tinyproxy(f"http://127.0.0.1:{port}", log, process)
            except OSError:
                time.sleep(0.05)
        process.kill()
        process.wait()
    raise RuntimeError("tinyproxy did not start")


def stop(proxy: Tinyproxy) -> None:
    proxy.process.terminate()
    try:
        proxy.process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proxy.process.kill()
        proxy.process.wait()


@pytest.fixture(scope="module")
def proxy(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Tinyproxy]:
    if subprocess.run(["sh", "-c", "command -v tinyproxy"], capture_output=True).returncode != 0:
        pytest.fail("tinyproxy is not installed: run dev/setup")
    started = start_tinyproxy(tmp_path_factory.mktemp("tinyproxy"))
    yield started
    stop(started)


def make_certificate(directory: Path, name: str, address: str) -> tuple[Path, Path, Path]:
    """A CA, and a server certificate for `name` and `address` signed by it: ca.pem, server.pem, server-key.pem."""
    now = datetime.datetime.now(datetime.UTC)

    def certificate(subject: str, issuer: str, public: ec.EllipticCurvePublicKey, signer: ec.EllipticCurvePrivateKey,
                    ca: bool) -> x509.Certificate:
        builder = (x509.CertificateBuilder()
                   .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)]))
                   .issuer_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, issuer)]))
                   .public_key(public).serial_number(x509.random_serial_number())
                   .not_valid_before(now - datetime.timedelta(minutes=5)).not_valid_after(now + datetime.timedelta(days=1))
                   .add_extension(x509.BasicConstraints(ca=ca, path_length=0 if ca else None), critical=True))
        if not ca:
            builder = builder.add_extension(x509.SubjectAlternativeName(
                [x509.DNSName(name), x509.IPAddress(ipaddress.ip_address(address))]), critical=False)
        return builder.sign(signer, hashes.SHA256())

    ca_key, key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    ca = certificate("okd-release proxy test CA", "okd-release proxy test CA", ca_key.public_key(), ca_key, True)
    server = certificate(name, ca.subject.rfc4514_string()[3:], key.public_key(), ca_key, False)
    directory.mkdir(parents=True, exist_ok=True)
    paths = directory / "ca.pem", directory / "server.pem", directory / "server-key.pem"
    paths[0].write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    paths[1].write_bytes(server.public_bytes(serialization.Encoding.PEM))
    paths[2].write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return paths


@dataclass
class NamedRegistry:
    """A TLS registry with htpasswd auth, reached as `<this machine's name>:<port>`, holding one image."""

    host: str
    ca: Path
    auth: Path
    image: str
    digest: str


@pytest.fixture(scope="module")
def named_registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[NamedRegistry]:
    import bcrypt

    name, address = loopback_name()
    directory = tmp_path_factory.mktemp("named-registry")
    ca, cert, key = make_certificate(directory / "tls", name, address)
    htpasswd = directory / "htpasswd"
    htpasswd.write_text(f"{USERNAME}:{bcrypt.hashpw(PASSWORD.encode(), bcrypt.gensalt(rounds=4)).decode()}\n")
    process = localregistry.start(directory / "run", certificate=cert, key=key, htpasswd=htpasswd, address=address)
    host = f"{name}:{process.host.rsplit(':', 1)[1]}"
    credentials = CredentialStore({host: Credentials(USERNAME, PASSWORD)})
    with Registries(RegistryOptions(ca_file=str(ca)), credentials) as registries:
        manifest = push_random_image(registries, host, "proxied/app", "v1", [2000, 3000])
    auth = write_auth_file(directory / "auth.json", host, USERNAME, PASSWORD)
    yield NamedRegistry(host, ca, auth, f"{host}/proxied/app:v1", manifest.digest)
    process.remove()


def image_info(registry: NamedRegistry, *extra: str, env: dict[str, str | None]):  # noqa: ANN201 - tests.conftest.Result
    return run_cli("image", "info", "-a", str(registry.auth), "-o", "json", *extra, registry.image, env=env)  # type: ignore[arg-type]


# -- the proxy ------------------------------------------------------------------------------------------
@pytest.mark.parametrize("variable", ["HTTPS_PROXY", "https_proxy"])
def test_registry_traffic_goes_through_the_https_proxy_with_tls_verified(proxy, named_registry, variable) -> None:
    mark = proxy.mark()
    result = image_info(named_registry, "--certificate-authority", str(named_registry.ca),
                        env=proxy_env(**{variable: proxy.url}))
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["digest"] == named_registry.digest
    requests = proxy.requests_since(mark)
    assert requests and all(line.startswith(f"CONNECT {named_registry.host} ") for line in requests), requests
    assert PASSWORD not in result.output


def test_the_registry_certificate_is_still_verified_through_the_proxy(proxy, named_registry) -> None:
    mark = proxy.mark()
    result = image_info(named_registry, env=proxy_env(HTTPS_PROXY=proxy.url))  # no --certificate-authority
    assert result.returncode == 1
    assert result.stderr.strip().splitlines()[-1] == (
        f"error: the TLS certificate of registry {named_registry.host} could not be verified "
        "(give its CA with --certificate-authority, or use --insecure)")
    assert proxy.requests_since(mark)[0].startswith(f"CONNECT {named_registry.host} ")


@pytest.mark.parametrize("no_proxy, bypassed", [
    ("{name}", True), ("{host}", True), ("*", True), ("other.example, {name} ", True), ("{upper}", True),
    ("sub.{name}", False), ("{name}:1", False), (".{name}", False), ("10.0.0.0/8", False),
])
def test_no_proxy_sends_matching_registries_past_the_proxy(proxy, named_registry, no_proxy: str, bypassed: bool) -> None:
    name = named_registry.host.rsplit(":", 1)[0]
    value = no_proxy.format(name=name, host=named_registry.host, upper=name.upper())
    mark = proxy.mark()
    result = image_info(named_registry, "--certificate-authority", str(named_registry.ca),
                        env=proxy_env(HTTPS_PROXY=proxy.url, no_proxy=value))
    assert result.returncode == 0, result.stderr
    assert (proxy.requests_since(mark) == []) is bypassed


def test_plain_http_requests_go_through_http_proxy(proxy, tmp_path) -> None:
    name, address = loopback_name()
    process = localregistry.start(tmp_path / "plain", address=address)
    try:
        host = f"{name}:{process.host.rsplit(':', 1)[1]}"
        with Registries(RegistryOptions(insecure=True), CredentialStore()) as registries:
            manifest = push_random_image(registries, host, "plain/app", "v1", [1000])
        mark = proxy.mark()
        # --insecure tries https first (direct: no HTTPS_PROXY), then plain HTTP, which HTTP_PROXY carries
        result = run_cli("image", "info", "--insecure", "-o", "json", f"{host}/plain/app:v1",
                         env=proxy_env(http_proxy=proxy.url))  # type: ignore[arg-type]
        assert result.returncode == 0, result.stderr
        assert json.loads(result.stdout)["digest"] == manifest.digest
        requests = proxy.requests_since(mark)
        assert f"GET http://{host}/v2/ HTTP/1.1" in requests
        assert any(line.startswith(f"GET http://{host}/v2/plain/app/manifests/v1 ") for line in requests), requests
    finally:
        process.remove()


def test_proxy_credentials_from_the_url_are_sent_to_the_proxy_only(named_registry, tmp_path) -> None:
    guarded = start_tinyproxy(tmp_path / "guarded", basic_auth=("proxyuser", "pr0xy-Secret"))
    try:
        refused = image_info(named_registry, "--certificate-authority", str(named_registry.ca),
                             env=proxy_env(HTTPS_PROXY=guarded.url))
        assert refused.returncode == 1 and "pr0xy-Secret" not in refused.output
        with_password = guarded.url.replace("http://", "http://proxyuser:pr0xy-Secret@")
        mark = guarded.mark()
        result = image_info(named_registry, "--certificate-authority", str(named_registry.ca),
                            env=proxy_env(HTTPS_PROXY=with_password))
        assert result.returncode == 0, result.stderr
        assert guarded.requests_since(mark)[0].startswith(f"CONNECT {named_registry.host} ")
        assert "pr0xy-Secret" not in result.output
    finally:
        stop(guarded)


def test_loopback_registries_are_never_proxied(registry, plain_registries) -> None:
    manifest = push_random_image(plain_registries, registry.host, "local/app", "v1", [1000])
    dead = "http://127.0.0.1:1"  # a proxy nobody runs: using it would fail
    port = registry.host.rsplit(":", 1)[1]
    for host in (registry.host, f"localhost:{port}"):
        result = run_cli("image", "info", "--insecure", "-o", "json", f"{host}/local/app:v1",
                         env=proxy_env(HTTPS_PROXY=dead, HTTP_PROXY=dead))  # type: ignore[arg-type]
        assert result.returncode == 0, result.stderr
        assert json.loads(result.stdout)["digest"] == manifest.digest


def test_a_proxy_nobody_runs_fails_at_once_naming_it_without_its_password(named_registry) -> None:
    result = image_info(named_registry, "--certificate-authority", str(named_registry.ca),
                        env=proxy_env(HTTPS_PROXY="http://someone:pr0xy-Secret@127.0.0.1:1"))
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        f"error: nothing listens on 127.0.0.1:1: proxy http://127.0.0.1:1 (for registry {named_registry.host}) "
        "refused the connection (check the host and port)"]
    assert "pr0xy-Secret" not in result.output and result.sleeps == []


@pytest.mark.parametrize("environment, url, expected", [
    ({"HTTPS_PROXY": "http://p:3128"}, "https://r.example/v2/", "http://p:3128"),
    ({"HTTPS_PROXY": "p:3128"}, "https://r.example/v2/", "http://p:3128"),  # no scheme: http://
    ({"HTTPS_PROXY": "http://p:3128"}, "http://r.example/v2/", None),  # http URLs use HTTP_PROXY
    ({"HTTP_PROXY": "http://p:3128"}, "http://r.example/v2/", "http://p:3128"),
    ({"HTTPS_PROXY": "http://upper:1", "https_proxy": "http://lower:2"}, "https://r.example/", "http://upper:1"),
    ({"https_proxy": "http://lower:2"}, "https://r.example/", "http://lower:2"),
    ({"HTTPS_PROXY": "http://p:1", "NO_PROXY": "ample"}, "https://r.example/", "http://p:1"),  # not a whole label
    ({"HTTPS_PROXY": "http://p:1", "NO_PROXY": "example"}, "https://r.example/", None),
    ({"HTTPS_PROXY": "http://p:1", "NO_PROXY": "r.example"}, "https://sub.r.example/", None),
    ({"HTTPS_PROXY": "http://p:1", "NO_PROXY": ".r.example"}, "https://r.example/", "http://p:1"),
    ({"HTTPS_PROXY": "http://p:1", "NO_PROXY": "*.r.example"}, "https://a.r.example/", None),
    ({"HTTPS_PROXY": "http://p:1", "NO_PROXY": "r.example:5000"}, "https://r.example:5000/", None),
    ({"HTTPS_PROXY": "http://p:1", "NO_PROXY": "r.example:5000"}, "https://r.example/", "http://p:1"),
    ({"HTTPS_PROXY": "http://p:1", "NO_PROXY": "10.1.0.0/16"}, "https://10.1.2.3:5000/", None),
    ({"HTTPS_PROXY": "http://p:1", "NO_PROXY": "10.1.2.3"}, "https://10.1.2.3:5000/", None),
    ({"HTTPS_PROXY": "http://p:1", "NO_PROXY": "10.1.2.3:443"}, "https://10.1.2.3:5000/", "http://p:1"),
    ({"HTTPS_PROXY": "http://p:1", "NO_PROXY": "::1,fd00::/8"}, "https://[fd00::5]/", None),
    ({"HTTPS_PROXY": "http://p:1"}, "https://127.0.0.2:5000/", None),  # loopback, as Go: never proxied
    ({"HTTPS_PROXY": "http://p:1"}, "https://[::1]:5000/", None),
    ({"HTTPS_PROXY": "http://p:1"}, "https://LOCALHOST./", None),
])
def test_proxy_rules_are_go_httpproxy_rules(environment: dict[str, str], url: str, expected: str | None) -> None:
    chosen = ProxySettings.from_environment(environment).proxy_for(parse_url(url))
    assert (str(chosen) if chosen else None) == expected


@pytest.mark.parametrize("value, message", [
    ("socks5://127.0.0.1:1080", "HTTPS_PROXY names a socks5 proxy; only http:// and https:// proxies are supported"),
    ("http://user:s3cret@[::1", "HTTPS_PROXY is not a proxy URL (expected http://HOST:PORT)"),
])
def test_an_unusable_proxy_variable_is_one_line_without_its_value(value: str, message: str) -> None:
    result = run_cli("image", "info", "registry.example/a/b:c", env=proxy_env(HTTPS_PROXY=value))  # type: ignore[arg-type]
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [f"error: {message}"]
    assert "s3cret" not in result.output


# -- failures that retrying cannot cure -----------------------------------------------------------------
def test_connection_refused_fails_at_once() -> None:
    for extra in ((), ("--insecure",)):
        started = time.monotonic()
        result = run_cli("image", "info", *extra, "127.0.0.1:1/okd/app:v1", env=proxy_env())  # type: ignore[arg-type]
        assert result.returncode == 1 and result.sleeps == []
        assert result.stderr.strip().splitlines() == [
            "error: nothing listens on 127.0.0.1:1: registry 127.0.0.1:1 refused the connection (check the host and port)"]
        assert time.monotonic() - started < 5


def test_an_unresolvable_host_fails_at_once() -> None:
    result = run_cli("image", "info", "no-such-registry.invalid/okd/app:v1", env=proxy_env())  # type: ignore[arg-type]
    assert result.returncode == 1 and result.sleeps == []
    assert result.stderr.strip().splitlines() == [
        "error: cannot resolve host no-such-registry.invalid: registry no-such-registry.invalid is unreachable "
        "(check the name and the machine's DNS)"]


def test_https_to_a_plain_http_registry_says_add_insecure(registry) -> None:
    result = run_cli("image", "info", f"{registry.host}/okd/app:v1", env=proxy_env())  # type: ignore[arg-type]
    assert result.returncode == 1 and result.sleeps == []
    assert result.stderr.strip().splitlines() == [
        f"error: registry {registry.host} answered plain HTTP to an HTTPS request: add --insecure to use it"]


def test_a_registry_that_answered_once_and_then_refuses_is_retried(tmp_path) -> None:
    """Refused after it answered is a registry restarting (as in test_resilience): worth the retries."""
    process = localregistry.start(tmp_path / "registry")
    sleeps: list[float] = []
    try:
        options = RegistryOptions(insecure=True, retry=RetryPolicy(attempts=3, sleep=sleeps.append))
        with Registries(options, CredentialStore()) as registries:
            client = registries.client(process.host)
            client.ping()
            process.stop()
            with pytest.raises(TransientRegistryError, match="gave up after 3 attempts"):
                client.head_manifest("okd/app", "v1")
        assert len(sleeps) == 2
    finally:
        process.remove()


def test_wrong_credentials_are_asked_about_once_for_a_whole_mirror(sample_release, tmp_path) -> None:
    from tests.tokenserver import start_token_server

    tokens = start_token_server(tmp_path, USERNAME, PASSWORD)
    target = localregistry.start(tmp_path / "target", token=tokens.registry_config())
    try:
        auth = write_auth_file(tmp_path / "auth.json", target.host, USERNAME, "wrong-" + PASSWORD)
        result = run_cli("mirror", "--insecure", "-a", str(auth), "--max-per-registry", "1",
                         "--from", sample_release.release, "--to", f"{target.host}/team/okd")
        assert result.returncode == 1
        # the token service refused the password once; no other image sent it again
        assert sum(count for scope, count in tokens.requests.items() if scope) == 1, (tokens.requests, result.stderr)
        errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
        assert len(errors) == 1 and f"authentication to registry {target.host} refused" in errors[0], result.stderr
        assert "wrong-" not in result.output
    finally:
        target.remove()
        tokens.shutdown()


# -- --retries and --request-timeout --------------------------------------------------------------------
@pytest.mark.parametrize("flags, retries", [((), 5), (("--retries", "2"), 2), (("--retries", "0"), 0)])
def test_retries_flag_sets_how_often_a_transient_failure_is_retried(registry, fault_proxy, flags, retries) -> None:
    failing = fault_proxy(registry.host, FaultPlan(rate=1.0, faults=("error",)))
    result = run_cli("image", "info", "--insecure", *flags, f"{failing.host}/okd/app:v1")
    assert result.returncode == 1
    assert len(result.sleeps) == retries
    assert f"gave up after {retries + 1} attempts" in result.stderr.strip().splitlines()[-1]


def test_request_timeout_bounds_a_request_that_gets_no_answer() -> None:
    with socket.socket() as silent:  # accepts connections (the kernel does) and never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen(16)
        host = f"127.0.0.1:{silent.getsockname()[1]}"
        started = time.monotonic()
        result = run_cli("image", "info", "--retries", "0", "--request-timeout", "1500ms", f"{host}/okd/app:v1")
        elapsed = time.monotonic() - started
    assert result.returncode == 1 and len(result.stderr.strip().splitlines()) == 1
    assert "timed out" in result.stderr, result.stderr
    assert 1.4 < elapsed < 6  # the 1.5 s given, not the default 120 s (nor the 15 s connect timeout)


@pytest.mark.parametrize("value, message", [
    ("0", "must be more than 0"), ("5x", "'5x' is not a duration"), ("-1s", "'-1s' is not a duration")])
def test_a_bad_request_timeout_is_one_line(value: str, message: str) -> None:
    result = run_cli("info", "--request-timeout", value, "registry.example/okd/release:1")
    assert result.returncode == 1 and len(result.stderr.strip().splitlines()) == 1
    assert message in result.stderr


@pytest.mark.parametrize("command", ["info", "extract", "mirror", "new", "image info", "image mirror", "verify"])
def test_every_registry_command_has_the_network_flags(command: str) -> None:
    result = run_cli(*command.split(), "--help")
    assert result.returncode == 0
    assert "--retries" in result.stdout and "--request-timeout" in result.stdout


# -- free space before a mirror to a directory ----------------------------------------------------------
@pytest.fixture
def tmpfs(tmp_path) -> Iterator[Callable[[int], Path]]:
    """Mount small real file systems: `tmpfs(bytes)` is a fresh directory on one of that size."""
    mounts: list[Path] = []

    def mount(size: int) -> Path:
        directory = tmp_path / f"tmpfs{len(mounts)}"
        directory.mkdir()
        completed = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(directory)],
                                   capture_output=True, text=True)
        assert completed.returncode == 0, f"mount -t tmpfs failed (root is needed): {completed.stderr}"
        mounts.append(directory)
        return directory

    yield mount
    for directory in mounts:
        subprocess.run(["umount", str(directory)], check=True)


def _mirror_to(release: str, target: Path):  # noqa: ANN202 - tests.conftest.Result
    return run_cli("mirror", "--insecure", "--from", release, "--to-dir", str(target), "-o", "json")


def test_release_mirror_to_a_small_directory_fails_before_copying_naming_both_numbers(sample_release, tmpfs) -> None:
    disk = tmpfs(128 * 1024)  # the sample release is about 350 KB
    target = disk / "mirror"
    result = run_cli("mirror", "--insecure", "--from", sample_release.release, "--to-dir", str(target))
    assert result.returncode == 1
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith(f"error: not enough free space for the mirror in {target}: it needs "), result.stderr
    needed, free = (int(part.rsplit("(", 1)[1].split(" bytes")[0]) for part in last.split(", and "))
    assert needed > free > 0
    assert free == shutil.disk_usage(disk).free
    assert not [path for path in target.rglob("*") if path.is_file()]  # nothing copied


def test_a_resumed_mirror_needs_room_only_for_what_the_directory_lacks(sample_release, tmpfs) -> None:
    disk = tmpfs(64 * 1024 * 1024)
    target = disk / "mirror"
    first = _mirror_to(sample_release.release, target)
    assert first.returncode == 0, first.stderr
    total = json.loads(first.stdout)["bytesTotal"]
    # leave less room than the whole release, though enough for what a rerun lacks (nothing)
    filler = disk / "filler"
    with open(filler, "wb") as handle:
        handle.truncate(0)
        left = shutil.disk_usage(disk).free - total // 2
        while left > 0:
            left -= handle.write(b"\0" * min(left, 1 << 20))
    assert shutil.disk_usage(disk).free < total
    rerun = _mirror_to(sample_release.release, target)
    assert rerun.returncode == 0, rerun.stderr
    assert json.loads(rerun.stdout)["bytesCopied"] == 0
