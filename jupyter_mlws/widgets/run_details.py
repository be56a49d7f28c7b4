"""``RunDetails(run)``: a run's status, params, metrics (charts, a single value as a number), logged
lists, tables and images, a session's cells, logs and child runs, live."""

from __future__ import annotations

from typing import Any

import ipywidgets as W

from .common import Follows, error_html, esc, run_id_of, status_badge, svg_chart, table, workspace_of
from .run_values import THUMB_MAX_BYTES, THUMBS_PER_KEY, cells_html, numbers_html, values_html

#: characters of each log shown (its end)
LOG_TAIL = 4000


class RunDetails(Follows, W.VBox):
    """A run's details, refreshed every ``refresh`` seconds while it is queued or running.

    Parameters
    ----------
    run : Run, RunRecord or str
        The run (a handle, a record or its id).
    workspace : Workspace, optional
        Where the run is (default: the run's own, else the workspace found from here).
    refresh : float
        Seconds between updates of a live run (0: never; call :meth:`update`).
    max_points : int
        Points drawn per metric (longer series are thinned, their extremes kept).
    """

    def __init__(self, run: Any, *, workspace=None, refresh: float = 2.0, max_points: int = 500):
        # first: close() (called by ipywidgets' __del__ too) must work on a widget whose
        # construction failed below, e.g. for want of a workspace
        self._follow_init()
        self._ws = workspace_of(run, workspace)
        self.run_id = run_id_of(run)
        self.max_points = max_points
        self.header = W.HTML()
        self.params = W.HTML()
        self.numbers = W.HTML()
        self.metrics = W.SelectMultiple(description="metrics", rows=4)
        self.chart = W.HTML()
        self.values = W.HTML()
        self.cells = W.HTML()
        self.logs = W.Textarea(disabled=True, layout=W.Layout(width="100%", height="140px"))
        self.runs = W.HTML()
        self.error = W.HTML()
        self._thumbs: dict[tuple[str, int], tuple[str, bytes] | None] = {}
        super().__init__([self.header, self.params, self.numbers, self.metrics, self.chart,
                          self.values, self.cells, W.HTML("<b>logs</b>"), self.logs, self.runs,
                          self.error])
        self.add_class("mlws-RunDetails")
        self.record = None
        self.status = "unknown"
        self.metrics.observe(lambda _change: self._draw_chart(), names="value")
        self.update()
        self._follow_start(refresh, "mlws-run-details")

    # -- reading the run ----------------------------------------------------------------

    def update(self) -> None:
        """Read the run again and redraw everything."""
        try:
            record = self._ws.runs.get(self.run_id)
        except Exception as exc:  # a deleted run, a closed workspace: say so, keep the widget
            self.error.value = error_html(exc)
            return
        self.error.value = ""
        self.record = record
        self.status = record.status
        duration = record.duration_ms
        tags = " ".join(f'<span class="mlws-WidgetTag" style="border:1px solid #bdbdbd;'
                        f'border-radius:8px;padding:0 6px">{esc(k)}={esc(v)}</span>'
                        for k, v in sorted(record.tags.items()))
        self.header.value = (
            f'<div><b>{esc(record.name)}</b> {status_badge(record.status)} '
            f'<span style="color:#616161">{esc(record.experiment)} · {esc(record.id)}'
            + (f" · {duration / 1000:.1f} s" if duration is not None else "") + "</span></div>"
            + (f'<div class="mlws-WidgetDescription" style="white-space:pre-wrap">'
               f"{esc(record.description)}</div>" if record.description else "")
            + (f'<div style="margin-top:2px">{tags}</div>' if tags else "")
            + (f'<div style="color:#c62828;white-space:pre-wrap">{esc(record.error)}</div>'
               if record.error else ""))
        self.params.value = table(["param", "value"], sorted(record.params.items()),
                                  "mlws-WidgetParams") if record.params else ""
        counts = self._ws.values.metric_counts(record.id)
        self.numbers.value = numbers_html(record.metrics, counts)
        keys = sorted(k for k in record.metrics if counts.get(k, 0) > 1)  # a chart needs two points
        if tuple(keys) != self.metrics.options:
            chosen = [k for k in self.metrics.value if k in keys] or keys[:4]
            self.metrics.options = keys
            self.metrics.value = tuple(chosen)
        self.metrics.layout.display = None if keys else "none"
        self._draw_chart()
        newest = self._ws.values.page(record.id, max_results=1)
        images = {k["key"]: self._ws.values.page(record.id, k["key"], THUMBS_PER_KEY)["values"]
                  for k in newest["keys"] if k["kind"] == "image" and k["count"] > 1}
        self.values.value = values_html(newest, images, self._thumbnail)
        self.cells.value = cells_html(self._ws.cells.list(record.id))
        logs = self._ws.run_logs(record.id, tail=4 * LOG_TAIL)  # bytes: enough for LOG_TAIL characters
        self.logs.value = "\n".join(f"== {name}\n{data.decode('utf-8', 'replace')[-LOG_TAIL:]}"
                                    for name, data in sorted(logs.items())) or "(no logs)"
        kids = self._ws.runs.children(record.id)
        self.runs.value = ("<b>child runs</b>" + table(
            ["run", "status", "metrics"],
            [[k.name, k.status, ", ".join(f"{m}={v:.4g}" for m, v in sorted(k.metrics.items())[:3])]
             for k in kids], "mlws-WidgetChildren")) if kids else ""

    def _draw_chart(self) -> None:
        if self.record is None:
            return
        if not self.metrics.options and self.record.metrics:
            self.chart.value = ""  # every metric is a single value, shown as a number
            return
        series = {}
        for key in self.metrics.value:
            points = self._ws.runs.metric_points(self.record.id, key, self.max_points)
            series[key] = list(zip(points["steps"], points["values"]))
        self.chart.value = svg_chart(series)

    def _thumbnail(self, key: str, step: int) -> tuple[str, bytes] | None:
        """``(format, bytes)`` of a logged image small enough to show inline, else None (read
        once: a step's image does not change)."""
        if (key, step) not in self._thumbs:
            info, f = self._ws.values.open_image(self.run_id, key, step)
            with f:
                small = info["size"] is not None and info["size"] <= THUMB_MAX_BYTES
                self._thumbs[(key, step)] = (info["format"], f.read()) if small else None
        return self._thumbs[(key, step)]
