"""What the commands print: JSON lines when piped or with ``--json``, rich tables and progress on a terminal.

Everything printed passes through :func:`eoclient._redact.scrub_data`: a
credential the process knows never reaches the screen or a pipe.
"""

from __future__ import annotations

import json
import sys
from collections.abc import AsyncIterator, Iterator, Sequence
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any, TextIO

from eoclient._models import to_wire
from eoclient._redact import scrub_data
from eoclient.jobs import Job, JobStatus

__all__ = ["Column", "Output", "plain"]


def plain(value: Any) -> Any:
    """``value`` as JSON-able builtins: models in the service's own field names, paths and dates as text."""
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    if isinstance(value, str | int | float | bool) or value is None:
        return value
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    return plain(to_wire(value))


@dataclass(frozen=True)
class Column:
    """A table column: its heading and the key of the row it shows."""

    heading: str
    key: str


@dataclass
class Output:
    """Where a command writes: ``json_lines`` or a human terminal (rich), on ``stream``."""

    json_lines: bool
    stream: TextIO = field(default_factory=lambda: sys.stdout)

    def _console(self) -> Any:
        from rich.console import Console  # noqa: PLC0415 - rich loads only for a terminal

        return Console(file=self.stream, highlight=False, soft_wrap=True)

    def line(self, record: Any) -> None:
        """One JSON line (also used on a terminal for machine-shaped answers such as GeoJSON)."""
        self.stream.write(json.dumps(scrub_data(plain(record)), default=str) + "\n")
        self.stream.flush()

    def record(self, record: Any, *, title: str | None = None) -> None:
        """One result: a JSON line, or ``key: value`` lines on a terminal."""
        if self.json_lines:
            self.line(plain(record))
            return
        from rich.table import Table  # noqa: PLC0415

        table = Table(title=title, show_header=False, box=None)
        table.add_column(style="bold")
        table.add_column()
        for key, value in scrub_data(plain(record)).items():
            table.add_row(key, _cell(value))
        self._console().print(table)

    def message(self, text: str) -> None:
        """A note for a person (not printed in JSON mode, where every line is data)."""
        if not self.json_lines:
            self._console().print(text)

    @contextmanager
    def rows(self, columns: Sequence[Column], *, title: str | None = None) -> Iterator[Any]:
        """A listing: yields ``add(row)``; JSON lines at once, or one table at the end on a terminal."""
        if self.json_lines:
            yield self.line
            return
        from rich.table import Table  # noqa: PLC0415

        table = Table(title=title)
        for col in columns:
            table.add_column(col.heading)

        def add(row: dict[str, Any]) -> None:
            row = scrub_data(plain(row))
            table.add_row(*(_cell(row.get(col.key)) for col in columns))

        yield add
        self._console().print(table)

    @asynccontextmanager
    async def job_progress(self, label: str) -> AsyncIterator[Any]:
        """Yields ``update(job_id, status)``: a JSON line per status, or a live progress bar."""
        if self.json_lines:

            def emit(job_id: str, status: JobStatus) -> None:
                self.line({"event": "status", "job": job_id, **_status_record(status)})

            yield emit
            return
        from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn  # noqa: PLC0415

        columns = (
            TextColumn("{task.description}"),
            BarColumn(),
            TextColumn("{task.percentage:>3.0f}%"),
            TimeElapsedColumn(),
        )
        with Progress(*columns, console=self._console()) as progress:
            task = progress.add_task(label, total=1.0)

            def show(job_id: str, status: JobStatus) -> None:
                done = 1.0 if status.state.value == "SUCCEEDED" else status.progress
                progress.update(task, description=f"{label} {job_id} {status.raw}", completed=done)

            yield show

    @asynccontextmanager
    async def counter(self, label: str, total: int | None = None) -> AsyncIterator[Any]:
        """Yields ``advance(record)`` for work items: a JSON line each, or a progress bar."""
        if self.json_lines:
            yield self.line
            return
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn  # noqa: PLC0415

        with Progress(
            TextColumn(label), BarColumn(), MofNCompleteColumn(), console=self._console()
        ) as progress:
            task = progress.add_task(label, total=total)

            def advance(record: dict[str, Any]) -> None:
                del record
                progress.advance(task)

            yield advance


def _status_record(status: JobStatus) -> dict[str, Any]:
    record: dict[str, Any] = {"state": status.state.value, "status": status.raw}
    for name in ("progress", "message", "error"):
        value = getattr(status, name)
        if value is not None:
            record[name] = value
    return record


async def follow(job: Job[Any], out: Output, label: str) -> Any:
    """Show each status of ``job`` until it ends; then its result (raises as ``await job`` does)."""
    async with out.job_progress(label) as update:
        async for status in job.watch():
            update(job.id, status)
    return await job


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, dict | list):
        return json.dumps(value, default=str)
    return str(value)
