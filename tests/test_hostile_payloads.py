"""Release images whose payload (or manifest, or config, or disk mirror index) is malformed, pushed to a real
registry and read by the CLI: each ends in exactly one line naming the document and the field, exit 1,
no traceback, nothing written. Also: a reader that goes away (`| head -1`, the CLI as its own process) and an
alias-bomb ImageStream file.

The CLI runs in this process (`run_cli`: its exit code, its output, and the traceback a process would print
for an exception that escaped); `__main__` only calls the same `cli`, so a process adds nothing to what these
check, except where the test is about the process and its pipes.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from okd_release import digest as digests
from okd_release import mediatypes
from okd_release.cli.common import handle_errors
from okd_release.content import Descriptor
from okd_release.image.build import push_blob_if_missing, put_manifest
from okd_release.image.config import ImageConfig
from okd_release.image.layer import LayerEntry, build_layer
from okd_release.image.manifest import build_image_manifest
from okd_release.stores import RegistryStore
from tests.conftest import Result, run_cli
from tests.faultproxy import FaultPlan

DIGEST = "sha256:" + "b" * 64
GOOD_CONFIG = ImageConfig.build({"architecture": "amd64", "os": "linux", "created": "2024-01-01T00:00:00Z",
                                 "config": {"Labels": {"io.openshift.release": "4.15.0"}}}).data


def _stream(tags: list[dict[str, object]] | None = None, **parts: object) -> bytes:
    document = {"kind": "ImageStream", "apiVersion": "image.openshift.io/v1", "metadata": {"name": "4.15.0"},
                "spec": {"tags": tags if tags is not None else [_tag("prometheus")]}}
    return json.dumps({**document, **parts}).encode()


def _tag(name: object, **parts: object) -> dict[str, object]:
    return {"name": name, "from": {"kind": "DockerImage", "name": f"quay.io/okd/content@{DIGEST}"}, **parts}


def _metadata(**parts: object) -> bytes:
    return json.dumps({"kind": "cincinnati-metadata-v0", "version": "4.15.0", **parts}).encode()


GOOD_FILES = {"image-references": _stream(), "release-metadata": _metadata()}


def _environment() -> dict[str, str]:
    """No credentials or home of the developer's."""
    environment = {k: v for k, v in os.environ.items() if k not in ("REGISTRY_AUTH_FILE", "XDG_RUNTIME_DIR")}
    return {**environment, "HOME": "/nonexistent-home"}


@pytest.fixture(scope="module")
def push(source_registry, plain_registries_module, tmp_path_factory):
    """`push(tag, files, config)`: a release image whose payload layer holds `files`; its pullspec by tag."""
    store = RegistryStore(plain_registries_module.client(source_registry.host))

    def push_release(tag: str, files: dict[str, bytes], config: bytes = GOOD_CONFIG) -> str:
        entries = [LayerEntry.directory("release-manifests/", 0o777)]
        entries += [LayerEntry.file(f"release-manifests/{name}", data, 0o444) for name, data in files.items()]
        layer = build_layer(entries, tmp_path_factory.mktemp("layer"))
        push_blob_if_missing(store, "hostile/release", layer.descriptor(), layer.chunks)
        config_blob = Descriptor(mediatypes.DOCKER_CONFIG, digests.of(config), len(config))
        push_blob_if_missing(store, "hostile/release", config_blob, lambda: [config])
        put_manifest(store, "hostile/release", tag, build_image_manifest(config_blob, [layer.descriptor()]).raw)
        return f"{source_registry.host}/hostile/release:{tag}"

    return push_release


def _one_error(result: Result, *needles: str) -> str:
    assert result.returncode == 1, result.output
    assert "Traceback" not in result.stderr
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    for needle in needles:
        assert needle in lines[0]
    return lines[0]


PAYLOADS = {
    "spec-list": ({"image-references": _stream(spec=[1])}, "image-references of", "at $.spec: expected `object | null`"),
    "metadata-list": ({"image-references": _stream(metadata=[1])}, "image-references of", "at $.metadata: expected"),
    "annotations-text": ({"image-references": _stream(metadata={"name": "4.15.0", "annotations": "ab"})},
                         "image-references of", "at $.metadata.annotations: expected `object | null`, got `str`"),
    "tag-annotations-list": ({"image-references": _stream([_tag("prometheus", annotations=[1])])},
                             "image-references of", "at $.spec.tags[0].annotations: expected `object | null`, got `array`"),
    "tag-name-traversal": ({"image-references": _stream([_tag("prometheus"), _tag("../../etc/cron.d")])},
                           "image-references of", "at $.spec.tags[1].name: invalid component name '../../etc/cron.d'"),
    "release-name-slash": ({"image-references": _stream(metadata={"name": "4.15/../../x"})},
                           "image-references of", "at $.metadata.name: invalid release name"),
    "previous-number": ({**GOOD_FILES, "release-metadata": _metadata(previous=5)},
                        "release-metadata of", "at $.previous: expected `array | null`, got `int`"),
    "metadata-text": ({**GOOD_FILES, "release-metadata": _metadata(metadata="abc")},
                      "release-metadata of", "at $.metadata: expected `object | null`, got `str`"),
    "metadata-list2": ({**GOOD_FILES, "release-metadata": _metadata(metadata=[1, 2])},
                       "release-metadata of", "at $.metadata: expected `object | null`, got `array`"),
    "version-slash": ({**GOOD_FILES, "release-metadata": _metadata(version="4.15.0/../../x")},
                      "release-metadata of", "at $.version: invalid release version"),
    "manifest-name-newline": ({**GOOD_FILES, "0000_50_x\n_01.yaml": b"kind: ConfigMap\napiVersion: v1\n"},
                              "release-manifests of", "invalid manifest file name '0000_50_x\\n_01.yaml'"),
}


@pytest.mark.parametrize("case", PAYLOADS)
def test_info_on_a_payload_with_a_malformed_document_is_one_line(push, case: str) -> None:
    files, document, problem = PAYLOADS[case]
    pullspec = push(case, files)
    line = _one_error(run_cli("info", "--insecure", pullspec), f"{document} {pullspec}", problem)
    assert line.startswith(f"error: {document} {pullspec}")


@pytest.mark.parametrize("case", ["spec-list", "tag-name-traversal", "version-slash"])
def test_mirror_of_a_malformed_payload_is_one_line_and_writes_nothing(push, tmp_path: Path, case: str) -> None:
    files, document, problem = PAYLOADS[case]
    pullspec = push(case, files)
    _one_error(run_cli("mirror", "--insecure", "--from", pullspec, "--to-dir", str(tmp_path / "out")), document, problem)
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize(("config", "problem"), [
    (b'{"config": "x"}', "at $.config: expected `object | null`, got `str`"),
    (b'{"config": {"Labels": ["io.openshift.release"]}}', "at $.config.Labels: expected `object | null`, got `array`"),
    (b'{"rootfs": 7}', "at $.rootfs: expected `object | null`, got `int`"),
    (b'{"history": {"created": "x"}}', "at $.history: expected `array | null`, got `object`"),
])
def test_info_on_a_release_with_a_malformed_config_is_one_line(push, config: bytes, problem: str) -> None:
    pullspec = push(f"config-{digests.of(config)[7:19]}", GOOD_FILES, config)
    _one_error(run_cli("info", "--insecure", pullspec), f"config of {pullspec}", problem)


def test_a_malformed_config_is_named_before_a_malformed_layer(push) -> None:
    config = b'{"config": "x"}'  # the config is read first: its error is the one told
    pullspec = push("config-and-layer", PAYLOADS["spec-list"][0], config)
    _one_error(run_cli("info", "--insecure", pullspec), f"config of {pullspec}", "at $.config: expected `object | null`")


def test_manifest_with_a_size_beyond_int64_is_one_line(push, source_registry, fault_proxy) -> None:
    push("size-overflow", GOOD_FILES)
    proxy = fault_proxy(source_registry.host, FaultPlan())
    body = json.dumps({"schemaVersion": 2, "mediaType": mediatypes.DOCKER_MANIFEST,
                       "config": {"mediaType": mediatypes.DOCKER_CONFIG, "digest": DIGEST, "size": 1},
                       "layers": []}).replace('"size": 1', '"size": 1e999').encode()

    def overflow(handler) -> bool:
        if handler.command != "GET" or "/manifests/" not in handler.path:
            return False
        handler.answer(200, body, {"Content-Type": mediatypes.DOCKER_MANIFEST})
        return True

    proxy.hooks.append(overflow)
    pullspec = f"{proxy.host}/hostile/release:size-overflow"
    _one_error(run_cli("info", "--insecure", pullspec),
               f"manifest of {pullspec} is invalid at $.config.size: number out of range")


@pytest.mark.parametrize(("index", "problem"), [
    ("[1]", "okd-release-mirror.json is invalid: expected `object`, got `array`"),
    ('{"source": "quay.io/okd/release:4.15"}', "okd-release-mirror.json is invalid: object missing required field `release`"),
    ('{"release": 5}', "okd-release-mirror.json is invalid at $.release: expected `str`, got `int`"),
    ('{"release": "quay.io/okd/release:4.15"}', "okd-release-mirror.json is invalid at $.release: 'quay.io/okd/release:4.15' "
                                                "is not a file:// reference"),
])
def test_mirror_from_a_directory_with_a_malformed_index_is_one_line(disk_mirror: Path, source_registry, tmp_path: Path,
                                                                     index: str, problem: str) -> None:
    directory = tmp_path / "mirror"
    shutil.copytree(disk_mirror, directory, symlinks=True)
    (directory / "okd-release-mirror.json").write_text(index)
    result = run_cli("mirror", "--insecure", "--from-dir", str(directory), "--to", f"{source_registry.host}/hostile/mirror")
    _one_error(result, str(directory / "okd-release-mirror.json"), problem)


@pytest.fixture(scope="module")
def disk_mirror(sample_release, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The sample release mirrored to disk, index included."""
    directory = tmp_path_factory.mktemp("disk-mirror")
    mirrored = run_cli("mirror", "--insecure", "--from", sample_release.release, "--to-dir", str(directory))
    assert mirrored.returncode == 0, mirrored.stderr
    return directory


def _big_release(push) -> str:
    """A release of 3000 components: `info -o pullspec` prints ~300 KB, a line at a time, more than a pipe holds."""
    tags = [_tag(f"component-{number:04d}") for number in range(3000)]
    return push("big", {"image-references": _stream(tags), "release-metadata": _metadata()})


def test_info_into_head_exits_quietly_when_head_leaves(push) -> None:
    pullspec = _big_release(push)
    completed = subprocess.run(
        ["bash", "-c", f'"{sys.executable}" -m okd_release info --insecure -o pullspec "{pullspec}" | head -1; '
                       'echo "status ${PIPESTATUS[0]}" >&2'],
        capture_output=True, text=True, env=_environment(), timeout=120,
    )
    assert completed.stdout == f"quay.io/okd/content@{DIGEST}\n"
    assert completed.stderr == "status 141\n"  # no "error: [Errno 32] Broken pipe", no complaint at exit


# The program exits without the interpreter's teardown (cli.program.run) unless coverage measures it, after
# running the exit handlers: these run it as a user does, with no coverage, an object that speaks when the
# teardown frees it, and an exit handler that speaks when it runs.
_PROGRAM = ("import atexit, sys\n"
            "class Freed:\n"
            "    def __del__(self, write=sys.stderr.write): write('teardown\\n')\n"
            "freed = Freed()\n"
            "atexit.register(lambda: print('exit handler', file=sys.stderr))\n"
            "from okd_release.cli.program import run; run()")


def _as_a_user() -> dict[str, str]:
    return {k: v for k, v in _environment().items() if not k.startswith(("COVERAGE", "COV_CORE"))}


def test_the_program_exits_at_once_with_all_its_output_and_its_status(push) -> None:
    pullspec = _big_release(push)
    done = subprocess.run([sys.executable, "-c", _PROGRAM, "info", "--insecure", "-o", "pullspec", pullspec],
                          capture_output=True, env=_as_a_user(), timeout=120)
    assert done.returncode == 0 and done.stderr == b"exit handler\n"  # the handlers ran; no teardown
    assert done.stdout.count(b"\n") == 3000 and done.stdout.endswith(f"content@{DIGEST}\n".encode())
    failed = subprocess.run([sys.executable, "-c", _PROGRAM, "info", "--insecure", pullspec + "-missing"],
                            capture_output=True, text=True, env=_as_a_user(), timeout=120)
    assert failed.returncode == 1 and failed.stdout == ""
    assert failed.stderr.startswith("error: ") and failed.stderr.endswith("\nexit handler\n")  # said, and flushed
    assert failed.stderr.count("\n") == 2
    usage = subprocess.run([sys.executable, "-c", _PROGRAM, "info", "--no-such-flag"],
                           capture_output=True, text=True, env=_as_a_user(), timeout=120)
    assert usage.returncode != 0 and "--no-such-flag" in usage.stderr and "teardown" not in usage.stderr


# What the collector did during start-up: a callback counts the collections from `run` on, and the program's `started`
# (called once the command's modules are in) reports the count; then whether collection is on, and how much
# was frozen.
_COLLECTIONS = ("import gc, sys\n"
                "collections = []\n"
                "gc.callbacks.append(lambda phase, info: phase == 'start' and collections.append(info['generation']))\n"
                "from okd_release.cli import program\n"
                "real = program.started\n"
                "def started():\n"
                "    print(len(collections), gc.isenabled(), end=' ', file=sys.stderr)\n"
                "    real()\n"
                "    print(gc.isenabled(), gc.get_freeze_count(), file=sys.stderr)\n"
                "program.started = started\n"
                "collections.clear()  # from here on: what run imports\n"
                "program.run()")


def test_the_program_starts_without_collecting_and_collects_once_its_command_runs(push) -> None:
    pullspec = push("collected", GOOD_FILES)
    done = subprocess.run([sys.executable, "-c", _COLLECTIONS, "info", "--insecure", pullspec],
                          capture_output=True, text=True, env=_as_a_user(), timeout=120)
    assert done.returncode == 0 and "Name:" in done.stdout
    collections, before, after, frozen = done.stderr.split()
    assert (collections, before, after) == ("0", "False", "True")  # none while the command's modules loaded
    assert int(frozen) > 10_000  # the objects of start-up are kept out of the collections to come


# A log handler that holds its records until logging's exit handler flushes it (logging.shutdown).
_BUFFERED_LOG = ("import logging, logging.handlers\n"
                 "target = logging.StreamHandler(sys.stderr)\n"
                 "target.setFormatter(logging.Formatter('held until exit: %(message)s'))\n"
                 "logging.getLogger('okd_release').addHandler(logging.handlers.MemoryHandler(\n"
                 "    10_000, flushLevel=logging.CRITICAL + 1, target=target))\n")


def test_the_program_flushes_its_log_and_skips_the_teardown_when_logging_is_on(push) -> None:
    code = _PROGRAM.replace("from okd_release", _BUFFERED_LOG + "from okd_release", 1)
    done = subprocess.run([sys.executable, "-c", code, "info", "--insecure", "--loglevel", "4",
                           push("logged", GOOD_FILES)], capture_output=True, text=True, env=_as_a_user(), timeout=120)
    assert done.returncode == 0 and "Name:" in done.stdout
    assert "held until exit: GET http://" in done.stderr and "teardown" not in done.stderr


def test_the_program_takes_the_ordinary_exit_under_a_profiler(tmp_path) -> None:
    profile = tmp_path / "profile.out"  # cProfile writes its report from the interpreter's own exit
    done = subprocess.run([sys.executable, "-m", "cProfile", "-o", str(profile), "-m", "okd_release", "--version"],
                          capture_output=True, text=True, env=_as_a_user(), timeout=120)
    assert done.returncode == 0 and done.stdout.startswith("okd-release, version ")
    assert profile.stat().st_size > 0


def test_info_whose_reader_closed_before_any_output_exits_141_silently(push) -> None:
    pullspec = push("small", GOOD_FILES)
    process = subprocess.Popen([sys.executable, "-m", "okd_release", "info", "--insecure", pullspec],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=_environment())
    assert process.stdout is not None and process.stderr is not None
    process.stdout.close()
    stderr = process.stderr.read()
    assert process.wait(timeout=60) == 141
    assert stderr == b""


def test_alias_bomb_image_stream_file_is_refused_at_once(tmp_path: Path) -> None:
    levels = ['a0: &a0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    levels += [f"a{i}: &a{i} [{','.join([f'*a{i - 1}'] * 9)}]" for i in range(1, 8)]
    tag = f'  - name: x\n    from: {{kind: DockerImage, name: "quay.io/a/b@{DIGEST}"}}\n    annotations: {{x: *a7}}\n'
    path = tmp_path / "stream.yaml"
    path.write_text("kind: ImageStream\n" + "\n".join(levels) + "\nspec:\n  tags:\n" + tag)
    assert path.stat().st_size < 600
    started = time.monotonic()
    result = run_cli("new", "-f", str(path), "--to-file", str(tmp_path / "payload.tar"))
    assert time.monotonic() - started < 5
    _one_error(result, f"image stream file {path} is not valid YAML (aliases are not allowed (found *a0) at line 3")
    assert not (tmp_path / "payload.tar").exists()


# --- errors nobody foresaw ---

@click.command()
@click.option("--loglevel", type=int, default=0)
@handle_errors
def _failing(loglevel: int) -> None:
    raise KeyError("spec")


def test_an_unexpected_exception_is_one_line_and_its_trace_only_at_loglevel_4(caplog) -> None:
    quiet = CliRunner().invoke(_failing, [])
    assert quiet.exit_code == 1
    assert quiet.stderr == "error: unexpected KeyError: 'spec' (rerun with --loglevel 4 for the trace)\n"
    assert caplog.records == []
    verbose = CliRunner().invoke(_failing, ["--loglevel", "4"])
    assert verbose.exit_code == 1
    assert verbose.stderr == "error: unexpected KeyError: 'spec'\n"
    [record] = caplog.records
    assert record.name == "okd_release" and record.exc_info is not None and record.exc_info[0] is KeyError
