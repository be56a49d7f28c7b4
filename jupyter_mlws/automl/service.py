"""Automated ML in a workspace: start a search, read its leaderboard, resume an interrupted one.

``ws.automl(data="breast:1", target="target", task="classification", time_budget="30s")`` is
:meth:`AutoMLService.start`: the request is checked (:func:`.spec.check`, against the dataset
version's recorded schema and statistics) before anything is recorded; then a parent run of
source type ``automl`` is recorded queued (its spec in the ``automl.spec`` tag, the options as
params, the dataset version as its input) and handed to its compute target, where the runner
(:mod:`.runner`) executes it; or it executes in this process with ``wait=True``.  Each trial is
a child run; :meth:`show` is the leaderboard and the summary, as data (the CLI's table, the REST
API's JSON, a widget's rows).  :meth:`resume` executes an interrupted search again, keeping its
finished trials.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Callable

from .. import run_records as R
from ..errors import Conflict, InvalidInput, Unavailable
from . import spec as S
from .runner import HOST_TYPES, METRIC_TAG, SPEC_TAG, SPENT_TAG
from .trials import TRIAL_TAG, Trial, leaderboard

#: the source type of a search's parent run, and of its trials' child runs
SOURCE_TYPE, TRIAL_SOURCE_TYPE = "automl", "automl-trial"
#: the statuses an interrupted search can be resumed from
RESUMABLE = (R.KILLED, R.FAILED, R.CANCELED)


class AutoMLJob:
    """What the ``local`` target starts for a search: its runner, detached."""

    kind = "automl"
    module = "jupyter_mlws.automl.runner"

    def __init__(self, run_id: str):
        self.run_id = run_id

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "run_id": self.run_id}


class AutoMLService:
    """Start, read and resume automated-ML searches.

    Parameters
    ----------
    runs, artifacts, blobs, models
        The run service, artifact service, blob store and model registry.
    datasets : callable
        ``datasets() -> DatasetService``: the dataset version searched, and lineage.
    compute : callable
        ``compute() -> ComputeService``: the target a search executes on.
    record_environment : callable
        ``record_environment(run_id, captured)``: keeps the environment a run executed in
        (its ``env_hash`` tag and ``environment.json``; the notebook service's rule).
    root : Path
        The workspace folder: searches keep their working files in ``.mlws/automl/RUN_ID``.
    heartbeat_interval : float
        Seconds between two heartbeats of a runner.
    host_python : callable, optional
        ``host_python(target record, run_id) -> str``: the interpreter a search runs with on
        an ssh or vm target's host (the target's ``python``, or with ``env = build`` the
        environment built there: :func:`jupyter_mlws.compute.ssh.runner.python_for`).
    """

    def __init__(self, *, runs, artifacts, blobs, models, datasets: Callable[[], Any],
                 compute: Callable[[], Any], record_environment: Callable[[str, dict], None],
                 root: Path, heartbeat_interval: float,
                 host_python: Callable[[dict, str], str] | None = None):
        self.runs, self.artifacts, self.blobs, self.models = runs, artifacts, blobs, models
        self._datasets, self._compute = datasets, compute
        self._record_environment = record_environment
        self.root, self.heartbeat_interval = Path(root), heartbeat_interval
        self._host_python = host_python

    def host_python(self, target: dict, run_id: str) -> str:
        """The interpreter search ``run_id`` runs with on ssh or vm target ``target``'s host."""
        if self._host_python is None:
            return target["python"]
        return self._host_python(target, run_id)

    @property
    def datasets(self):
        return self._datasets()

    @property
    def compute(self):
        return self._compute()

    # -- starting ----------------------------------------------------------------------------

    def check(self, data: str, target: str, task: str, **options) -> S.AutoMLSpec:
        """Check a search request as :meth:`start` does first, recording nothing; return the
        spec.  Raises as :meth:`start` does."""
        if not isinstance(data, str) or not data:
            raise InvalidInput("give the data: a tabular dataset version, DATASET[:VERSION]")
        version = self.datasets.get(data)  # NotFound saying what exists
        spec = S.check(data=version.ref, stats=version.stats, target=target, task=task, **options)
        self._check_compute(spec.compute)
        return spec

    def _check_compute(self, name: str) -> str:
        """A search executes on ``local``, runs its trials on a dask target, or runs on an ssh
        (or running vm) target's host; return the target's type."""
        kind = self.compute.get(name)["type"]  # NotFound first
        if kind in ("dask", *HOST_TYPES):
            # Unavailable when distributed (or paramiko) is not installed here; Conflict for a
            # vm that is not running
            self.compute.target(name)
        elif kind != "local":
            raise Unavailable(f"automated ML runs on the local target, a dask target or an ssh "
                              f"or vm target, not on {kind} target {name!r}: leave out --compute")
        return kind

    def start(self, data: str, target: str, task: str, *, metric: str | None = None,
              time_budget: float | str = S.DEFAULT_BUDGET_S, max_trials: int | None = None,
              seed: int = 0, estimators=None, experiment: str | None = None,
              compute: str | None = None, register: bool = True, model_name: str | None = None,
              wait: bool = False, on_submitted: Callable[[str], None] | None = None,
              user: str | None = None) -> str:
        """Start a search; return its parent run's id.

        Parameters
        ----------
        data : str
            A tabular dataset version: ``NAME`` (the latest), ``NAME:VERSION`` or ``NAME@ALIAS``
            (pinned to its version when recorded).
        target : str
            The column to predict.
        task : str
            ``classification`` or ``regression``.
        metric : str, optional
            FLAML's metric name (``roc_auc``, ``accuracy``, ``log_loss``, ``r2``, ``rmse``, ...);
            default ``roc_auc`` for two classes, ``accuracy`` for more, ``r2`` for regression.
        time_budget : float or str
            Seconds (>= 5), or ``"90s"``, ``"10m"``, ``"1h"``: the search and the refit of the
            best model together (default 60 s).
        max_trials : int, optional
            At most this many trials; with a fixed ``seed`` the search is then the same each time.
        seed : int
            The search's random seed (default 0).
        estimators : list of str or str, optional
            FLAML estimator names (``lgbm``, ``rf``, ``xgboost``, ``extra_tree``, ``lrl1``, ...);
            default FLAML's list for the task.
        experiment : str, optional
            The parent run's experiment (default ``automl-DATASET``).
        compute : str, optional
            The compute target (default ``local``); a dask target runs the trials in parallel
            on its cluster, one task per trial (:mod:`.dask_trials`); an ssh (or vm) target runs
            the search and the refit on its host, which needs ``jupyter_mlws[automl]``
            (:mod:`.host_search`); the time connecting and uploading takes counts.
        register : bool
            Register the best model (default True), as ``model_name`` (default
            ``DATASET-TARGET``).
        wait : bool
            Execute here and return once the search ended (else a detached runner does).
        on_submitted : callable, optional
            Hears the run id once it is recorded, before it executes.
        user : str, optional
            Who the search records as its user (default: this OS user; a server gives its
            request's user); its trials' runs record the same.

        Raises
        ------
        InvalidInput
            A bad request (see :func:`.spec.check`): nothing is recorded.
        NotFound
            No such dataset version or compute target.
        Unavailable
            FLAML is not installed (``pip install 'jupyter_mlws[automl]'``; for an ssh target,
            on its host: the search fails at its environment step), or a compute target a
            search cannot execute on (dask without ``distributed`` installed here).
        Conflict
            A vm target that is not running.
        """
        spec = self.check(data, target, task, metric=metric, time_budget=time_budget,
                          max_trials=max_trials, seed=seed, estimators=estimators,
                          experiment=experiment, compute=compute, register=register,
                          model_name=model_name)
        if self.compute.get(spec.compute)["type"] not in HOST_TYPES:
            _require_flaml()  # a search on a host needs FLAML there (checked as it connects)
        version = self.datasets.get(spec.data)
        record = self.runs.create(spec.experiment, source_type=SOURCE_TYPE,
                                  source_name=f"{spec.data}: predict {spec.target} ({spec.task})",
                                  status=R.QUEUED, user=user,
                                  tags={SPEC_TAG: json.dumps(spec.to_dict()),
                                        "automl.data": spec.data, **(
                                            {METRIC_TAG: spec.metric} if spec.metric else {})})
        try:
            params = spec.params()
            if spec.metric is None:
                params.pop("metric")  # recorded once the search chose it
            self.runs.log_params(record.id, params)
            self.datasets.record_inputs(record.id, [version])
            if spec.compute != "local":  # where it runs: its trials (dask), or all of it (ssh)
                self.compute.assign(record.id, spec.compute)
        except BaseException as exc:
            self.runs.end(record.id, R.FAILED, f"could not be recorded: {exc}")
            raise
        if on_submitted is not None:
            on_submitted(record.id)
        self._launch(record.id, wait)
        return record.id

    def _launch(self, run_id: str, wait: bool) -> None:
        if wait:
            self.execute(run_id)
        else:
            self.compute.hand_over(self.compute.target("local"), AutoMLJob(run_id), self.runs)

    def execute(self, run_id: str) -> str:
        """Execute queued search ``run_id`` in this process; return its final status."""
        from .runner import Runner

        return Runner(self, self.runs.id_of(run_id)).execute()

    # -- resuming ---------------------------------------------------------------------------

    def resume(self, run_id: str, *, wait: bool = False,
               on_submitted: Callable[[str], None] | None = None) -> str:
        """Execute an interrupted search again (its process killed, its kernel restarted, a
        cancel); return its run id.  Its finished trials are kept (their child runs stay and
        are not run again) and it has the budget the interrupted attempts left.
        ``on_submitted`` hears the run id once it is queued again, before it executes.

        Raises
        ------
        NotFound
            No such run.
        InvalidInput
            The run is not an automated-ML search.
        Conflict
            The search is still running (its process lives), or it completed.
        """
        record = self._search(run_id)
        if record.status in R.LIVE:
            process = self.runs.process_of(record.id)
            if process is not None and process.is_mine():
                raise Conflict(f"search {record.id} is still running: wait for it, or cancel it "
                               f"('mlws run cancel {record.id}') before resuming")
            if record.status == R.RUNNING or process is not None:
                record = self.runs.kill(record.id, "its runner was gone: resumed")
        if record.status == R.COMPLETED:
            raise Conflict(f"search {record.id} completed: start a new one to search again")
        if record.status != R.QUEUED:
            self._end_live_children(record.id)
            self.runs.reopen(record.id, RESUMABLE)
        if on_submitted is not None:
            on_submitted(record.id)
        self._launch(record.id, wait)
        return record.id

    def _end_live_children(self, run_id: str) -> None:
        """A child left running by a runner that died mid-way holds its trial: complete it."""
        for child in self.runs.children(run_id):
            if child.status in R.LIVE:
                try:
                    self.runs.end(child.id, R.COMPLETED if child.tags.get("automl.trial")
                                  else R.KILLED, None)
                except Conflict:
                    pass

    # -- the runner's writes -------------------------------------------------------------------

    def record_child(self, run_id: str, experiment: str, trial: Trial, metric: str | None, *,
                     started_ms: int | None = None, ended_ms: int | None = None) -> str:
        """Record finished ``trial`` as a completed child run of search ``run_id`` (its
        estimator and hyper-parameters as params, its metrics at ``ended_ms``), in one
        transaction; started and ended at ``started_ms`` / ``ended_ms`` (ms since the epoch),
        if not now.  Return the child's id."""
        ts = R.now_ms() if ended_ms is None else ended_ms
        points = [(k, float(v), 0, ts) for k, v in trial.metrics(metric or "metric").items()]
        return self.runs.record_ended(
            experiment, parent_id=run_id, name=f"trial-{trial.number}-{trial.estimator}",
            tags={TRIAL_TAG: trial.to_tag(), "automl.estimator": trial.estimator},
            source_type=TRIAL_SOURCE_TYPE, source_name=f"{trial.estimator} trial {trial.number}",
            params=trial.params(), points=points, started_ms=started_ms, ended_ms=ts)

    def record_environment(self, run_id: str, captured: dict) -> None:
        self._record_environment(run_id, captured)

    def work_folder(self, run_id: str) -> Path:
        """The folder a search keeps its working files in (its job, FLAML's log, the model)."""
        folder = self.root / ".mlws" / "automl" / run_id
        folder.mkdir(parents=True, exist_ok=True)
        return folder

    # -- reading ----------------------------------------------------------------------------

    def leaderboard(self, run_id: str, metric: str) -> list[dict[str, Any]]:
        """The search's trials, best first (see :func:`.trials.leaderboard`)."""
        return leaderboard(self.runs.children(run_id), metric)

    def show(self, run_id: str) -> dict[str, Any]:
        """A search as data: what a UI, the CLI's table and the REST API show.

        Returns
        -------
        dict
            ``run`` (the parent run's record as a dict), ``spec`` (the request, as checked),
            ``metric`` (the metric judged by; None until the search chose it), ``direction``
            (``max`` when a higher ``metric`` is better, ``min`` when a lower one is; None with
            no metric yet), ``leaderboard``
            (rows best first: ``rank``, ``run_id``, ``name``, ``trial``, ``estimator``,
            ``config``, ``metric``, ``val_loss``, ``train_time_s``, ``sample_size``, ``best``),
            ``budget`` (``time_budget_s``, ``time_spent_s``, ``search_s``, ``refit_s``,
            ``setup_s``, ``earlier_s``: what the interrupted attempts of a resumed search
            spent, the last attempt's search and refit being the others; seconds, those not
            known yet None), ``stopped`` (what the deadline
            stopped, or None), ``model`` (the registered ``NAME:VERSION``, or None), ``best``
            (the best row, or None).

        Raises NotFound for no such run, InvalidInput for a run that is not a search.
        """
        record = self._orphan_ended(self._search(run_id))
        spec = S.AutoMLSpec.from_dict(json.loads(record.tags[SPEC_TAG]))
        metric = record.tags.get(METRIC_TAG)
        board = self.leaderboard(record.id, metric or "metric")
        m = record.metrics
        spent = m.get("time_spent_s", _float(record.tags.get(SPENT_TAG)))
        search_s, refit_s = m.get("search_s"), m.get("refit_s")
        earlier = None if spent is None or search_s is None else \
            round(max(0.0, spent - search_s - (refit_s or 0.0)), 3)
        return {"run": record.to_dict(), "spec": spec.to_dict(), "metric": metric,
                "direction": S.direction(metric) if metric else None, "leaderboard": board,
                "best": board[0] if board else None,
                "budget": {"time_budget_s": spec.time_budget, "time_spent_s": spent,
                           "search_s": search_s, "refit_s": refit_s,
                           "setup_s": m.get("setup_s"), "earlier_s": earlier},
                "stopped": record.tags.get("automl.stopped"),
                "model": record.tags.get("automl.model")}


    def _search(self, run_id: str):
        """The record of search ``run_id``; InvalidInput for a run that is not a search (a
        trial names its search)."""
        record = self.runs.get(run_id)
        if record.source_type == SOURCE_TYPE:
            return record
        if record.source_type == TRIAL_SOURCE_TYPE and record.parent_id:
            raise InvalidInput(f"run {record.id} is a trial of automated-ML search "
                               f"{record.parent_id}: give the search's id")
        raise InvalidInput(f"run {record.id} is not an automated-ML search (it is a "
                           f"{record.source_type} run): 'mlws run show {record.id}' shows it")

    def _orphan_ended(self, record):
        """``record``, ended ``killed`` first when it is running and its runner was a process
        of this machine that is gone (killed, or its kernel restarted): what is shown then says
        so at once, not once the heartbeat's timeout has passed."""
        if record.status != R.RUNNING:
            return record
        process = self.runs.process_of(record.id)
        if process is None or not process.gone_here():
            return record
        try:
            return self.runs.kill(record.id, f"killed: its runner process is gone: 'mlws automl "
                                             f"resume {record.id}' goes on with its finished trials")
        except Conflict:  # it ended meanwhile
            return self.runs.get(record.id)


def _float(text: str | None) -> float | None:
    try:
        return float(text) if text is not None else None
    except ValueError:
        return None


def _require_flaml() -> None:
    import importlib.util

    from ..errors import missing_dependency

    if importlib.util.find_spec("flaml") is None or importlib.util.find_spec("lightgbm") is None:
        raise missing_dependency("flaml[automl]", "automl")
