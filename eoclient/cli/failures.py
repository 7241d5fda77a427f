"""How the command line ends: exit codes, and every error as one line ``eoclient: <message>``.

No click or rich here: this module also reports that they are missing.
"""

from __future__ import annotations

import sys
import traceback
from typing import Final

from eoclient._redact import scrub
from eoclient.errors import (
    ConfigurationError,
    EOClientError,
    UnsupportedOperationError,
    ValidationError,
)

__all__ = [
    "EXIT_CODES",
    "EXIT_FAILED",
    "EXIT_INTERRUPTED",
    "EXIT_OK",
    "EXIT_USAGE",
    "CliError",
    "report_failure",
]

EXIT_OK: Final = 0
EXIT_FAILED: Final = 1
EXIT_USAGE: Final = 2
EXIT_INTERRUPTED: Final = 130

EXIT_CODES: Final = {
    EXIT_OK: "success",
    EXIT_FAILED: "the service refused or failed, a job failed or was stopped, some downloads failed",
    EXIT_USAGE: "bad arguments, input files or configuration (nothing was sent)",
    EXIT_INTERRUPTED: "interrupted (Ctrl-C)",
}
INSTALL_CLI: Final = "pip install 'eoclient[cli]'"


class CliError(Exception):
    """A failure the command line explains itself: ``message`` and the exit code to end with."""

    def __init__(self, message: str, code: int = EXIT_USAGE) -> None:
        super().__init__(message)
        self.code = code


def _one_line(text: str) -> str:
    return " ".join(scrub(text).split())


def _classify(exc: BaseException) -> tuple[int, str]:
    """The exit code and the message for ``exc``."""
    import_error = exc if isinstance(exc, ImportError) else None
    if import_error is not None and import_error.name in {"click", "rich"}:
        return EXIT_USAGE, f"the command line needs {import_error.name}: {INSTALL_CLI}"
    if isinstance(exc, CliError):
        return exc.code, str(exc)
    if isinstance(exc, ValidationError | ConfigurationError | UnsupportedOperationError):
        return EXIT_USAGE, str(exc)
    if isinstance(exc, EOClientError):
        return EXIT_FAILED, str(exc)
    if isinstance(exc, KeyboardInterrupt):
        return EXIT_INTERRUPTED, "interrupted"
    if isinstance(exc, BaseExceptionGroup) and len(exc.exceptions) == 1:
        return _classify(exc.exceptions[0])
    if isinstance(exc, OSError):
        where = f" {exc.filename!s}" if exc.filename else ""
        return EXIT_FAILED, f"{exc.strerror or exc}:{where}" if where else str(exc)
    return EXIT_FAILED, f"unexpected {type(exc).__name__}: {exc} (run with --debug for the traceback)"


def report_failure(exc: BaseException, *, debug: bool = False) -> int:
    """Write ``exc`` as one line to stderr (a traceback too with ``debug``); return the exit code."""
    if isinstance(exc, SystemExit):  # click's own exits (--help, --version) carry their code
        return exc.code if isinstance(exc.code, int) else EXIT_USAGE
    code, message = _classify(exc)
    if debug:
        traceback.print_exception(exc, file=sys.stderr)
    print(f"eoclient: {_one_line(message)}", file=sys.stderr)
    return code
