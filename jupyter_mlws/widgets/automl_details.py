"""``AutoMLDetails(run)``: an automated-ML search's state and leaderboard, live while it runs.

What it shows is :meth:`AutoMLService.show <jupyter_mlws.automl.service.AutoMLService.show>`
(the leaderboard the CLI's ``mlws automl show`` and ``GET /mlws/api/automl/RUN`` answer): the
ranking and the best trial are the service's, never recomputed here.
"""

from __future__ import annotations

from typing import Any, Mapping

import ipywidgets as W

from .common import Follows, error_html, esc, run_id_of, status_badge, table, workspace_of

#: the best row's look: a tint that reads on light and dark themes alike
_BEST_STYLE = "background:rgba(46,125,50,0.16);font-weight:600"
_MUTED = "color:#757575"


class AutoMLDetails(Follows, W.VBox):
    """A search's state (status, metric, time spent against the budget, trials done, the trial
    the deadline stopped, the registered model version) and its leaderboard (rank, trial,
    estimator, the metric, training time, child run id; the best marked ★), refreshed every
    ``refresh`` seconds while the search is queued or running.

    Parameters
    ----------
    run : Run, RunRecord or str
        The search's parent run (``ws.automl(...)``'s answer, a record or its id).
    workspace : Workspace, optional
        Where the run is (default: the run's own, else the workspace found from here).
    refresh : float
        Seconds between updates of a live search (0: never; call :meth:`update`).
    max_rows : int
        Leaderboard rows shown, best first (the rest are counted: ``mlws automl show RUN -n N``).

    A run that is not a search, or no such run, shows the service's message in the widget.
    """

    def __init__(self, run: Any, *, workspace=None, refresh: float = 2.0, max_rows: int = 20):
        self._follow_init()  # first: close() must work on a widget whose construction failed
        self._ws = workspace_of(run, workspace)
        self.run_id = run_id_of(run)
        self.max_rows = max_rows
        self.header = W.HTML()
        self.summary = W.HTML()
        self.leaderboard = W.HTML()
        self.error = W.HTML()
        super().__init__([self.header, self.summary, self.leaderboard, self.error])
        self.add_class("mlws-AutoMLDetails")
        #: the search as the service shows it (None until read)
        self.shown: dict | None = None
        self.status = "unknown"
        self.update()
        self._follow_start(refresh, "mlws-automl-details")

    def update(self) -> None:
        """Read the search again and redraw it."""
        try:
            shown = self._ws.automl_service.show(self.run_id)
        except Exception as exc:  # not a search, a deleted run, a closed workspace: say so
            self.error.value = error_html(exc)
            return
        self.error.value = ""
        self.shown = shown
        self.status = shown["run"]["status"]
        self.header.value = _header(shown)
        self.summary.value = _summary(shown)
        self.leaderboard.value = _leaderboard(shown, self.max_rows)


def _seconds(value: float | None) -> str:
    return "-" if value is None else f"{value:.3g}" if value < 10 else f"{value:.1f}"


def _header(shown: Mapping[str, Any]) -> str:
    run, spec = shown["run"], shown["spec"]
    return (f'<div><b>{esc(run["name"] or run["id"])}</b> {status_badge(run["status"])} '
            f'<span style="{_MUTED}">{esc(run["experiment"])} · {esc(run["id"])}</span></div>'
            f'<div>automated ML on <b>{esc(spec["data"])}</b>: predict '
            f'<b>{esc(spec["target"])}</b> ({esc(spec["task"])})</div>')


def budget_text(shown: Mapping[str, Any]) -> str:
    """The time spent against the budget, as a user reads it: ``7.6 s of 8 s used (search 7.1
    s, refit 0.52 s; setup 2.4 s apart)``, a resumed search's earlier attempts named first
    (``earlier attempts 10.5 s, search ...``), ``... so far`` while the search runs."""
    budget, status = shown["budget"], shown["run"]["status"]
    total = f'{budget["time_budget_s"]:g} s'
    if status == "queued" or (status == "running" and budget["time_spent_s"] is None):
        return f"{total} budget, not started yet"
    text = f'{_seconds(budget["time_spent_s"] or 0.0)} s of {total} used'
    if status == "running":
        return text + " so far"
    if budget["search_s"] is not None:
        earlier = budget.get("earlier_s") or 0.0
        text += (f' ({f"earlier attempts {_seconds(earlier)} s, " if earlier > 0.005 else ""}'
                 f'search {_seconds(budget["search_s"])} s, refit {_seconds(budget["refit_s"])} s;'
                 f' setup {_seconds(budget["setup_s"])} s apart)')
    return text


def _meter(shown: Mapping[str, Any]) -> str:
    """The budget spent as a bar (past 100 %: the overrun in red)."""
    budget = shown["budget"]
    spent, total = budget["time_spent_s"] or 0.0, budget["time_budget_s"]
    share = spent / total if total else 0.0
    color = "#c62828" if share > 1.05 else "#1976d2"
    return (f'<div class="mlws-AutoMLMeter" role="meter" aria-valuemin="0" aria-valuemax="{total:g}"'
            f' aria-valuenow="{spent:.3f}" style="display:inline-block;vertical-align:middle;'
            f'width:120px;height:8px;border:1px solid #9e9e9e;border-radius:4px;margin-left:8px">'
            f'<div style="width:{min(share, 1.0) * 100:.1f}%;height:100%;background:{color};'
            f'border-radius:4px"></div></div>')


def _summary(shown: Mapping[str, Any]) -> str:
    run, spec, metric = shown["run"], shown["spec"], shown["metric"]
    status = run["status"]
    live = status in ("queued", "running")
    n = len(shown["leaderboard"])
    fields = [
        ("metric", f'{esc(metric)} ({"higher" if shown["direction"] == "max" else "lower"} is better)'
         if metric else "chosen when the data is read"),
        ("budget", esc(budget_text(shown)) + _meter(shown)),
        ("trials", f'{n} done' + (f' (at most {spec["max_trials"]})' if spec.get("max_trials") else "")),
    ]
    if shown["stopped"]:
        fields.append(("stopped", esc(shown["stopped"])))
    if shown["model"]:
        fields.append(("model", f'<b class="mlws-AutoMLModel">{esc(shown["model"])}</b> registered'))
    elif spec.get("register"):
        fields.append(("model", f'<span style="{_MUTED}">'
                       + ("registered as " + esc(spec["model_name"]) + " when the search ends"
                          if live else "none registered") + "</span>"))
    else:
        fields.append(("model", f'<span style="{_MUTED}">not registered (register=False)</span>'))
    rows = "".join(f'<tr data-field="{name}"><th style="text-align:left;padding:1px 12px 1px 0;'
                   f'font-weight:normal;{_MUTED}">{name}</th><td style="padding:1px 0">{value}</td></tr>'
                   for name, value in fields)
    error = (f'<div style="color:#c62828;white-space:pre-wrap">{esc(run["error"])}</div>'
             if run.get("error") else "")
    return f'<table class="mlws-AutoMLSummary">{rows}</table>{error}'


def _leaderboard(shown: Mapping[str, Any], max_rows: int) -> str:
    board, metric = shown["leaderboard"], shown["metric"] or "metric"
    if not board:
        live = shown["run"]["status"] in ("queued", "running")
        return (f'<div class="mlws-AutoMLLeaderboard" style="{_MUTED}">'
                f'{"no trial finished yet" if live else "no trial finished"}</div>')
    rows = board[:max_rows]
    body = table(["", "rank", "trial", "estimator", metric, "train time (s)", "run"],
                 [["★ best" if r["best"] else "", r["rank"], r["trial"], r["estimator"],
                   f'{r["metric"]:.5g}', f'{r["train_time_s"]:.2f}', r["run_id"]] for r in rows],
                 "mlws-AutoMLTable",
                 [("mlws-AutoMLBest", _BEST_STYLE) if r["best"] else ("mlws-AutoMLRow", "")
                  for r in rows])
    hidden = len(board) - len(rows)
    more = (f'<div style="{_MUTED}">… {hidden} more trial{"s" * (hidden != 1)} (AutoMLDetails(run, '
            f'max_rows=N), or mlws automl show {esc(shown["run"]["id"])} -n N)</div>'
            if hidden else "")
    return f'<div class="mlws-AutoMLLeaderboard"><b>leaderboard</b>{body}{more}</div>'
