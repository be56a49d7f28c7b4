"""``mlws server``: the workspace served alone for a team."""

from __future__ import annotations

import click

from .main import handles_errors, local_only


@click.command("server", context_settings={"ignore_unknown_options": True})
@click.option("--port", type=int, default=8890, show_default=True, help="Port to listen on.")
@click.option("--ip", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--enforce-roles/--no-enforce-roles", default=False, show_default=True,
              help="Let workspace roles decide per signed-in user (a team server, JupyterHub).")
@click.argument("server_args", nargs=-1, type=click.UNPROCESSED)
@click.pass_context
@handles_errors
@local_only
def server(ctx, port, ip, enforce_roles, server_args) -> None:
    """Serve the workspace alone for a team: its page at /mlws/ and its REST API (a Jupyter
    server with only this extension: no files, kernels or terminals).

    Give the server's token in the environment (JUPYTER_TOKEN=SECRET), never on the command
    line, which ps shows (or in a file named by JUPYTER_TOKEN_FILE: the whitespace around it
    is dropped); with --enforce-roles it signs in as this OS user (the owner), and
    teammates sign in with their own tokens ('mlws access token create USER').  Extra
    arguments go to Jupyter.  Run as root, it passes --allow-root to Jupyter (as quickstart
    does) and says so.
    """
    from ..config import find_root
    from ..server.extension import MlwsApp
    from ..startup import allow_root_args, server_token

    root = find_root(ctx.obj["workspace"])
    server_token()  # a token file's last line break is no part of the token
    as_root = [a for a in allow_root_args() if a not in server_args]
    if as_root:
        click.echo("mlws server: running as root, so Jupyter is started with --allow-root", err=True)
    MlwsApp.launch_instance(argv=[f"--port={port}", f"--ip={ip}", "--no-browser",
                                  f"--MlwsApp.workspace={root}",
                                  f"--MlwsApp.enforce_roles={enforce_roles}", *as_root, *server_args])
