"""docs/architecture.md kept true by the code: layers, the emulator's independence, no import circles."""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "eoclient"
DOC = ROOT / "docs" / "architecture.md"
EMULATOR = "eoclient/emulator/"


def _layers() -> list[tuple[str, list[str]]]:
    block = re.search(r"```layers\n(.*?)```", DOC.read_text(encoding="utf-8"), re.S)
    assert block, "docs/architecture.md has no ```layers block"
    layers = []
    for line in block.group(1).splitlines():
        name, *paths = line.split()
        layers.append((name, paths))
    return layers


LAYERS = _layers()


def _files() -> list[str]:
    return sorted(str(p.relative_to(ROOT)) for p in PACKAGE.rglob("*.py"))


def _layer_of(path: str) -> int | None:
    """The index (0 = top) of the most specific layer entry naming ``path``.

    The emulator is apart from the layers (it plays the services); only its
    client-side test support is named in them.
    """
    best: tuple[int, int] | None = None
    for index, (_, paths) in enumerate(LAYERS):
        for entry in paths:
            if path.startswith(EMULATOR) and not entry.startswith(EMULATOR):
                continue
            named = path == entry or (entry.endswith("/") and path.startswith(entry))
            if named and (best is None or len(entry) > best[0]):
                best = (len(entry), index)
    return None if best is None else best[1]


def _module_file(module: str) -> str | None:
    base = ROOT / Path(*module.split("."))
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.is_file():
            return str(candidate.relative_to(ROOT))
    return None


def _package_of(path: str) -> str:
    # eoclient/a/b.py and eoclient/a/__init__.py both sit in package eoclient.a
    return ".".join(Path(path).parts[:-1])


def _imports(path: str) -> Iterator[tuple[int, str]]:
    """(line, file) of every eoclient module ``path`` imports, wherever the import statement is."""
    tree = ast.parse((ROOT / path).read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] == "eoclient" and (target := _module_file(alias.name)):
                    yield node.lineno, target
        elif isinstance(node, ast.ImportFrom):
            module = node.module or ""
            if node.level:  # relative: resolve against this file's package
                package = _package_of(path).split(".")
                module = ".".join(package[: len(package) - node.level + 1] + ([module] if module else []))
            if module.split(".")[0] != "eoclient":
                continue
            for alias in node.names:
                target = _module_file(f"{module}.{alias.name}") or _module_file(module)
                if target:
                    yield node.lineno, target


def _graph() -> dict[str, set[str]]:
    return {path: {target for _, target in _imports(path) if target != path} for path in _files()}


def test_every_layer_entry_exists() -> None:
    for name, paths in LAYERS:
        for entry in paths:
            assert (ROOT / entry).exists(), f"layer {name}: {entry} is gone (update docs/architecture.md)"


def test_every_client_module_has_a_layer() -> None:
    unplaced = [p for p in _files() if not p.startswith(EMULATOR) and _layer_of(p) is None]
    assert not unplaced, f"modules in no layer of docs/architecture.md: {unplaced}"


def test_imports_go_down_only() -> None:
    upward = []
    for path in _files():
        source = _layer_of(path)
        if source is None:
            continue
        for line, target in _imports(path):
            layer = _layer_of(target)
            if layer is not None and layer < source:
                upward.append(f"{path}:{line} imports {target} ({LAYERS[source][0]} -> {LAYERS[layer][0]})")
    assert not upward, "\n".join(upward)


def test_emulator_imports_nothing_from_the_client() -> None:
    """The emulator plays the services; only its test support (a layer above) may use the client."""
    leaks = []
    for path in _files():
        if not path.startswith(EMULATOR) or _layer_of(path) is not None:
            continue
        for line, target in _imports(path):
            if not target.startswith(EMULATOR) and target != "eoclient/cql2.py":
                leaks.append(f"{path}:{line} imports {target}")
    assert not leaks, "\n".join(leaks)


def test_emulator_core_knows_no_service() -> None:
    core = f"{EMULATOR}core/"
    leaks = [
        f"{path}:{line} imports {target}"
        for path in _files()
        if path.startswith(core)
        for line, target in _imports(path)
        if target.startswith((f"{EMULATOR}sentinelhub/", f"{EMULATOR}spaceknow/"))
    ]
    assert not leaks, "\n".join(leaks)


def test_no_import_circles() -> None:
    graph = _graph()
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    circles: list[list[str]] = []
    counter = 0

    def visit(node: str) -> None:  # Tarjan's strongly connected components
        nonlocal counter
        index[node] = low[node] = counter
        counter += 1
        stack.append(node)
        on_stack.add(node)
        for target in graph.get(node, ()):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                circles.append(sorted(component))

    for node in graph:
        if node not in index:
            visit(node)
    assert not circles, circles


@pytest.mark.parametrize("path", ["eoclient/_http/transport.py", "eoclient/sentinelhub/catalog.py"])
def test_the_checker_sees_imports(path: str) -> None:
    """The checks above are only as good as the import reader: it must find known imports."""
    assert "eoclient/errors.py" in {target for _, target in _imports(path)}
