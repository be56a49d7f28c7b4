"""The ``dask`` compute target against real clusters: a ``dask scheduler`` with ``dask worker``
processes and a ``LocalCluster`` (tests/dask_cluster.py, one of each per session).

``compute test`` connects to the scheduler and asks every worker (and the scheduler) which
jupyter_mlws it imports; a scheduler that is gone fails a submission at once, naming the step
and the address, and queues nothing.
"""

from __future__ import annotations

import pytest
from sqlalchemy import select

from jupyter_mlws.compute.failures import StepFailed
from jupyter_mlws.store import schema as S
from mlws_testing import free_port


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
    assert isinstance(target, DaskTarget) and target.address == address and target.target == "gone"
    run = ws.runs.create("e", status="queued", source_type="notebook")

    class Job:
        kind, run_id = "notebook", run.id

    with pytest.raises(StepFailed) as caught:
        target.submit(Job())
    assert caught.value.step == "tcp"
    assert str(caught.value).startswith(f"dask {address}: the TCP connect step failed: connection refused")
    with ws.db.read() as conn:  # no token was issued: the scheduler was asked first
        assert conn.execute(select(S.run_tokens).where(S.run_tokens.c.run_id == run.id)).first() is None
