"""``mlws endpoint ...``: serve registered models over HTTP."""

from __future__ import annotations

import click

from .. import errors as E
from .main import _fields, _fmt, _json, _pairs, _table, _time, _ws, handles_errors


@click.group()
def endpoint() -> None:
    """Serve registered models over HTTP: create, deploy, split traffic, call and watch."""


_SETTING_OPTIONS = [
    click.option("--request-timeout", type=float, help="Seconds a run() call may take (default 30)."),
    click.option("--max-body", "max_body_bytes", type=int,
                 help="Largest request body in bytes (default 10 MB)."),
    click.option("--max-inflight", type=int, help="Requests per worker before 503 (default 64)."),
    click.option("--threads", type=int,
                 help="0 (default): run() on each worker's event loop, fastest; N: a pool of N "
                      "threads per worker, for a run() that waits on I/O."),
    click.option("--monitoring/--no-monitoring", default=None,
                 help="Record request statistics (default on)."),
    click.option("--sample-rate", type=float,
                 help="Fraction of requests whose payloads are stored (default 0)."),
    click.option("--header-timeout", type=float,
                 help="Seconds a connection may take to send a request head before it is "
                      "closed (default 30)."),
    click.option("--body-timeout", type=float,
                 help="Seconds a request's body may take after its head before the connection "
                      "is closed (default 60)."),
    click.option("--max-connections", type=int,
                 help="Open connections per worker; one more gets 503 (default 500)."),
]


def _settings_options(fn):
    for option in reversed(_SETTING_OPTIONS):
        fn = option(fn)
    return fn


def _endpoint_lines(info: dict) -> None:
    _fields([("endpoint", info["name"]), ("state", info["state"]), ("url", info["scoring_uri"] or "-"),
             ("workers", info["workers"]), ("restarts", info["restarts"]),
             ("created", _time(info["created_at"])), *([("error", info["error"])] if info["error"] else [])])
    click.echo("deployments:")
    _table(["NAME", "TRAFFIC", "STATE", "MODELS", "SCRIPT"],
           [[d["name"], f"{d['traffic']}%", d["state"], ", ".join(d["models"]), d["entry_script"]]
            for d in info["deployments"]])
    for d in info["deployments"]:
        if d["error"]:
            click.echo(f"{d['name']} error: {d['error']}")
    if info.get("worker_status"):
        click.echo("worker processes:")
        _table(["SLOT", "PID", "GENERATION", "STATE", "REQUESTS", "CONNECTIONS"],
               [[w["slot"], w["pid"], w["generation"], w["state"], w["requests"], w["connections"]]
                for w in info["worker_status"]])


def _since(text: str) -> float:
    units = {"s": 1, "m": 60, "h": 3600, "d": 86400}
    try:
        if text[-1:] in units:
            return float(text[:-1]) * units[text[-1]]
        return float(text)
    except ValueError:
        raise E.InvalidInput(f"--since {text!r} is not a duration: e.g. 90s, 15m, 1h, 2d") from None


@endpoint.command("create")
@click.argument("name")
@click.option("--model", "models", multiple=True, required=True,
              help="NAME:VERSION, NAME@ALIAS or NAME; repeatable (the first is MLWS_MODEL_DIR).")
@click.option("--entry-script", required=True, type=click.Path(dir_okay=False),
              help="The scoring script: init() and run(data).")
@click.option("--deployment", default="blue", show_default=True,
              help="The first deployment's name; it takes all traffic. Blue/green: deploy the next "
                   "version as another deployment ('green'), then split traffic between the two.")
@click.option("--workers", default=1, show_default=True, type=int, help="Worker processes.")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", type=int, help="Port (default: a free one).")
@click.option("--timeout", "wait_timeout", default=120.0, show_default=True,
              help="Seconds to wait until healthy.")
@_settings_options
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_context
@handles_errors
def endpoint_create(ctx, name, models, entry_script, deployment, workers, host, port, wait_timeout,
                    as_json, **settings) -> None:
    """Create endpoint NAME and wait until it is healthy; print its URL.

    Its first deployment is named 'blue' (or --deployment) and takes all traffic; for
    blue/green, 'mlws endpoint deploy NAME --deployment green ...' adds a second one.
    """
    info = _ws(ctx).endpoints.create(name, list(models), entry_script, deployment=deployment,
                                     workers=workers, host=host, port=port, timeout=wait_timeout,
                                     **{k: v for k, v in settings.items() if v is not None})
    if as_json:
        return _json(info)
    first = info["deployments"][0]["name"]
    other = "green" if first != "green" else "blue"
    click.echo(f"endpoint {name} is healthy: {info['scoring_uri']}")
    click.echo(f"deployment {first!r} takes 100% of traffic; blue/green: mlws endpoint deploy {name} "
               f"--deployment {other} --model REF --entry-script SCRIPT, then "
               f"mlws endpoint traffic {name} {first}=90 {other}=10")
    click.echo(f"keys: mlws endpoint keys {name}   call: mlws endpoint invoke {name} --data @input.json")


@endpoint.command("update")
@click.argument("name")
@_settings_options
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_context
@handles_errors
def endpoint_update(ctx, name, as_json, **settings) -> None:
    """Change settings of endpoint NAME; a running endpoint restarts (same port and keys)."""
    info = _ws(ctx).endpoints.update(name, **{k: v for k, v in settings.items() if v is not None})
    if as_json:
        return _json(info)
    click.echo(f"endpoint {name}: {info['state']}; settings: "
               + ", ".join(f"{k}={v}" for k, v in info["settings"].items()))


@endpoint.command("deploy")
@click.argument("name")
@click.option("--deployment", required=True, help="The deployment's name, e.g. green.")
@click.option("--model", "models", multiple=True, required=True, help="Model reference; repeatable.")
@click.option("--entry-script", required=True, type=click.Path(dir_okay=False))
@click.option("--traffic", default=0, show_default=True, type=int, help="0, or 100 to move all traffic.")
@click.option("--timeout", "wait_timeout", default=120.0, show_default=True)
@click.pass_context
@handles_errors
def endpoint_deploy(ctx, name, deployment, models, entry_script, traffic, wait_timeout) -> None:
    """Add or replace a deployment of endpoint NAME (blue/green)."""
    info = _ws(ctx).endpoints.deploy(name, deployment, list(models), entry_script, traffic=traffic,
                                     timeout=wait_timeout)
    _endpoint_lines(info)


@endpoint.command("traffic")
@click.argument("name")
@click.argument("shares", nargs=-1, required=True)
@click.pass_context
@handles_errors
def endpoint_traffic(ctx, name, shares) -> None:
    """Split traffic: mlws endpoint traffic NAME blue=90 green=10 (sums to 100)."""
    parsed = {}
    for key, value in _pairs(shares, "traffic share").items():
        if not value.strip().isdigit():
            raise E.InvalidInput(f"traffic share {key}={value!r} is not a whole percent")
        parsed[key] = int(value)
    info = _ws(ctx).endpoints.set_traffic(name, parsed)
    click.echo(", ".join(f"{d['name']}={d['traffic']}" for d in info["deployments"]))


@endpoint.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_context
@handles_errors
def endpoint_list(ctx, as_json) -> None:
    """Endpoints with their state, URL and traffic split."""
    items = _ws(ctx).endpoints.list()
    if as_json:
        return _json(items)
    _table(["NAME", "STATE", "URL", "TRAFFIC", "RESTARTS"],
           [[i["name"], i["state"], i["scoring_uri"] or "-",
             " ".join(f"{d['name']}={d['traffic']}" for d in i["deployments"]), i["restarts"]]
            for i in items])


@endpoint.command("show")
@click.argument("name")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_context
@handles_errors
def endpoint_show(ctx, name, as_json) -> None:
    """State, URL, restarts, settings and deployments of an endpoint (not its keys)."""
    info = _ws(ctx).endpoints.show(name)
    if as_json:
        return _json(info)
    _endpoint_lines(info)


@endpoint.command("logs")
@click.argument("name")
@click.option("--tail", default=200, show_default=True, help="Lines (0: all).")
@click.pass_context
@handles_errors
def endpoint_logs(ctx, name, tail) -> None:
    """The server's log: start-up, worker restarts, tracebacks of run()."""
    click.echo(_ws(ctx).endpoints.logs(name, tail or None))


@endpoint.command("keys")
@click.argument("name")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_context
@handles_errors
def endpoint_keys(ctx, name, as_json) -> None:
    """The endpoint's two keys (send one as 'Authorization: Bearer KEY')."""
    keys = _ws(ctx).endpoints.keys(name)
    if as_json:
        return _json(keys)
    click.echo(f"primary:   {keys['primary']}\nsecondary: {keys['secondary']}")


@endpoint.command("regenerate")
@click.argument("name")
@click.option("--key", type=click.Choice(["primary", "secondary"]), required=True)
@click.pass_context
@handles_errors
def endpoint_regenerate(ctx, name, key) -> None:
    """Replace one key; clients using the other keep working."""
    _ws(ctx).endpoints.regenerate(name, key)
    click.echo(f"regenerated the {key} key of {name}: 'mlws endpoint keys {name}' shows it")


@endpoint.command("start")
@click.argument("name")
@click.pass_context
@handles_errors
def endpoint_start(ctx, name) -> None:
    """Start a stopped or failed endpoint."""
    info = _ws(ctx).endpoints.start(name)
    click.echo(f"endpoint {name} is healthy: {info['scoring_uri']}")


@endpoint.command("restart")
@click.argument("name")
@click.pass_context
@handles_errors
def endpoint_restart(ctx, name) -> None:
    """Stop and start an endpoint (same port, same keys)."""
    info = _ws(ctx).endpoints.restart(name)
    click.echo(f"endpoint {name} is healthy: {info['scoring_uri']}")


@endpoint.command("stop")
@click.argument("name")
@click.pass_context
@handles_errors
def endpoint_stop(ctx, name) -> None:
    """Stop the server; in-flight calls finish first."""
    _ws(ctx).endpoints.stop(name)
    click.echo(f"endpoint {name} is stopped")


@endpoint.command("delete")
@click.argument("name")
@click.pass_context
@handles_errors
def endpoint_delete(ctx, name) -> None:
    """Stop and remove an endpoint with its deployments and statistics."""
    _ws(ctx).endpoints.delete(name)
    click.echo(f"deleted endpoint {name}")


@endpoint.command("delete-deployment")
@click.argument("name")
@click.argument("deployment")
@click.pass_context
@handles_errors
def endpoint_delete_deployment(ctx, name, deployment) -> None:
    """Remove a deployment that takes no traffic (rollback: traffic blue=100 first)."""
    _ws(ctx).endpoints.delete_deployment(name, deployment)
    click.echo(f"deleted deployment {deployment} of {name}")


@endpoint.command("invoke")
@click.argument("name")
@click.option("--data", required=True, help="JSON inline, or @FILE.")
@click.option("--deployment", help="Call this deployment directly (any traffic share).")
@click.pass_context
@handles_errors
def endpoint_invoke(ctx, name, data, deployment) -> None:
    """Score data on an endpoint with its key: mlws endpoint invoke iris --data @input.json

    Prints the answer as one line of JSON.  An error answered by the endpoint (its run()
    raised or timed out) exits with 8; an endpoint that is stopped or does not answer, with 7.
    """
    if data.startswith("@"):
        try:
            body = open(data[1:], "rb").read()
        except OSError as exc:
            raise E.NotFound(f"cannot read {data[1:]!r}: {exc.strerror}") from None
    else:
        body = data.encode()
    result = _ws(ctx).endpoints.invoke(name, body, deployment=deployment, raw=True)
    _json(result, compact=True)  # one line, as the endpoint answered: for pipes and for reading


@endpoint.command("metrics")
@click.argument("name")
@click.option("--since", default="1h", show_default=True, help="How far back: 90s, 15m, 1h, 2d.")
@click.option("--deployment", help="Only this deployment.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON (with the 10-second series).")
@click.pass_context
@handles_errors
def endpoint_metrics(ctx, name, since, deployment, as_json) -> None:
    """Requests, errors, status codes and latency p50/p95/p99 per deployment."""
    data = _ws(ctx).endpoints.metrics(name, _since(since), deployment=deployment)
    if as_json:
        return _json(data)
    if not data["monitoring"]:
        click.echo(f"monitoring is off for {name}: turn it on with "
                   f"'mlws endpoint update {name} --monitoring' (figures below are from before)", err=True)
    rows = [[dep, m["count"], m["errors"], _fmt(m["latency_ms"]["p50"]), _fmt(m["latency_ms"]["p95"]),
             _fmt(m["latency_ms"]["p99"]), " ".join(f"{k}:{v}" for k, v in m["statuses"].items())]
            for dep, m in [*data["deployments"].items(), ("(all)", data["total"])]]
    _table(["DEPLOYMENT", "REQUESTS", "ERRORS", "P50_MS", "P95_MS", "P99_MS", "STATUS"], rows)


@endpoint.command("drift")
@click.argument("name")
@click.option("--since", default="1h", show_default=True, help="How far back: 90s, 15m, 1h, 2d.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_context
@handles_errors
def endpoint_drift(ctx, name, since, as_json) -> None:
    """How far the endpoint's sampled inputs drift from each model's training data (PSI)."""
    data = _ws(ctx).endpoints.drift(name, _since(since))
    if as_json:
        return _json(data)
    for dep, d in data["deployments"].items():
        click.echo(f"{dep} ({d['model']}): {d['verdict']}, {d['samples']} sampled rows"
                   + (f"; {d['message']}" if d["message"] else ""))
        if d["features"]:
            _table(["FEATURE", "PSI", "MEAN_SHIFT_STD", "VERDICT"],
                   [[f["name"], _fmt(f["psi"]), _fmt(f["mean_shift_std"]), f["verdict"]]
                    for f in d["features"]])
