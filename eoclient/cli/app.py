"""The root command, the options every command shares, and how a command's coroutine is run."""

from __future__ import annotations

import sys
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import anyio
import click

from eoclient import PollPolicy, SentinelHub, SpaceKnow, __version__
from eoclient.cli.failures import EXIT_CODES
from eoclient.cli.output import Output

__all__ = ["State", "common", "root", "run", "sentinelhub", "spaceknow"]

F = TypeVar("F", bound=Callable[..., Any])
T = TypeVar("T")

_EPILOG = "\b\nExit codes:\n" + "\n".join(f"  {code:<4} {meaning}" for code, meaning in EXIT_CODES.items())
_HELP = """Sentinel Hub and SpaceKnow from a shell.

Credentials come from --profile/--config, the SH_* / SK_* environment
variables or the config file (see `eoclient config show`). Output is a table on
a terminal and JSON lines when piped or with --json; errors are one line
`eoclient: <message>` on stderr (--debug adds the traceback).
"""


class State:
    """What the shared options set, kept in the root context's ``meta``."""

    KEY = "eoclient.cli"

    def __init__(self) -> None:
        self.json = False
        self.debug = False
        self.profile: str | None = None
        self.config: str | None = None
        self.poll: float | None = None

    @classmethod
    def get(cls) -> State:
        """The state of the command being run."""
        meta = click.get_current_context().meta
        state = meta.get(cls.KEY)
        if state is None:
            state = meta[cls.KEY] = cls()
        return state

    @property
    def out(self) -> Output:
        """JSON lines with ``--json`` or when stdout is not a terminal."""
        return Output(json_lines=self.json or not sys.stdout.isatty(), stream=sys.stdout)


def _setter(name: str) -> Callable[[click.Context, click.Parameter, Any], None]:
    def store(ctx: click.Context, param: click.Parameter, value: Any) -> None:
        del ctx, param
        if value not in (None, False):  # given at any level, the option holds
            setattr(State.get(), name, value)

    return store


def _poll_setter(ctx: click.Context, param: click.Parameter, value: float | None) -> None:
    if value is not None:
        if not value > 0:
            raise click.BadParameter(f"must be positive, got {value}", ctx=ctx, param=param)
        State.get().poll = value


def _poll_policy() -> PollPolicy | None:
    seconds = State.get().poll
    return None if seconds is None else PollPolicy(initial=seconds, multiplier=1.0, max_delay=seconds)


def common(func: F) -> F:
    """The options every command takes (also accepted before the command name)."""
    options = [
        click.option(
            "--json",
            "json_",
            is_flag=True,
            expose_value=False,
            callback=_setter("json"),
            help="JSON lines on stdout, also on a terminal.",
        ),
        click.option(
            "--debug",
            is_flag=True,
            expose_value=False,
            callback=_setter("debug"),
            help="Show the traceback of an error.",
        ),
        click.option(
            "--profile",
            metavar="NAME",
            expose_value=False,
            callback=_setter("profile"),
            help="Config file profile (else $EOCLIENT_PROFILE, else default).",
        ),
        click.option(
            "--config",
            "config",
            metavar="FILE",
            expose_value=False,
            callback=_setter("config"),
            help="Config file (else $EOCLIENT_CONFIG, else ~/.config/eoclient/config.toml).",
        ),
    ]
    options.append(
        click.option(
            "--poll-interval",
            "poll",
            type=float,
            metavar="SECONDS",
            expose_value=False,
            callback=_poll_setter,
            help="Ask for a job's status this often (default: backing off 1-30 s).",
        )
    )
    for option in reversed(options):
        func = option(func)
    return func


@click.group(help=_HELP, epilog=_EPILOG, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="eoclient", message="%(prog)s %(version)s")
@common
def root() -> None:
    """The ``eoclient`` command."""


def sentinelhub() -> SentinelHub:
    """A Sentinel Hub client with the profile and config file given (else env vars and the default file)."""
    state = State.get()
    return SentinelHub(profile=state.profile, config_file=state.config, poll=_poll_policy())


def spaceknow() -> SpaceKnow:
    """A SpaceKnow client with the profile and config file given (else env vars and the default file)."""
    state = State.get()
    return SpaceKnow(profile=state.profile, config_file=state.config, poll=_poll_policy())


def run(func: Callable[[], Awaitable[T]]) -> T:
    """Run a command's coroutine in a fresh event loop."""

    async def main() -> T:
        return await func()

    return anyio.run(main)
