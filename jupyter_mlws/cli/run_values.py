"""``mlws run values`` and ``mlws run cells``, and what ``mlws run show`` prints of a run's logged
values, cells and lineage (the ``run`` group in :mod:`.runs` joins them in ``cli/__init__``)."""

from __future__ import annotations

import shlex

import click

from .main import _duration, _fmt, _json, _table, _ws, handles_errors

#: rows of a table and items of a list printed (the rest is counted)
ROWS_SHOWN = 20
#: characters of a value or a source line on one line of ``run show``
LINE_MAX = 70


def _short(text: str, limit: int = LINE_MAX) -> str:
    return text if len(text) <= limit else text[:limit - 3] + "..."


def _list_text(values: list, limit: int = ROWS_SHOWN) -> str:
    shown = ", ".join(_fmt(v) for v in values[:limit])
    more = f", ... ({len(values) - limit} more)" if len(values) > limit else ""
    return f"[{shown}{more}]"


def _brief(item: dict) -> str:
    """One value on one line: a list's items, a table's shape, an image's format and size."""
    if item["kind"] == "image":
        return f"{item['image']['format']}, {item['image']['size']} bytes"
    value = item["value"]
    if value is None:
        return "(too large to show here: mlws run values RUN --key KEY)"
    if item["kind"] == "table":
        rows = max((len(c) for c in value.values()), default=0)
        return f"{len(value)} columns x {rows} rows ({', '.join(value)})"
    return _list_text(value, 8)


def _echo_table(columns: dict, indent: str) -> None:
    """A logged table as aligned text, its first ROWS_SHOWN rows."""
    rows = max((len(c) for c in columns.values()), default=0)
    headers = list(columns)
    cells = [[_fmt(columns[h][i]) if i < len(columns[h]) else "" for h in headers]
             for i in range(min(rows, ROWS_SHOWN))]
    widths = [max([len(h)] + [len(r[j]) for r in cells]) for j, h in enumerate(headers)]
    for line in [headers, *cells]:
        click.echo(indent + "  ".join(c.ljust(w) for c, w in zip(line, widths)).rstrip())
    if rows > ROWS_SHOWN:
        click.echo(f"{indent}... ({rows - ROWS_SHOWN} more rows)")


def _first_line(source: str) -> str:
    lines = [line for line in source.splitlines() if line.strip()]
    return _short(lines[0].strip() if lines else "", 50) + (" ..." if len(lines) > 1 else "")


def _metrics_text(metrics: dict) -> str:
    return " ".join(f"{k}={_fmt(v)}" for k, v in metrics.items())


def _run_text(link: dict) -> str:
    return f"{link['name']} ({link['id']}, {link['status']})"


# -- what `mlws run show` prints ---------------------------------------------------------


def details_json(ws, run_id: str) -> dict:
    """The parts ``run show --json`` adds: the newest step of each logged value and the keys,
    the cells of a session run, lineage."""
    return {"values": ws.values.page(run_id, max_results=1), "cells": ws.cells.list(run_id),
            "lineage": ws.lineage.of(run_id)}


def echo_details(ws, run_id: str) -> None:
    """The sections ``run show`` prints after params, metrics and tags: logged values (the
    newest step of each key), a session's cells, and lineage."""
    page = ws.values.page(run_id, max_results=1)
    if page["keys"]:
        click.echo("values:")
        counts = {k["key"]: k["count"] for k in page["keys"]}
        for item in page["values"]:
            steps = counts[item["key"]]
            click.echo(f"  {item['key']} ({item['kind']}, {steps} step{'s' * (steps != 1)}): "
                       f"step {item['step']}: {_brief(item)}")
    cells = ws.cells.list(run_id)
    if cells:
        click.echo(f"cells ({len(cells)}; mlws run cells RUN shows their source):")
        for c in cells:
            click.echo(f"  [{c['number']}] {c['status']} {_duration(_ms(c['duration_s']))} "
                       f"{_first_line(c['source'])}" + (f"  {_metrics_text(c['metrics'])}"
                                                        if c["metrics"] else ""))
            if c["error"]:
                click.echo(f"      {_short(c['error'])}")
    _echo_lineage(ws.lineage.of(run_id))


def _ms(seconds: float | None) -> int | None:
    return None if seconds is None else round(seconds * 1000)


def _echo_lineage(lineage: dict) -> None:
    lines = []
    for label in ("parent", "rerun_of", "promoted_from"):
        if lineage[label]:
            lines.append(f"{label.replace('_', ' ')}: {_run_text(lineage[label])}")
    if lineage["child_count"]:
        shown = ", ".join(_run_text(c) for c in lineage["children"][:3])
        more = f", ... ({lineage['child_count'] - 3} more)" if lineage["child_count"] > 3 else ""
        lines.append(f"children ({lineage['child_count']}): {shown}{more}")
    for label in ("reruns", "promoted_to"):
        if lineage[label]:
            lines.append(f"{label.replace('_', ' ')}: {', '.join(map(_run_text, lineage[label]))}")
    if lineage["models"]:
        lines.append("models: " + ", ".join(f"{m['name']}:{m['version']}" for m in lineage["models"]))
    if lineage.get("datasets"):
        lines.append("datasets: " + ", ".join(f"{d['ref']} ({d['how']})" for d in lineage["datasets"]))
    if lines:
        click.echo("lineage:")
        for line in lines:
            click.echo(f"  {line}")


# -- the commands --------------------------------------------------------------------------


@click.command("values")
@click.argument("run_id")
@click.option("--key", "-k", help="Only this key, with its steps (newest first).")
@click.option("--max-results", "-n", type=int,
              help="Steps shown per key: default 1 (the newest) for every key, 50 with --key; "
                   "at most 1000.")
@click.option("--download", "-d", "dest", type=click.Path(file_okay=False),
              help="Write the images shown into this folder, as KEY-STEP.png (.jpg, .svg, ...).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_context
@handles_errors
def run_values(ctx, run_id, key, max_results, dest, as_json) -> None:
    """Lists, tables and images logged to a run: tables as aligned text, lists, images by step,
    format and size."""
    ws = _ws(ctx)
    n = max_results if max_results is not None else (50 if key else 1)
    page = ws.values.page(run_id, key, n)
    written = ws.values.save_images(run_id, dest, key, n) if dest else []
    if as_json:
        return _json({**page, "written": [str(p) for p in written]})
    if not page["values"]:
        what = f"no value {key!r}" if key else "no lists, tables or images"
        click.echo(f"this run logged {what}", err=True)
    counts = {(k["key"], k["kind"]): k["count"] for k in page["keys"]}
    shown_key = None
    for item in page["values"]:
        if item["key"] != shown_key:
            shown_key = item["key"]
            total = counts[(item["key"], item["kind"])]
            shown = sum(v["key"] == shown_key for v in page["values"])
            hint = f", newest {shown} shown: --key {shlex.quote(shown_key)} -n N for more" \
                if shown < total else ""
            click.echo(f"{item['key']} ({item['kind']}, {total} step{'s' * (total != 1)}{hint})")
        _echo_value(item)
    for path in written:
        click.echo(f"wrote {path}", err=True)


def _echo_value(item: dict) -> None:
    head = f"  step {item['step']}:"
    if item["kind"] == "table" and item["value"] is not None:
        click.echo(head)
        _echo_table(item["value"], "    ")
    elif item["kind"] == "list" and item["value"] is not None:
        click.echo(f"{head} {_list_text(item['value'])}")
    else:
        click.echo(f"{head} {_brief(item)}")


@click.command("cells")
@click.argument("run_id")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_context
@handles_errors
def run_cells(ctx, run_id, as_json) -> None:
    """The cells a session run executed (%load_ext jupyter_mlws): number, status, duration, the
    last value of each metric it logged, its source and error."""
    ws = _ws(ctx)
    cells = ws.cells.list(run_id)
    if as_json:
        return _json(cells)
    if not cells:
        click.echo("this run recorded no cells (only session runs do: %load_ext jupyter_mlws)",
                   err=True)
        return
    _table(["CELL", "STATUS", "DURATION", "METRICS", "SOURCE"],
           [[f"[{c['number']}]", c["status"], _duration(_ms(c["duration_s"])),
             _metrics_text(c["metrics"]) or "-", _first_line(c["source"])] for c in cells])
    for c in (c for c in cells if c["error"]):
        click.echo(f"\n[{c['number']}] {c['error']}")
        for line in c["source"].splitlines():
            click.echo(f"    {line}".rstrip())
