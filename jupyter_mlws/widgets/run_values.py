"""What :class:`~.run_details.RunDetails` shows of a run besides its chart, as HTML: single-valued
metrics as numbers, logged lists, tables and image thumbnails, a session's cells."""

from __future__ import annotations

import base64
import math
from typing import Any, Mapping

from ..values import MEDIA_TYPES
from .common import esc, table

#: the newest steps of an image key shown as thumbnails
THUMBS_PER_KEY = 4
#: an image larger than this is named, not shown (its bytes travel to the browser inline)
THUMB_MAX_BYTES = 1 << 20
#: rows of a table and items of a list shown
ROWS_SHOWN = 10
#: characters of a cell's source shown (its first line)
SOURCE_SHOWN = 80
_MUTED = "color:#757575"


def _number(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.6g}" if math.isfinite(value) else str(value)
    return esc(value)


def numbers_html(metrics: Mapping[str, float], counts: Mapping[str, int]) -> str:
    """The metrics logged once, each as a number (never a lone dot on a chart)."""
    single = [k for k in sorted(metrics) if counts.get(k) == 1]
    if not single:
        return ""
    tiles = "".join(
        f'<div class="mlws-WidgetNumber" data-metric="{esc(k)}" style="display:inline-block;'
        f'margin:0 16px 4px 0"><div style="font-size:11px;{_MUTED}">{esc(k)}</div>'
        f'<div style="font-size:20px">{_number(metrics[k])}</div></div>' for k in single)
    return f'<div class="mlws-WidgetNumbers">{tiles}</div>'


def values_html(page: dict, images: Mapping[str, list[dict]], thumbnail) -> str:
    """Logged values in brief: the newest list and table of each key (``page``:
    :meth:`ValueService.page` of the newest step of each key), the newest images of each image
    key as thumbnails (``images``: key -> the newest :data:`THUMBS_PER_KEY` image values).
    ``thumbnail(key, step)`` returns ``(format, bytes)`` of an image, or None when it is too
    large to show inline."""
    if not page["keys"]:
        return ""
    counts = {(k["key"], k["kind"]): k["count"] for k in page["keys"]}
    parts = []
    for item in page["values"]:
        key, kind = item["key"], item["kind"]
        n = counts[(key, kind)]
        parts.append(f'<div style="margin-top:6px"><b>{esc(key)}</b> '
                     f'<span style="{_MUTED}">{kind}, {n} step{"s" * (n != 1)}</span></div>')
        steps = (images.get(key) or [item]) if kind == "image" else [item]
        parts += [_value(i, thumbnail) for i in steps]
    return f'<div class="mlws-WidgetValues"><b>logged values</b>{"".join(parts)}</div>'


def _value(item: dict, thumbnail) -> str:
    step = f'<span style="{_MUTED}">step {item["step"]}</span>'
    if item["kind"] == "image":
        found = thumbnail(item["key"], item["step"])
        if found is None:
            info = item["image"]
            return (f'<div class="mlws-WidgetImage">{step} {esc(info["format"])}, {info["size"]} bytes '
                    "(too large to show here)</div>")
        fmt, data = found
        src = f"data:{MEDIA_TYPES[fmt]};base64,{base64.b64encode(data).decode()}"
        return (f'<figure class="mlws-WidgetImage" style="display:inline-block;margin:4px 8px 0 0">'
                f'<img src="{src}" alt="{esc(item["key"])} at step {item["step"]}" '
                f'style="max-width:160px;max-height:120px;border:1px solid #e0e0e0"/>'
                f'<figcaption style="font-size:11px;margin:0">{step}</figcaption></figure>')
    value = item["value"]
    if value is None:
        return f"<div>{step} (too large to show here)</div>"
    if item["kind"] == "table":
        return f"<div>{step}{_table(value)}</div>"
    more = f", … ({len(value) - ROWS_SHOWN} more)" if len(value) > ROWS_SHOWN else ""
    return (f'<div class="mlws-WidgetList">{step} '
            f'[{", ".join(_number(v) for v in value[:ROWS_SHOWN])}{more}]</div>')


def _table(columns: Mapping[str, list]) -> str:
    rows = max((len(c) for c in columns.values()), default=0)
    body = [[_plain(columns[h][i]) if i < len(columns[h]) else "" for h in columns]
            for i in range(min(rows, ROWS_SHOWN))]
    more = (f'<div style="{_MUTED}">… {rows - ROWS_SHOWN} more rows</div>'
            if rows > ROWS_SHOWN else "")
    return table(list(columns), body, "mlws-WidgetTable") + more


def _plain(value: Any) -> str:
    return f"{value:.6g}" if isinstance(value, float) and math.isfinite(value) else str(value)


def cells_html(cells: list[dict]) -> str:
    """A session run's cells: number, status, duration, the metrics each logged, the first
    line of its source and its error."""
    if not cells:
        return ""
    rows = []
    for c in cells:
        lines = [line for line in c["source"].splitlines() if line.strip()]
        first = lines[0][:SOURCE_SHOWN] + (" …" if len(lines) > 1 or len(lines[0]) > SOURCE_SHOWN
                                           else "") if lines else ""
        rows.append([f"[{c['number']}]", c["status"],
                     "-" if c["duration_s"] is None else f"{c['duration_s']:.2f} s",
                     " ".join(f"{k}={_plain(v)}" for k, v in c["metrics"].items()),
                     first, c["error"] or ""])
    return ("<b>cells</b>" + table(["cell", "status", "duration", "metrics", "source", "error"],
                                   rows, "mlws-WidgetCells"))
