"""``emulator serve``: the embedded emulator in the foreground, and how to point the client at it."""

from __future__ import annotations

import shlex
import sys
from typing import Any

import anyio
import click

from eoclient.cli.app import State, common, root
from eoclient.cli.failures import CliError

__all__ = ["emulator_group", "environment"]


def environment(emu: Any) -> dict[str, str]:
    """The variables the client reads (``eoclient.config``, ``eoclient.storage``) to reach ``emu``.

    The values are the emulator's published test credentials, not secrets.
    """
    info = emu.info()
    creds = info["credentials"]
    return {
        "SH_CLIENT_ID": creds["sh_client_id"],
        "SH_CLIENT_SECRET": creds["sh_client_secret"],
        "SH_BASE_URL": info["sentinelhub_url"],
        "SH_TOKEN_URL": info["sentinelhub_token_url"],
        "SK_USERNAME": creds["sk_username"],
        "SK_PASSWORD": creds["sk_password"],
        "SK_CLIENT_ID": creds["sk_client_id"],
        "SK_BASE_URL": info["spaceknow_url"],
        "SK_AUTH_URL": info["spaceknow_auth_url"],
        # Where jobs deliver: the emulator's own S3 API, read with its keys.
        "AWS_ENDPOINT_URL": info["s3_delivery_endpoint"],
        "AWS_ACCESS_KEY_ID": creds["s3_access_key"],
        "AWS_SECRET_ACCESS_KEY": creds["s3_secret_key"],
        "AWS_REGION": creds["s3_region"],
    }


@root.group("emulator")
def emulator_group() -> None:
    """The embedded Sentinel Hub and SpaceKnow emulator (no credentials, no network)."""


def _port(ctx: click.Context, param: click.Parameter, value: int) -> int:
    del ctx
    if not 0 <= value <= 65535:
        raise click.BadParameter(f"must be 0..65535, got {value}", param=param)
    return value


@emulator_group.command("serve")
@click.option("--seed", type=int, default=1, show_default=True, help="Seed of the emulator's data.")
@click.option(
    "--clock-speed",
    type=float,
    default=1.0,
    show_default=True,
    help="Emulated seconds per real second (jobs finish sooner when higher).",
)
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--sentinelhub-port", type=int, default=0, callback=_port, help="0: any free port.")
@click.option("--spaceknow-port", type=int, default=0, callback=_port, help="0: any free port.")
@click.option("--s3-port", type=int, default=0, callback=_port, help="0: any free port.")
@click.option("--env", "as_env", is_flag=True, help="Print `export X=...` lines for a shell to eval.")
@common
def serve(
    *,
    seed: int,
    clock_speed: float,
    host: str,
    sentinelhub_port: int,
    spaceknow_port: int,
    s3_port: int,
    as_env: bool,
) -> None:
    """Run the emulator until Ctrl-C (exit 0) and print the environment that points the client at it.

    \b
    In another shell:  eval "$(eoclient emulator serve --env)" does not return;
    rather run it in the background and read its first lines, e.g.
      eoclient emulator serve --env > emu.env &  sleep 1; . ./emu.env
    """
    if not clock_speed > 0:
        raise CliError(f"--clock-speed: must be positive, got {clock_speed}")
    from eoclient.emulator import Emulator  # noqa: PLC0415 - the server loads only when asked

    out = State.get().out

    async def go() -> None:
        emu = Emulator(
            seed=seed,
            clock_speed=clock_speed,
            host=host,
            sentinelhub_port=sentinelhub_port,
            spaceknow_port=spaceknow_port,
            s3_port=s3_port,
        )
        async with emu:
            env = environment(emu)
            if as_env:
                for name, value in env.items():
                    out.stream.write(f"export {name}={shlex.quote(value)}\n")
                out.stream.flush()
            elif out.json_lines:
                out.line({"event": "serving", "env": env})
            else:
                out.record(env, title="Point the client at the emulator with these variables")
                out.message("Serving; Ctrl-C stops. `eoclient emulator serve --env` prints them for eval.")
            print("eoclient: emulator serving; Ctrl-C stops it", file=sys.stderr, flush=True)
            await anyio.sleep_forever()

    try:
        anyio.run(go)
    except KeyboardInterrupt:
        print("eoclient: emulator stopped", file=sys.stderr)
