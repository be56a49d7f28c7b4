"""Notebooks as runs, with real ipykernel kernels and the tiny notebooks in tests/notebooks/."""

import json
import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

import nbformat
import pytest
from click.testing import CliRunner

import jupyter_mlws as mlws
from jupyter_mlws.cli import main as cli
from jupyter_mlws.errors import InvalidInput, NotFound

NOTEBOOKS = Path(__file__).parent / "notebooks"


@pytest.fixture
def project(tmp_path):
    """A project folder holding copies of the test notebooks."""
    folder = tmp_path / "project"
    shutil.copytree(NOTEBOOKS, folder)
    return folder


@pytest.fixture
def nbws(tmp_path, project, monkeypatch):
    monkeypatch.delenv("MLWS_WORKSPACE", raising=False)
    monkeypatch.delenv("MLWS_RUN_ID", raising=False)
    monkeypatch.chdir(project)
    ws = mlws.Workspace.create(tmp_path / "ws", heartbeat_interval=0.3, heartbeat_timeout=3)
    yield ws
    ws.close()


def _output_notebook(ws, run):
    [f] = [f for f in run.files("artifact") if f["path"].startswith("notebook/")]
    return nbformat.reads(ws.blobs.read_bytes(f["sha256"]).decode(), as_version=4)


def _outputs(nb):
    return [[o.get("text") or o.get("data", {}).get("text/plain") for o in c.get("outputs", [])]
            for c in nb.cells if c.cell_type == "code"]


TRICKY = 'a "quote" \'single\' \n newline """ triple \0 nul'


def test_a_submitted_notebook_records_everything(nbws, project):
    run = nbws.submit_notebook(project / "train.ipynb",
                               {"lr": 0.5, "layers": [64, 32], "message": TRICKY},
                               experiment="iris")
    assert run.status == "queued"  # returned at once; a detached executor runs it
    done = nbws.wait(run.id, timeout=120)
    assert done.status == "completed", done.record.error
    assert done.params == {"lr": "0.5", "layers": "[64, 32]", "message": TRICKY}
    assert done.metrics == {"loss": 0.5**5}  # logged from inside the notebook
    assert len(done.metric_history("loss")) == 5
    assert done.tags["kernel"] == "python3" and len(done.tags["env_hash"]) == 16
    assert done.tags["notebook"] == str(project / "train.ipynb")  # where the source lives
    paths = {f["path"] for f in done.files("artifact")}
    assert {"notebook/train.ipynb", "outputs/result.txt", "environment.json"} <= paths
    assert {f["path"] for f in done.files("snapshot")} >= {"train.ipynb", "fails.ipynb"}
    out = _output_notebook(nbws, done)
    assert out.cells[2].metadata.tags == ["injected-parameters"]
    assert _outputs(out)[-1] == [repr(repr(TRICKY))]  # the value arrived literally
    cells = nbws.notebooks.cells(run.id)
    assert [c["status"] for c in cells] == ["completed"] * len(out.cells)
    assert all(c["duration"] is not None for c in cells)
    assert nbws.run_logs(run.id, "stdout.log")["stdout.log"] == b"final loss 0.03125\n"
    with nbws.artifacts.open(done.record.pk, "environment.json") as f:
        env = json.load(f)
    assert any(p.startswith("papermill==") for p in env["packages"])


def test_a_failing_cell_fails_the_run_with_the_cell_and_error_after_its_retries(nbws, project):
    run = nbws.submit_notebook(project / "fails.ipynb", {"x": 41}, retries=1, wait=True)
    assert run.status == "failed"
    assert run.record.error.startswith("cell 2 (In [4]) raised ValueError: bad value 42")
    assert "raise ValueError" in run.record.error
    attempts = [json.loads(v["data"]) for v in run.values("attempts")]
    assert [(a["attempt"], a["status"]) for a in attempts] == [(1, "failed"), (2, "failed")]
    out = _output_notebook(nbws, run)  # saved and valid although the run failed
    assert out.cells[-1].metadata.papermill.status == "pending"


def test_a_cell_past_the_timeout_times_the_run_out(nbws, project):
    run = nbws.submit_notebook(project / "slow.ipynb", {"seconds": 30}, timeout=1, wait=True)
    assert run.status == "timed_out"
    assert run.record.error == ("timed out: cell 2 (In [3]) ran longer than the run's timeout of 1 s\n"
                                "import time\nprint('sleeping', flush=True)\ntime.sleep(seconds)")


def _code_notebook(path, *sources):
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(s) for s in sources],
                                  metadata={"kernelspec": {"name": "python3", "display_name": "P"}})
    nbformat.write(nb, path)
    return path


# Prints its lines after the kernel has replied to the cell (from the kernel's own flush before it
# reports idle), one every 0.1 s for 6 s: what a loaded machine does to a cell that printed much.
LATE_OUTPUT = """
import sys, time

class LateOutput:
    def __init__(self, out):
        self.out = out
    def write(self, text):
        return self.out.write(text)
    def flush(self):
        if sys._getframe(1).f_code.co_name == "dispatch_shell":  # after the execute_reply
            sys.stdout = self.out
            for i in range(60):
                print("late", i, flush=True)
                time.sleep(0.1)
        self.out.flush()

sys.stdout = LateOutput(sys.stdout)
"""


def test_output_still_arriving_after_a_cell_replied_is_waited_for(nbws, project):
    # nbclient waits 4 s in all for it, and ended such a run timed_out although no timeout was set
    nb = _code_notebook(project / "late.ipynb", "x = 1", LATE_OUTPUT, "print('next')")
    run = nbws.submit_notebook(nb, wait=True)
    assert run.status == "completed", run.record.error
    out = _output_notebook(nbws, run)
    assert _outputs(out)[1] == ["".join(f"late {i}\n" for i in range(60))]
    assert _outputs(out)[2] == ["next\n"]


def test_a_kernel_that_goes_silent_after_a_reply_fails_the_run_naming_the_cell(nbws, project,
                                                                                 monkeypatch):
    from jupyter_mlws import executor

    monkeypatch.setattr(executor, "IOPUB_QUIET_S", 2)
    silent = LATE_OUTPUT.replace('print("late", i, flush=True)', "pass")
    nb = _code_notebook(project / "silent.ipynb", "x = 1", silent, "print('next')")
    run = executor.submit_and_execute(nbws, nb)  # in this process (mlws run submit --wait)
    assert run.status == "failed"
    assert run.error.startswith(
        "cell 2 (In [2]) finished, but the kernel then sent none of its remaining output for 2 s "
        "(the kernel is stuck, or its output channel was lost)\n\nimport sys, time\n")


def test_a_huge_error_is_kept_bounded_in_the_reason_and_the_notebook(nbws, project):
    nb = _code_notebook(project / "huge.ipynb", "raise ValueError('v' * (1 << 20))")
    run = nbws.submit_notebook(nb, wait=True)
    assert run.status == "failed"
    assert "raised ValueError: vvvv" in run.record.error
    assert len(run.record.error) < 4100 and run.record.error.endswith(" more characters]")
    [error] = _output_notebook(nbws, run).cells[0].outputs
    assert len(error.evalue) < (64 << 10) + 100 and error.evalue.endswith(" characters cut]")
    assert error.traceback and len(json.dumps(error.traceback)) < (64 << 10) + 100


def test_a_dying_kernel_fails_the_run(nbws, project):
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("import os; os._exit(1)")],
                                  metadata={"kernelspec": {"name": "python3", "display_name": "P"}})
    nbformat.write(nb, project / "dies.ipynb")
    run = nbws.submit_notebook(project / "dies.ipynb", wait=True)
    assert run.status == "failed"
    # "(In [1])" too, unless the kernel died before the executor heard of its execution count
    assert run.record.error.startswith("kernel died while running cell 1")


def test_cancel_stops_the_executor_and_its_kernel(nbws, project):
    run = nbws.submit_notebook(project / "slow.ipynb", {"seconds": 60})
    deadline = time.monotonic() + 60
    while "sleeping" not in nbws.run_logs(run.id).get("stdout.log", b"").decode():
        assert time.monotonic() < deadline, "the notebook never started"
        time.sleep(0.2)
    kernels = _kernel_pids()
    assert kernels, "a kernel is running the notebook"
    got = nbws.cancel_run(run.id)
    assert got.status == "canceled"
    deadline = time.monotonic() + 20
    while any(_alive(pid) for pid in kernels):
        assert time.monotonic() < deadline, "the kernel outlived the canceled run"
        time.sleep(0.2)
    assert nbws.wait(run.id).status == "canceled"


def test_canceling_a_sweep_stops_its_running_child_and_cancels_the_queued_ones(nbws, project):
    sweep = nbws.submit_notebook(project / "slow.ipynb", grid={"seconds": [60, 61, 62]}, max_parallel=1)
    deadline = time.monotonic() + 60
    while not any(c.status == "running" for c in nbws.get_run(sweep.id).children()):
        assert time.monotonic() < deadline, "no child started"
        time.sleep(0.2)
    assert nbws.cancel_run(sweep.id).status == "canceled"
    deadline = time.monotonic() + 30
    while any(c.status in ("running", "queued") for c in nbws.get_run(sweep.id).children()):
        assert time.monotonic() < deadline, "children outlived the canceled sweep"
        time.sleep(0.2)
    kids = nbws.get_run(sweep.id).children()
    assert sorted(c.status for c in kids) == ["canceled"] * 3
    assert nbws.get_run(sweep.id).status == "canceled"


def _kernel_pids():
    out = subprocess.run(["pgrep", "-f", "ipykernel_launcher"], capture_output=True, text=True).stdout
    return [int(p) for p in out.split()]


def _alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    stat = Path(f"/proc/{pid}/stat").read_text().split()
    return stat[2] != "Z"


def test_a_killed_executor_leaves_a_killed_run_with_its_notebook_as_it_was(nbws, project):
    nb = _code_notebook(project / "killed.ipynb", "x = 1", "print('first')",
                        "import time\nprint('sleeping', flush=True)\ntime.sleep(60)")
    run = nbws.submit_notebook(nb)
    live = nbws.artifacts.live_file(run.id, "output.ipynb")
    deadline = time.monotonic() + 60
    # the last change (the output of the cell now sleeping) reaches the disk although nothing
    # follows it for a minute: saves too close to the previous one were dropped, not delayed
    while not _live_cell_running(live, 2) or _outputs(nbformat.read(live, as_version=4))[2] != [
            "sleeping\n"]:
        assert time.monotonic() < deadline, "the live notebook never showed the last cell's output"
        time.sleep(0.1)
    os.killpg(_pid(nbws, run), signal.SIGKILL)
    deadline = time.monotonic() + 30
    while nbws.runs.get(run.id).status == "running":
        assert time.monotonic() < deadline, "the run was never marked killed"
        nbws.runs.reap_stale(force=True)
        time.sleep(0.3)
    killed = nbws.get_run(run.id)
    assert killed.status == "killed"
    # what the killed executor left is the run's: its notebook, cell records and logs
    out = _output_notebook(nbws, killed)
    assert _outputs(out) == [[], ["first\n"], ["sleeping\n"]]
    assert [c.metadata.papermill.status for c in out.cells] == ["completed", "completed", "running"]
    assert [c["status"] for c in nbws.notebooks.cells(run.id)] == ["completed", "completed", "running"]
    assert {f["path"] for f in killed.files("log")} >= {"stdout.log"}
    assert nbws.run_logs(run.id, "stdout.log")["stdout.log"] == b"first\nsleeping\n"
    assert not (nbws.artifacts.live_root / run.id).exists()


def _pid(ws, run):
    from jupyter_mlws.workspace import select_pid

    with ws.db.read() as conn:
        return conn.execute(select_pid(run.record.pk)).one()[0]


def test_rerun_reproduces_a_deterministic_notebook_with_lineage(nbws, project):
    first = nbws.submit_notebook(project / "train.ipynb", {"lr": 0.25}, wait=True)
    (project / "train.ipynb").write_text("changed after the run")  # the rerun uses the snapshot
    again = nbws.rerun(first.id, wait=True)
    assert again.status == "completed", again.record.error
    assert again.tags["rerun_of"] == first.id
    assert again.tags["notebook"] == str(project / "train.ipynb")  # not the re-run's working copy
    assert again.params == first.params and again.metrics == first.metrics
    assert _outputs(_output_notebook(nbws, again)) == _outputs(_output_notebook(nbws, first))
    changed = nbws.rerun(first.id, {"lr": 0.5}, wait=True)
    assert changed.params["lr"] == "0.5" and changed.metrics["loss"] == 0.5**5
    with pytest.raises(NotFound, match="only notebook runs re-run"):
        with nbws.experiment("e").start_run(snapshot=False) as plain:
            pass
        nbws.rerun(plain.id)


def test_a_grid_makes_one_child_per_combination(nbws, project):
    parent = nbws.submit_notebook(project / "train.ipynb", grid={"lr": [0.1, 0.2], "epochs": [1, 2]},
                                  max_parallel=2, experiment="sweep", wait=True)
    assert parent.status == "completed", parent.record.error
    kids = parent.children()
    assert sorted((k.params["lr"], k.params["epochs"]) for k in kids) == [
        ("0.1", "1"), ("0.1", "2"), ("0.2", "1"), ("0.2", "2")]
    assert {k.status for k in kids} == {"completed"}
    for kid in kids:  # each child ran in its own copy: no sibling's outputs/
        with nbws.artifacts.open(kid.record.pk, "outputs/result.txt") as f:
            assert f.read().decode().startswith(kid.params["lr"] + " ")
    assert not list((nbws.root / "work").iterdir())  # the copies are gone
    best = nbws.search_runs(f"parent_id = '{parent.id}'", order_by=["metrics.loss ASC"])[0]
    assert (best.params["lr"], best.params["epochs"]) == ("0.2", "2")


def test_the_cli_waits_for_a_sweep_it_runs_itself(nbws, project):
    import sys

    mlws_bin = Path(sys.executable).parent / "mlws"
    env = {k: v for k, v in os.environ.items() if k not in ("MLWS_WORKSPACE", "MLWS_RUN_ID")}
    res = subprocess.run([str(mlws_bin), "-w", str(nbws.root), "run", "submit", "train.ipynb",
                          "--grid", "lr=0.1,0.2,0.3", "--max-parallel", "2", "--wait", "--json"],
                         cwd=project, env=env, capture_output=True, text=True, timeout=180)
    assert res.returncode == 0, res.stderr
    shown = json.loads(res.stdout)
    assert shown["status"] == "completed" and shown["source_type"] == "sweep"
    parent = nbws.get_run(shown["id"])
    kids = parent.children()
    assert sorted(k.params["lr"] for k in kids) == ["0.1", "0.2", "0.3"]
    assert {k.status for k in kids} == {"completed"}
    assert sorted(k.metrics["loss"] for k in kids) == pytest.approx(
        sorted((1 - lr) ** 5 for lr in (0.1, 0.2, 0.3)))


@pytest.mark.parametrize("args, message", [
    (("missing.ipynb", {}), "no notebook at"),
    (("broken.ipynb", {}), "is not a valid notebook"),
    (("train.ipynb", {"a = 1\nimport os": 1}), "not a Python identifier"),
    (("train.ipynb", {"class": 1}), "not a Python identifier"),
    (("train.ipynb", {"lr": "x" * (10 << 20)}), "over the 1 MB limit"),
    (("train.ipynb", {"lr": object()}), "cannot be passed to a notebook"),
])
def test_bad_submissions_are_refused_before_anything_is_recorded(nbws, project, args, message):
    name, params = args
    with pytest.raises((InvalidInput, NotFound), match=message):
        nbws.submit_notebook(project / name, params)
    assert nbws.describe()["runs"] == 0


def test_an_unknown_kernel_and_an_escaping_output_path_are_refused(nbws, project):
    with pytest.raises(InvalidInput, match="no kernel named 'nope' is installed.*python3"):
        nbws.submit_notebook(project / "train.ipynb", kernel="nope")
    with pytest.raises(InvalidInput, match="outside"):
        nbws.submit_notebook(project / "train.ipynb", name="../../x", output="reports/{run_name}.ipynb")
    assert nbws.describe()["runs"] == 0


def test_parameters_a_notebook_does_not_declare_are_warned_about(nbws, project):
    run = nbws.submit_notebook(project / "noparams.ipynb", {"lr": 1})
    assert run.warnings == ["noparams.ipynb has no cell tagged 'parameters': "
                            "the parameters are injected at the top"]
    nbws.cancel_run(run.id)
    run = nbws.submit_notebook(project / "train.ipynb", {"lr": 1, "extra": 2})
    assert run.warnings == ["train.ipynb does not declare parameter 'extra' in its 'parameters' "
                            "cell (passed anyway)"]
    nbws.cancel_run(run.id)


def test_the_cli_submits_waits_and_copies_the_output(nbws, project):
    runner = CliRunner()
    result = runner.invoke(cli, ["-w", str(nbws.root), "run", "submit", "train.ipynb", "-p", "lr", "0.5",
                                 "-p", "layers", "[64, 32]", "-r", "message", "0.1", "-e", "iris",
                                 "--output", "reports/{run_name}.ipynb", "--wait"])
    assert result.exit_code == 0, result.output
    # the run executed in this process, which keeps its own environment afterwards
    assert "MLWS_RUN_ID" not in os.environ and "MLWS_WORKSPACE" not in os.environ
    run_id = result.stdout.splitlines()[0]
    run = nbws.get_run(run_id)
    assert run.params == {"lr": "0.5", "layers": "[64, 32]", "message": "0.1"}
    assert run.metrics["loss"] == 0.5**5
    copy = nbws.root / "reports" / f"{run.name}.ipynb"
    assert nbformat.read(copy, as_version=4).cells[1].source.startswith("lr = 0.1")
    bad = runner.invoke(cli, ["-w", str(nbws.root), "run", "submit", "train.ipynb", "-p", "lr", "[1,"])
    assert bad.exit_code == 2 and "is not valid YAML/JSON" in bad.output
    failed = runner.invoke(cli, ["-w", str(nbws.root), "run", "submit", "fails.ipynb", "--wait"])
    assert failed.exit_code == 1 and "ValueError: bad value 2" in failed.output
    # the kernel started early for --wait still honours the cell timeout
    slow = runner.invoke(cli, ["-w", str(nbws.root), "run", "submit", "slow.ipynb", "-p", "seconds", "30",
                               "--timeout", "1", "--wait"])
    assert slow.exit_code == 1 and "timed_out" in slow.output


def test_a_flood_of_output_is_capped_in_the_run_logs_and_in_the_notebook(nbws, project):
    mb = "import sys\nfor _ in range({}):\n    sys.stdout.write('x' * (1 << 20))\nprint('end')"
    nb = _code_notebook(
        project / "flood.ipynb", mb.format(12), *[mb.format(4)] * 4,
        "from IPython.display import HTML, display\ndisplay(HTML('y' * 1000))",
        # waits for the test to look at the live copy
        "import os, time\nwhile not os.path.exists('go'):\n    time.sleep(0.1)")
    run = nbws.submit_notebook(nb)
    live = nbws.artifacts.live_file(run.id, "output.ipynb")
    deadline = time.monotonic() + 240
    try:
        while not _live_cell_running(live, 6):
            assert time.monotonic() < deadline, "the notebook never reached its last cell"
            time.sleep(0.2)
        assert live.stat().st_size < (20 << 20) + (100 << 10)  # capped while it runs, not only at the end
    finally:
        (project / "go").touch()  # the run ends, whatever happened
    run = nbws.wait(run.id, timeout=120)
    assert run.status == "completed", run.record.error
    log = nbws.run_logs(run.id, "stdout.log")["stdout.log"]
    assert len(log) < (10 << 20) + 200 and log.endswith(b"[mlws: log truncated at 10 MB]\n")
    # the end alone, read without the rest (what the widgets and the sidebar tail)
    assert nbws.run_logs(run.id, "stdout.log", tail=100)["stdout.log"] == log[-100:]

    [stored] = [f for f in run.files("artifact") if f["path"] == "notebook/flood.ipynb"]
    assert stored["size"] < (20 << 20) + (100 << 10)  # was 44 MB: every output kept
    cells = [c.outputs for c in _output_notebook(nbws, run).cells]
    note = ("not kept in this notebook, which keeps at most 5.0 MB of output per cell and 20.0 MB "
            "in all. The run's stdout.log and stderr.log keep the streams, each up to its own 10 MB "
            "cap; display outputs past the cap are not stored.]\n")
    # a cell keeps one stdout output (its pieces coalesced), cut at 5 MB, then the marker
    assert [o.get("name") for o in cells[0]] == ["stdout", "stderr"]
    assert 5 << 20 > len(cells[0][0].text) > (5 << 20) - 1000 and set(cells[0][0].text) == {"x"}
    assert cells[0][1].text == "[mlws: output cut: 7.0 MB of stdout " + note
    assert [len(c[0].text) for c in cells[1:4]] == [(4 << 20) + 4] * 3  # whole, under both caps
    assert cells[4][1].text.startswith("[mlws: output cut: 1.0 MB of stdout not kept")  # 20 MB in all
    assert cells[5] == [nbformat.v4.new_output("stream", name="stderr",
                                               text="[mlws: output cut: 1 display output(s) " + note)]


def test_outputs_replaced_in_place_count_once_and_an_oversized_update_is_dropped(nbws, project):
    nb = _code_notebook(
        project / "replaced.ipynb",
        # 30 x 300 KB, each clearing the last: 300 KB kept, nothing cut
        "from IPython.display import HTML, clear_output, display\nfor i in range(30):\n"
        "    clear_output(wait=True)\n    print(i, 'x' * (300 << 10))",
        "h = display(HTML('small'), display_id=True)\nfor i in range(30):\n"
        "    h.update(HTML(str(i % 10) * (300 << 10)))",
        "h.update(HTML('z' * (6 << 20)))  # more than a cell keeps")
    run = nbws.submit_notebook(nb, wait=True)
    assert run.status == "completed", run.record.error
    first, second, third = (c.outputs for c in _output_notebook(nbws, run).cells)
    assert [o.text for o in first] == ["29 " + "x" * (300 << 10) + "\n"]
    assert second[0].output_type == "display_data" and second[0].data == {}
    assert second[1].text.startswith("[mlws: output cut: 1 display output(s) not kept")
    assert third == []


def _live_cell_running(path, index):
    try:
        nb = nbformat.read(path, as_version=4)
    except (OSError, ValueError):
        return False
    return nb.cells[index].metadata.papermill.status == "running"
