"""``RunDetails(run)``: a run's status, params, metric charts, logs and child runs, live."""

from __future__ import annotations

import threading
import time
from typing import Any

import ipywidgets as W

from ..runs import LIVE
from .common import error_html, esc, run_id_of, status_badge, svg_chart, table, workspace_of

#: characters of each log shown (its end)
LOG_TAIL = 4000


class RunDetails(W.VBox):
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
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._ws = workspace_of(run, workspace)
        self.run_id = run_id_of(run)
        self.max_points = max_points
        self.header = W.HTML()
        self.params = W.HTML()
        self.metrics = W.SelectMultiple(description="metrics", rows=4)
        self.chart = W.HTML()
        self.logs = W.Textarea(disabled=True, layout=W.Layout(width="100%", height="140px"))
        self.runs = W.HTML()
        self.error = W.HTML()
        super().__init__([self.header, self.params, self.metrics, self.chart,
                          W.HTML("<b>logs</b>"), self.logs, self.runs, self.error])
        self.add_class("mlws-RunDetails")
        self.record = None
        self.status = "unknown"
        self.metrics.observe(lambda _change: self._draw_chart(), names="value")
        self.update()
        if refresh > 0 and self.status in LIVE:
            self._thread = threading.Thread(target=self._follow, args=(refresh,),
                                            name="mlws-run-details", daemon=True)
            self._thread.start()

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
        self.header.value = (
            f'<div><b>{esc(record.name)}</b> {status_badge(record.status)} '
            f'<span style="color:#616161">{esc(record.experiment)} · {esc(record.id)}'
            + (f" · {duration / 1000:.1f} s" if duration is not None else "") + "</span></div>"
            + (f'<div style="color:#c62828;white-space:pre-wrap">{esc(record.error)}</div>'
               if record.error else ""))
        self.params.value = table(["param", "value"], sorted(record.params.items()), "mlws-WidgetParams")
        keys = sorted(record.metrics)
        if tuple(keys) != self.metrics.options:
            chosen = [k for k in self.metrics.value if k in keys] or keys[:4]
            self.metrics.options = keys
            self.metrics.value = tuple(chosen)
        self._draw_chart()
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
        series = {}
        for key in self.metrics.value:
            points = self._ws.runs.metric_points(self.record.id, key, self.max_points)
            series[key] = list(zip(points["steps"], points["values"]))
        self.chart.value = svg_chart(series)

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
