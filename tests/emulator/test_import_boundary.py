"""The emulator's server side imports nothing of the client: only its client-side modules may."""

from __future__ import annotations

import ast
from pathlib import Path

import eoclient.emulator

EMULATOR = Path(eoclient.emulator.__file__).parent
CLIENT_SIDE = frozenset({"pytest_plugin.py", "clients.py", "sample_client.py"})
# Pure helpers the server side borrowed before this rule was written down (the catalog's
# CQL2 parser; imagery's geometry bounds and the ValidationError they raise). To be cut:
# this list only shrinks.
TOLERATED = frozenset({"eoclient.cql2", "eoclient.geo", "eoclient.errors"})


def imported_modules(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if node.module != "eoclient":  # `from eoclient import x` is named by its x below
                names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def test_server_modules_import_no_client_code() -> None:
    server_side = [p for p in EMULATOR.rglob("*.py") if p.relative_to(EMULATOR).as_posix() not in CLIENT_SIDE]
    assert any(p.parent.name == "core" for p in server_side)
    offending = {
        p.relative_to(EMULATOR).as_posix(): sorted(
            name
            for name in imported_modules(p)
            if name.startswith("eoclient.")
            and not name.startswith("eoclient.emulator")
            and not any(name == t or name.startswith(f"{t}.") for t in TOLERATED)
        )
        for p in server_side
    }
    assert {path: names for path, names in offending.items() if names} == {}


def test_client_side_modules_exist() -> None:
    assert all((EMULATOR / name).is_file() for name in CLIENT_SIDE)
