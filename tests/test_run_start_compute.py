"""``mlws run start --compute NAME -- COMMAND``: a command executed as a run on an ssh host (the
real sshd of tests/sshd.py) and on Dask workers (a real LocalCluster), recorded as a local
``mlws run start`` records it: the command line, snapshot, params and metrics it logs (over
HTTP, with the run's token), its output streamed back and echoed, ``outputs/``, the environment,
the exit status, the target's name; Ctrl-C stopping it there; secrets masked and never stored;
a bad target name refused with nothing recorded."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from pathlib import Path

import pytest
from click.testing import CliRunner
from mlws_testing import leaks

from jupyter_mlws.access import os_user
from jupyter_mlws.cli import main
from test_cli import BIN, MLWS
from test_compute_dask import dask_ws  # noqa: F401,F811 - the fixtures, shared
from ssh_runs import gpu1  # noqa: F401,F811
from ssh_runs import KEY, NAME, WORKDIR, runner_gone, wait_text

SECRET = "run11-token"
#: '/', '+', '=' make its encodings differ from it
VALUE = "r11/Sec+ret=CANARY-5150"
TRAIN = """\
import os, sys
import jupyter_mlws as mlws

run = mlws.current_run()
lr = float(sys.argv[1])
run.log_params({"lr": sys.argv[1], "where": os.environ["MLWS_WORKSPACE"].split(":")[0]})
for step in range(3):
    mlws.log("loss", lr ** (step + 1), step=step)
os.makedirs("outputs", exist_ok=True)
with open("outputs/result.txt", "w") as f:
    f.write(f"lr={lr}\\n")
print("trained with", sys.argv[1], flush=True)
print("token", os.environ.get("API_TOKEN", "none"), flush=True)
print("a warning", file=sys.stderr, flush=True)
sys.exit(int(sys.argv[2]) if len(sys.argv) > 2 else 0)
"""


@pytest.fixture(scope="module")
def remote_python(sshd):
    """The login user's interpreter for ``gpu1`` (this module's own, in place of ssh_runs's):
    a copy of this checkout's jupyter_mlws that is this module's alone."""
    from sshd import own_executor_python

    python, remove = own_executor_python(sshd.user)
    yield python
    remove()


#: a command that pauses, told apart from the login user's other processes (other test sessions
#: on this machine share the login user)
PAUSE = "run11 = 1; import time; print('pausing', flush=True); time.sleep(600)"
MARK = "run11 = 1"


def remote_processes(sshd, marker: str) -> list[str]:
    """The login user's processes whose command line holds ``marker`` (``PID COMMAND`` lines)."""
    out = subprocess.run(["ps", "-u", sshd.user.name, "-o", "pid=,args="], capture_output=True,
                         text=True).stdout
    return [line.strip() for line in out.splitlines() if marker in line]


def mlws(ws, *args):
    return CliRunner().invoke(main, ["-w", str(ws.root), *map(str, args)], catch_exceptions=False)


def project_with_script(folder: Path) -> Path:
    folder.mkdir(exist_ok=True)
    (folder / "train.py").write_text(TRAIN)
    return folder


def only_new_run(ws, before: set[str]):
    [run] = [r for r in ws.search_runs(max_results=1000) if r.id not in before]
    return run


def run_ids(ws) -> set[str]:
    return {r.id for r in ws.search_runs(max_results=1000)}


def check_recorded(ws, run, target: str, lr: str, snapshot=("train.py",)) -> None:
    """What a local `mlws run start -- python train.py LR` records, from a run on ``target``."""
    record = ws.runs.get(run.id)
    assert record.source_type == "command" and record.source_name == f"python3 train.py {lr}"
    assert ws.compute.target_of(run.id)[0] == target
    assert record.params["lr"] == lr and record.params["where"] == "http"  # logged over HTTP
    assert ws.get_run(run.id).metric_history("loss")[-1][2] == pytest.approx(float(lr) ** 3)
    files = {f["path"] for f in ws.runs.files(run.id)}
    assert {"outputs/result.txt", "environment.json"} <= files, files
    assert record.tags["env_hash"] and "kernel" not in record.tags  # the executor's Python
    assert {f["path"] for f in ws.runs.files(run.id, "snapshot")} == set(snapshot)
    assert ws.runs.process_of(run.id) is None  # nothing of this machine executed it


# -- an ssh host -----------------------------------------------------------------------------


def test_run_start_on_an_ssh_host_is_recorded_as_a_local_run_start(gpu1, sshd, http_workspace):
    ws, _ = gpu1
    project = project_with_script(Path("script-project"))
    ws.secrets.set(os_user(), SECRET, VALUE)
    before = run_ids(ws)
    out = mlws(ws, "run", "start", "--compute", NAME, "--project-dir", project, "-e", "cmds",
               "--secret", f"{SECRET}=API_TOKEN", "--", "python3", "train.py", "0.5")
    assert out.exit_code == 0, out.output
    run = only_new_run(ws, before)
    assert run.status == "completed", run.record.error
    check_recorded(ws, run, NAME, "0.5")
    # its output streamed back and echoed here as a local command's is, the secret masked
    assert "trained with 0.5\ntoken ***\n" in out.stdout and "a warning\n" in out.stderr
    assert out.stderr.rstrip().endswith(f"run {run.id} completed")
    logs = ws.run_logs(run.id)
    assert logs["stdout.log"] == b"trained with 0.5\ntoken ***\n" and logs["stderr.log"] == b"a warning\n"
    shown = mlws(ws, "run", "show", run.id)
    assert [line.split() for line in shown.output.splitlines() if line.startswith("compute")] \
        == [["compute:", NAME]]
    # its folder on the host is gone; the secret is nowhere, its read audited for the run
    runner_gone(ws, run.id)
    assert not (sshd.user.home / WORKDIR / "runs" / run.id).exists()
    assert remote_processes(sshd, "train.py") == []
    assert leaks(ws.root, VALUE) == [] and VALUE not in Path(http_workspace.log).read_text()
    assert run.id in {e["run_id"] for e in ws.secrets.audit(SECRET) if e["action"] == "read"}
    # and the target's key, read to reach the host for it, likewise (newcomer finding)
    assert {(e["user"], e["run_id"]) for e in ws.secrets.audit(KEY) if e["action"] == "read"
            and e["run_id"] == run.id} == {(os_user(), run.id)}


def test_the_targets_key_read_for_alices_run_is_audited_as_hers(gpu1):
    """On a team server the runner executes alice's run as the server's OS user: the key's read
    was audited as that user, for no run."""
    ws, _ = gpu1
    run = ws.runs.create("team", status="queued", source_type="command", user="alice")
    try:
        with ws.compute.connect(NAME, check_actor=False, run_id=run.id):
            pass
        newest = next(e for e in ws.secrets.audit(KEY) if e["action"] == "read")
        assert (newest["user"], newest["run_id"]) == ("alice", run.id)
    finally:
        ws.runs.end(run.id, "canceled", "a test's run: nothing executed it")


def test_ctrl_c_cancels_a_command_on_the_ssh_host_and_stops_it_there(gpu1, sshd):
    ws, _ = gpu1
    before = run_ids(ws)
    env = {k: v for k, v in os.environ.items() if k not in ("MLWS_WORKSPACE", "MLWS_RUN_ID")}
    env["PATH"] = str(BIN) + os.pathsep + env.get("PATH", "")
    proc = subprocess.Popen([MLWS, "-w", str(ws.root), "run", "start", "--no-snapshot", "--compute",
                             NAME, "--", "python3", "-c", PAUSE],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 60
        while not (run_ids(ws) - before) and time.monotonic() < deadline:
            time.sleep(0.1)
        run = only_new_run(ws, before)
        wait_text(ws, run.id, "stdout.log", "pausing")
        assert remote_processes(sshd, MARK)
        proc.send_signal(signal.SIGINT)  # Ctrl-C at the terminal
        stdout, stderr = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 130, stderr
    assert stdout in ("", "pausing\n") and f"run {run.id} canceled" in stderr
    assert ws.runs.get(run.id).status == "canceled"
    runner_gone(ws, run.id)
    deadline = time.monotonic() + 30
    while remote_processes(sshd, MARK) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert remote_processes(sshd, MARK) == []  # the command is stopped there


# -- Dask workers ----------------------------------------------------------------------------


def test_run_start_on_dask_records_the_run_and_exits_with_the_commands_status(dask_ws):
    ws, notebook = dask_ws
    project = project_with_script(notebook.parent)
    before = run_ids(ws)
    out = mlws(ws, "run", "start", "--compute", "lc", "--project-dir", project, "--",
               "python3", "train.py", "0.25")
    assert out.exit_code == 0, out.output
    assert "trained with 0.25\ntoken none\n" in out.stdout
    run = only_new_run(ws, before)
    assert run.status == "completed", run.record.error
    check_recorded(ws, run, "lc", "0.25", snapshot=("train.py", "train.ipynb"))
    data = ws.compute.target_of(run.id)[1]
    assert data["key"].startswith(f"mlws-run-{run.id}-")  # a task of its own
    # a failing command: its exit status, here as from a local mlws run start
    before = run_ids(ws)
    failed = ws.run_command(["python3", "train.py", "0.5", "3"], compute="lc", cwd=project,
                            echo=False)
    assert (failed.status, failed.record.error, failed.exit_code) == ("failed", "exited with status 3", 3)
    assert only_new_run(ws, before).id == failed.id
    assert failed.metrics["loss"] == pytest.approx(0.125)  # what it logged before it exited


def test_a_dask_targets_secrets_reach_the_command_and_a_runs_own_replace_them(dask_ws):
    ws, notebook = dask_ws
    project = project_with_script(notebook.parent)
    ws.secrets.set(os_user(), SECRET, VALUE)
    ws.secrets.set(os_user(), "other-token", "other-CANARY-value")
    target = ws.compute.update("lc", secrets=[f"{SECRET}=API_TOKEN"])
    assert target["secrets"] == {"API_TOKEN": SECRET}
    given = ws.run_command(["python3", "train.py", "0.5"], compute="lc", cwd=project, echo=False)
    assert given.status == "completed", given.record.error
    assert ws.run_logs(given.id)["stdout.log"].endswith(b"token ***\n")
    assert json.loads(given.tags["secrets"]) == [SECRET]
    # the run's own --secret for the same variable wins: the target's is not read for it
    reads = len([e for e in ws.secrets.audit(SECRET) if e["action"] == "read"])
    own = ws.run_command(["python3", "train.py", "0.5"], compute="lc", cwd=project, echo=False,
                         secrets=["other-token=API_TOKEN"])
    assert own.status == "completed", own.record.error
    assert json.loads(own.tags["secrets"]) == ["other-token"]
    assert ws.secrets.bindings(own.id) == {"API_TOKEN": "other-token"}
    assert len([e for e in ws.secrets.audit(SECRET) if e["action"] == "read"]) == reads
    assert {e["run_id"] for e in ws.secrets.audit(SECRET) if e["action"] == "read"} >= {given.id}
    # a notebook run on the target is given them too
    nb_run = ws.submit_notebook(notebook, {"lr": 0.5}, compute="lc", wait=True)
    assert nb_run.status == "completed", nb_run.record.error
    assert ws.secrets.bindings(nb_run.id) == {"API_TOKEN": SECRET}
    assert leaks(ws.root, VALUE) == []
    from jupyter_mlws.compute.dask_tasks import output_dir

    assert leaks(output_dir(), VALUE) == []  # the workers' own logs of the tasks


# -- refused -----------------------------------------------------------------------------------


def test_a_bad_target_name_is_refused_and_nothing_is_recorded(ws, tmp_path):
    before = run_ids(ws)
    out = CliRunner().invoke(main, ["-w", str(ws.root), "run", "start", "--compute", "nope", "--",
                                    "true"])
    assert out.exit_code != 0
    assert "no compute target 'nope': 'mlws compute list' shows them" in out.stderr
    out = CliRunner().invoke(main, ["-w", str(ws.root), "run", "start", "--compute", "bad name!",
                                    "--", "true"])
    assert out.exit_code != 0 and "compute target name" in out.stderr
    assert run_ids(ws) == before and ws.runs.list_experiments() == []
