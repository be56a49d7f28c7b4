"""A search whose trials run on a Dask cluster: one Dask task per trial, FLAML's searcher asked
for the next configuration here.

FLAML runs concurrent trials only on Ray or Spark (``n_concurrent_trials``).  On a dask target
the search is driven here, in the runner, the way FLAML's own parallel search drives it
(``AutoML._search_parallel``), with FLAML's pieces only:

1. ``AutoML.fit(..., max_iter=0, keep_search_state=True)`` prepares the search without running
   a trial (FLAML's documented way to reach ``search_space``, ``low_cost_partial_config``,
   ``points_to_evaluate`` ... and the prepared data): its validation split, its estimators'
   spaces, the warm start of a resumed search (``starting_points``).
2. FLAML's CFO searcher over that space (the one ``AutoML`` uses by default; BlendSearch would
   need Optuna) is asked for configurations (``suggest``) while the cluster has a free thread,
   and told each result (``on_trial_complete``): ask and tell.
3. Each configuration is one Dask task (:func:`evaluate`): FLAML's own trial function
   (``AutoMLState._compute_with_config_base``, what ``AutoML.trainable`` calls) on the
   prepared data, scattered to the workers once.  A task returns the loss and when it ran; the
   model it trained stays on the worker.

Each trial is recorded here, by this process alone, when its task's result arrives: the workers
never write to the workspace (no database lock, no token), and a task Dask ran again after its
worker died gives its future one result, recorded once (the trial's id is taken off the pending
set as it is recorded).  Its child run's start and end are the task's on the worker.

The budget: the deadline is kept here (the search's start + budget - the refit's reserve), and
at it the tasks still running are canceled and the run says so.  Dask cannot interrupt a task
that is running: each trial is given the budget left when it was submitted as its time limit,
which FLAML's estimators keep to (LightGBM and XGBoost stop boosting at it), and what it ends
with after the deadline is dropped.
"""

from __future__ import annotations

import copy
import time
import uuid
from typing import Any, Mapping

#: the CPU threads one trial's estimator uses (a Dask worker's thread is one core's work)
TRIAL_JOBS = 1
#: consecutive failed trials after which the search fails (the cluster cannot run FLAML)
MAX_FAILURES = 10
#: the searcher suggesting nothing this many times in a row, with no trial running: it is done
#: (``flaml.tune.run``'s ``max_failure``)
MAX_NONES = 100
#: seconds between two looks at the running tasks
POLL_S = 0.05
#: times an attempt sends the prepared data again after the workers holding it left (more: the
#: cluster keeps losing workers, and the search fails saying so)
MAX_RESENDS = 5
#: seconds to wait for a worker to take the data sent again
RESEND_TIMEOUT_S = 30


# -- on a worker ------------------------------------------------------------------------------


def evaluate(state, config: Mapping[str, Any], estimator: str, time_left: float | None) -> dict:
    """On a Dask worker: one trial of ``estimator`` with ``config`` on FLAML's prepared search
    state; its ``val_loss``, ``metric_for_logging``, ``pred_time`` and its ``started`` and
    ``ended`` (seconds since the epoch, this machine's clock).  ``time_left``: the search's
    budget left in seconds (the trial's time limit), None for a search of counted trials."""
    from flaml.automl.state import AutoMLState

    trial_state = copy.copy(state)  # the scattered state is shared by the worker's threads
    trial_state.n_jobs = TRIAL_JOBS
    if time_left is not None and state.time_budget > 0:
        trial_state.time_from_start = max(0.0, state.time_budget - time_left)
    started = time.time()
    result = AutoMLState._compute_with_config_base(dict(config), state=trial_state,
                                                   estimator=estimator, is_report=False)
    ended = time.time()
    logged = result.get("metric_for_logging")
    return {"val_loss": float(result["val_loss"]), "pred_time": result.get("pred_time"),
            "metric_for_logging": logged if isinstance(logged, dict) else {},
            "started": started, "ended": ended}


def flaml_version() -> str | None:
    """On a worker: the FLAML it imports with LightGBM (None: it cannot run a trial)."""
    import importlib.util

    if importlib.util.find_spec("flaml") is None or importlib.util.find_spec("lightgbm") is None:
        return None
    from flaml import __version__

    return __version__


# -- here: the driver ------------------------------------------------------------------------


class DaskSearch:
    """The search of one attempt with its trials on dask target ``backend`` (a
    :class:`~jupyter_mlws.compute.dask.DaskTarget`), recording through ``runner`` (a
    :class:`~.runner.Runner`): ``run(table, budget, began)`` returns ``search_s`` and
    ``setup_s`` (from ``began``, monotonic: when the attempt started; the table read and FLAML
    imported here count as set-up) as the local search does."""

    def __init__(self, runner, backend):
        self.runner, self.backend = runner, backend
        self.pending: dict[Any, tuple[str, dict, str, dict, float]] = {}
        self.failures, self.last_error = 0, ""  # trials failed in a row, the last one's why
        self.submitted = 0
        self.threads = 1  # the cluster's worker threads: trials at once
        self._exhausted = False  # the searcher has nothing more to suggest
        self.start_wall = time.time()
        self.known = {t.key(): t for t in runner.previous}
        #: the prepared search state scattered to the workers (its future), sent again when
        #: the workers holding it left (:meth:`_resend`)
        self.state, self.data = None, None
        self.resends = 0
        self.sent_on: dict = {}  # a pending trial's future -> the data's future it reads
        self.reruns: dict[str, int] = {}  # a trial's id -> times it ran again (lost, not failed)

    def run(self, table, budget: float, began: float) -> dict[str, float]:
        from ..errors import MlwsError
        from .search import FLAML_MARGIN_S, choose_metric, validation

        runner = self.runner
        with runner.beating():  # the set-up below takes its time on a loaded machine
            client = self.backend.client()  # StepFailed naming the step when out of reach
            self._check_workers(client)
            frame, y = table
            metric, _ = choose_metric(runner.spec.task, y, runner.metric or runner.spec.metric)
            automl, searcher = self._prepare(frame.copy(), y, metric, budget + FLAML_MARGIN_S)
            state = automl._state
            # the prepared data, sent once (again only if the workers holding it leave: Dask's
            # active memory manager may keep one copy of what is broadcast)
            self.state, self.data = state, client.scatter(state, broadcast=True, hash=False)
        runner.set_metric(metric)
        runner.rows, runner.validation = len(y), validation(state)
        runner.trial_jobs = TRIAL_JOBS  # the refit here trains as the trials did
        fit_at = time.monotonic()
        self.start_wall = time.time()
        runner.log(f"the search runs its trials on dask {self.backend.address} "
                   f"({self._threads(client)} worker threads)")
        stopped_at = None
        beat = 0.0
        try:
            while True:
                # what ended before the deadline is recorded
                self._collect(client, searcher, automl, fit_at + budget)
                now = time.monotonic()
                if runner.full or (self._exhausted and not self.pending):
                    break
                if now >= fit_at + budget - runner.reserve():
                    stopped_at = now
                    break
                self._fill(client, searcher, automl, fit_at + budget)
                if self.failures >= MAX_FAILURES:
                    raise MlwsError(f"{self.failures} trials in a row failed on dask "
                                    f"{self.backend.address}: {self.last_error}")
                if now - beat > min(1.0, runner.svc.heartbeat_interval):
                    beat = now
                    runner.add_spent(now - fit_at)
                    runner.heartbeat()
                    self._refresh_threads(client)
                time.sleep(POLL_S)
        finally:
            running = self._cancel(client)
        end = stopped_at or time.monotonic()
        if stopped_at is not None and running:
            self._note_stopped(running, stopped_at)
        elif stopped_at is not None:
            runner.notes.append("the budget's deadline stopped the search")
        search_s = end - fit_at
        runner.add_spent(search_s)
        return {"search_s": search_s, "setup_s": fit_at - began}

    # -- preparing ------------------------------------------------------------------------

    def _check_workers(self, client) -> None:
        from ..errors import Unavailable

        seen = dict(client.run(flaml_version, on_error="return"))
        if not seen:
            raise Unavailable(f"dask {self.backend.address} has no workers: start some, then "
                              "resume the search")
        lacking = sorted(w for w, v in seen.items() if not isinstance(v, str))
        if lacking:
            raise Unavailable(f"{len(lacking)} of the {len(seen)} workers of dask "
                              f"{self.backend.address} cannot import jupyter_mlws and "
                              f"FLAML with LightGBM "
                              f"({', '.join(lacking[:3])}): pip install 'jupyter_mlws[automl]' "
                              "where the workers run")
        self.threads = self._threads(client)

    @staticmethod
    def _threads(client) -> int:
        return max(1, sum(client.nthreads().values()))

    def _refresh_threads(self, client) -> None:
        """Workers come and go: as many trials at once as they have threads now (the last
        count kept while the scheduler does not answer: its tasks' futures say what is lost)."""
        try:
            self.threads = self._threads(client)
        except Exception:  # noqa: BLE001 - an unanswered question, not a failed search
            pass

    def _prepare(self, frame, y, metric: str, time_budget: float):
        """FLAML's prepared search (no trial run) and its CFO searcher."""
        from functools import partial

        from flaml import CFO, AutoML
        from flaml.automl.automl import size

        from .search import _starting_points

        spec = self.runner.spec
        settings = dict(task=spec.task, metric=metric, seed=spec.seed, max_iter=0,
                        time_budget=-1 if spec.max_trials else time_budget,
                        retrain_full=False, keep_search_state=True, model_history=False,
                        verbose=0, mlflow_logging=False, n_jobs=TRIAL_JOBS)
        if spec.estimators:
            settings["estimator_list"] = list(spec.estimators)
        starting = _starting_points([t.known() for t in self.runner.previous])
        if starting:
            settings["starting_points"] = starting
        automl = AutoML()
        automl.fit(frame, y, **settings)
        samples = (spec.max_trials - len(self.runner.previous)) if spec.max_trials else -1
        space = automl.search_space
        searcher = CFO(metric="val_loss", mode="min", space=space,
                       low_cost_partial_config=automl.low_cost_partial_config,
                       points_to_evaluate=automl.points_to_evaluate,
                       cat_hp_cost=automl.cat_hp_cost, resource_attr=automl.resource_attr,
                       min_resource=automl.min_resource, max_resource=automl.max_resource,
                       config_constraints=[(partial(size, automl._state.learner_classes), "<=",
                                            automl._mem_thres)],
                       metric_constraints=automl.metric_constraints, seed=spec.seed,
                       num_samples=samples, allow_empty_config=True)
        searcher.set_search_properties("val_loss", "min", space,
                                       **({"num_samples": samples} if samples > 0 else {}))
        return automl, searcher

    # -- asking and telling ----------------------------------------------------------------

    def _fill(self, client, searcher, automl, deadline: float) -> None:
        """Ask the searcher for configurations while the cluster has a free thread; submit
        each as a task (a finished trial of an earlier attempt is told at once, not run)."""
        from .search import config_key

        limit = self._limit(deadline)
        nones = 0
        while len(self.pending) < self.threads and not self.runner.full:
            trial_id = f"t{self.submitted}-{uuid.uuid4().hex[:6]}"
            suggested = searcher.suggest(trial_id)
            if suggested is None:  # none now: wait for a result, or ask again (as tune.run)
                nones += 1
                if self.pending:
                    return
                if nones >= MAX_NONES:
                    self._exhausted = True
                    return
                continue
            self.submitted += 1
            estimator, config = _split(suggested, automl)
            size = int(config.get("FLAML_sample_size", automl._state.data_size[0]))
            done = self.known.get(config_key(estimator, config, size))
            if done is not None:
                searcher.on_trial_complete(trial_id, _told(suggested, done.val_loss,
                                                           done.train_time_s))
                continue
            self._submit(client, trial_id, suggested, estimator, config, limit)

    def _submit(self, client, trial_id: str, suggested: dict, estimator: str, config: dict,
                limit: float | None) -> None:
        """One trial's task on the prepared data (its key names the search, the trial and the
        sending of the data it reads)."""
        future = client.submit(evaluate, self.data, config, estimator, limit, pure=False,
                               key=f"mlws-automl-{self.runner.run_id}-{trial_id}-{self.resends}")
        self.pending[future] = (trial_id, suggested, estimator, config, time.time())
        self.sent_on[future] = self.data

    def _collect(self, client, searcher, automl, deadline: float) -> None:
        """Tell the searcher each finished task's result and record its trial, once; trials
        that could not run because the prepared data was lost with its workers, or whose result
        was lost with the worker holding it, run again (``deadline``, monotonic: their time
        limit's end)."""
        from .trials import Trial

        lost = []
        for future in [f for f in self.pending if f.done()]:
            trial_id, suggested, estimator, config, _ = entry = self.pending.pop(future)
            data = self.sent_on.pop(future, None)
            got = None
            if future.status == "finished":
                try:  # its result is on the worker that ran it, which may have left since
                    got = future.result(timeout=RESEND_TIMEOUT_S)
                except Exception:  # noqa: BLE001 - lost with its worker: it runs again below
                    pass
            if got is None and (future.status == "finished" or
                                (data is not None and data.status != "finished")):
                self.reruns[trial_id] = self.reruns.get(trial_id, 0) + 1
                if self.reruns[trial_id] <= MAX_RESENDS:
                    lost.append(entry)  # not the trial's failure: its data or result is gone
                    continue
            if got is None:
                self.failures += 1
                self.last_error = _why(future)
                searcher.on_trial_complete(trial_id, None, error=True)
                self.runner.log(f"a trial of {estimator} failed on dask: {self.last_error}")
                continue
            self.failures = 0
            seconds = got["ended"] - got["started"]
            searcher.on_trial_complete(trial_id, _told(suggested, got["val_loss"], seconds))
            trial = Trial(number=0, estimator=estimator, config=dict(config),
                          val_loss=got["val_loss"], train_time_s=seconds,
                          wall_clock_s=got["ended"] - self.start_wall,
                          sample_size=int(config.get("FLAML_sample_size",
                                                     automl._state.data_size[0])),
                          logged_metric={**got["metric_for_logging"],
                                         "pred_time": got["pred_time"]})
            self.runner.record_trial(trial, started=got["started"], ended=got["ended"])
        if lost and self.data.status != "finished":
            self._resend(client, len(lost))
        limit = self._limit(deadline)
        for trial_id, suggested, estimator, config, _ in lost:  # on the data there is now
            self._submit(client, trial_id, suggested, estimator, config, limit)

    def _resend(self, client, lost: int) -> None:
        """The workers holding the prepared data left (killed, or their machine gone) and Dask
        cannot compute it again: send it again to the workers there are (``lost``: the trials
        that run again on it).  MlwsError when it was sent MAX_RESENDS times already, or no
        worker takes it within RESEND_TIMEOUT_S."""
        from ..errors import MlwsError

        runner, where = self.runner, f"dask {self.backend.address}"
        if self.resends >= MAX_RESENDS:
            raise MlwsError(f"the workers of {where} holding the search's data left "
                            f"{self.resends + 1} times: the cluster keeps losing workers; "
                            f"check them, then 'mlws automl resume {runner.run_id}'")
        self.resends += 1
        try:
            self.data = client.scatter(self.state, broadcast=True, hash=False,
                                       timeout=RESEND_TIMEOUT_S)
        except Exception as exc:  # noqa: BLE001 - no worker took it: say where and what to do
            raise MlwsError(f"the workers of {where} holding the search's data left and no "
                            f"worker took it again within {RESEND_TIMEOUT_S} s "
                            f"({type(exc).__name__}): start workers, then "
                            f"'mlws automl resume {runner.run_id}'") from exc
        runner.log(f"the worker holding the search's data left {where}: its data was sent "
                   f"again and {lost} trial{'s' if lost != 1 else ''} it lost run again")

    def _limit(self, deadline: float) -> float | None:
        """A trial's time limit: the seconds to ``deadline`` (monotonic), None for a search of
        counted trials."""
        return None if self.runner.spec.max_trials else max(0.0, deadline - time.monotonic())

    def _cancel(self, client) -> list[tuple[str, dict, float]]:
        """Cancel the trials still pending and release the scattered data; what the trials
        were (estimator, config, when submitted)."""
        futures = list(self.pending)
        running = [(e, c, at) for _, _, e, c, at in self.pending.values()]
        self.pending.clear()
        self.sent_on.clear()
        try:
            client.cancel(futures + ([self.data] if self.data is not None else []), force=True)
        except Exception:  # noqa: BLE001 - a scheduler gone meanwhile holds nothing to cancel
            pass
        return running

    def _note_stopped(self, running, stopped_at: float) -> None:
        runner = self.runner
        wall = time.time() - (time.monotonic() - stopped_at)
        estimator, config, at = min(running, key=lambda r: r[2])
        runner.stopped = {"estimator": estimator,
                          "config": {k: v for k, v in config.items() if k != "FLAML_sample_size"},
                          "ran_s": round(max(0.0, wall - at), 3), "running": len(running),
                          "where": f"dask {self.backend.address}"}
        from .runner import _stopped_text

        text = f"the budget's deadline stopped the search: {_stopped_text(runner.stopped)}"
        runner.notes.append(text)
        runner.log(text)


def _split(suggested: Mapping[str, Any], automl) -> tuple[str, dict]:
    """FLAML's suggested configuration as (estimator, its hyper-parameters) (what
    ``AutoML.trainable`` does with it)."""
    sample = suggested.get("FLAML_sample_size")
    config = dict(suggested.get("ml", suggested))
    estimator = config.pop("learner", None) or automl.estimator_list[0]
    config.pop("_choice_", None)
    if sample:
        config["FLAML_sample_size"] = sample
    return estimator, config


def _told(suggested: Mapping[str, Any], val_loss: float, seconds: float) -> dict:
    """A result as FLAML's searchers are told it (what ``flaml.tune.report`` builds)."""
    return {"val_loss": val_loss, "time_total_s": seconds, "training_iteration": 0,
            "config": dict(suggested), **{f"config/{k}": v for k, v in suggested.items()}}


def _why(future) -> str:
    if future.status == "cancelled":  # by the scheduler: what it needed was lost
        return "canceled by the cluster (a worker it ran on or needed left)"
    try:
        exc = future.exception(timeout=1)
    except Exception as err:  # noqa: BLE001 - canceled, or lost with its scheduler
        return f"{type(err).__name__} ({future.status})"
    return f"{type(exc).__name__}: {str(exc)[:300]}" if exc is not None else future.status
