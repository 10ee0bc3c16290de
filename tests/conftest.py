"""Fixtures: real `docker-registry` processes (plain HTTP, TLS with a test CA, htpasswd auth) and CLI runners.

`run_cli` runs a command in this process (click's CliRunner), with backoff waits recorded instead of slept;
`run_cli_process` runs it as a real process, for the tests that need one (kill, signals, memory, TTY).
"""

from __future__ import annotations

import base64
import fcntl
import functools
import json
import logging
import os
import subprocess
import sys
import tempfile
import traceback
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import bcrypt
import click.testing
import pytest

from okd_release.registry import Registries, RegistryOptions
from okd_release.registry.options import RetryPolicy
from okd_release.stores import RegistryStore
from okd_release.testing import golden, localregistry
from okd_release.testing.sample import push_sample
from tests.certs import make_ca_and_server

GOLDEN_DIR = Path(__file__).resolve().parent / "golden"
USERNAME = "okd-tester"
PASSWORD = "s3cret-Pa55word-never-printed"


@dataclass
class SecureRegistry:
    registry: localregistry.LocalRegistry
    ca_file: Path
    auth_file: Path
    username: str
    password: str

    @property
    def host(self) -> str:
        return self.registry.host


@dataclass
class Result:
    returncode: int
    stdout: str
    stderr: str
    sleeps: list[float] = field(default_factory=list)  # backoff waits asked for (in-process runs only)

    @property
    def output(self) -> str:
        return self.stdout + self.stderr


def write_auth_file(path: Path, host: str, username: str, password: str) -> Path:
    token = base64.b64encode(f"{username}:{password}".encode()).decode()
    path.write_text(json.dumps({"auths": {host: {"auth": token, "email": "tester@example.com"}}}))
    return path


@pytest.fixture
def registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[localregistry.LocalRegistry]:
    """A fresh plain-HTTP registry for one test."""
    process = localregistry.start(tmp_path_factory.mktemp("registry"))
    yield process
    process.remove()


@pytest.fixture
def second_registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[localregistry.LocalRegistry]:
    process = localregistry.start(tmp_path_factory.mktemp("registry2"))
    yield process
    process.remove()


@pytest.fixture(scope="session")
def source_registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[localregistry.LocalRegistry]:
    """A plain-HTTP registry shared by a whole session (holds the sample payloads)."""
    process = localregistry.start(tmp_path_factory.mktemp("source-registry"))
    yield process
    process.remove()


@pytest.fixture
def secure_registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SecureRegistry]:
    """TLS with a CA made here, and htpasswd basic auth."""
    directory = tmp_path_factory.mktemp("secure-registry")
    ca, cert, key = make_ca_and_server(directory / "tls")
    htpasswd = directory / "htpasswd"
    hashed = bcrypt.hashpw(PASSWORD.encode(), bcrypt.gensalt(rounds=4)).decode()
    htpasswd.write_text(f"{USERNAME}:{hashed}\n")
    process = localregistry.start(directory / "run", certificate=cert, key=key, htpasswd=htpasswd)
    auth_file = write_auth_file(directory / "pull-secret.json", process.host, USERNAME, PASSWORD)
    yield SecureRegistry(process, ca, auth_file, USERNAME, PASSWORD)
    process.remove()


@pytest.fixture
def plain_registries() -> Iterator[Registries]:
    """A library client for plain-HTTP test registries, with no credentials from the environment."""
    from okd_release.registry.credentials import CredentialStore

    with Registries(RegistryOptions(insecure=True), CredentialStore()) as registries:
        yield registries


def _cli_environment(env: dict[str, str] | None) -> dict[str, str | None]:
    """No credentials or runtime directory from the developer's environment; HOME points nowhere."""
    environment: dict[str, str | None] = {"REGISTRY_AUTH_FILE": None, "XDG_RUNTIME_DIR": None,
                                          "HOME": os.environ.get("OKD_RELEASE_TEST_HOME", "/nonexistent-home")}
    environment.update(env or {})
    return environment


def _cli_runner() -> click.testing.CliRunner:
    try:  # click < 8.2 mixes stderr into stdout unless told not to; 8.2 dropped the argument and keeps both
        return click.testing.CliRunner(mix_stderr=False)  # type: ignore[call-arg]
    except TypeError:
        return click.testing.CliRunner()


def run_cli(*args: str, env: dict[str, str] | None = None, input: str | None = None, timeout: float = 300) -> Result:
    """Run `okd-release` in this process, as `okd-release ARGS` would run, and capture its exit code and output.

    Backoff waits between retries are recorded in `Result.sleeps` and not slept. What a run changes in the
    process (the retry policy, logging set up by --loglevel) is put back, so runs do not see each other.
    `timeout` is kept for the call sites; pytest-timeout bounds an in-process run.
    """
    from okd_release.cli import common

    sleeps: list[float] = []
    instant = RetryPolicy(sleep=sleeps.append)
    root, httpcore = logging.getLogger(), logging.getLogger("httpcore")
    saved = (list(root.handlers), root.level, httpcore.level, common.RegistryOptions)
    common.RegistryOptions = functools.partial(RegistryOptions, retry=instant)  # what make_registries builds
    root.handlers.clear()  # pytest's capture handlers would make --loglevel's logging.basicConfig a no-op
    try:
        code, stdout, stderr = invoke_main(list(args), input=input, env=_cli_environment(env))
    finally:
        root.handlers[:] = saved[0]
        root.setLevel(saved[1])  # setLevel, not assignment: it also clears the loggers' cached levels
        httpcore.setLevel(saved[2])
        common.RegistryOptions = saved[3]
    return Result(code, stdout, stderr, sleeps)


def invoke_main(args: list[str], input: str | None = None, env: dict[str, str | None] | None = None,
                ) -> tuple[int, str, str]:
    """`cli.main.main(args)` in this process, as the program runs it (its own parser first, click for the rest),
    with stdin, stdout, stderr and the environment swapped as click's runner swaps them: (exit code, stdout, stderr).
    An exception that escapes is what the process would print: a traceback, which tests assert never appears."""
    from okd_release.cli.main import main

    code, escaped = 0, ""
    with _cli_runner().isolation(input=input, env=env) as streams:
        try:
            main(args, prog_name="okd-release")
        except SystemExit as done:
            code = done.code if isinstance(done.code, int) else 0 if done.code is None else 1
        except Exception as error:  # noqa: BLE001 - reported as the process would report it
            code, escaped = 1, "".join(traceback.format_exception(error))
        stdout, stderr = streams[0].getvalue().decode(), streams[1].getvalue().decode(errors="backslashreplace")
    return code, stdout, stderr + escaped


def run_cli_process(*args: str, env: dict[str, str] | None = None, input: str | None = None,
                    timeout: float = 300) -> Result:
    """Run `okd-release` as a real process (for what needs one: signals, kill -9, memory, broken pipes)."""
    completed = subprocess.run(
        [sys.executable, "-m", "okd_release", *args], capture_output=True, text=True,
        env=cli_process_environment(env), input=input, timeout=timeout,
    )
    return Result(completed.returncode, completed.stdout, completed.stderr)


# Started by a small Python process, not by pytest: a child's peak RSS (ru_maxrss) counts the memory of the
# process that forked it, up to its exec, and pytest's own grows with every command run in-process.
_MEASURER = """
import os, subprocess, sys
process = subprocess.Popen(sys.argv[2:])
_, status, usage = os.wait4(process.pid, 0)
with open(sys.argv[1], "w") as report:
    report.write(f"{os.waitstatus_to_exitcode(status)} {usage.ru_maxrss}")
"""


def measure_cli_process(*args: str) -> tuple[int, str, float]:
    """Run `okd-release` as a real process; its exit code, stderr and peak RSS in MB (its own: see _MEASURER).

    Output goes to files, not pipes: waiting for the process while nobody reads a pipe would deadlock once it
    had written more than the pipe holds.
    """
    with tempfile.TemporaryDirectory() as directory, open(Path(directory) / "stdout", "wb") as stdout, \
            open(Path(directory) / "stderr", "w+b") as stderr:
        report = Path(directory) / "report"
        measurer = subprocess.run([sys.executable, "-c", _MEASURER, str(report), sys.executable, "-m", "okd_release",
                                   *args], stdout=stdout, stderr=stderr, env=cli_process_environment(measure_coverage=False))
        assert measurer.returncode == 0 and report.exists(), "the measuring process failed"
        code, peak_kib = report.read_text().split()
        stderr.seek(0)
        return int(code), stderr.read().decode(), int(peak_kib) / 1024


def cli_process_environment(env: dict[str, str] | None = None, *, measure_coverage: bool = True) -> dict[str, str]:
    """The environment `run_cli_process` gives the CLI, for tests that start it with Popen.

    When the suite runs under coverage, the process is measured too unless `measure_coverage` is false (a
    test of its memory: coverage's own bookkeeping would count against the CLI).
    """
    environment = {k: v for k, v in os.environ.items()
                   if k not in ("REGISTRY_AUTH_FILE", "XDG_RUNTIME_DIR", "COVERAGE_PROCESS_CONFIG")}
    environment.update({k: v for k, v in _cli_environment(env).items() if v is not None})
    configuration = _coverage_configuration() if measure_coverage else None
    if configuration is not None:
        environment["COVERAGE_PROCESS_CONFIG"] = configuration  # read by the .pth file coverage installs
    return environment


def _coverage_configuration() -> str | None:
    try:
        import coverage
    except ImportError:
        return None
    current = coverage.Coverage.current()
    return current.config.serialize() if current is not None else None


def skopeo(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    completed = subprocess.run(["skopeo", *args], capture_output=True, text=True, timeout=300)
    if check and completed.returncode != 0:
        raise AssertionError(f"skopeo {' '.join(args)} failed: {completed.stderr}")
    return completed


@dataclass(frozen=True)
class SampleRelease:
    """The sample component images and a release built from them by `new`, in the session registry."""

    host: str
    content: str  # repository of the component images
    stream_file: Path
    release: str  # pullspec by digest
    release_tag: str  # pullspec by tag
    digest: str
    version: str
    previous: tuple[str, ...]


SAMPLE_BUILT_AT = 1704067200  # 2024-01-01T00:00:00Z: the sample release's build time (SOURCE_DATE_EPOCH)


def pushed_release(result: Result, target: str) -> str:
    """The pullspec by digest of the release `new` pushed to `target` (it prints `sha256:D NAME CREATED`, as oc)."""
    assert result.returncode == 0, result.stderr
    digest = result.stdout.split()[0]
    assert digest.startswith("sha256:"), result.stdout
    repository = target.split("@", 1)[0]
    if repository.rfind(":") > repository.rfind("/"):
        repository = repository[:repository.rfind(":")]
    return f"{repository}@{digest}"


@pytest.fixture(scope="session")
def sample_release(source_registry, tmp_path_factory: pytest.TempPathFactory) -> SampleRelease:
    directory = tmp_path_factory.mktemp("sample")
    stream_file = directory / "image-stream.json"
    host = source_registry.host
    pushed = run_cli("sample", "--insecure", "--to", f"{host}/okd/content", "--image-stream-file", str(stream_file))
    assert pushed.returncode == 0, pushed.stderr
    tag = f"{host}/okd/release:4.15.0-0.okd-sample"
    built = run_cli("new", "--insecure", "-f", str(stream_file), "--to-image", tag, "--name", "4.15.0-0.okd-sample",
                    "--previous", "4.14.0,4.14.1", env={"SOURCE_DATE_EPOCH": str(SAMPLE_BUILT_AT)})
    assert built.returncode == 0, built.stderr
    release = pushed_release(built, tag)
    return SampleRelease(host, "okd/content", stream_file, release, tag, release.split("@", 1)[1],
                         "4.15.0-0.okd-sample", ("4.14.0", "4.14.1"))


@pytest.fixture(scope="module")
def plain_registries_module() -> Iterator[Registries]:
    from okd_release.registry.credentials import CredentialStore

    with Registries(RegistryOptions(insecure=True), CredentialStore()) as registries:
        yield registries


def serving(start_server: Callable[..., Any]) -> Iterator[Callable[..., Any]]:
    """For a fixture: a function starting servers with `start_server`; every server it started is shut down after."""
    servers = []

    def start(*args: Any, **kwargs: Any) -> Any:
        server = start_server(*args, **kwargs)
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


@pytest.fixture
def fault_proxy():
    """Start fault proxies in front of registries: `fault_proxy(upstream_host, FaultPlan(...))`."""
    from tests.faultproxy import start_proxy

    yield from serving(start_proxy)


@pytest.fixture(scope="module")
def golden_inputs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Registries on the recorded addresses (tests/golden/README.md), holding the sample content and oc's release
    images. The addresses are fixed, so a module holds them under a lock that other test processes (pytest-xdist
    workers) wait for."""
    work = tmp_path_factory.mktemp("golden")
    with open(Path(tempfile.gettempdir()) / f"okd-release-golden-{os.getuid()}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            source = localregistry.start(work / "source", address=golden.SOURCE_ADDRESS, port=golden.PORT)
        except Exception as error:  # noqa: BLE001 - the reason is reported as the failure
            pytest.fail(f"cannot start the golden registry on {golden.SOURCE}: {error}")
        mirror = localregistry.start(work / "mirror", address=golden.MIRROR_ADDRESS, port=golden.PORT)
        try:
            with Registries(RegistryOptions(insecure=True)) as registries:
                store = RegistryStore(registries.client(golden.SOURCE))
                push_sample(store, golden.CONTENT)
                for name, pullspec in golden.RELEASES.items():
                    golden.push_release_image(store, golden.RELEASE_REPOSITORY, pullspec.rsplit(":", 1)[1],
                                              GOLDEN_DIR / "releases" / name, golden.CONTENT)
            yield
        finally:
            source.remove()
            mirror.remove()


# Test files that take longest (in that order): dev/test hands whole files to its workers in collection order
# (--dist loadfile --no-loadscope-reorder), so these start first and run beside the many short files; left
# for last, one of them would keep one worker busy while the others had nothing to do.
SLOWEST_FILES = (
    "test_hostile_registry.py", "test_mirror.py", "test_history.py", "test_hostile_files.py", "test_transfer_safety.py",
    "test_signatures.py", "test_image_cli.py", "test_differential_mirror.py", "test_golden.py", "test_mirror_oc.py",
    "test_transfer_speed_paths.py", "test_disconnected.py", "test_resilience.py", "test_network.py", "test_faults.py",
    "test_history_summary.py", "test_new.py", "test_corruption.py", "test_new_oc.py", "test_cvo.py",
)


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    rank = {name: index for index, name in enumerate(SLOWEST_FILES)}
    items.sort(key=lambda item: rank.get(item.path.name, len(SLOWEST_FILES)))  # stable: each file keeps its order
