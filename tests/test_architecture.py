"""The layers of docs/architecture.md, checked against the imports of every module in src/."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parent.parent / "src" / "okd_release"

BASE = {"errors", "digest", "reference", "names", "mediatypes", "content", "documents", "plainyaml", "listener", "mirrors",
        "logs", "background", "__init__"}

# layer -> the layers it may import (besides itself); `release.X` are the per-command packages.
ALLOWED = {
    "base": set(),
    "registry": {"base"},
    "image": {"base"},
    "stores": {"base", "registry", "image"},
    "transfer": {"base", "registry", "image", "stores"},
    "release.payload": {"base", "registry", "image", "stores", "transfer"},
    "release.info": {"base", "registry", "image", "stores", "transfer", "release.payload"},
    "release.new": {"base", "registry", "image", "stores", "transfer", "release.payload"},
    "release.extract": {"base", "registry", "image", "stores", "transfer", "release.payload", "release.cvo"},
    "release.mirror": {"base", "registry", "image", "stores", "transfer", "release.payload", "release.signatures"},
    "release.cvo": {"base", "registry", "image", "stores", "transfer", "release.payload"},
    "release.signatures": {"base", "registry", "image", "stores", "transfer", "release.payload"},
    "release.history": {"base", "registry", "image", "stores", "transfer", "release.payload"},
    "testing": {"base", "registry", "image", "stores", "transfer", "release.payload", "release.new", "release.extract"},
    "cli": {"base", "registry", "image", "stores", "transfer", "release.payload", "release.info", "release.new",
            "release.extract", "release.mirror", "release.cvo", "release.history", "release.signatures", "testing"},
}


def layer_of(module: str) -> str:
    parts = module.split(".")[1:]  # drop okd_release
    if not parts or parts[0] in BASE:
        return "base"
    if parts[0] == "release":
        return "release." + parts[1] if len(parts) > 1 and parts[1] != "__init__" else "release.payload"
    return parts[0]


def module_name(path: Path) -> str:
    relative = path.relative_to(SRC.parent).with_suffix("")
    return ".".join(relative.parts)


def imports_of(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("okd_release"):
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names
                         if (SRC.parent / node.module.replace(".", "/") / f"{alias.name}.py").exists()
                         or (SRC.parent / node.module.replace(".", "/") / alias.name).is_dir())
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names if alias.name.startswith("okd_release"))
    return found


MODULES = sorted(p for p in SRC.rglob("*.py") if p.name != "__main__.py")


def test_every_module_belongs_to_a_known_layer() -> None:
    unknown = {module_name(p): layer_of(module_name(p)) for p in MODULES if layer_of(module_name(p)) not in ALLOWED}
    assert unknown == {}


@pytest.mark.parametrize("path", MODULES, ids=lambda p: module_name(p))
def test_imports_follow_the_layers(path: Path) -> None:
    mine = layer_of(module_name(path))
    wrong = sorted(
        f"{target} ({layer_of(target)})" for target in imports_of(path)
        if layer_of(target) != mine and layer_of(target) not in ALLOWED[mine]
    )
    assert wrong == [], f"{module_name(path)} ({mine}) imports upward or sideways: {wrong}"


def test_the_image_layer_knows_nothing_of_http() -> None:
    for path in (SRC / "image").glob("*.py"):
        tree = ast.parse(path.read_text())
        names = {alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names}
        names |= {node.module or "" for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
        assert not {n for n in names if n.split(".")[0] in ("httpx", "http", "urllib")}, path.name
