"""The search process: FLAML's ``AutoML.fit`` over one table, its trials written as they end.

Run as ``python -m jupyter_mlws.automl.search JOB.json`` by the runner (:mod:`.runner`), which
stops it at the budget's deadline, whatever FLAML is doing (FLAML checks its own budget only
between trials, so a trial running at the deadline would run on).  This process knows nothing
of the workspace: it reads the job (:func:`write_job` writes it), and writes

- FLAML's own training log (``log``; ``log_type="all"``: one JSON line per finished trial,
  flushed as it ends), which the runner reads as the trials' results;
- ``started``, events as JSON lines: ``fit`` when FLAML's search starts (the budget's clock
  starts then; with the metric, chosen here when none was given, the number of classes and
  the table's rows), ``validation`` once, as the first trial starts (how FLAML validates a
  trial: cross-validation folds or a holdout, :func:`validation`; the runner sizes its refit
  reserve by it), ``trial`` as each trial starts (its estimator and configuration: the runner
  can say which trial the deadline stopped), or ``error`` when the table does not fit the
  request.

A resumed search is given the finished trials of the interrupted one (``known``): a trial whose
estimator, configuration and rows match a finished one returns that one's result without
training again (:func:`_replaying`).  A search of counted trials (``max_iter``) is the same
every time for a seed (below), so it retraces its steps at no cost and goes on where it was
stopped; a timed one starts from the finished trials' best configuration per estimator
(``starting_points``, FLAML's warm start).

With ``max_iter`` FLAML is given no time budget (``time_budget=-1``): it then counts trials
instead of seconds when it chooses the next estimator, which makes the search, for a seed,
the same every time (the runner still stops it at the deadline).
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path
from typing import Any, Mapping

#: seconds past the runner's deadline FLAML is told its budget ends: FLAML picks its validation
#: method and trial sizes by the budget, but the runner's deadline (which keeps time for the
#: refit) always comes first
FLAML_MARGIN_S = 1.0


def write_job(path: Path, job: Mapping[str, Any]) -> None:
    """Write the search's job: ``files`` ([relative, local] table files), ``target``, ``task``,
    ``metric``, ``time_budget`` (s, or -1), ``time_left_s`` (the search's budget left, s:
    however it counts, it ends by then), ``max_iter`` (or None), ``seed``, ``estimators``,
    ``log`` and ``started`` (paths), ``known`` (finished trials: ``estimator``, ``config``,
    ``val_loss``, ``logged_metric``, ``sample_size``)."""
    from ..fsutil import atomic_write

    atomic_write(path, json.dumps(job).encode())


def config_key(estimator: str, config: Mapping[str, Any], sample_size: int) -> str:
    """The identity of a trial: its estimator, configuration and rows trained on (what a
    resumed search matches finished trials by)."""
    clean = {k: v for k, v in config.items() if k != "FLAML_sample_size"}
    return json.dumps([estimator, clean, int(sample_size)], sort_keys=True, default=str)


def load_table(files):
    """The job's table files as one DataFrame."""
    from ..datasets.tabular import read_frame

    return read_frame([(rel, local) for rel, local in files])


def run(job: Mapping[str, Any]) -> int:
    """Fit FLAML as ``job`` says (see the module's docstring); 0 once the search ended by
    itself, 2 when the data does not fit the request (the reason written to ``started``)."""
    from ..errors import InvalidInput

    started = Path(job["started"])
    frame = load_table(job["files"])
    y = frame.pop(job["target"])
    try:
        metric, classes = choose_metric(job["task"], y, job.get("metric"))
    except InvalidInput as exc:
        _note(started, {"event": "error", "message": str(exc)})
        return 2
    from flaml import AutoML

    known = {config_key(k["estimator"], k["config"], k["sample_size"]): k
             for k in job.get("known") or []}
    settings = dict(task=job["task"], metric=metric, time_budget=job["time_budget"],
                    seed=job["seed"], log_file_name=job["log"], log_type="all",
                    retrain_full=False, model_history=False, verbose=0, mlflow_logging=False)
    if job.get("max_iter"):
        settings["max_iter"] = job["max_iter"]
    if job.get("estimators"):
        settings["estimator_list"] = list(job["estimators"])
    # counted trials (max_iter) retrace their steps exactly, replaying every finished trial;
    # a timed search is warm-started from the best finished ones instead
    starting = {} if job.get("max_iter") else _starting_points(job.get("known") or [])
    if starting:
        settings["starting_points"] = starting
    _note(started, {"event": "fit", "at": time.time(), "metric": metric, "classes": classes,
                    "rows": len(y)})
    with _replaying(known, started):
        AutoML().fit(frame, y, **settings)
    return 0


def choose_metric(task: str, y, metric: str | None) -> tuple[str, int]:
    """The metric a search of ``task`` on target values ``y`` (a Series) judges by (``metric``,
    or the default for the task and the number of classes) and the number of classes (0 for
    regression).  InvalidInput when the metric cannot judge that many classes."""
    from .spec import check_metric_for_classes, default_metric

    classes = int(y.nunique()) if task == "classification" else 0
    metric = metric or default_metric(task, classes)
    if task == "classification":
        check_metric_for_classes(metric, classes)
    return metric, classes


def _note(path: Path, event: Mapping[str, Any]) -> None:
    """Append one event to the ``started`` file (flushed at once: the runner reads it live)."""
    with open(path, "a") as f:
        f.write(json.dumps(event, default=str) + "\n")


def _starting_points(known) -> dict[str, dict]:
    """The best finished configuration per estimator (FLAML's warm start)."""
    best: dict[str, Mapping] = {}
    for k in known:
        if k["estimator"] not in best or k["val_loss"] < best[k["estimator"]]["val_loss"]:
            best[k["estimator"]] = k
    return {e: {n: v for n, v in k["config"].items() if n != "FLAML_sample_size"}
            for e, k in best.items()}


def validation(state) -> dict[str, Any]:
    """How FLAML validates each trial, from its search state: ``method`` (``cv`` or
    ``holdout``), ``fits`` (models trained per trial: the folds, or 1), ``fit_share`` (the
    share of a trial's rows each of them trains on) and ``data_size`` (the rows FLAML searches
    on: more than the table's when it repeats the rows of rare classes so that each fold has
    them).  The runner sizes the refit's reserve by it: a trial's time over its ``fits``,
    scaled from the rows each fit trained on to every row (:meth:`.runner.Runner.reserve`)."""
    size = int(state.data_size[0])
    if state.eval_method == "cv" and state.kf is not None:
        folds = int(state.kf.get_n_splits())
        return {"method": "cv", "fits": folds, "fit_share": (folds - 1) / folds,
                "data_size": size}
    return {"method": "holdout", "fits": 1, "fit_share": 1.0, "data_size": size}


class _replaying:
    """Within it, FLAML's trial function answers a finished trial's configuration with that
    trial's result (no training) and notes each other trial as it starts.

    It wraps ``AutoMLState._compute_with_config_base``, FLAML's one function that evaluates a
    configuration (flaml 2.3 to 2.8): there is no public hook for either."""

    def __init__(self, known: Mapping[str, Mapping], started: Path):
        self.known, self.started = known, started

    def __enter__(self):
        from flaml.automl.state import AutoMLState

        original = AutoMLState._compute_with_config_base
        known, started = self.known, self.started
        noted: list = []

        def evaluate(config_w_resource, state, estimator, is_report=True):
            if not noted:
                noted.append(True)
                _note(started, {"event": "validation", **validation(state)})
            size = config_w_resource.get("FLAML_sample_size", state.data_size[0])
            done = known.get(config_key(estimator, config_w_resource, size))
            if done is None:
                _note(started, {"event": "trial", "estimator": estimator,
                                "config": config_w_resource, "at": time.time()})
                return original(config_w_resource, state, estimator, is_report)
            result = {"pred_time": (done.get("logged_metric") or {}).get("pred_time", 0.0),
                      "wall_clock_time": time.time() - state._start_time_flag,
                      "metric_for_logging": done.get("logged_metric"),
                      "val_loss": done["val_loss"], "trained_estimator": None}
            if is_report is True:
                from flaml import tune

                tune.report(**result)
            return result

        self._original = original
        AutoMLState._compute_with_config_base = staticmethod(evaluate)
        return self

    def __exit__(self, *exc):
        from flaml.automl.state import AutoMLState

        AutoMLState._compute_with_config_base = staticmethod(self._original)


def _die_with_parent() -> None:
    """Exit when the runner that started this process is gone (killed with -9: it cannot
    stop this process then, and a search nobody records must not go on)."""
    import threading

    parent = os.getppid()

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(0.5)
        os._exit(3)

    threading.Thread(target=watch, name="mlws-automl-parent", daemon=True).start()


def main(argv: list[str] | None = None) -> int:
    """``python -m jupyter_mlws.automl.search JOB.json``: 0 once the search ended by itself."""
    import logging

    logging.getLogger("flaml").setLevel(logging.WARNING)
    path = (argv if argv is not None else sys.argv[1:])[0]
    _die_with_parent()
    with open(path) as f:
        job = json.load(f)
    code = run(job)
    sys.stdout.flush()
    return code


if __name__ == "__main__":
    os.environ.setdefault("PYTHONHASHSEED", "0")
    sys.exit(main())
