"""``mlws scheduler``: the workspace's scheduler host as a process of its own."""

from __future__ import annotations

import click

from .main import _ws, handles_errors, local_only


@click.command("scheduler")
@click.option("--once", is_flag=True,
              help="One pass (due ticks and every periodic check), wait until the runs it claimed are "
                   "handed to their executors, exit; the next pass settles them (retries, webhooks).")
@click.option("--interval", type=float, default=30.0, show_default=True,
              help="The longest time between two looks at the schedules, seconds.")
@click.pass_context
@handles_errors
@local_only
def scheduler(ctx, once, interval) -> None:
    """Run the workspace's scheduler in the foreground: schedules (notebooks and pipelines run on
    a cron), VM start/stop schedules and idle shutdown, until SIGTERM or Ctrl-C.  Any number of schedulers (and
    Jupyter servers with the extension) may watch one workspace: each tick is acted on once."""
    import logging
    import signal

    from ..scheduler import Scheduler

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    ws = _ws(ctx)
    host = Scheduler(ws, interval=interval)
    if once:
        claimed = host.once()
        ws.vms.join()
        click.echo(f"mlws scheduler: one pass, {claimed} tick(s) claimed")
        return
    host.start()  # (before the handlers: start() clears a stop asked for before it)
    previous = {sig: signal.signal(sig, lambda *_: host.request_stop())
                for sig in (signal.SIGTERM, signal.SIGINT)}
    click.echo(f"mlws scheduler: watching {ws.root.name} (SIGTERM or Ctrl-C stops it)", err=True)
    try:
        host.wait()
    finally:
        host.stop()
        ws.vms.join(timeout=60)
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    click.echo("mlws scheduler: stopped", err=True)
