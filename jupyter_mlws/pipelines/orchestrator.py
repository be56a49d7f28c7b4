"""Executes a recorded pipeline run: its steps in DAG order, in parallel where the DAG allows.

Run as ``python -m jupyter_mlws.pipelines.orchestrator WORKSPACE RUN_ID`` (what the ``local``
target starts for ``mlws pipeline run`` without ``--wait``), or in the calling process
(``--wait``).  For each step whose upstream steps are done it decides, in this order:

1. not selected (``--only`` / ``--from``): *skipped*, its outputs those of its latest completed
   run *with its key now* (so ``-p train.C 0.1 --from evaluate`` takes a train run made with
   C=0.1); a step the selected ones need with no such run fails the pipeline run before any
   step runs, naming what differs; one after a selected step is left without outputs;
2. forced (``--force STEP`` and what depends on it, ``--no-reuse``): it runs;
3. a completed run of a step with the same key whose outputs are all there: *reused*;
4. a running run of a step with the same key (another pipeline run's, e.g. one whose
   orchestrator was killed): waited for, then reused if it completed;
5. else it runs, saying which part of its key changed since its latest completed run.

A step that runs is a child notebook run (a script step too: the executor runs it as a
script), submitted from the pipeline's snapshot with its inputs placed in ``inputs/`` and
handed to the compute target through :class:`~jupyter_mlws.notebooks.sweep.TargetLauncher`
(``local`` included), at most ``max_parallel`` at a time.  A reused or skipped step gets a child
run too, completed at once, holding the same output blobs and tagged ``reused_from``.
"""

from __future__ import annotations

import sys
import threading
import time
from typing import Any, Callable

from .. import run_records as R
from ..errors import Conflict, InvalidInput, MlwsError
from .definition import Pipeline, Step, parse, resolve_parameters
from .keys import FORCED, Key, code_hash, dep_hashes, explain

#: seconds between two looks at the running steps
POLL_S = 0.1
#: seconds between two checks, with their target, of steps running elsewhere
TARGET_CHECK_S = 5.0


class Orchestrator:
    """One pipeline run being executed (see the module's docstring).

    ``service`` is the :class:`~.service.PipelineService` (its records, runs, artifacts,
    notebooks, compute and environments); ``on_progress(done, total)`` hears of steps done.
    """

    def __init__(self, service, run_id: str,
                 on_progress: Callable[[int, int], None] | None = None):
        self.svc, self.run_id = service, run_id
        self.on_progress = on_progress
        stored = service.records.get(run_id)
        if stored is None:
            raise Conflict(f"run {run_id} is not a pipeline run")
        self.pipeline: Pipeline = parse(stored["definition"])
        self.options = stored["options"]
        self.values = {**self.pipeline.parameters, **self.options.get("parameters", {})}
        self.steps = {s.name: s for s in self.pipeline.steps}
        self.state = {name: "pending" for name in self.steps}
        self.outputs: dict[str, dict] = {}
        self.running: dict[str, str] = {}  # step -> its child run
        self.waiting: dict[str, tuple[str, Key]] = {}  # step -> (another pipeline's run, key)
        self.forced = self._forced()
        self.selected = set(self.options.get("selected") or self.steps)
        self._snapshot = {f["path"]: f["sha256"] for f in service.runs.files(run_id, "snapshot")}
        self._env: dict[str, Any] = {}  # kernel ('' for scripts) -> its EnvironmentSpec
        self.launcher = None
        self.failures: list[str] = []

    # -- the loop -----------------------------------------------------------------------------

    def execute(self) -> str:
        """Execute the pipeline run (recorded queued); return the parent run's final status."""
        from ..compute.local import Process
        from ..notebooks.cancel import Canceled, cancel_dropped, install_cancel
        from ..notebooks.sweep import TargetLauncher

        runs = self.svc.runs
        if runs.get(self.run_id).status != R.QUEUED:
            raise Conflict(f"pipeline run {self.run_id} is not queued: it ran or was canceled")
        runs.mark_started(self.run_id)
        runs.set_process(self.run_id, Process.current())
        undo = install_cancel() if threading.current_thread() is threading.main_thread() else None
        compute = self.options.get("compute") or "local"
        self.launcher = TargetLauncher(self.svc.compute.target(compute), job=self.svc.notebooks.job,
                                       hand_over=self.svc.notebooks._hand_over, runs=runs,
                                       cancel_run=self.svc.cancel_run, check=self.svc.compute.check)
        beat = checked = time.monotonic()
        try:
            self._skip_needed()
            while self._pending():
                self._advance()
                time.sleep(POLL_S)
                self._collect()
                now = time.monotonic()
                if now - beat > self.svc.heartbeat_interval:
                    beat = now
                    runs.heartbeat(self.run_id)
                if now - checked > TARGET_CHECK_S:
                    checked = now
                    for child in self.running.values():
                        self.svc.compute.check(child)
                if cancel_dropped() or runs.get(self.run_id).status not in R.LIVE:
                    raise Canceled()
        except (Canceled, KeyboardInterrupt):
            return self._stop("canceled by the user")
        except MlwsError as exc:
            self.failures.append(str(exc))
            return self._stop(f"the pipeline stopped: {exc}", R.FAILED)
        except Exception as exc:  # a bug or the machine: stop the steps, say so, keep the traceback
            self._stop(f"the orchestrator failed: {type(exc).__name__}: {exc}", R.FAILED)
            raise
        finally:
            if undo is not None:
                undo()
        self._progress()
        return self._end()

    def _pending(self) -> bool:
        return any(s in ("pending", "running") for s in self.state.values())

    def _advance(self) -> None:
        """Decide every step whose upstream steps are all done; block those after a failure."""
        for name in self.pipeline.order():
            if self.state[name] != "pending":
                continue
            ups = [self.state[u] for u in self.steps[name].upstream()]
            if any(u in ("failed", "blocked", "canceled") for u in ups):
                self._set(name, "blocked", reason="not run: an upstream step did not complete",
                          ended_at=R.now_ms())
            elif all(u in ("completed", "reused", "skipped") for u in ups):
                if len(self.running) >= self.options.get("max_parallel", 4) and \
                        name in self.selected:
                    continue  # no slot free: it waits (reuse decisions need none, though)
                self._decide(self.steps[name])
        self._progress()

    def _progress(self) -> None:
        if self.on_progress is not None:
            done = sum(s not in ("pending", "running") for s in self.state.values())
            self.on_progress(done, len(self.state))

    def _decide(self, step: Step) -> None:
        """Skip, reuse, wait for or run ``step`` (see the module's docstring)."""
        if step.name not in self.selected:
            self._skip(step)
            return
        key = self._key(step)
        if step.name in self.forced:
            self._run(step, key, [FORCED], self.forced[step.name])
            return
        for source in self.svc.records.executed_with(key.value):
            outputs = self.svc.outputs_of(source, step)
            if outputs is not None:
                self._link(step, "reused", source, outputs,
                           f"reused: {_unchanged(step)} unchanged since run {source}", key)
                return
        live = self.svc.records.executed_with(key.value, (R.RUNNING,), exclude=self.run_id)
        if live and step.name not in self.waiting:
            self.waiting[step.name] = (live[0], key)
            self._set(step.name, "running", key=key.value, parts=key.to_dict(),
                      reason=f"waiting for run {live[0]}: the same step with the same key, "
                             "started by an earlier pipeline run", source_id=live[0])
            return
        before = self.svc.previous(self.pipeline.name, step.name, self.run_id)
        changed, why = explain(key, *before, environment=lambda: self.svc.environment_changes(
            before[1], self._env[self._kernel(step)]))
        self._run(step, key, changed, why)

    def _needed(self, name: str) -> bool:
        """Whether a step not selected comes before the selected ones (not after one of them):
        its outputs are what they read, so they must match it as now defined."""
        return name not in self.pipeline.downstream(self.selected)

    def _skip_needed(self) -> None:
        """Decide, before any step runs, every step not selected that the selected ones need:
        InvalidInput (the run fails, nothing ran) when one has no completed run to take."""
        for name in self.pipeline.order():
            if name not in self.selected and self._needed(name):
                self._skip(self.steps[name])

    def _skip(self, step: Step) -> None:
        """A step not selected (``--only`` / ``--from``) takes the outputs of the latest completed
        run of it whose key is its key now (these parameters, its inputs, code, deps and
        environment).  When none has: a step the selected ones need is refused (InvalidInput,
        naming what differs); one after them is left without outputs."""
        how = "--only" if self.options.get("only") else "--from"
        if any(up not in self.outputs for up in step.upstream()):  # after a step left without
            self._set(step.name, "skipped", changed=[], ended_at=R.now_ms(),
                      reason=f"skipped ({how}): not run, and a step it reads has no outputs in "
                             "this run")
            return
        key = self._key(step)
        for source in self.svc.records.executed_with(key.value):
            outputs = self.svc.outputs_of(source, step)
            if outputs is not None:
                self._link(step, "skipped", source, outputs,
                           f"skipped ({how}): outputs of run {source}, the latest completed run "
                           "of it as now defined", key)
                return
        if not self._needed(step.name):
            self._set(step.name, "skipped", key=key.value, parts=key.to_dict(), changed=[],
                      reason=f"skipped ({how}): not run, and no completed run of it matches it "
                             "now (a step before it ran in this run)", ended_at=R.now_ms())
            return
        before, before_run = self.svc.previous(self.pipeline.name, step.name, self.run_id)
        differ = []
        if before is not None:
            differ = [f"{n}={_shown(key.params.get(n))}" for n in sorted(key.params)
                      if key.params.get(n) != before.params.get(n)]
        if differ:
            what = f"with {', '.join(differ)}"
        else:
            what = "as now defined (" + explain(key, before, before_run)[1] + ")"
        raise InvalidInput(f"no completed run of {step.name} {what}: drop {how} (or "
                           f"--only/--from), or run {step.name}")

    # -- one step -----------------------------------------------------------------------------

    def _key(self, step: Step) -> Key:
        """The step's key: its code in the pipeline's snapshot, its parameters, its inputs'
        content hashes, its deps' content hashes in the snapshot and its environment's spec
        hash."""
        params = self._parameters(step)
        inputs = {}
        for iname, ref in step.inputs.items():
            source, output = ref.split("/", 1)
            inputs[iname] = self.outputs[source][output]["sha256"]
        return Key.of(self._code(step), params, inputs, self._environment(step),
                      dep_hashes(step.name, step.deps, self._snapshot))

    def _parameters(self, step: Step) -> dict:
        params = resolve_parameters(step, self.values)
        params.update((k, v) for k, v in self.options.get("step_parameters", {})
                      .get(step.name, {}).items())
        params.update({iname: step.input_file(iname) for iname in step.inputs})
        return self.svc.pin_datasets(params)

    def _code(self, step: Step) -> str:
        sha = self._snapshot[step.path]
        if step.kind == "script":
            return sha  # the blob's sha256 is the script's content hash
        return code_hash("notebook", self.svc.blobs.read_bytes(sha), step.path)

    def _kernel(self, step: Step) -> str:
        """The kernel a notebook step runs with; '' for a script (this interpreter)."""
        return self.svc.kernel_of(step, self._snapshot) if step.kind == "notebook" else ""

    def _environment(self, step: Step) -> str:
        kernel = self._kernel(step)
        if kernel not in self._env:
            self._env[kernel] = self.svc.environment_spec(kernel or None)
        return self._env[kernel].hash

    def _run(self, step: Step, key: Key, changed: list, why: str) -> None:
        child = self.svc.submit_step(self.run_id, self.pipeline, step, self._parameters(step),
                                     self._input_files(step), self.options.get("compute"))
        self._set(step.name, "running", run_id=child, key=key.value, parts=key.to_dict(),
                  changed=changed, reason=f"ran: {why}", started_at=R.now_ms())
        self.running[step.name] = child
        self.launcher.start(child)

    def _input_files(self, step: Step) -> dict[str, tuple[str, int]]:
        """Where each input goes in the step's folder: its path -> (sha256, size)."""
        out = {}
        for iname, ref in step.inputs.items():
            source, output = ref.split("/", 1)
            meta = self.outputs[source][output]
            out[step.input_file(iname)] = (meta["sha256"], meta["size"])
        return out

    def _link(self, step: Step, state: str, source: str, outputs: dict, why: str,
              key: Key | None = None) -> None:
        """Record ``step`` done without running: a completed child holding ``source``'s outputs."""
        child = self.svc.linked_child(self.run_id, self.pipeline, step, source, outputs)
        if state == "reused":
            self.svc.register_datasets(child, step, outputs)
        now = R.now_ms()
        self.outputs[step.name] = outputs
        self._set(step.name, state, run_id=child, source_id=source, outputs=outputs,
                  reason=why, changed=[], started_at=now, ended_at=now,
                  **({"key": key.value, "parts": key.to_dict()} if key else {}))

    def _collect(self) -> None:
        """Record the steps whose runs ended (and the waits that are over)."""
        for name, child in list(self.running.items()):
            if self.launcher.finished(child):
                del self.running[name]
                self._finished(self.steps[name], child)
        for name, (other, key) in list(self.waiting.items()):
            record = self.svc.runs.get(other)
            if record.status in R.LIVE:
                continue
            del self.waiting[name]
            outputs = self.svc.outputs_of(other, self.steps[name]) \
                if record.status == R.COMPLETED else None
            if outputs is not None:
                self._link(self.steps[name], "reused", other, outputs,
                           f"reused: run {other} of an earlier pipeline run had the same key, "
                           "and completed", key)
            else:
                before = self.svc.previous(self.pipeline.name, name, self.run_id)
                self._run(self.steps[name], key, *explain(key, *before))

    def _finished(self, step: Step, child: str) -> None:
        record = self.svc.runs.get(child)
        times = {"started_at": record.start_time, "ended_at": record.end_time}
        if record.status != R.COMPLETED:
            state = "canceled" if record.status == R.CANCELED else "failed"
            self.failures.append(f"step {step.name} {record.status}: {record.error or ''}".strip())
            self._set(step.name, state, **times)
            return
        outputs = self.svc.outputs_of(child, step)
        if outputs is None:
            missing = self.svc.missing_outputs(child, step)
            self.failures.append(f"step {step.name} did not write {', '.join(missing)}")
            self._set(step.name, "failed", **times,
                      reason=f"failed: it did not write {', '.join(missing)} (declared in its "
                             "outputs)")
            return
        self.outputs[step.name] = outputs
        try:
            self.svc.register_datasets(child, step, outputs)
        except MlwsError as exc:
            self.failures.append(f"step {step.name}: its dataset output could not be registered: {exc}")
            self._set(step.name, "failed", **times, reason=f"failed: its dataset output could not be "
                                                           f"registered: {exc}")
            return
        self._set(step.name, "completed", outputs=outputs, **times)

    def _set(self, step: str, state: str, **values) -> None:
        self.state[step] = state
        self.svc.records.update(self.run_id, step, state=state, **values)

    def _forced(self) -> dict[str, str]:
        """Steps to run whatever their key: ``--no-reuse`` (all), ``--force STEP`` (and what
        depends on it), each with why."""
        if self.options.get("no_reuse"):
            return {name: "forced (--no-reuse)" for name in self.steps}
        out = {}
        for name in self.options.get("force") or []:
            for down in sorted(self.pipeline.downstream([name])):
                out.setdefault(down, f"forced (--force {name})" if down == name else
                               f"forced (it depends on {name}, forced with --force)")
        return out

    # -- the end --------------------------------------------------------------------------------

    def _end(self) -> str:
        if self.failures:
            status, error = R.FAILED, "; ".join(self.failures)[:4000]
        else:
            status, error = R.COMPLETED, None
        try:
            return self.svc.runs.end(self.run_id, status, error).status
        except Conflict:  # canceled meanwhile
            return self.svc.runs.get(self.run_id).status

    def _stop(self, why: str, status: str = R.CANCELED) -> str:
        """Stop the running steps, mark the others canceled, end the parent run."""
        if self.launcher is not None:
            self.launcher.stop(list(self.running.values()))
        for name, state in self.state.items():
            if state in ("pending", "running"):
                child = self.running.get(name)
                times = {}
                if child is not None:
                    record = self.svc.runs.get(child)
                    times = {"started_at": record.start_time, "ended_at": record.end_time}
                self._set(name, "canceled", **times)
        try:
            return self.svc.runs.end(self.run_id, status, why[:4000]).status
        except Conflict:
            return self.svc.runs.get(self.run_id).status


def _shown(value: Any) -> str:
    """A parameter's value as ``-p`` takes it (JSON; a string as itself)."""
    import json

    return value if isinstance(value, str) else json.dumps(value)


def _unchanged(step: Step) -> str:
    """What a reused step's key covers, in words (the files it declares it reads named)."""
    if not step.deps:
        return "code, parameters, inputs and environment"
    shown = ", ".join(step.deps[:3]) + (f" and {len(step.deps) - 3} more" if len(step.deps) > 3
                                        else "")
    return f"code, parameters, inputs, environment and {shown}"


def main(argv: list[str] | None = None) -> int:
    """``python -m jupyter_mlws.pipelines.orchestrator WORKSPACE RUN_ID``: 0 when the pipeline
    run completed, 1 otherwise."""
    from ..workspace import Workspace

    root, run_id = (argv if argv is not None else sys.argv[1:])[:2]
    with Workspace.open(root) as ws:
        status = ws.pipelines.execute(run_id)
    return 0 if status == R.COMPLETED else 1


if __name__ == "__main__":
    from jupyter_mlws.pipelines import orchestrator

    sys.exit(orchestrator.main())
