"""The library as the README shows it: each example of its "As a library" section runs as written against a
real registry holding the sample release; and the public surface of `okd_release` (lazy, typed, short reprs).

The README's set-up block runs first, as written; then its three placeholders (RELEASE, REGISTRY, OPTIONS) are
given the test's values: the sample release, a fresh local registry, plain HTTP.
"""

from __future__ import annotations

import ast
import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

import okd_release
from tests.conftest import skopeo

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
PLACEHOLDERS = ("RELEASE", "REGISTRY", "OPTIONS")


def library_examples() -> list[str]:
    """The python blocks of the README's "As a library" section, in order; the first is the set-up."""
    section = README.read_text().split("### As a library", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```python\n(.*?)```", section, re.S)


def example(calls: str) -> str:
    """The one example (after the set-up) that calls `calls`."""
    found = [block for block in library_examples()[1:] if f"okd_release.{calls}(" in block]
    assert len(found) == 1, f"the README should have one example calling okd_release.{calls}"
    return found[0]


@pytest.fixture
def readme(sample_release, registry, tmp_path, monkeypatch) -> dict[str, Any]:
    """The README's set-up, run; its placeholders then set to the sample release and a fresh registry."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("HOME", str(tmp_path))  # no credentials from the developer's environment
    monkeypatch.delenv("REGISTRY_AUTH_FILE", raising=False)
    monkeypatch.delenv("XDG_RUNTIME_DIR", raising=False)
    names: dict[str, Any] = {}
    exec(compile(library_examples()[0], "README.md (set-up)", "exec"), names)
    names.update(RELEASE=sample_release.release_tag, REGISTRY=registry.host,
                 OPTIONS=okd_release.RegistryOptions(insecure=True))
    return names


def run(block: str, names: dict[str, Any]) -> dict[str, Any]:
    exec(compile(block, "README.md", "exec"), names)
    return names


def test_the_set_up_marks_its_placeholders_and_nothing_else_is_replaced() -> None:
    setup = library_examples()[0]
    assigned = [line.split(" = ", 1)[0] for line in setup.splitlines() if " = " in line]
    assert assigned == list(PLACEHOLDERS)
    assert all("# placeholder:" in line for line in setup.splitlines() if " = " in line)


def test_readme_info_example_describes_the_release(readme, sample_release, capsys) -> None:
    info = run(example("describe"), readme)["info"]
    assert (info.version, info.digest, info.upgrades) == (sample_release.version, sample_release.digest,
                                                          sample_release.previous)
    printed = capsys.readouterr().out.splitlines()
    assert printed[0] == f"<ReleaseInfo {sample_release.version} {sample_release.digest}: {len(info.images)} images, " \
                         f"{info.manifests} manifests>"
    assert "kubernetes 1.28.3" in printed
    assert printed[-1].startswith("https://github.com/openshift/cli/commit/")


def test_readme_new_example_pushes_the_renamed_release(readme, registry, plain_registries) -> None:
    published = run(example("push_release"), readme)["published"]
    assert published.pullspec.startswith(f"{registry.host}/okd/release@sha256:")
    pushed = okd_release.open_release(plain_registries, f"{registry.host}/okd/release:4.15.1")
    assert pushed.digest == published.digest
    assert pushed.payload.version == "4.15.1"
    assert pushed.payload.metadata is not None and pushed.payload.metadata.previous == ("4.15.0",)


def test_readme_extract_example_writes_manifests_and_a_pinned_installer(readme, sample_release, tmp_path) -> None:
    names = run(example("extract_tools"), readme)
    stream = json.loads((tmp_path / "manifests" / "image-references").read_text())
    assert stream["metadata"]["name"] == sample_release.version
    assert len(names["manifests"].written) == len(list((tmp_path / "manifests").iterdir()))
    assert [tool.path for tool in names["tools"]] == [Path("bin/openshift-install")]
    assert sample_release.release.encode() + b"\x00" in (tmp_path / "bin" / "openshift-install").read_bytes()


def test_readme_mirror_example_copies_the_release_by_digest(readme, registry, sample_release) -> None:
    result = run(example("run_mirror"), readme)["result"]
    target = f"{registry.host}/okd/mirror:{sample_release.version}-x86_64"
    assert result.summary.images_failed == []
    assert result.release_target == target
    inspected = json.loads(skopeo("inspect", "--tls-verify=false", f"docker://{target}").stdout)
    assert inspected["Digest"] == sample_release.digest  # the very release, read back by another client
    assert repr(result) == (f"<MirrorResult {sample_release.version} {sample_release.digest} -> {target}: "
                            f"{len(result.copies)} images, 0 failed, {result.summary.blobs_copied} blobs copied>")


def test_reprs_of_results_are_one_short_line(sample_release, plain_registries) -> None:
    release = okd_release.open_release(plain_registries, sample_release.release)
    info = okd_release.describe(release, plain_registries, contents=True)
    plan = okd_release.plan_release(plain_registries, okd_release.NewOptions(from_release=sample_release.release))
    for value in (release, info, plan, okd_release.TransferSummary()):
        text = repr(value)
        assert "\n" not in text and len(text) < 200, text
    assert repr(release) == (f"<ReleaseImage {sample_release.version} {sample_release.digest}: "
                             f"{len(release.payload.image_references.tags)} images, {len(release.payload.manifests)} manifests>")
    assert repr(plan).startswith(f"<PlannedRelease {sample_release.version}: ")


def test_the_public_names_import_from_the_package_and_are_listed_by_dir() -> None:
    for name in okd_release.__all__:
        assert getattr(okd_release, name) is not None
    assert set(okd_release.__all__) <= set(dir(okd_release))
    assert okd_release.parse_reference("quay.io/okd/release:4.15") == okd_release.Reference("quay.io", "okd/release", "4.15")
    assert issubclass(okd_release.IncompleteTransfer, okd_release.OkdReleaseError)
    with pytest.raises(AttributeError, match="no attribute 'nothing_here'"):
        okd_release.nothing_here  # type: ignore[attr-defined]  # noqa: B018


def test_importing_the_package_loads_none_of_the_library() -> None:
    code = "import sys, okd_release; print(sorted(m for m in sys.modules if m.startswith('okd_release')))"
    loaded = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert loaded == "['okd_release']"


def test_the_type_stub_declares_exactly_the_names_the_package_gives() -> None:
    """mypy reads __init__.pyi; at run time __init__.py's table decides: both must say the same."""
    stub = ast.parse((ROOT / "src" / "okd_release" / "__init__.pyi").read_text())
    declared = {alias.asname or alias.name: (node.module, alias.name) for node in stub.body
                if isinstance(node, ast.ImportFrom) for alias in node.names}
    for name, (module, original) in declared.items():
        assert getattr(okd_release, name) is getattr(sys.modules[module] if module in sys.modules
                                                     else __import__(module, fromlist=[original]), original), name
    stub_all = next(ast.literal_eval(node.value) for node in stub.body
                    if isinstance(node, ast.Assign) and getattr(node.targets[0], "id", "") == "__all__")
    assert sorted(stub_all) == sorted(okd_release.__all__)
    assert set(declared) == set(okd_release.__all__) - {"__version__"}


def test_the_package_is_marked_typed() -> None:
    assert (ROOT / "src" / "okd_release" / "py.typed").is_file()
