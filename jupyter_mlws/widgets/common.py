"""What the widgets share: finding the workspace and the run, following a live run, an SVG line
chart, small HTML."""

from __future__ import annotations

import html
import math
import threading
import time
from typing import Any, Mapping, Sequence

from ..errors import MlwsError
from ..runs import LIVE

STATUS_COLORS = {"running": "#1976d2", "queued": "#757575", "completed": "#2e7d32", "failed": "#c62828",
                 "killed": "#c62828", "timed_out": "#c62828", "canceled": "#ef6c00"}
SERIES_COLORS = ("#1976d2", "#e65100", "#2e7d32", "#6a1b9a", "#c62828", "#00838f")


def workspace_of(obj: Any, workspace=None):
    """The workspace ``obj`` (a Run) belongs to, else ``workspace``, else the one found from here."""
    if workspace is not None:
        return workspace
    ws = getattr(obj, "workspace", None)
    if ws is not None:
        return ws
    from ..workspace import Workspace

    return Workspace.open()


def run_id_of(run: Any) -> str:
    """The id of a Run, a RunRecord or an id string."""
    if isinstance(run, str):
        return run
    run_id = getattr(run, "id", None)
    if not isinstance(run_id, str):
        raise TypeError(f"give a run, a run record or a run id, not a {type(run).__name__}")
    return run_id


def esc(value: Any) -> str:
    return html.escape(str(value), quote=True)


def error_html(exc: BaseException) -> str:
    """An error as the user should read it: the service's message, never a traceback."""
    text = str(exc) if isinstance(exc, MlwsError) else f"{type(exc).__name__}: {exc}"
    return f'<div class="mlws-WidgetError" style="color:#c62828;white-space:pre-wrap">{esc(text)}</div>'


def status_badge(status: str) -> str:
    color = STATUS_COLORS.get(status, "#616161")
    return (f'<span class="mlws-WidgetStatus" style="color:white;background:{color};padding:1px 8px;'
            f'border-radius:8px">{esc(status)}</span>')


def table(headers: Sequence[str], rows: Sequence[Sequence[Any]], cls: str = "",
          row_styles: Sequence[tuple[str, str]] | None = None) -> str:
    """An HTML table of escaped cells; ``row_styles``: a ``(class, style)`` per row, or None."""
    head = "".join(f'<th style="text-align:left;padding:2px 8px">{esc(h)}</th>' for h in headers)
    styles = row_styles or [("", "")] * len(rows)
    body = "".join((f'<tr class="{esc(rc)}" style="{esc(rs)}">' if rc or rs else "<tr>")
                   + "".join(f'<td style="padding:2px 8px">{esc(c)}</td>' for c in row) + "</tr>"
                   for row, (rc, rs) in zip(rows, styles))
    return f'<table class="{cls}"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'


class Follows:
    """What a widget of a run does while the run is live (queued or running): it calls its own
    ``update()`` every few seconds in a thread, once more when the run ended, then stops.  The
    widget sets ``status`` (the run's) in ``update()``; ``_follow_start()`` is called last in its
    ``__init__``, ``_follow_init()`` first (``close()`` works on a half-built widget)."""

    status = "unknown"

    def _follow_init(self) -> None:
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def _follow_start(self, every: float, name: str) -> None:
        if every > 0 and self.status in LIVE:
            self._thread = threading.Thread(target=self._follow, args=(every,), name=name, daemon=True)
            self._thread.start()

    def _follow(self, every: float) -> None:
        while not self._stop.wait(every):
            self.update()
            if self.status not in LIVE:  # one last update showed the end: stop following
                return

    def stop(self) -> None:
        """Stop following the run."""
        self._stop.set()

    def close(self) -> None:
        self.stop()
        super().close()

    def wait(self, timeout: float = 60.0) -> str:
        """Block until the run has ended and the widget shows it; return its status."""
        deadline = time.monotonic() + timeout
        while self.status in LIVE and time.monotonic() < deadline:
            time.sleep(0.05)
        return self.status


def _fmt(x: float) -> str:
    return f"{x:.4g}"


def svg_chart(series: Mapping[str, Sequence[tuple[float, float]]], width: int = 560,
              height: int = 220) -> str:
    """A line chart of ``{name: [(step, value), ...]}`` as inline SVG (axes' ranges, a legend)."""
    points = [(x, y) for pts in series.values() for x, y in pts
              if y is not None and math.isfinite(y)]
    if not points:
        return '<div class="mlws-WidgetChart" style="color:#757575">no metric points yet</div>'
    x0, x1 = min(p[0] for p in points), max(p[0] for p in points)
    y0, y1 = min(p[1] for p in points), max(p[1] for p in points)
    if x1 == x0:
        x1 = x0 + 1
    if y1 == y0:
        y0, y1 = y0 - 0.5, y1 + 0.5
    left, right, top, bottom = 56, 10, 10, 26
    w, h = width - left - right, height - top - bottom

    def sx(x: float) -> float:
        return left + (x - x0) / (x1 - x0) * w

    def sy(y: float) -> float:
        return top + (1 - (y - y0) / (y1 - y0)) * h

    lines, legend = [], []
    for i, (name, pts) in enumerate(series.items()):
        color = SERIES_COLORS[i % len(SERIES_COLORS)]
        coords = " ".join(f"{sx(x):.1f},{sy(y):.1f}" for x, y in pts if y is not None and math.isfinite(y))
        lines.append(f'<polyline data-metric="{esc(name)}" fill="none" stroke="{color}" '
                     f'stroke-width="1.5" points="{coords}"/>')
        last = next((y for _, y in reversed(pts) if y is not None and math.isfinite(y)), None)
        legend.append(f'<span style="color:{color};margin-right:12px">&#9632; {esc(name)}'
                      + (f" = {_fmt(last)}" if last is not None else "") + "</span>")
    axes = (f'<line x1="{left}" y1="{top + h}" x2="{left + w}" y2="{top + h}" stroke="#9e9e9e"/>'
            f'<line x1="{left}" y1="{top}" x2="{left}" y2="{top + h}" stroke="#9e9e9e"/>'
            f'<text x="{left - 4}" y="{top + 4}" text-anchor="end" font-size="10">{_fmt(y1)}</text>'
            f'<text x="{left - 4}" y="{top + h}" text-anchor="end" font-size="10">{_fmt(y0)}</text>'
            f'<text x="{left}" y="{height - 8}" font-size="10">{_fmt(x0)}</text>'
            f'<text x="{left + w}" y="{height - 8}" text-anchor="end" font-size="10">step {_fmt(x1)}</text>')
    return (f'<div class="mlws-WidgetChart"><svg width="{width}" height="{height}" '
            f'xmlns="http://www.w3.org/2000/svg">{axes}{"".join(lines)}</svg>'
            f'<div style="font-size:12px">{"".join(legend)}</div></div>')
