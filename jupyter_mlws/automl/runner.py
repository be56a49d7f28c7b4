"""Executes a recorded automated-ML search: the parent run's process.

Run as ``python -m jupyter_mlws.automl.runner WORKSPACE RUN_ID`` (what the ``local`` target
starts for ``ws.automl(...)`` without ``wait``), or in the calling process (``wait=True``).

1. The search runs in a process of its own (:mod:`.search`, FLAML), its trials read from
   FLAML's training log as they end; each becomes a child run (params: the estimator and its
   hyper-parameters; metrics: the validation metric, ``val_loss``, ``train_time_s``), once.
2. The budget is kept here, not by FLAML: its clock starts when FLAML's search starts (loading
   the table and the libraries before that is ``setup_s``, shown apart), and the search is
   stopped at ``start + budget - refit reserve`` (the reserve: what refitting the best
   configuration so far is expected to take, from its trial time and how FLAML validated it:
   a trial of 5-fold cross-validation trains five models on 80 % of the rows, the refit one
   on all of them), whatever trial is running;
   the run's log and summary name the trial that was stopped.  The best configuration is then
   refit on the whole table (``refit_s``), so the search and the refit together keep to the
   budget; an overrun is shown in the summary (``time_spent_s`` against ``time_budget_s``).
3. The model is stored with the run (``model/model.pkl``, a generated ``model/score.py``) and,
   unless ``register`` is off, registered with lineage to the run and the dataset version, the
   environment hash, and the training features' statistics (drift).

On a dask target the trials run on the cluster (:mod:`.dask_trials`); on an ssh or vm target
the search and the refit run on its host, watched from here over SSH (:mod:`.host_search`):
either way this process records everything, as above.

A resumed search (:meth:`.service.AutoMLService.resume`) is executed the same way: its finished
trials are handed to the new search process, which replays them without training (no child
is recorded twice), and its budget is what the interrupted attempts left.
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import threading
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

from .. import run_records as R
from ..errors import Conflict, InvalidInput, MlwsError
from .spec import AutoMLSpec
from .trials import Trial, best, parse_lines, trials_of

#: seconds between two looks at the search process (ended?) before its search started
POLL_S = 0.05
#: seconds between two reads of its logs once it started (each read records the trials that
#: ended; fewer wake-ups leave FLAML's threads the machine's cores: at 20 reads a second, a
#: 2-core machine ran about 8 % fewer of breast_cancer's short trials than FLAML alone)
READ_S = 0.2
#: the refit reserve: this many times the best trial's time, plus REFIT_FLOOR_S
REFIT_FACTOR, REFIT_FLOOR_S = 1.25, 0.2
#: the parent's tags
SPEC_TAG, SPENT_TAG, METRIC_TAG = "automl.spec", "automl.spent_s", "automl.metric"
#: the parent's live log
LOG = "automl.log"
#: the target types a search runs on over SSH (:mod:`.host_search`)
HOST_TYPES = ("ssh", "vm")


class Runner:
    """One attempt at an automated-ML search (see the module's docstring).

    ``service`` is the :class:`~.service.AutoMLService` (its runs, artifacts, datasets,
    models and work folder).
    """

    def __init__(self, service, run_id: str):
        self.svc, self.run_id = service, run_id
        record = service.runs.get(run_id)
        self.spec = AutoMLSpec.from_dict(json.loads(record.tags[SPEC_TAG]))
        self.work = service.work_folder(run_id)
        self.previous = trials_of(service.runs.children(run_id))
        self.spent_before = float(record.tags.get(SPENT_TAG) or 0.0)
        self.metric: str | None = record.tags.get(METRIC_TAG)
        self.trials: list[Trial] = list(self.previous)
        self.notes: list[str] = []
        self.stopped: dict | None = None
        #: how the search validates a trial (``fits``, ``fit_share``) and the table's rows, once
        #: the search process said (see :meth:`refit_scale`)
        self.validation: dict | None = None
        self.rows = 0
        #: the threads the trials' estimators had (the refit gets as many: its reserve is
        #: reckoned from their times); -1: every core
        self.trial_jobs = -1
        #: max_trials trials are recorded
        self.full = bool(self.spec.max_trials) and len(self.previous) >= self.spec.max_trials

    # -- the attempt ----------------------------------------------------------------------

    def execute(self) -> str:
        """Execute the queued search run; return the parent run's final status."""
        from ..compute.local import Process
        from ..notebooks.cancel import Canceled, install_cancel

        runs = self.svc.runs
        if runs.get(self.run_id).status != R.QUEUED:
            raise Conflict(f"automl run {self.run_id} is not queued: it ran or was canceled")
        self._keep_earlier_logs()
        runs.mark_started(self.run_id)
        runs.set_process(self.run_id, Process.current())
        undo = install_cancel() if threading.current_thread() is threading.main_thread() else None
        try:
            return self._execute()
        except (Canceled, KeyboardInterrupt):
            return self._end(R.CANCELED, "canceled by the user")
        except MlwsError as exc:
            self.log(f"failed: {exc}")
            return self._end(R.FAILED, str(exc))
        except Exception as exc:  # a bug or the machine: say so, keep the traceback
            self._end(R.FAILED, f"the search failed: {type(exc).__name__}: {exc}")
            raise
        finally:
            if undo is not None:
                undo()

    def _execute(self) -> str:
        began = time.monotonic()
        version = self.svc.datasets.get(self.spec.data)
        files = self._table_files(version)
        budget = self.spec.time_budget - self.spent_before
        if budget <= 0:
            self.log("no budget left: the interrupted attempts spent it all")
        if self.previous:
            self.log(f"resumed with {len(self.previous)} finished trials; {max(budget, 0):.1f} s "
                     "of the budget left")
        host = self._host()
        # imports FLAML (here, for a refit here) and reads the table while the search runs
        prepared = _Prepared(files, self.spec.target, flaml=host is None)
        prepared.start()
        captured = None
        try:
            if host is not None:
                with self.beating():  # connecting and uploading the table take their time
                    host.open(files, self._job())
            if budget <= 0 or self.full:
                search = {"search_s": 0.0, "setup_s": 0.0}
            elif host is not None:
                from .host_search import HostSearch

                search = HostSearch(self, host, budget, began).run()
            elif self.spec.compute != "local":
                search = self._search_on_dask(prepared, budget, began)
            else:
                search = self._search(files, budget)
            top = best(self.trials)
            if top is None:
                raise InvalidInput(f"no trial finished within the budget of "
                                   f"{self.spec.time_budget:g} s: give a larger --time-budget")
            if host is not None:
                from .host_search import refit_on_host

                refit_s, model_dir, captured = refit_on_host(self, host, top)
            else:
                refit_s, model_dir = self._refit(prepared, top)
        finally:
            if host is not None:
                host.close()
        spent = self.spent_before + search["search_s"] + refit_s
        summary = self._summary(top, search, refit_s, spent)
        self._store(model_dir, summary)
        self._record_summary(summary)  # first: the model's lineage holds the run's metrics
        if self.spec.register:
            prepared.join()
            model = self._register(model_dir, version, prepared, top, captured)
            self.svc.runs.set_tags(self.run_id, {"automl.model": model})
        return self._end(R.COMPLETED, None)

    def _host(self):
        """The :class:`~.host_search.Host` of the spec's ssh or vm target; None for a search
        here or with its trials on Dask."""
        if self.spec.compute == "local" or \
                self.svc.compute.get(self.spec.compute)["type"] not in HOST_TYPES:
            return None
        from .host_search import Host

        return Host(self, self.spec.compute)

    def _table_files(self, version) -> list[tuple[str, str]]:
        root = version.mount()
        folder = root.parent if root.is_file() else root
        return [(f["path"], str(folder / f["path"])) for f in version.files()]

    # -- the search -----------------------------------------------------------------------

    def _job(self, budget: float | None = None, **paths) -> dict[str, Any]:
        """The search process's job (:func:`.search.write_job`), without its paths unless
        given (``files``, ``log``, ``started``): FLAML's budget is ``budget`` (default: what
        the interrupted attempts left) plus FLAML_MARGIN_S, or none with ``max_trials``."""
        from .search import FLAML_MARGIN_S

        if budget is None:
            budget = self.spec.time_budget - self.spent_before
        return {"target": self.spec.target, "task": self.spec.task,
                "metric": self.metric or self.spec.metric, "seed": self.spec.seed,
                "time_left_s": self.spec.time_budget - self.spent_before,
                "time_budget": -1 if self.spec.max_trials else budget + FLAML_MARGIN_S,
                "max_iter": self.spec.max_trials, "estimators": list(self.spec.estimators),
                "known": [t.known() for t in self.previous], **paths}

    def _search(self, files, budget: float) -> dict[str, float]:
        """Run the search process until it ends or the deadline; record its trials."""
        from .search import write_job

        log, started = self.work / "trials.jsonl", self.work / "events.jsonl"
        for path in (log, started):
            path.unlink(missing_ok=True)
        write_job(self.work / "job.json",
                  self._job(budget, files=files, log=str(log), started=str(started)))
        return _Search(self, log, started, budget).run()

    def _search_on_dask(self, prepared: "_Prepared", budget: float,
                        began: float) -> dict[str, float]:
        """The search with its trials on the spec's dask target (:mod:`.dask_trials`)."""
        from .dask_trials import DaskSearch

        backend = self.svc.compute.target(self.spec.compute)
        with self.beating():
            prepared.join()
        return DaskSearch(self, backend).run(prepared.value(), budget, began)

    def record(self, line: str, replays: dict[str, int]) -> None:
        """Record one finished trial from FLAML's log as a child run (a replayed one, no)."""
        if '"learner"' not in line:
            return  # FLAML's checkpoint (the best record's id) when its search ended by itself
        raw = Trial.from_log(line, 0)
        if replays.get(raw.key()):
            replays[raw.key()] -= 1  # a finished trial of an earlier attempt: recorded then
            return
        ended = time.time()  # read within READ_S of its end: it ran for its trial time
        self.record_trial(raw, started=ended - raw.train_time_s, ended=ended)

    def record_trial(self, raw: Trial, *, started: float | None = None,
                     ended: float | None = None) -> None:
        """Record finished trial ``raw`` (its number given here) as a child run, unless
        ``max_trials`` are recorded already; ``started`` and ``ended`` (seconds since the
        epoch): when it ran, if not just now (a trial on a Dask worker)."""
        if self.spec.max_trials and len(self.trials) >= self.spec.max_trials:
            self.full = True  # every trial asked for is recorded: the search is stopped
            return
        trial = replace(raw, number=len(self.trials) + 1)
        self.trials.append(trial)
        if self.spec.max_trials and len(self.trials) >= self.spec.max_trials:
            self.full = True
        child_id = self.svc.record_child(
            self.run_id, self.spec.experiment, trial, self.metric,
            started_ms=None if started is None else int(started * 1000),
            ended_ms=None if ended is None else int(ended * 1000))
        if self.spec.compute != "local":  # it ran there: what `run list -f "compute = ..."` finds
            self.svc.compute.assign(child_id, self.spec.compute)
        metric = self.metric or "metric"
        self.log(f"trial {trial.number}: {trial.estimator} {metric}="
                 f"{trial.metric_value(metric):.5g} ({trial.train_time_s:.2f} s)")

    def reserve(self) -> float:
        """Seconds kept for the refit of the best trial so far: what one fit of it on every
        row is expected to take (:meth:`refit_scale`), times REFIT_FACTOR, plus REFIT_FLOOR_S."""
        top = best(self.trials)
        if top is None:
            return 0.0
        return REFIT_FACTOR * top.train_time_s * self.refit_scale(top) + REFIT_FLOOR_S

    def refit_scale(self, trial: Trial) -> float:
        """The refit's time as a share of ``trial``'s: a trial trains ``fits`` models (the
        folds of a cross-validation, or one on a holdout's training part) on ``fit_share`` of
        its ``sample_size`` rows each; the refit trains one on all ``rows``, or on as many as
        FLAML searched on when it repeated rare classes' rows (``data_size``: the trials' rows
        then stand for fewer rows of the table, and the refit's time is not theirs scaled
        down: a 214-class target's 442 rows were 4321 FLAML rows, and a reserve reckoned on
        442 left a 14 s refit 1.35 s).  1 until the search process said how it validates."""
        v = self.validation
        rows = max(self.rows, int((v or {}).get("data_size") or 0))
        if not v or not rows or not trial.sample_size:
            return 1.0
        return rows / (trial.sample_size * float(v["fit_share"])) / int(v["fits"])

    def _keep_earlier_logs(self) -> None:
        """A resumed search's logs go on from its earlier attempts' (stored when each ended; a
        killed runner's are still live files, appended to as they are): its log then tells the
        whole search, why an attempt ended included."""
        artifacts = self.svc.artifacts
        if (artifacts.live_root / self.run_id).exists():
            return
        for name, data in artifacts.read_log(self.run_id).items():
            artifacts.live_file(self.run_id, name).write_bytes(data)

    @contextlib.contextmanager
    def beating(self):
        """Within it, a thread beats the parent's heartbeat every heartbeat interval: a step
        that takes its time before the search's loop beats (reading the table and importing
        FLAML, connecting to a host, preparing a search on Dask: 98 s on a loaded machine,
        past the 60 s after which a run without a heartbeat is ended killed)."""
        stop = threading.Event()

        def beat() -> None:
            while not stop.wait(self.svc.heartbeat_interval):
                try:
                    self.svc.runs.heartbeat(self.run_id)
                except Exception:  # noqa: BLE001 - the step's own end says what went wrong
                    return

        thread = threading.Thread(target=beat, name="mlws-automl-setup-beat", daemon=True)
        thread.start()
        try:
            yield
        finally:
            stop.set()
            thread.join(timeout=10)

    def heartbeat(self) -> None:
        """Beat the parent's heartbeat; Canceled when it was ended elsewhere (a cancel)."""
        from ..notebooks.cancel import Canceled, cancel_dropped

        if not self.svc.runs.heartbeat(self.run_id) or cancel_dropped():
            raise Canceled()  # ended elsewhere (a cancel), or this process was told to stop

    # -- after the search ------------------------------------------------------------------

    def _refit(self, prepared: "_Prepared", top: Trial) -> tuple[float, Path]:
        """Refit the best configuration on the whole table; its seconds and the model folder."""
        from .model import refit

        prepared.join()
        began = time.monotonic()
        model_dir = self.work / "model"
        refit(prepared.value(), top, task=self.spec.task, metric=self.metric,
              columns=list(prepared.value()[0].columns), dest=model_dir, work=self.work,
              n_jobs=self.trial_jobs)
        seconds = time.monotonic() - began
        self.log(f"refit {top.estimator} (trial {top.number}) on {len(prepared.value()[1])} rows "
                 f"in {seconds:.2f} s")
        return seconds, model_dir

    def _summary(self, top: Trial, search: dict, refit_s: float, spent: float) -> dict[str, Any]:
        metric = self.metric or "metric"
        return {"metric": metric, "best_trial": top.number, "best_estimator": top.estimator,
                "best_config": top.params(), "best_metric": top.metric_value(metric),
                "trials": len(self.trials), "time_budget_s": self.spec.time_budget,
                "time_spent_s": round(spent, 3), "search_s": round(search["search_s"], 3),
                "refit_s": round(refit_s, 3), "setup_s": round(search["setup_s"], 3),
                "stopped_trial": self.stopped, "attempts_spent_s": round(self.spent_before, 3),
                "notes": list(self.notes)}

    def _store(self, model_dir: Path, summary: dict) -> None:
        arts = self.svc.artifacts
        arts.upload_folder(self.run_id, "model", model_dir)
        board = self.svc.leaderboard(self.run_id, self.metric or "metric")
        for name, data in (("automl/leaderboard.json", board), ("automl/summary.json", summary)):
            sha, size = self.svc.blobs.put_bytes(json.dumps(data, indent=1, default=str).encode())
            self.svc.runs.add_files(self.run_id, "artifact", [(name, sha, size)])

    def _register(self, model_dir: Path, version, prepared: "_Prepared", top: Trial,
                  captured: dict | None = None) -> str:
        """Register the model folder with lineage to the run and ``version``, the environment
        it was trained in (``captured`` on a host; else this process's) and the training
        features' statistics."""
        from ..environment import capture, env_hash

        captured = captured or capture()
        self.svc.record_environment(self.run_id, captured)
        frame = prepared.value()[0]
        model = self.svc.models.register(
            self.spec.model_name, model_dir, run=self.run_id, training_data=frame,
            tags={"env_hash": env_hash(captured), "automl.run": self.run_id,
                  "automl.estimator": top.estimator, "automl.metric": self.metric or "",
                  "automl.dataset": version.ref},
            description=f"automated ML on {version.ref}: {top.estimator}, "
                        f"{self.metric}={top.metric_value(self.metric or ''):.5g}")
        self.svc.datasets.record_training(version.ref, model.pk)
        self.log(f"registered {model.ref}")
        return model.ref

    def _record_summary(self, summary: dict) -> None:
        metric = summary["metric"]
        metrics = {f"best_{metric}": summary["best_metric"], "trials": summary["trials"],
                   "time_spent_s": summary["time_spent_s"], "search_s": summary["search_s"],
                   "refit_s": summary["refit_s"], "setup_s": summary["setup_s"],
                   "time_budget_s": summary["time_budget_s"]}
        tags = {SPENT_TAG: str(summary["time_spent_s"]),
                "automl.best_trial": str(summary["best_trial"]),
                "automl.best_estimator": summary["best_estimator"],
                "automl.best_config": json.dumps(summary["best_config"], default=str)[:4000]}
        if summary.get("stopped_trial"):
            tags["automl.stopped"] = _stopped_text(summary["stopped_trial"])
        ts = R.now_ms()
        self.svc.runs.write_batch(self.run_id, tags=tags,
                                  points=[(k, float(v), 0, ts) for k, v in metrics.items()])

    # -- bookkeeping ----------------------------------------------------------------------

    def log(self, line: str) -> None:
        """One line of the parent's log (``mlws run logs RUN``)."""
        path = self.svc.artifacts.live_file(self.run_id, LOG)
        with open(path, "a") as f:
            f.write(f"{time.strftime('%H:%M:%S')} {line}\n")

    def set_metric(self, metric: str) -> None:
        """The metric the search judges by, once the search process chose it."""
        if self.metric is None:
            self.metric = metric
            self.svc.runs.set_tags(self.run_id, {METRIC_TAG: metric})
            self.svc.runs.log_params(self.run_id, {"metric": metric})

    def add_spent(self, seconds: float) -> None:
        """Keep the budget spent so far on the parent (what a resumed search has left)."""
        self.svc.runs.set_tags(self.run_id, {SPENT_TAG: f"{self.spent_before + seconds:.3f}"})

    def _end(self, status: str, error: str | None) -> str:
        self.svc.artifacts.store_live_logs(self.run_id)
        try:
            return self.svc.runs.end(self.run_id, status, error[:4000] if error else None).status
        except Conflict:  # canceled meanwhile
            return self.svc.runs.get(self.run_id).status


class _Search:
    """The search process of one attempt, watched until it ends or its deadline."""

    def __init__(self, runner: Runner, log: Path, events: Path, budget: float):
        self.runner, self.log_path, self.events_path, self.budget = runner, log, events, budget
        self.offsets = {log: 0, events: 0}
        self.rest = {log: b"", events: b""}
        self.fit_at: float | None = None  # monotonic, when FLAML's search started
        self.last_trial: dict | None = None
        self.started = 0  # trials started (not replayed) in this attempt
        self.error: str | None = None
        self.replays: dict[str, int] = {}
        for t in runner.previous:
            self.replays[t.key()] = self.replays.get(t.key(), 0) + 1

    def run(self) -> dict[str, float]:
        from ..compute import local

        runner = self.runner
        out = runner.svc.artifacts.live_file(runner.run_id, "search.log")
        began = time.monotonic()
        with open(out, "ab") as sink:
            child = local.start_session(
                [sys.executable, "-m", "jupyter_mlws.automl.search", str(runner.work / "job.json")],
                stdin=subprocess.DEVNULL, stdout=sink, stderr=sink,
                env={**os.environ, "PYTHONHASHSEED": "0"})
        beat = read = 0.0
        deadline = None  # monotonic, once the search started: reckoned after each read
        stopped_at = None
        try:
            while True:
                code = child.poll()
                now = time.monotonic()
                # until the search starts, every look reads: its start is the clock's
                if code is not None or deadline is None or now - read >= READ_S:
                    read = now
                    self._read()
                    deadline = None if self.fit_at is None else self._deadline()
                if code is not None:
                    break
                if runner.full:
                    local.signal_group(child.pid, 9)
                    child.wait()
                    break
                if deadline is not None and now >= deadline:
                    local.signal_group(child.pid, 9)  # at once: a trial in C code ignores SIGTERM
                    child.wait()
                    stopped_at = time.monotonic()
                    break
                if now - beat > min(1.0, runner.svc.heartbeat_interval):
                    beat = now
                    if self.fit_at is not None:
                        runner.add_spent(now - self.fit_at)
                    runner.heartbeat()
                # woken at the deadline itself, not up to READ_S past it
                time.sleep(POLL_S if deadline is None
                           else min(READ_S, max(deadline - time.monotonic(), 0.001)))
        except BaseException:
            local.stop_child(child, 1.0)
            raise
        end = stopped_at or time.monotonic()
        self._read()  # what was written before it ended
        if self.error:
            raise InvalidInput(self.error)
        if self.fit_at is None:
            raise MlwsError(f"the search process ended (status {child.returncode}) before it "
                            f"started: 'mlws run logs {runner.run_id} --name search.log' shows why")
        if stopped_at is not None:
            self._note_stopped(stopped_at)
        elif child.returncode != 0 and not runner.full:
            raise MlwsError(f"the search process failed (status {child.returncode}): "
                            f"'mlws run logs {runner.run_id} --name search.log' shows why")
        search_s = end - self.fit_at
        runner.add_spent(search_s)
        return {"search_s": search_s, "setup_s": self.fit_at - began}

    def _deadline(self) -> float:
        return self.fit_at + self.budget - self.runner.reserve()

    def _read(self) -> None:
        for line in self._lines(self.events_path):
            self._event(json.loads(line))
        for line in self._lines(self.log_path):
            self.runner.record(line, self.replays)

    def _lines(self, path: Path) -> list[str]:
        try:
            with open(path, "rb") as f:
                f.seek(self.offsets[path])
                data = f.read()
        except FileNotFoundError:
            return []
        self.offsets[path] += len(data)
        lines, self.rest[path] = parse_lines(self.rest[path] + data)
        return lines

    def _event(self, event: dict) -> None:
        kind = event.get("event")
        if kind == "fit":
            # FLAML's clock: the monotonic time of its wall-clock stamp
            self.fit_at = time.monotonic() - max(0.0, time.time() - float(event["at"]))
            self.runner.set_metric(event["metric"])
            self.runner.rows = int(event.get("rows") or 0)
        elif kind == "validation":
            self.runner.validation = event
        elif kind == "trial":
            self.last_trial = event
            self.started += 1
        elif kind == "error":
            self.error = str(event.get("message"))

    def _note_stopped(self, stopped_at: float) -> None:
        """Say which trial the deadline stopped (the last one started and not finished)."""
        runner = self.runner
        trial = self.last_trial
        recorded = len(runner.trials) - len(runner.previous)
        if trial is not None and self.started > recorded:
            ran = max(0.0, time.time() - float(trial["at"]) - (time.monotonic() - stopped_at))
            runner.stopped = {"estimator": trial["estimator"],
                              "config": {k: v for k, v in trial["config"].items()
                                         if k != "FLAML_sample_size"},
                              "ran_s": round(ran, 3)}
        text = ("the budget's deadline stopped the search" +
                (f": {_stopped_text(runner.stopped)}" if runner.stopped else ""))
        runner.notes.append(text)
        runner.log(text)


def _stopped_text(stopped: dict) -> str:
    if stopped.get("where"):  # trials on a cluster: every one running then was canceled
        count = int(stopped.get("running") or 1)
        first = f"{stopped['estimator']}, {stopped['ran_s']:.2f} s in"
        return (f"the trial running then ({first}) was canceled on {stopped['where']} and is "
                "not recorded" if count == 1 else
                f"the {count} trials running then (the longest: {first}) were canceled on "
                f"{stopped['where']} and are not recorded")
    return (f"the trial running then ({stopped['estimator']}, {stopped['ran_s']:.2f} s in) was "
            "stopped and is not recorded")


class _Prepared(threading.Thread):
    """Imports FLAML (with ``flaml``: for a refit here) and reads the table (features, target)
    in the background."""

    def __init__(self, files, target: str, flaml: bool = True):
        super().__init__(name="mlws-automl-prepare", daemon=True)
        self.files, self.target, self.flaml = files, target, flaml
        self._value = None
        self._error: BaseException | None = None

    def run(self) -> None:
        try:
            from .search import load_table

            if self.flaml:
                import flaml.automl  # noqa: F401  (the refit's import, off the clock)

            frame = load_table(self.files)
            y = frame.pop(self.target)
            self._value = (frame, y)
        except BaseException as exc:  # noqa: BLE001 - raised where the value is asked for
            self._error = exc

    def value(self):
        if self._error is not None:
            raise self._error
        return self._value


def main(argv: list[str] | None = None) -> int:
    """``python -m jupyter_mlws.automl.runner WORKSPACE RUN_ID``: 0 when the search completed."""
    from ..workspace import Workspace

    root, run_id = (argv if argv is not None else sys.argv[1:])[:2]
    with Workspace.open(root) as ws:
        status = ws.automl_service.execute(run_id)
    return 0 if status == R.COMPLETED else 1


if __name__ == "__main__":
    from jupyter_mlws.automl import runner

    sys.exit(runner.main())
