"""Runs on a dask target with ``env: build``, against a real ``dask scheduler`` and worker: the
run's kernel environment (a small venv of its own, tests/kernel_env.py) is built on the worker's
machine by the first run, from the wheelhouse the worker's installer is configured with, and
reused by the second; both record its hash.  A kernel environment without jupyter_mlws is
refused with a clear error, and so is a submission to workers that cannot import
jupyter_mlws."""

from __future__ import annotations

import os
import shutil
import time

import pytest

from jupyter_mlws.compute.base import Handle
from mlws_testing import fresh_target, remote_project

NAME = "daskb"


@pytest.fixture(scope="module")
def env_cluster(small_kernel):
    """A ``dask scheduler`` with one worker whose installers take distributions from the small
    kernel's wheelhouse alone (its own environment: PIP_NO_INDEX/PIP_FIND_LINKS, UV_OFFLINE/
    UV_FIND_LINKS), as a cluster's admin would configure an index."""
    from dask_cluster import Cluster

    saved = dict(os.environ)
    os.environ.update(PIP_NO_INDEX="1", PIP_FIND_LINKS=str(small_kernel.wheelhouse), UV_OFFLINE="1",
                      UV_FIND_LINKS=str(small_kernel.wheelhouse))
    try:
        cluster = Cluster().start(1)
    finally:
        os.environ.clear()
        os.environ.update(saved)
    yield cluster
    cluster.stop()


@pytest.fixture
def env_ws(http_workspace, monkeypatch, tmp_path):
    with remote_project(http_workspace.ws, http_workspace.url, tmp_path, monkeypatch) as notebook:
        yield http_workspace.ws, notebook


def _exited(target, handle, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while target.poll(handle) != "exited":
        assert time.monotonic() < deadline, "the task did not end"
        time.sleep(0.2)


def test_env_build_on_a_dask_target_builds_the_runs_environment_on_the_worker_once(
        env_ws, env_cluster, small_kernel, monkeypatch):
    from jupyter_mlws.compute.dask_env import env_root

    ws, notebook = env_ws
    monkeypatch.setenv("JUPYTER_PATH", str(small_kernel.jupyter_path))
    fresh_target(ws, NAME, "dask", address=env_cluster.address, env="build")
    spec = ws.environments.of_kernel("python3")
    shutil.rmtree(env_root() / "envs" / spec.hash, ignore_errors=True)  # this machine is the worker's
    history = env_root() / "builds.log"
    before = history.read_text().count(f"build {spec.hash} ready") if history.is_file() else 0
    target, logs = ws.compute.target(NAME), []
    for lr in (0.1, 0.2):
        run = ws.submit_notebook(notebook, {"lr": lr}, compute=NAME, wait=True)
        assert run.status == "completed", run.record.error
        assert run.metrics["loss"] == pytest.approx((1 - lr) ** 5)
        assert run.tags["env_hash"] == spec.short_hash  # it executed in the environment built
        handle = Handle(NAME, run.id, ws.compute.target_of(run.id)[1])
        _exited(target, handle)
        logs.append(target.logs(handle)["worker.log"].decode())
    assert f"environment {spec.short_hash} built in" in logs[0], logs[0]
    assert f"environment {spec.short_hash} reused: nothing to build" in logs[1], logs[1]
    assert history.read_text().count(f"build {spec.hash} ready") - before == 1
    assert "mlws_run_" not in "".join(logs)  # no token


def test_env_build_on_a_dask_target_runs_a_notebook_of_any_kernel_name(env_ws, env_cluster,
                                                                       small_kernel, monkeypatch,
                                                                       tmp_path):
    """Kernel ``small`` (the small venv under another name) chooses what is built; the worker
    has no kernelspec of that name, and the environment's Python runs the notebook."""
    from kernel_env import named_kernel

    ws, notebook = env_ws
    monkeypatch.setenv("JUPYTER_PATH", named_kernel(small_kernel, tmp_path / "jupyter", "small"))
    fresh_target(ws, NAME, "dask", address=env_cluster.address, env="build")
    spec = ws.environments.of_kernel("small")
    run = ws.submit_notebook(notebook, {"lr": 0.3}, kernel="small", compute=NAME, wait=True)
    assert run.status == "completed", run.record.error
    assert run.metrics["loss"] == pytest.approx(0.7 ** 5)
    assert (run.tags["kernel"], run.tags["env_hash"]) == ("small", spec.short_hash)


def test_env_build_refuses_a_kernel_environment_without_jupyter_mlws(env_ws, env_cluster,
                                                                     monkeypatch, tmp_path):
    import json
    import subprocess
    import sys

    from jupyter_mlws.errors import Unavailable

    ws, notebook = env_ws
    bare = tmp_path / "bare"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(bare)], check=True)
    spec_dir = tmp_path / "jupyter" / "kernels" / "python3"
    spec_dir.mkdir(parents=True)
    (spec_dir / "kernel.json").write_text(json.dumps({
        "argv": [str(bare / "bin" / "python"), "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "bare", "language": "python"}))
    monkeypatch.setenv("JUPYTER_PATH", str(tmp_path / "jupyter"))
    fresh_target(ws, NAME, "dask", address=env_cluster.address, env="build")
    with pytest.raises(Unavailable) as caught:
        ws.submit_notebook(notebook, {"lr": 0.5}, compute=NAME)
    expected = ("kernel 'python3''s environment does not have jupyter_mlws, which executes the run "
                "where its environment is built: install jupyter_mlws in that environment")
    assert expected in str(caught.value)
    failed = ws.search_runs(max_results=1)[0]
    assert failed.status == "failed" and expected in failed.record.error


def test_a_worker_that_cannot_import_jupyter_mlws_fails_the_submission_saying_so(env_ws):
    """Such a worker could not even load the run's task (it dies on it): the submission is
    refused at once, naming the worker, and the run ends failed saying so."""
    from dask_cluster import Cluster

    from jupyter_mlws.compute.failures import StepFailed

    ws, notebook = env_ws
    cluster = Cluster().start(0)
    try:
        worker = cluster.add_worker(without_mlws=True)
        fresh_target(ws, "bare", "dask", address=cluster.address)
        with pytest.raises(StepFailed) as caught:
            ws.submit_notebook(notebook, {"lr": 0.5}, compute="bare")
        alive = cluster.workers[worker].poll() is None
    finally:
        ws.compute.close()
        cluster.stop()
    expected = (f"dask {cluster.address}: the environment step failed: workers need jupyter_mlws "
                "installed: 1 of 1 cannot import it (tcp://127.0.0.1:")
    # the message names the run first (the submission recorded it), then why
    assert str(caught.value).startswith("run ") and expected in str(caught.value)
    assert "pip install jupyter_mlws where they run" in str(caught.value)
    failed = ws.search_runs(max_results=1)[0]
    assert failed.status == "failed" and expected in failed.record.error
    assert alive  # nothing was handed to it
