"""Parsing the arguments and running the command: every command module registers itself on ``root``."""

from __future__ import annotations

from collections.abc import Sequence

import click

from eoclient.cli import cmd_batch, cmd_config, cmd_demo, cmd_emulator, cmd_sentinelhub, cmd_spaceknow
from eoclient.cli.app import root
from eoclient.cli.failures import EXIT_OK, EXIT_USAGE, CliError

__all__ = ["run_app"]

# Imported for their commands (each adds itself to ``root``).
COMMAND_MODULES = (cmd_batch, cmd_config, cmd_demo, cmd_emulator, cmd_sentinelhub, cmd_spaceknow)


def run_app(args: Sequence[str]) -> int:
    """Parse ``args`` and run the command; click's own failures become :class:`CliError`."""
    try:
        rv = root.main(args=list(args), prog_name="eoclient", standalone_mode=False)
    except click.exceptions.Abort:
        raise KeyboardInterrupt from None
    except click.exceptions.Exit as exc:
        return exc.exit_code
    except click.UsageError as exc:
        raise CliError(exc.format_message(), EXIT_USAGE) from None
    except click.ClickException as exc:
        raise CliError(exc.format_message(), EXIT_USAGE) from None
    if isinstance(rv, int):  # --help and --version return their code
        return rv
    return EXIT_OK
