"""The demo for a person at a terminal: live progress with rich, then a summary table.

The tour in :mod:`eoclient.demo` reports through two calls, ``event(name,
**fields)`` (the same events it prints as JSON lines otherwise) and
``tick(step, done, total)`` (counts for the progress bars). This view keeps the
jobs' latest states in a table under the progress bars while the demo runs,
prints one line per notable step above them, and ends with the totals and
where the files and ``report.html`` are.

rich comes with the ``cli`` extra; :mod:`eoclient.demo` imports this module
only when asked for human output.
"""

from __future__ import annotations

from pathlib import Path
from types import TracebackType
from typing import Any, Final, TextIO

from rich.console import Console, Group, RenderableType
from rich.live import Live
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn, TimeElapsedColumn
from rich.table import Table

__all__ = ["LiveView"]

_STEPS: Final = {
    "render": "Rendering Catalog scenes",
    "batch outputs": "Downloading Batch outputs",
    "kraken map": "Downloading the Kraken map",
    "features": "Reading Batch Statistical features",
}
_DONE_STYLE: Final = {"DONE": "green", "FINISHED": "green", "RESOLVED": "green", "FAILED": "red"}


def _line(name: str, fields: dict[str, Any]) -> str | None:
    """One line for the events a person wants to read; None for the rest (the table shows them)."""
    if name == "emulator.started":
        return "Started the emulator on 127.0.0.1 (no credentials, no network)"
    if name == "login":
        return f"Logged in to {' and '.join(fields['services'])}"
    if name == "catalog.search":
        return f"Catalog search: {fields['found']} Sentinel-2 scenes"
    if name == "imagery.search":
        return f"SpaceKnow imagery search: {fields['scenes']} scenes"
    if name == "kraken.dry_run":
        return f"Kraken dry run: {fields['km2']} km², {fields['allocated']} credits allocated"
    if name == "job.cancel":
        return f"Cancelled {fields['job']} (service stopped it: {fields['service_stopped']})"
    if name == "job.result":
        extra = f" — {fields['failed']}" if "failed" in fields else ""
        return f"Job {fields['job']}: [bold]{fields['status']}[/bold]{extra}"
    if name == "process.to_file":
        return f"Rendered {fields['files']} images ({fields['bytes']:,} bytes)"
    if name == "statistics":
        return f"Statistical API: {fields['intervals']} intervals ({fields['status']})"
    if name == "area.mosaic":
        return f"Area mosaic: {fields['tiles']} tiles → one {fields['crs']} GeoTIFF {fields['dims']}"
    if name == "kraken.download_map":
        return f"Kraken map: {fields['files']} files ({fields['bytes']:,} bytes)"
    if name == "job.features":
        return f"Batch Statistical: {fields['features']} features, mean NDVI {fields['mean_ndvi']}"
    if name in ("outputs.skipped", "arrays.skipped"):
        return f"[yellow]Skipped:[/yellow] {fields['reason']}"
    return None


class LiveView:
    """Live progress of the demo on ``out``; a context manager around the run."""

    def __init__(self, out: TextIO) -> None:
        self.console = Console(file=out, highlight=False)
        self.progress = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=self.console,
        )
        self._tasks: dict[str, TaskID] = {}
        self._jobs: dict[str, dict[str, Any]] = {}
        self._live = Live(
            self, console=self.console, refresh_per_second=8, redirect_stdout=False, redirect_stderr=False
        )

    def __enter__(self) -> LiveView:
        self._live.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._live.stop()

    def __rich__(self) -> RenderableType:
        """What the live display shows: the progress bars over the jobs' table."""
        return Group(self.progress, self._jobs_table())

    def _jobs_table(self) -> Table:
        table = Table(title="Jobs", title_justify="left", expand=False)
        for column in ("job", "kind", "state", "progress"):
            table.add_column(column)
        for name, job in self._jobs.items():
            state = str(job.get("status", "submitted"))
            style = _DONE_STYLE.get(state, "")
            progress = job.get("progress")
            table.add_row(
                name,
                str(job.get("kind", "")),
                f"[{style}]{state}[/{style}]" if style else state,
                "" if progress is None else f"{progress:.0%}",
            )
        return table

    def event(self, name: str, **fields: Any) -> None:
        """One step of the tour (the same events as the JSON lines)."""
        job = str(fields.get("job"))
        if name == "job.submitted":
            self._jobs[job] = {"kind": fields["kind"]}
        elif name == "job.status" and job in self._jobs:
            self._jobs[job].update(status=fields["status"], progress=fields.get("progress"))
        elif name == "job.result" and job in self._jobs:
            self._jobs[job]["status"] = fields["status"]
        line = _line(name, fields)
        if line is not None:
            self.console.print(line)

    def tick(self, step: str, done: int, total: int | None = None) -> None:
        """``done`` of ``total`` (None: not known yet) items of ``step`` are through."""
        if step not in self._tasks:
            self._tasks[step] = self.progress.add_task(_STEPS.get(step, step), total=total)
        self.progress.update(self._tasks[step], completed=done, total=total)

    def finish(self, facts: dict[str, str], out_dir: Path, report: Path) -> None:
        """The summary table and where the files are (after the live display stopped)."""
        self.console.print()  # the live display may leave its cursor at the end of its last line
        table = Table(title="Summary", title_justify="left", show_header=False)
        table.add_column(style="bold")
        table.add_column()
        for key, value in facts.items():
            table.add_row(key, value)
        self.console.print(table)
        # Paths unwrapped, so they can be copied from the terminal.
        self.console.print(f"Files: {out_dir}", soft_wrap=True)
        self.console.print(f"Report: [bold]{report}[/bold] (open it in a browser)", soft_wrap=True)
