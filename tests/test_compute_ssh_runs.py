"""Runs on an ssh target, against a real sshd on 127.0.0.1 (tests/sshd.py) and a real workspace
server (``http_workspace``): a notebook run recorded as a local one is, cancel stopping the remote
process tree, a lost connection failing the run with its step and a rerun succeeding, user values
with shell metacharacters arriving literally.

The login user's Python is the system's, given this checkout's jupyter_mlws and the test venv's
site-packages (``mlws-run-python`` in its home): what a host with jupyter_mlws installed has."""

from __future__ import annotations

import json
import re
import time
from pathlib import Path

import pytest
from ssh_runs import (NAME, WORKDIR, cli, gpu1, group_alive, kill_sshd,  # noqa: F401
                      remote_python, run_folder, run_processes, runner_gone, runner_state,
                      wait_group_gone, wait_text)

def test_a_notebook_runs_on_the_ssh_host_recorded_like_a_local_run(gpu1, sshd):
    ws, project = gpu1
    literal = "x; touch injected $(id -u)"
    run = ws.submit_notebook(project / "train.ipynb", {"lr": 0.5, "message": literal},
                             compute=NAME, wait=True)
    assert run.status == "completed", run.record.error
    assert ws.compute.target_of(run.id)[0] == NAME
    assert run.params["message"] == literal and float(run.params["lr"]) == 0.5
    assert run.metrics["loss"] == pytest.approx(0.5 ** 5)
    files = {f["path"] for f in ws.runs.files(run.id)}
    assert {"outputs/result.txt", "environment.json"} <= files, files
    assert any(p.endswith(".ipynb") for p in files)
    assert "train.ipynb" in {f["path"] for f in ws.runs.files(run.id, "snapshot")}
    cells = json.loads(ws.runs.values(run.id, "cells")[0]["data"])  # as a local run records them
    assert len(cells) >= 3
    assert ws.runs.get(run.id).tags.get("env_hash")
    shown = cli(ws, "run", "show", run.id)
    assert [line.split() for line in shown.output.splitlines()
            if line.startswith("compute")] == [["compute:", NAME]]
    logs = cli(ws, "run", "logs", run.id)
    assert "final loss" in logs.output, logs.output
    # the work folder and the parameter arrived literally; the run's folder is gone
    runner_gone(ws, run.id)
    workdir = sshd.user.home / WORKDIR
    assert (workdir / "runs").is_dir() and not (workdir / "runs" / run.id).exists()
    for folder in (sshd.user.home, workdir, Path(".")):  # what an injection would have made
        assert not [p.name for p in folder.iterdir() if p.name[:1].isdigit() or "injected" in p.name]
    assert run_processes(sshd, run.id) == []


def test_cancel_stops_the_remote_kernel_and_everything_it_started(gpu1, sshd):
    ws, project = gpu1
    run = ws.submit_notebook(project / "pause.ipynb", {"pause": 600}, compute=NAME)
    runner_state(ws, run.id)
    wait_text(ws, run.id, "stdout.log", "pausing")
    assert any("ipykernel" in p for p in run_processes(sshd, run.id))
    ended = ws.cancel_run(run.id, grace=10)
    assert ended.status == "canceled"
    runner_gone(ws, run.id)
    # the logs say it once, in words, with no traceback (no ZMQError from a kernel asked to end
    # mid-cell, no task of the executor's failing on the kernel it stopped)
    logs = {name: data.decode(errors="replace") for name, data in ws.run_logs(run.id).items()}
    assert "Traceback" not in "".join(logs.values()) and "Error" not in "".join(logs.values()), logs
    assert re.fullmatch(r"mlws: canceled at \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC: kernel stopped\n",
                        logs["kernel.log"]), logs["kernel.log"]
    deadline = time.monotonic() + 30
    while run_processes(sshd, run.id) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert run_processes(sshd, run.id) == []


def test_a_lost_connection_fails_the_run_naming_the_step_and_a_rerun_succeeds(gpu1, sshd):
    """sshd dies mid-run with its connections: the run ends failed, saying so in the words
    ``mlws run show`` prints; the runner cannot clean up (the host stays down past its reconnect
    window), so the executor and the run's folder are left there until the rerun's runner,
    the next one on the target, stops and removes them, and says so in its log."""
    ws, project = gpu1
    run = ws.submit_notebook(project / "pause.ipynb", {"pause": 600}, compute=NAME)
    state = runner_state(ws, run.id)
    wait_text(ws, run.id, "stdout.log", "pausing")
    kill_sshd(sshd)
    try:
        record = ws.wait(run.id, timeout=60)
        runner_gone(ws, run.id)  # its reconnect window passed, the host still down
    finally:
        sshd.start()
    assert record.status == "failed"
    shown = cli(ws, "run", "show", run.id).output
    assert (f"error:\n  ssh {sshd.user.name}@127.0.0.1:{sshd.port}: the execution step failed: the "
            "connection to the host was lost while the run executed there (the host or its SSH "
            "server went away)") in shown, shown
    assert group_alive(state["pgid"]) and run_folder(sshd, run.id).is_dir()  # left behind
    out = cli(ws, "run", "rerun", run.id, "-p", "pause", "0", "--compute", NAME, "--wait")
    assert out.exit_code == 0, out.output
    rerun = max((r for r in ws.runs.search(max_results=1000).runs if r.id != run.id),
                key=lambda r: r.start_time or 0)
    assert rerun.status == "completed", rerun.error
    assert ws.compute.target_of(rerun.id)[0] == NAME
    wait_group_gone(state["pgid"])  # its kernel with it: one process group
    assert not run_folder(sshd, run.id).exists()
    runner_gone(ws, rerun.id)  # it stores its log with the run as it exits
    assert f"cleaned up after run {run.id}" in ws.run_logs(rerun.id)["ssh-runner.log"].decode()


def test_an_environment_is_built_on_the_host_once_then_reused(gpu1, sshd, wheelhouse):
    """Through the target's SSH shell: the first build makes the venv on the host, the second
    (and ``ensure``, what a run with ``env = build`` calls) reuses it: one build, counted by the
    workspace's record and by the host's own builds.log."""
    from jupyter_mlws.environments.spec import EnvironmentSpec
    from jupyter_mlws.environments.wheels import BuildOptions

    ws, _ = gpu1
    with ws.compute.connect(NAME, check_actor=False) as conn:
        conn.put(wheelhouse, "wheelhouse")
    options = BuildOptions(installer="pip", find_links=(str(sshd.user.home / "wheelhouse"),),
                           no_index=True)
    spec = EnvironmentSpec("3.11", ("six==1.16.0",))
    first = ws.environments.build(spec, NAME, options=options)
    assert first["state"] == "ready" and not first["reused"], first.get("error")
    python = ws.environments.ensure(spec, NAME, options=options)
    again = ws.environments.build(spec, NAME, options=options)
    assert again["reused"] and again["builds"] == 1
    history = (sshd.user.home / WORKDIR / "environments" / "builds.log").read_text()
    assert history.count(f"build {spec.hash} ready") == 1, history
    with ws.compute.connect(NAME, check_actor=False) as conn:
        done = conn.run([python, "-c", "import six; print(six.__version__)"])
    assert (done.status, done.output.strip()) == (0, "1.16.0")
