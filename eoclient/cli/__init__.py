"""The ``eoclient`` command line: thin, on top of the public API.

``main([...])`` runs it in-process and returns the exit code (see
:data:`EXIT_CODES`). The command line's libraries (click, rich; the ``cli``
extra) are imported only here, never by ``import eoclient``.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

from eoclient.cli.failures import EXIT_CODES, report_failure

__all__ = ["EXIT_CODES", "main"]


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line with ``argv`` (default ``sys.argv[1:]``); return the exit code."""
    args = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in args
    try:
        from eoclient.cli.entry import run_app  # noqa: PLC0415 - click and rich load only for the CLI

        return run_app(args)
    except BaseException as exc:
        return report_failure(exc, debug=debug)
