"""Runs on an ssh target when things go wrong, against the session's real sshd and workspace
server: a host that goes silent (its sshd frozen) is lost within the keepalive bound and cleaned
up by ``mlws compute test``; a runner killed here ends its run ``killed`` and what it left on the
host is stopped; sweeps run their children there, and a child whose runner died is ended by the
sweep; runner logs are kept with the run and pruned here."""

from __future__ import annotations

import os
import signal
import time

import pytest
from sshd import ed25519_pair
from ssh_runs import (KEEPALIVE, NAME, cli, gpu1, remote_python, run_folder,  # noqa: F401
                      runner_gone, runner_state, signal_sshd, wait_group_gone, wait_text)

from jupyter_mlws.compute.ssh.runners import LOG_DAYS, prune_logs, runner_files


def _wait_gone(path, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while path.exists():
        assert time.monotonic() < deadline, f"{path.name} is still there"
        time.sleep(0.2)


def test_a_silent_host_is_lost_within_the_keepalive_bound_and_compute_test_cleans_up(gpu1, sshd):
    """The host's sshd is frozen (SIGSTOP: TCP still answers, SSH does not): keepalives get no
    answer, the run ends failed at the execution step saying so; the runner cannot reconnect
    (the host is still silent), so it leaves its state behind; once the host answers again,
    ``mlws compute test`` stops the executor left there and removes the run's folder."""
    ws, project = gpu1
    run = ws.submit_notebook(project / "pause.ipynb", {"pause": 600}, compute=NAME)
    state = runner_state(ws, run.id)
    wait_text(ws, run.id, "stdout.log", "pausing")
    signal_sshd(sshd, signal.SIGSTOP)
    try:
        record = ws.wait(run.id, timeout=50).record  # the lost bound (8 s) + slack; not 60 s
        runner_gone(ws, run.id)
    finally:
        signal_sshd(sshd, signal.SIGCONT)
    assert record.status == "failed", record.error
    assert record.error.startswith(f"ssh {sshd.user.name}@127.0.0.1:{sshd.port}: the execution step "
                                   "failed: the host stopped answering for "), record.error
    assert f"(keepalive every {KEEPALIVE} s) while the run executed there" in record.error
    state_file = runner_files(ws.root, run.id)[0]
    assert state_file.is_file() and run_folder(sshd, run.id).is_dir()  # a leftover
    out = cli(ws, "compute", "test", NAME)
    assert out.exit_code == 0, out.output
    assert [line.split(None, 2)[1:] for line in out.output.splitlines() if line.startswith("cleanup")] \
        == [["OK", f"stopped and removed what 1 lost run(s) left on the host: {run.id}"]], out.output
    wait_group_gone(state["pgid"])
    assert not run_folder(sshd, run.id).exists() and not state_file.exists()
    again = cli(ws, "compute", "test", NAME)
    assert "cleanup" not in again.output  # nothing left to clean


def test_a_dead_runner_ends_the_run_killed_and_its_processes_on_the_host_stop(gpu1, sshd):
    """``kill -9`` of the run's runner here: the run can report nothing more (its tunnel died
    with the runner); the next look at it ends it ``killed`` naming the runner, and a cleanup
    runner stops its processes on the host and removes its folder."""
    ws, project = gpu1
    run = ws.submit_notebook(project / "pause.ipynb", {"pause": 600}, compute=NAME)
    state = runner_state(ws, run.id)
    wait_text(ws, run.id, "stdout.log", "pausing")
    os.kill(state["pid"], signal.SIGKILL)
    ended = ws.wait(run.id, timeout=50)  # before the workspace's 60 s heartbeat timeout
    assert ended.status == "killed", ended.record.error
    assert ended.record.error.startswith(f"killed: its runner on this machine (process "
                                         f"{state['pid']}) died before the run ended")
    wait_group_gone(state["pgid"])
    _wait_gone(run_folder(sshd, run.id))
    _wait_gone(runner_files(ws.root, run.id)[0])


def test_a_sweep_runs_each_child_on_the_ssh_host_once(gpu1, sshd):
    """``mlws run submit --grid ... --compute gpu1 --wait``: three children, each executed on the
    host and recorded once (metrics, outputs, its runner's log); the sweep completes.  Each
    runner prunes old runner logs as it exits: a 10-day-old one goes, the runs' own stay."""
    ws, project = gpu1
    old_state, old_log = runner_files(ws.root, "0ld0")
    old_log.parent.mkdir(parents=True, exist_ok=True)
    old_log.write_text("mlws ssh runner: exit 0\n")
    long_ago = time.time() - (LOG_DAYS + 3) * 86400
    os.utime(old_log, (long_ago, long_ago))
    out = cli(ws, "run", "submit", project / "train.ipynb", "--grid", "lr=0.1,0.2,0.3",
              "--compute", NAME, "--max-parallel", "3", "--wait")
    assert out.exit_code == 0, out.output
    parent = max((r for r in ws.runs.search(max_results=1000).runs if r.source_type == "sweep"),
                 key=lambda r: r.start_time or 0)
    assert parent.status == "completed", parent.error
    children = ws.runs.children(parent.id)
    assert sorted(float(c.params["lr"]) for c in children) == [0.1, 0.2, 0.3]
    for child in children:
        assert child.status == "completed", child.error
        assert ws.compute.target_of(child.id)[0] == NAME
        lr = float(child.params["lr"])
        history = [value for _step, _ts, value in ws.runs.metric_history(child.id, "loss")]
        assert history == pytest.approx([(1 - lr) ** (e + 1) for e in range(5)])  # logged once
        files = {f["path"] for f in ws.runs.files(child.id)}
        assert "outputs/result.txt" in files, files
        runner_gone(ws, child.id)  # it stores its log with the run as it exits
        assert b"executor exited with status 0" in ws.run_logs(child.id)["ssh-runner.log"]
    assert not old_log.exists() and not old_state.exists()
    assert all(runner_files(ws.root, c.id)[1].is_file() for c in children)


def test_a_sweep_child_whose_runner_died_is_ended_by_the_sweep(gpu1, sshd):
    """A sweep's child on the host loses its runner (``kill -9``): the sweep's process, which
    watches its children through the target, ends that child ``killed`` (the workspace's
    heartbeat timeout is not waited for) and the sweep ends, its other child completed."""
    ws, project = gpu1
    sweep = ws.submit_notebook(project / "pause.ipynb", grid={"pause": [0, 600]}, compute=NAME)
    children = {float(c.params["pause"]): c.id for c in _children(ws, sweep.id, 2)}
    state = runner_state(ws, children[600])
    wait_text(ws, children[600], "stdout.log", "pausing")
    os.kill(state["pid"], signal.SIGKILL)
    deadline = time.monotonic() + 50  # before the workspace's 60 s heartbeat timeout
    while ws.runs.get(sweep.id).status in ("queued", "running"):  # not ws.wait: it checks too
        assert time.monotonic() < deadline, ws.runs.get(children[600])
        time.sleep(0.2)
    lost = ws.runs.get(children[600])
    assert lost.status == "killed" and "its runner on this machine" in lost.error, lost.error
    assert ws.runs.get(children[0]).status == "completed"
    assert ws.runs.get(sweep.id).status == "failed"  # a child did not complete
    wait_group_gone(state["pgid"])


def _children(ws, run_id: str, n: int, timeout: float = 60.0):
    deadline = time.monotonic() + timeout
    while len(found := ws.runs.children(run_id)) < n:
        assert time.monotonic() < deadline, found
        time.sleep(0.1)
    return found


# -- without a host ----------------------------------------------------------------------------


def test_runner_logs_are_pruned_by_age_and_count_never_a_live_runners(tmp_path):
    def log(run_id: str, days_old: float, state: bool = False):
        state_file, path = runner_files(tmp_path, run_id)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("log\n")
        when = now - days_old * 86400
        os.utime(path, (when, when))
        if state:
            state_file.write_text("{}")
        return path

    now = time.time()
    fresh = [log(f"f{i}", i * 0.1) for i in range(5)]  # newest first
    old = log("old", LOG_DAYS + 1)
    live_old = log("live", LOG_DAYS + 30, state=True)  # a live runner's, or a leftover's
    removed = prune_logs(tmp_path, keep=3, now=now)
    assert sorted(removed) == ["f3", "f4", "old"]
    assert [p.exists() for p in fresh] == [True, True, True, False, False]
    assert not old.exists() and live_old.exists()


@pytest.mark.parametrize("given", ["0", 0, 3601, "ten", True, 1.5])
def test_a_keepalive_is_whole_seconds_from_1_to_3600(ws, given):
    from jupyter_mlws.errors import InvalidInput

    with pytest.raises(InvalidInput, match="invalid keepalive .* give whole seconds from 1 to 3600"):
        ws.compute.create("h", "ssh", host="h.example.org", user="u", keepalive=given,
                          host_key=_KEY, check_actor=False)
    assert [t["name"] for t in ws.compute.list()] == ["local"]  # nothing recorded


def test_a_keepalive_defaults_to_10_s_and_is_shown(ws):
    from click.testing import CliRunner

    from jupyter_mlws.cli import main

    ws.compute.create("h", "ssh", host="h.example.org", user="u", host_key=_KEY, check_actor=False)
    ws.compute.create("k", "ssh", host="k.example.org", user="u", keepalive="30", host_key=_KEY,
                      check_actor=False)
    assert (ws.compute.get("h")["keepalive"], ws.compute.get("k")["keepalive"]) == (10, 30)
    shown = CliRunner().invoke(main, ["-w", str(ws.root), "compute", "show", "k"]).output
    assert [line.split() for line in shown.splitlines() if line.startswith("keepalive")] == \
        [["keepalive:", "30", "s"]]


_KEY = " ".join(ed25519_pair()[1].split()[:2])


def test_an_executor_that_exits_before_the_run_starts_ends_it_failed_with_its_last_words(gpu1, sshd):
    """A target whose python cannot import jupyter_mlws (the host's /usr/bin/python3, no
    PYTHONPATH): the executor exits at once; the run does not stay queued but ends ``failed`` at
    the execution step with the end of the executor's output, without this machine's paths or
    the run's token.  A look at a run whose runner exited while it was queued ends it too."""
    ws, project = gpu1
    record = ws.compute.get(NAME)
    ws.compute.create("hostpy", "ssh", host="127.0.0.1", port=sshd.port, user=sshd.user.name,
                      key_secret=record["key_secret"], python="/usr/bin/python3",
                      workdir=record["workdir"], accept_host_key=True, check_actor=False)
    try:
        _an_executor_that_exits_early(ws, project, sshd)
    finally:
        ws.compute.delete("hostpy", check_actor=False)  # the session's workspace: others use names


def _an_executor_that_exits_early(ws, project, sshd):
    from jupyter_mlws.compute.base import EXITED

    # what the README's user types: the drift warning says what runs there use, and --wait ends
    out = cli(ws, "run", "submit", project / "pause.ipynb", "-p", "pause", "0", "--compute", "hostpy",
              "--wait")
    assert out.exit_code == 1, out.output
    ended = ws.runs.get(out.stdout.split()[0])  # the id, printed at once
    assert out.stderr.splitlines()[0] == ("warning: hostpy runs notebooks with the host's own Python "
                                          "and packages (env: system):"), out.stderr
    assert "--build-env" not in out.stderr and "mlws env build" not in out.stderr
    assert out.stderr.splitlines()[-1] == f"run {ended.id} failed: {ended.error}", out.stderr
    assert ended.status == "failed", ended
    assert ended.error.startswith(f"ssh {sshd.user.name}@127.0.0.1:{sshd.port}: the execution step "
                                  "failed: the executor exited with status 1 before the run "
                                  'started: its last output: "'), ended.error
    assert "No module named 'jupyter_mlws'" in ended.error, ended.error
    assert "'mlws compute test hostpy'" in ended.error
    assert str(ws.root) not in ended.error
    # what 'mlws compute test' advises is the README's recipe for preparing a host
    checks = {c["check"]: c for c in ws.compute.test("hostpy", check_actor=False)["checks"]}
    assert checks["jupyter_mlws"]["status"] == "fail"
    assert checks["jupyter_mlws"]["detail"].endswith(
        "make a venv on the host, install jupyter_mlws in it (the wheel in this workspace's "
        ".mlws/wheels/, or pip install from a checkout) and give --python '~/venv/bin/python' "
        "(quoted: the host's home); or let runs bring their own: --env build"), checks["jupyter_mlws"]
    # the poll: a runner that exited (its log says so) without ending its queued run
    lone = ws.runs.create("bare-poll", status="queued")
    ws.compute.assign(lone.id, "hostpy", {})
    runner_files(ws.root, lone.id)[1].write_text("mlws ssh runner: exit 1 [0.10 s]\n")
    assert ws.compute.check(lone.id) == EXITED
    after = ws.runs.get(lone.id)
    assert after.status == "failed", after
    assert after.error == ("hostpy: the execution step failed: the run's ssh runner exited before "
                           f"the run started (its log: 'mlws run logs {lone.id}')")
