"""The README's SpaceKnow path table names every path constant the client calls, with its value."""

from __future__ import annotations

import importlib
import re
from pathlib import Path

README = Path(__file__).resolve().parents[1] / "README.md"
MODULES = {
    "config": "eoclient.config",
    "credits": "eoclient.spaceknow.credits",
    "datacube": "eoclient.spaceknow.datacube",
    "imagery": "eoclient.spaceknow.imagery",
    "kraken": "eoclient.spaceknow.kraken",
    "kraken_grid": "eoclient.spaceknow.kraken_grid",
    "pipelines": "eoclient.spaceknow.pipelines",
    "users": "eoclient.spaceknow.users",
}


def table_rows() -> list[tuple[str, str, str]]:
    text = README.read_text(encoding="utf-8")
    section = text.split("### SpaceKnow paths", 1)[1].split("\n#", 1)[0]
    rows = []
    for line in section.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 4 and re.fullmatch(r"[A-Z_]+", cells[0]):
            rows.append((cells[0], cells[1], cells[2]))
    return rows


def test_every_row_is_the_constant_it_names() -> None:
    rows = table_rows()
    assert len(rows) >= 30
    for name, path, module in rows:
        value = getattr(importlib.import_module(MODULES[module]), name)
        assert path.split(" (")[0] == value, f"README says {name} = {path}, the code says {value}"


def test_every_path_constant_is_in_the_table() -> None:
    listed = {name for name, _, _ in table_rows()}
    for module in MODULES.values():
        mod = importlib.import_module(module)
        for name, value in vars(mod).items():
            if (
                name.isupper()
                and isinstance(value, str)
                and value.startswith("/")
                and not name.startswith("_")
            ):
                assert name in listed, f"{module}.{name} = {value!r} is missing from the README table"
