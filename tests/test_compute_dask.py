"""The ``dask`` compute target against real clusters: a ``dask scheduler`` with ``dask worker``
processes and a ``LocalCluster`` (tests/dask_cluster.py, one of each per session).

``compute test`` connects to the scheduler and asks every worker (and the scheduler) which
jupyter_mlws it imports; a scheduler that is gone fails a submission at once, naming the step
and the address, and queues nothing.
"""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

import pytest
from sqlalchemy import select

from jupyter_mlws.compute.base import Handle
from jupyter_mlws.compute.failures import StepFailed
from jupyter_mlws.store import schema as S
from mlws_testing import fresh_target, free_port, remote_project

NOTEBOOKS = Path(__file__).resolve().parent / "notebooks"


def cli(ws, *args):
    from click.testing import CliRunner

    from jupyter_mlws.cli import main

    return CliRunner().invoke(main, ["-w", str(ws.root), *map(str, args)], catch_exceptions=False)


def dead_address() -> str:
    return f"tcp://127.0.0.1:{free_port()}"


def checks_of(report: dict) -> dict:
    return {c["check"]: (c["status"], c["detail"]) for c in report["checks"]}


def test_compute_test_of_a_cluster_names_its_workers_and_their_jupyter_mlws(ws, dask_cluster, local_cluster):
    from jupyter_mlws import __version__

    for name, cluster in (("procs", dask_cluster), ("lc", local_cluster)):
        ws.compute.create(name, "dask", address=cluster.address)
        report = ws.compute.test(name)
        assert report["ok"], report
        checks = checks_of(report)
        assert list(checks) == ["dns", "tcp", "scheduler", "jupyter_mlws"]
        assert checks["scheduler"] == ("ok", "2 workers, 2 threads")
        assert checks["jupyter_mlws"] == ("ok", f"{__version__} on the scheduler and 2 workers")


def test_compute_test_fails_when_a_worker_cannot_import_jupyter_mlws(ws, dask_cluster):
    ws.compute.create("procs", "dask", address=dask_cluster.address)
    name = dask_cluster.add_worker(without_mlws=True)
    try:
        report = ws.compute.test("procs")
    finally:
        dask_cluster.kill_worker(name)
    assert not report["ok"]
    checks = checks_of(report)
    assert checks["scheduler"] == ("ok", "3 workers, 3 threads")
    status, detail = checks["jupyter_mlws"]
    assert status == "fail"
    assert detail.startswith("workers need jupyter_mlws installed: 1 of 3 cannot import it (tcp://127.0.0.1:")
    assert "ModuleNotFoundError" in detail and detail.endswith("pip install jupyter_mlws where they run")


def test_compute_test_of_a_port_where_no_scheduler_answers(ws, listener):
    ws.compute.timeout = 1.0  # the port accepts and then says nothing: the scheduler step times out
    ws.compute.create("mute", "dask", address=f"tcp://127.0.0.1:{listener}")
    report = ws.compute.test("mute")
    assert [(c["check"], c["status"]) for c in report["checks"]] == [
        ("dns", "ok"), ("tcp", "ok"), ("scheduler", "fail"), ("jupyter_mlws", "skip")]
    assert "no Dask scheduler answered on its port" in report["checks"][2]["detail"]
    assert report["checks"][2]["title"] == "Dask scheduler"


def test_a_dead_scheduler_fails_a_submission_naming_the_step_and_the_address(ws):
    from jupyter_mlws.compute.dask import DaskTarget

    address = dead_address()
    ws.compute.create("gone", "dask", address=address)
    target = ws.compute.target("gone")
    assert isinstance(target, DaskTarget) and target.address == address and target.name == "gone"
    run = ws.runs.create("e", status="queued", source_type="notebook")

    class Job:
        kind, run_id = "notebook", run.id

    with pytest.raises(StepFailed) as caught:
        target.submit(Job())
    assert caught.value.step == "tcp"
    assert str(caught.value).startswith(f"dask {address}: the TCP connect step failed: connection refused")
    with ws.db.read() as conn:  # no token was issued: the scheduler was asked first
        assert conn.execute(select(S.run_tokens).where(S.run_tokens.c.run_id == run.id)).first() is None


# -- runs on the clusters (kernel-heavy: few) --------------------------------------------------


@pytest.fixture
def dask_ws(http_workspace, dask_cluster, local_cluster, monkeypatch, tmp_path):
    """Workspace ``http_workspace.ws`` (its mlws.toml naming its server: server_url) with dask
    targets ``procs`` (the dask scheduler + workers) and ``lc`` (the LocalCluster), and a project
    holding train.ipynb."""
    ws = http_workspace.ws
    with remote_project(ws, http_workspace.url, tmp_path, monkeypatch) as notebook:
        for name, cluster in (("procs", dask_cluster), ("lc", local_cluster)):
            fresh_target(ws, name, "dask", address=cluster.address)
        yield ws, notebook


def wait_until(what, timeout: float = 120.0, every: float = 0.2):
    """Wait until ``what()`` is true (the test fails after ``timeout`` seconds); its value."""
    deadline = time.monotonic() + timeout
    while not (value := what()):
        assert time.monotonic() < deadline, f"still not true after {timeout:g} s"
        time.sleep(every)
    return value


def test_a_run_on_a_local_cluster_records_what_a_local_run_records(dask_ws):
    ws, notebook = dask_ws
    run = ws.submit_notebook(notebook, {"lr": 0.5}, compute="lc", wait=True)
    assert run.status == "completed", run.record.error
    assert run.metrics["loss"] == pytest.approx(0.5 ** 5)
    assert [f["path"] for f in ws.runs.files(run.id, "artifact") if f["path"].startswith("outputs/")] \
        == ["outputs/result.txt"]
    assert ws.runs.process_of(run.id) is None  # nothing of this machine executed it
    name, data = ws.compute.target_of(run.id)
    assert name == "lc" and data["scheduler"] == ws.compute.get("lc")["address"]
    assert data["key"].startswith(f"mlws-run-{run.id}-")
    target = ws.compute.target("lc")
    handle = Handle("lc", run.id, data)
    wait_until(lambda: target.poll(handle) == "exited")  # the task ends (and is forgotten) after the run
    log = target.logs(handle)["worker.log"].decode()
    assert log.startswith(f"--- attempt {data['key']}.") and "the run ended completed" in log
    assert "mlws_run_" not in log  # no token


def test_waiting_for_a_sweep_on_a_dask_target_counts_its_last_child(dask_ws):
    """``mlws run submit --grid ... --wait`` on a remote target showed "run 1/2 done" and then
    the sweep's end: the last child counts too, as on local."""
    ws, notebook = dask_ws
    seen = []
    sweep = ws.submit_notebook(notebook, grid={"lr": [0.2, 0.4]}, compute="lc", wait=True,
                               on_progress=lambda done, total: seen.append((done, total)))
    assert sweep.status == "completed", sweep.record.error
    assert seen[-1] == (2, 2), seen


def test_a_runs_worker_log_is_stored_with_it_and_a_cancel_ends_it_canceled(dask_ws):
    """What the executor logged on the worker is stored with the run (``mlws run logs``), as an
    ssh run's ssh-runner.log; a run canceled while its cell executes on a worker (whose thread
    cannot be interrupted: its kernel is killed) ends canceled, not failed."""
    ws, notebook = dask_ws
    slow = Path(shutil.copy(NOTEBOOKS / "slow.ipynb", notebook.parent / "slow.ipynb"))
    run = ws.submit_notebook(slow, {"seconds": 120}, compute="lc")
    wait_until(lambda: b"sleeping" in ws.run_logs(run.id).get("stdout.log", b""))
    ended = ws.cancel_run(run.id, grace=60)
    assert (ended.status, ended.record.error) == ("canceled", "canceled")  # its executor ended it
    key = ws.compute.target_of(run.id)[1]["key"]
    shown = cli(ws, "run", "logs", run.id)
    assert shown.exit_code == 0 and "==> worker.log <==" in shown.output, shown.output
    log = cli(ws, "run", "logs", run.id, "--name", "worker.log").output
    assert log.startswith(f"--- attempt {key}.") and "ZMQError" not in log, log
    assert "mlws_run_" not in log  # no token
    # the kernel it killed is no error: one line in the kernel's log says what happened
    assert "Kernel died" not in log and "Traceback" not in log, log
    kernel_log = ws.run_logs(run.id)["kernel.log"].decode()
    assert kernel_log.endswith(" UTC: kernel stopped\n") and "mlws: canceled at " in kernel_log, kernel_log
    assert "Traceback" not in kernel_log, kernel_log


def test_a_sweep_of_8_on_two_workers_records_each_run_once_when_a_worker_dies(dask_ws, dask_cluster):
    ws, notebook = dask_ws
    lrs = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8]
    sweep = ws.submit_notebook(notebook, grid={"lr": lrs}, max_parallel=4, compute="procs")
    # both workers execute a child: kill one of them (its process group: nanny, worker, kernel)
    wait_until(lambda: sum(c.status == "running" for c in ws.runs.children(sweep.id)) >= 2)
    victim = next(iter(dask_cluster.workers))
    dask_cluster.kill_worker(victim)
    dask_cluster.add_worker()  # a fresh worker joins; the other one goes on meanwhile
    done = ws.wait(sweep.id, timeout=600)
    assert done.status == "completed", done.record.error
    children = ws.runs.children(sweep.id)
    assert sorted(float(c.params["lr"]) for c in children) == lrs
    attempts = {}
    for child in children:
        lr = float(child.params["lr"])
        assert child.status == "completed", child.error
        assert ws.compute.target_of(child.id)[0] == "procs"
        # recorded once: 5 epochs, one point each, whichever attempt recorded them
        assert [step for step, _ts, _v in ws.runs.metric_history(child.id, "loss")] == [0, 1, 2, 3, 4]
        assert ws.get_run(child.id).metrics["loss"] == pytest.approx((1 - lr) ** 5)
        files = [f["path"] for f in ws.runs.files(child.id, "artifact")]
        assert files.count("outputs/result.txt") == 1 and files.count("notebook/train.ipynb") == 1
        with ws.db.read() as conn:
            attempts[child.id] = conn.execute(select(S.run_executions.c.attempts).where(
                S.run_executions.c.run_id == child.id)).scalar()
    # the killed worker's child was executed again by Dask, as a new attempt, and its
    # worker.log says why there are two
    assert sorted(attempts.values()) == [1] * 7 + [2]
    again = next(run_id for run_id, n in attempts.items() if n == 2)
    log = ws.run_logs(again)["worker.log"].decode()
    assert log.count("--- attempt ") == 2, log
    assert "(the previous attempt's worker died: Dask runs the task again)" in log.splitlines()[-1] \
        or "(the previous attempt's worker died: Dask runs the task again)" in log, log
    assert len(dask_cluster.workers) == 2


def test_a_dead_scheduler_ends_the_submitted_run_failed_and_queues_nothing(dask_ws):
    ws, notebook = dask_ws
    address = dead_address()
    ws.compute.create("gone", "dask", address=address, check_actor=False)
    try:
        with pytest.raises(StepFailed, match=f"dask {address}: the TCP connect step failed"):
            ws.submit_notebook(notebook, {"lr": 0.5}, compute="gone")
        live = [r for r in ws.search_runs(max_results=1000) if r.status in ("queued", "running")]
        assert live == []
        failed = ws.search_runs(max_results=1)[0]
        assert failed.status == "failed" and f"dask {address}: the TCP connect step failed" in failed.record.error
    finally:
        ws.compute.delete("gone", check_actor=False)


def test_a_queued_task_is_canceled_by_its_key_and_a_lost_one_fails_its_run(dask_ws):
    """A scheduler without workers queues the run's task; cancel drops it.  Then with one worker
    and no retry allowed, a worker killed mid-run loses the task: the run ends failed, naming the
    Dask step, when the target is polled."""
    from dask_cluster import Cluster

    ws, notebook = dask_ws
    cluster = Cluster(scheduler_env={**os.environ, "DASK_DISTRIBUTED__SCHEDULER__ALLOWED_FAILURES": "0"})
    cluster.start(0)
    try:
        ws.compute.create("bare", "dask", address=cluster.address, check_actor=False)
        report = checks_of(ws.compute.test("bare"))
        assert report["scheduler"] == ("ok", "0 workers, 0 threads")
        assert report["jupyter_mlws"][0] == "fail" and "has no workers" in report["jupyter_mlws"][1]
        target = ws.compute.target("bare")
        queued = ws.submit_notebook(notebook, {"lr": 0.5}, compute="bare")
        handle = Handle("bare", queued.id, ws.compute.target_of(queued.id)[1])
        assert target.poll(handle) == "queued"
        assert ws.cancel_run(queued.id, grace=5).status == "canceled"
        assert target.state(handle) is None  # the scheduler dropped it

        cluster.add_worker()
        run = ws.submit_notebook(notebook, {"lr": 0.5}, compute="bare")
        handle = Handle("bare", run.id, ws.compute.target_of(run.id)[1])
        wait_until(lambda: ws.runs.get(run.id).status == "running")
        cluster.kill_worker(next(iter(cluster.workers)))
        record = ws.wait(run.id, timeout=120).record  # waiting checks the target: the task is gone
        assert record.status == "failed"
        assert record.error.startswith(f"dask {cluster.address}: the execution step failed: the "
                                       "scheduler lost the run's task")
        assert target.poll(handle) == "exited"
    finally:
        cluster.stop()
        ws.compute.delete("bare", check_actor=False)


def test_a_pipeline_runs_its_steps_on_a_dask_target(dask_ws, tmp_path):
    """Script steps on a LocalCluster: each a run executed by a worker, its input downloaded
    with its snapshot there and its output passed on as an artifact."""
    ws, _notebook = dask_ws
    folder = tmp_path / "pipe"
    folder.mkdir()
    (folder / "make.py").write_text(
        "import pathlib, jupyter_mlws\npathlib.Path('outputs').mkdir()\n"
        "pathlib.Path('outputs/o.txt').write_text(str(jupyter_mlws.parameters()['n'] * 2))\n")
    (folder / "use.py").write_text(
        "import pathlib, jupyter_mlws\np = jupyter_mlws.parameters()\npathlib.Path('outputs').mkdir()\n"
        "pathlib.Path('outputs/o.txt').write_text(pathlib.Path(p['data']).read_text() + '!')\n")
    (folder / "pipeline.yaml").write_text(
        "name: on-dask\nsteps:\n  - {name: make, script: make.py, parameters: {n: 21}, outputs: [o.txt]}\n"
        "  - {name: use, script: use.py, inputs: {data: make/o.txt}, outputs: [o.txt]}\n")
    run_id = ws.pipelines.run(folder / "pipeline.yaml", compute="lc", wait=True)
    assert ws.get_run(run_id).status == "completed", ws.get_run(run_id).record.error
    steps = ws.pipelines.describe(run_id)["steps"]
    assert [s["state"] for s in steps] == ["completed", "completed"]
    for step in steps:
        assert ws.compute.target_of(step["run_id"])[0] == "lc"
        assert ws.runs.process_of(step["run_id"]) is None  # a worker executed it, not this machine
    assert ws.blobs.read_bytes(steps[1]["files"]["o.txt"]["sha256"]) == b"42!"
