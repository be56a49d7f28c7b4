"""``mlws vm ...``: notebook VMs (create, start, stop, restart, delete, list, show, open, logs), and
``mlws compute gc``: provider resources tagged for this workspace that no VM owns."""

from __future__ import annotations

import sys

import click

from .main import _cut, _fields, _json, _table, _time, _ws, handles_errors


@click.group("vm")
def vm() -> None:
    """Notebook VMs: machines at a cloud provider (or on this machine: --provider local)."""


def _read(path: str | None, what: str) -> bytes | None:
    from ..errors import InvalidInput

    if path is None:
        return None
    try:
        with open(path, "rb") as f:
            return f.read()
    except OSError as exc:
        raise InvalidInput(f"the {what} {path!r} cannot be read ({exc.strerror})") from None


def _where(v: dict) -> str:
    if v.get("host") is None:
        return "-"
    return f"{v['ssh_user']}@{v['host']}:{v['ssh_port']}"


@vm.command("create")
@click.argument("name")
@click.option("--provider", required=True, help="local, ec2, gce, azure or openstack.")
@click.option("--size", required=True, help="The provider's size (local: host; ec2: t3.medium, ...).")
@click.option("--image", help="The provider's image id (local: host).")
@click.option("--region", help="The provider's region (default: the credentials' region).")
@click.option("--setup-script", "setup", metavar="FILE", help="A shell script run once after creation.")
@click.option("--startup-script", "startup", metavar="FILE", help="A shell script run at every start.")
@click.option("--idle-shutdown", metavar="DURATION", help="Stop after this long idle: 30m, 2h, ...")
@click.option("--schedule", help='Start and stop times: "start 0 8 * * 1-5; stop 0 19 * * 1-5".')
@click.option("--tz", help="The schedule's time zone (IANA: Europe/Berlin; default UTC).")
@click.option("--owner", help="Who owns it (default you; another user: workspace owners only).")
@click.option("--credentials-secret", metavar="NAME",
              help='The workspace secret holding the provider\'s credentials as JSON '
                   '({"key": ..., "secret": ..., "region": ...}).')
@click.option("--ssh-user", help="The login name on the image (default: the provider's usual one).")
@click.option("--script-timeout", metavar="DURATION", help="How long a script may run (default 10m).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_context
@handles_errors
def vm_create(ctx, name, provider, size, image, region, setup, startup, idle_shutdown, schedule, tz,
              owner, credentials_secret, ssh_user, script_timeout, as_json) -> None:
    """Create VM NAME and wait until it runs (its setup and startup scripts included)."""
    made = _ws(ctx).vms.create(
        name, provider=provider, size=size, image=image, region=region, owner=owner,
        setup_script=_read(setup, "setup script"), startup_script=_read(startup, "startup script"),
        idle_shutdown=idle_shutdown, schedule=schedule, tz=tz,
        credentials_secret=credentials_secret, ssh_user=ssh_user, script_timeout=script_timeout)
    if as_json:
        return _json(made)
    click.echo(f"vm {made['name']} {made['state']} ({_where(made)}); its log: 'mlws vm logs "
               f"{made['name']}'")


def _action(verb: str, text: str):
    @vm.command(verb, help=text)
    @click.argument("name")
    @click.option("--json", "as_json", is_flag=True, help="Print JSON.")
    @click.pass_context
    @handles_errors
    def command(ctx, name, as_json) -> None:
        result = getattr(_ws(ctx).vms, verb)(name)
        if as_json:
            return _json(result)
        click.echo(f"vm {result['name']} {result['state']}")

    return command


for _verb, _text in (("start", "Start VM NAME (its startup script runs again)."),
                     ("stop", "Stop VM NAME (its node is kept)."),
                     ("restart", "Stop VM NAME, then start it."),
                     ("delete", "Delete VM NAME and its node (deleting it twice changes nothing).")):
    _action(_verb, _text)


@vm.command("postpone")
@click.argument("name")
@click.option("--hours", type=float, default=1.0, show_default=True,
              help="How long no idle stop may happen (up to 24).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_context
@handles_errors
def vm_postpone(ctx, name, hours, as_json) -> None:
    """Postpone VM NAME's idle stop (a running VM; its owner or a workspace owner)."""
    result = _ws(ctx).vm_idle.postpone(name, hours=hours)
    if as_json:
        return _json(result)
    click.echo(f"vm {name}: no idle stop before {_time(result['postponed_until'])}")


@vm.command("list")
@click.option("--all", "everything", is_flag=True, help="Deleted VMs too.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_context
@handles_errors
def vm_list(ctx, everything, as_json) -> None:
    """VMs: name, provider, size, state, owner, reason."""
    rows = _ws(ctx).vms.list(deleted=everything)
    if as_json:
        return _json(rows)
    _table(["NAME", "PROVIDER", "SIZE", "STATE", "OWNER", "REASON"],
           [[v["name"], v["provider"], v["size"], v["state"], v["owner"],
             (v["reason"] or "").splitlines()[0][:60] if v["reason"] else "-"] for v in rows])


@vm.command("show")
@click.argument("name")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_context
@handles_errors
def vm_show(ctx, name, as_json) -> None:
    """A VM: its settings, state, connection (its owner's) and history."""
    v = _ws(ctx).vm_idle.show(name)
    if as_json:
        return _json(v)
    pairs = [("vm", v["name"]), ("provider", v["provider"]), ("size", v["size"]),
             ("image", v["image"] or "-"), ("region", v["region"] or "-"), ("owner", v["owner"]),
             ("state", v["state"])]
    if "host" in v:
        pairs += [("ssh", _where(v)), ("host key", v["host_key_fingerprint"] or "-"),
                  ("key secret", v["key_secret"] or "-"),
                  ("credentials", v["credentials_secret"] or "-"), ("node", v["node_id"] or "-")]
    pairs += [("idle shutdown", f"{v['idle_shutdown_s']} s" if v["idle_shutdown_s"] else "-"),
              ("schedule", f"{v['schedule']} ({v['schedule_tz']})" if v["schedule"] else "-"),
              ("scripts", ", ".join(k for k in ("setup", "startup") if v[f"{k}_script"]) or "-"),
              ("created", f"{_time(v['created_at'])} by {v['created_by']}")]
    pairs.append(("idle", _idle(v)))
    _fields(pairs)
    click.echo(f"reason: {v['reason']}" if v["reason"] else "reason: -")
    click.echo("history:")
    for e in v["events"]:
        why = _cut((e["reason"] or "").splitlines()[0], 100) if e["reason"] else ""
        click.echo(f"  {_time(e['at'])}  {e['from_state'] or '-':>13} -> {e['to_state']:<13} "
                   f"{e['actor']}: {why}".rstrip())


def _idle(v: dict) -> str:
    """The last idle check of VM ``v`` (``ws.vm_idle.show``), on one line: its decision and
    why."""
    idle = v.get("idle")
    if not v["idle_shutdown_s"]:
        return "- (no idle shutdown)"
    if v["state"] != "running":
        return f"- ({v['state']})"
    if idle is None:
        return "not checked yet (the scheduler checks running VMs every minute)"
    said = {"none": "in use", "warn": f"stops at {_time(idle['stop_at'])}" if idle.get("stop_at")
            else "stops soon", "stop": "stopping"}.get(idle.get("action"), idle.get("action") or "-")
    postponed = (f"; no idle stop before {_time(idle['postponed_until'])}"
                 if idle.get("postponed_until") else "")
    return f"{said}: {idle.get('reason') or '-'}{postponed}"


@vm.command("open")
@click.argument("name")
@click.option("--no-browser", is_flag=True, help="Only print the URL.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_context
@handles_errors
def vm_open(ctx, name, no_browser, as_json) -> None:
    """Open the running VM's JupyterLab: print its URL (its token inside: keep it to yourself)
    and open it in a browser of this machine."""
    opened = _ws(ctx).vms.open(name)
    if as_json:
        return _json(opened)
    if not no_browser:
        import webbrowser

        webbrowser.open_new_tab(opened["url"])
    click.echo(opened["url"])


@vm.command("logs")
@click.argument("name")
@click.option("--tail", type=click.IntRange(1, 1 << 30), metavar="N", help="Only the last N lines.")
@click.pass_context
@handles_errors
def vm_logs(ctx, name, tail) -> None:
    """The VM's log: what its lifecycle did, what its scripts printed."""
    sys.stdout.buffer.write(_ws(ctx).vms.logs(name, lines=tail))
    sys.stdout.flush()


@click.command("gc")
@click.option("--yes", "-y", is_flag=True,
              help="Delete them without asking (yours; a workspace owner's: all of them).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_context
@handles_errors
def compute_gc(ctx, yes, as_json) -> None:
    """Provider resources tagged for this workspace that no VM owns, and VMs left busy by a
    process that died (kill -9 mid-create, ...), each with whose it is.  It only lists them;
    with --yes (or when you answer its question) it deletes the resources and ends those VMs'
    steps (failed or orphaned, saying which step was interrupted): yours only, unless you are a
    workspace owner."""
    ws = _ws(ctx)
    found = ws.vms.gc()
    mine = _deletable(found)
    if not yes and mine and sys.stdin.isatty() and not as_json:
        _show_gc(found)
        yes = click.confirm(f"Delete {'these' if mine == _count(found) else 'your'} {mine}?",
                            default=False, err=True)
        if not yes:
            ctx.exit(1)
    if yes:
        found = ws.vms.gc(delete=True)
    if as_json:
        return _json(found)
    _show_gc(found)
    for e in found["errors"]:
        click.echo(f"could not look at {e['provider']} ({e['credentials_secret'] or 'no secret'}, "
                   f"{e['region'] or 'default region'}): {e['error']}", err=True)
    if not yes and mine:
        click.echo(f"delete {'them' if mine == _count(found) else f'your {mine}'} with "
                   "'mlws compute gc --yes'")
    if _count(found) > _deletable(found):
        click.echo("not yours: only their owner or a workspace owner may delete them")
    if found["errors"] or any(i.get("error") for i in found["leftovers"]):
        ctx.exit(1)


def _count(found: dict) -> int:
    return len(found["leftovers"]) + len(found["abandoned"])


def _deletable(found: dict) -> int:
    return sum(1 for i in [*found["leftovers"], *found["abandoned"]] if i["may_delete"])


def _whose(owner: str | None) -> str:
    return owner or "unknown"


def _show_gc(found: dict) -> None:
    for vm in found["reaped"]:
        click.echo(f"vm {vm['name']} is {vm['state']}: {vm['reason'].splitlines()[0]}")
    for vm in found["abandoned"]:
        click.echo(f"vm {vm['name']} ({_whose(vm['owner'])}'s) is {vm['state']}, its {vm['step']} "
                   f"step abandoned: {vm['why']}")
    if not found["leftovers"]:
        click.echo("no leftovers: every resource tagged for this workspace belongs to a vm")
        return
    _table(["PROVIDER", "KIND", "ID", "NAME", "OWNER", "VM", "WHY", "DELETED"],
           [[i["provider"], i["kind"], i["id"], i["name"] or "-", _whose(i["owner"]),
             i["vm"] or "-", i["why"], _deleted(i)] for i in found["leftovers"]])


def _deleted(item: dict) -> str:
    if item.get("deleted"):
        return "yes"
    if item.get("error"):
        return "error: " + item["error"]
    return "no" if item["may_delete"] else "no: not yours"


