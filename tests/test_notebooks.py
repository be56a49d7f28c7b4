"""Notebooks as runs, with real ipykernel kernels and the tiny notebooks in tests/notebooks/."""

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import pytest
from click.testing import CliRunner

import jupyter_mlws as mlws
from jupyter_mlws.cli import main as cli
from jupyter_mlws.errors import InvalidInput, NotFound
from jupyter_mlws.notebooks.kernels import drop_noise

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


def _cli(ws, *args, cwd):
    """The real ``mlws`` command in its own process, as a user runs it (what it prints is what
    the user sees: pytest's log capture is not in the way)."""
    env = {k: v for k, v in os.environ.items() if k not in ("MLWS_WORKSPACE", "MLWS_RUN_ID")}
    return subprocess.run([str(Path(sys.executable).parent / "mlws"), "-w", str(ws.root), *args],
                          cwd=cwd, env=env, capture_output=True, text=True, timeout=180)


def _no_kernel_noise(ws, run_id):
    logs = ws.run_logs(run_id)
    assert not any(b"without encryption" in text for text in logs.values()), logs


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
    assert done.params == {"lr": "0.5", "layers": "[64, 32]", "message": TRICKY, "epochs": "5"}
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
    _no_kernel_noise(nbws, run.id)
    with nbws.artifacts.open(done.id, "environment.json") as f:
        env = json.load(f)
    assert any(p.startswith("papermill==") for p in env["packages"])


def test_a_failing_cell_fails_the_run_with_the_cell_and_error_after_its_retries(nbws, project):
    run = nbws.submit_notebook(project / "fails.ipynb", {"x": 41}, retries=1, wait=True)
    assert run.status == "failed"
    # counted as the user counts the cells of fails.ipynb: the third one
    assert run.record.error.startswith("cell 3 (In [4]) raised ValueError: bad value 42")
    assert "raise ValueError" in run.record.error
    cells = nbws.notebooks.cells(run.id)
    assert [c["number"] for c in cells] == [1, None, 2, 3, 4]  # None: the injected parameters
    _no_kernel_noise(nbws, run.id)  # the retry's kernel included
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
    from jupyter_mlws.notebooks import engine

    monkeypatch.setattr(engine, "IOPUB_QUIET_S", 2)
    silent = LATE_OUTPUT.replace('print("late", i, flush=True)', "pass")
    nb = _code_notebook(project / "silent.ipynb", "x = 1", silent, "print('next')")
    # in this process (mlws run submit --wait)
    run = nbws.submit_notebook(nb, wait=True, in_process=True).record
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
    kernels = _kernels_of(run.id)  # never another test's (another worker's) kernels
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


def _kernels_of(run_id: str) -> list[int]:
    """The pids of the kernels running run ``run_id``'s notebook (its id in their environment)."""
    found = []
    for pid in _processes_of(run_id):
        try:
            if b"ipykernel_launcher" in Path(f"/proc/{pid}/cmdline").read_bytes():
                found.append(pid)
        except OSError:  # gone already
            pass
    return found


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
    from jupyter_mlws.runs import select_pid

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
        with nbws.artifacts.open(kid.id, "outputs/result.txt") as f:
            assert f.read().decode().startswith(kid.params["lr"] + " ")
    assert not list((nbws.root / "work").iterdir())  # the copies are gone
    best = nbws.search_runs(f"parent_id = '{parent.id}'", order_by=["metrics.loss ASC"])[0]
    assert (best.params["lr"], best.params["epochs"]) == ("0.2", "2")


def test_the_cli_waits_for_a_sweep_it_runs_itself(nbws, project):
    res = _cli(nbws, "run", "submit", "train.ipynb", "--grid", "lr=0.1,0.2,0.3", "--max-parallel",
               "2", "--wait", "--json", cwd=project)
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


def _notebook(path, params_source):
    cell = nbformat.v4.new_code_cell(params_source)
    cell.metadata["tags"] = ["parameters"]
    nbformat.write(nbformat.v4.new_notebook(cells=[cell, nbformat.v4.new_code_cell("pass")], metadata={
        "kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}}), path)
    return path


def test_a_notebook_run_records_every_declared_parameter_and_which_were_given(nbws, project):
    # recorded at submission, before any kernel: detach=False records without executing
    sub = nbws.notebooks.submit(project / "train.ipynb", {"lr": 0.5}, detach=False)
    run = nbws.get_run(sub.run_id)
    assert run.params == {"lr": "0.5", "layers": "[8]", "epochs": "5", "message": "hi"}
    assert json.loads(run.tags["overridden_params"]) == ["lr"]
    nb = _notebook(project / "kinds.ipynb", "import numpy as np\nC = 1.0\nsteps = np.arange(3)\n"
                   "label: str | None = None\nneeded: int\ncfg = {'a': (1, 2)}\nflag = True\nlr = 1e-05")
    run = nbws.get_run(nbws.notebooks.submit(nb, {"flag": False, "extra": 1}, detach=False).run_id)
    assert run.params == {"C": "1.0", "steps": "np.arange(3)", "label": "null", "cfg": '{"a": [1, 2]}',
                          "flag": "false", "lr": "1e-05", "extra": "1"}  # `needed` has no default
    assert json.loads(run.tags["overridden_params"]) == ["extra", "flag"]
    assert nbws.notebooks.spec(run.id)["parameters"] == {"flag": False, "extra": 1}  # injected
    shown = CliRunner().invoke(cli, ["-w", str(nbws.root), "run", "show", run.id])
    assert '  C = 1.0\n' in shown.output and '  overridden_params = ["extra", "flag"]\n' in shown.output
    many = {f"p{i:03d}_a_longer_name": i for i in range(400)}  # more names than a tag holds
    run = nbws.get_run(nbws.notebooks.submit(nb, many, detach=False).run_id)
    assert run.status == "queued" and len(run.params) == 6 + 400
    listed = json.loads(run.tags["overridden_params"])
    assert listed[-1] == "..." and listed[:-1] == sorted(many)[:len(listed) - 1]


@pytest.mark.parametrize("template, message", [
    ("o/{x.__class__.__name__}.ipynb", "{x.__class__.__name__} is not a plain field"),
    ("o/{x.__class__.__init__.__globals__}.ipynb", "is not a plain field"),
    ("o/{x[0]}.ipynb", "{x[0]} is not a plain field"),
    ("o/{x!r}.ipynb", "{x!r} is not a plain field"),
    ("o/{x:>99999999}.ipynb", "is not a plain field"),
    ("o/{}.ipynb", "{} is not a plain field"),
    ("o/{nope}.ipynb", "unknown field {nope}: use {run_name}, {experiment} or a parameter name "
                       "(epochs, layers, lr, message, x)"),
    ("o/{x.ipynb", "is not a valid template"),
])
def test_output_templates_take_plain_names_only(nbws, project, template, message):
    for sweep in ([], ["--grid", "lr=0.1,0.2"]):  # a sweep refuses it before its parent is recorded
        result = CliRunner().invoke(cli, ["-w", str(nbws.root), "run", "submit", "train.ipynb",
                                          "-p", "x", "1", "--output", template, *sweep])
        assert result.exit_code == 2 and "Traceback" not in result.output, result.output
        assert message in result.output
    assert nbws.describe()["runs"] == 0


def test_a_kernel_that_cannot_be_resolved_is_refused_naming_the_installed_ones(nbws, project):
    nbformat.write(nbformat.v4.new_notebook(metadata={"language_info": {"name": "cobol"}}),
                   project / "cobol.ipynb")
    nbformat.write(nbformat.v4.new_notebook(metadata={"kernelspec": {"name": "gone", "display_name": "G"}}),
                   project / "gone.ipynb")
    cobol = r"cobol.ipynb is written in 'cobol' and no installed kernel runs it \(installed: .*python3"
    with pytest.raises(InvalidInput, match=cobol):
        nbws.submit_notebook(project / "cobol.ipynb", {"x": 1})
    with pytest.raises(InvalidInput, match=cobol):  # a sweep: not even its parent is recorded
        nbws.submit_notebook(project / "cobol.ipynb", grid={"x": [1, 2]})
    with pytest.raises(InvalidInput, match="gone.ipynb asks for a kernel that is not installed: "
                                           "no kernel named 'gone' is installed.*python3"):
        nbws.submit_notebook(project / "gone.ipynb")
    waited = CliRunner().invoke(cli, ["-w", str(nbws.root), "run", "submit", "cobol.ipynb", "-p", "x",
                                      "1", "--wait"])
    assert waited.exit_code == 2 and "no installed kernel runs it" in waited.output
    assert nbws.describe()["runs"] == 0


def _runnable(nb):
    """A notebook the product wrote: valid, and saying which kernel and language it runs in."""
    nbformat.validate(nb)
    assert nb.metadata.kernelspec.name == "python3" and nb.metadata.language_info.name == "python"
    return nb


def test_a_notebook_without_kernel_metadata_runs_on_every_path_and_what_it_writes_runs_again(
        nbws, project):
    # bare.ipynb has no kernelspec and no language_info (nbformat.v4.new_notebook(), nbstripout)
    res = _cli(nbws, "run", "submit", "bare.ipynb", "-p", "x", "2", "--output",
               "reports/{run_name}.ipynb", "--wait", cwd=project)
    assert res.returncode == 0, res.stderr
    first = nbws.get_run(res.stdout.split()[0])
    assert first.tags["kernel"] == "python3"
    assert nbws.run_logs(first.id, "stdout.log")["stdout.log"] == b"x is 2\n"
    _runnable(_output_notebook(nbws, first))
    copy = nbws.root / "reports" / f"{first.name}.ipynb"
    _runnable(nbformat.read(copy, as_version=4))

    def runs_with(run, x):
        assert run.status == "completed", run.record.error
        assert nbws.run_logs(run.id, "stdout.log")["stdout.log"] == f"x is {x}\n".encode()

    from_copy = nbws.submit_notebook(copy, {"x": 3}, wait=True)  # the --output copy
    runs_with(from_copy, 3)
    # its injected cell is replaced, not inserted again: every cell is one the user sees in it
    assert [c["number"] for c in nbws.notebooks.cells(from_copy.id)] == [1, 2, 3]
    rerun = nbws.rerun(first.id, {"x": 4}, wait=True)  # the detached executor, from the snapshot
    runs_with(rerun, 4)
    (project / "rerun.ipynb").write_bytes(
        nbformat.writes(_runnable(_output_notebook(nbws, rerun))).encode())
    runs_with(nbws.submit_notebook(project / "rerun.ipynb", {"x": 5}, wait=True), 5)
    sweep = nbws.submit_notebook(project / "bare.ipynb", grid={"x": [6]}, wait=True)
    assert sweep.status == "completed", sweep.record.error
    runs_with(sweep.children()[0], 6)


def test_only_the_product_warns_about_parameters_once_per_fact(nbws, project):
    # typed.ipynb declares foo: None | str = None, baz: Optional[str] = None, bar: int = 3
    res = _cli(nbws, "run", "submit", "typed.ipynb", "-p", "foo", "BAR", "-p", "nope", "1", "--wait",
               cwd=project)
    assert res.returncode == 0, res.stderr
    run_id = res.stdout.split()[0]
    progress = [f"cell {n}/2 done" for n in (1, 2)]  # a line per cell (the user's two): not a terminal
    assert res.stderr.splitlines() == [
        "warning: typed.ipynb does not declare parameter 'nope' in its 'parameters' cell (its "
        "parameters: foo, baz, bar; passed anyway)",
        *progress, f"run {run_id} completed"]
    assert nbws.run_logs(run_id, "stdout.log")["stdout.log"] == b"foo=BAR baz=None bar=3\n"
    sub = nbws.notebooks.submit(project / "noparams.ipynb", {"x": 1})  # the detached executor
    assert sub.warnings == ["noparams.ipynb has no cell tagged 'parameters': "
                            "the parameters are injected at the top"]
    assert nbws.wait(sub.run_id, timeout=120).status == "completed"
    assert "executor.log" not in nbws.run_logs(sub.run_id)  # the detached executor said nothing


#: a cell whose kernel, as it exits, waits for its run to have ended, then says so on its stderr
AT_EXIT_WAITS_FOR_THE_RUN = """\
import atexit, os, sqlite3, time

def _say_how_the_run_stands():
    db = os.path.join(os.environ["MLWS_WORKSPACE"], "mlws.db")
    status = "running"
    for _ in range(3000):  # the kernel is SIGTERMed 2.5 s after the wait for its exit began
        con = sqlite3.connect(db)
        [status] = con.execute("SELECT status FROM runs WHERE id = ?", (os.environ["MLWS_RUN_ID"],)).fetchone()
        con.close()
        if status != "running":
            break
        time.sleep(0.01)
    os.write(2, f"as the kernel exits, the run is {status}\\n".encode())

atexit.register(_say_how_the_run_stands)
"""


def test_a_run_is_stored_and_ended_while_its_kernel_exits_and_its_kernel_log_is_whole(nbws, project):
    # mlws run submit --wait asks the kernel to end after the last cell, stores the run's
    # results and ends it while the kernel exits, then waits for the exit and keeps its log
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(AT_EXIT_WAITS_FOR_THE_RUN),
                                         nbformat.v4.new_code_cell("x = 1")])
    (project / "atexit.ipynb").write_text(nbformat.writes(nb))
    res = _cli(nbws, "run", "submit", "atexit.ipynb", "--wait", cwd=project)
    assert res.returncode == 0, res.stderr
    run_id = res.stdout.split()[0]
    run = nbws.get_run(run_id)
    assert run.status == "completed", run.record.error
    assert [c["execution_count"] for c in nbws.notebooks.cells(run_id)] == [1, 2]
    log = nbws.run_logs(run_id, "kernel.log")["kernel.log"].decode()
    assert "as the kernel exits, the run is completed" in log, log
    assert _processes_of(run_id) == []  # its kernel is gone


def _processes_of(run_id: str) -> list[int]:
    """The pids of processes working for run ``run_id`` (its id in their environment)."""
    found = []
    for environ in Path("/proc").glob("[0-9]*/environ"):
        try:
            if f"MLWS_RUN_ID={run_id}".encode() in environ.read_bytes().split(b"\0"):
                found.append(int(environ.parent.name))
        except OSError:  # gone, or not ours to read
            pass
    return found


def test_submit_wait_loads_neither_papermill_remote_backends_nor_unused_format_checks_nor_ipython(nbws, project):
    pytest.importorskip("pyarrow.fs")  # installed here: Papermill's HDFS support would load it
    pytest.importorskip("isoduration")  # installed here: jsonschema's "duration" check would load it
    probe = ("import atexit, sys; from jupyter_mlws.cli import main; "
             "atexit.register(lambda: print('loaded:', sorted({'pyarrow', 'numpy', 'papermill', "
             "'isoduration', 'arrow', 'IPython'} & {k for k, m in sys.modules.items() if m}))); "
             "sys.argv = ['mlws', '-w', sys.argv[1], 'run', 'submit', 'trivial10.ipynb', '--wait']; main()")
    env = {k: v for k, v in os.environ.items() if k not in ("MLWS_WORKSPACE", "MLWS_RUN_ID")}
    res = subprocess.run([sys.executable, "-c", probe, str(nbws.root)], cwd=project, env=env,
                         capture_output=True, text=True, timeout=180)
    assert res.returncode == 0, res.stderr
    run_id, loaded = res.stdout.splitlines()
    assert loaded == "loaded: ['papermill']"
    assert nbws.get_run(run_id).status == "completed"
    assert len(nbws.notebooks.cells(run_id)) == 10


RACY_KERNEL = """
import os, sys
marker = sys.argv[1]
if not os.path.exists(marker):  # the first start loses the race for its ports, as ipykernel says
    open(marker, "w").close()
    sys.stderr.write("zmq.error.ZMQError: Address already in use (addr='tcp://127.0.0.1:1')\\n")
    sys.exit(1)
os.execv(sys.executable, [sys.executable, "-m", "ipykernel_launcher", *sys.argv[2:]])
"""


def test_a_kernel_that_lost_the_race_for_its_ports_is_started_again(nbws, project, tmp_path):
    """Kernels started at once on one machine (a sweep's children) race for the ports
    jupyter_client chose: one may die at start ("Address already in use"), and nbclient says
    "Kernel died before replying to kernel_info".  Not the notebook's failure: the run starts
    its kernel again and completes, its kernel.log saying so."""
    spec = tmp_path / "ipython" / "kernels" / "racy-py"
    spec.mkdir(parents=True)
    (tmp_path / "racy.py").write_text(RACY_KERNEL)
    (spec / "kernel.json").write_text(json.dumps({
        "argv": [sys.executable, str(tmp_path / "racy.py"), str(tmp_path / "lost-once"), "-f",
                 "{connection_file}"], "display_name": "Racy Python", "language": "python"}))
    env = {k: v for k, v in os.environ.items() if k not in ("MLWS_WORKSPACE", "MLWS_RUN_ID")}
    res = subprocess.run([str(Path(sys.executable).parent / "mlws"), "-w", str(nbws.root), "run",
                          "submit", "trivial10.ipynb", "--kernel", "racy-py", "--wait"],
                         cwd=project, env={**env, "IPYTHONDIR": str(tmp_path / "ipython")},
                         capture_output=True, text=True, timeout=180)
    assert res.returncode == 0, res.stderr
    run = nbws.get_run(res.stdout.split()[0])
    assert run.status == "completed", run.record.error
    assert (tmp_path / "lost-once").exists()  # its first start did lose
    log = nbws.run_logs(run.id)["kernel.log"].decode()
    assert "Address already in use" in log
    assert "a port it was given was taken by another process meanwhile" in log


def test_a_kernel_installed_in_ipythons_folder_runs_a_submitted_notebook(nbws, project, tmp_path):
    # jupyter_client also searches $IPYTHONDIR/kernels; the CLI finds it there without IPython
    spec = tmp_path / "ipython" / "kernels" / "legacy-py"
    spec.mkdir(parents=True)
    (spec / "kernel.json").write_text(json.dumps({
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "Legacy Python", "language": "python"}))
    env = {k: v for k, v in os.environ.items() if k not in ("MLWS_WORKSPACE", "MLWS_RUN_ID")}
    res = subprocess.run([str(Path(sys.executable).parent / "mlws"), "-w", str(nbws.root), "run", "submit",
                          "trivial10.ipynb", "--kernel", "legacy-py", "--wait"], cwd=project,
                         env={**env, "IPYTHONDIR": str(tmp_path / "ipython")}, capture_output=True,
                         text=True, timeout=180)
    assert res.returncode == 0, res.stderr
    run = nbws.get_run(res.stdout.split()[0])
    assert run.status == "completed", run.record.error
    assert run.tags["kernel"] == "legacy-py"
    assert len(nbws.notebooks.cells(run.id)) == 10


def test_known_noise_is_dropped_from_a_kernel_log_and_the_rest_kept(tmp_path):
    log = tmp_path / "kernel.log"
    log.write_bytes(b"[IPKernelApp] WARNING | Kernel is running over TCP without encryption. All ...\n"
                    b"native library: out of cheese\n")
    assert drop_noise(log) == len(b"native library: out of cheese\n")
    assert log.read_bytes() == b"native library: out of cheese\n"


def test_parameters_a_notebook_does_not_declare_are_warned_about(nbws, project):
    run = nbws.submit_notebook(project / "noparams.ipynb", {"lr": 1})
    assert run.warnings == ["noparams.ipynb has no cell tagged 'parameters': "
                            "the parameters are injected at the top"]
    nbws.cancel_run(run.id)
    run = nbws.submit_notebook(project / "train.ipynb", {"lr": 1, "extra": 2})
    assert run.warnings == ["train.ipynb does not declare parameter 'extra' in its 'parameters' "
                            "cell (its parameters: lr, layers, epochs, message; passed anyway)"]
    nbws.cancel_run(run.id)


def test_the_cli_submits_waits_and_copies_the_output(nbws, project):
    runner = CliRunner()
    result = runner.invoke(cli, ["-w", str(nbws.root), "run", "submit", "train.ipynb", "-p", "lr", "0.5",
                                 "-p", "layers", "[64, 32]", "-r", "message", "0.1", "-e", "iris",
                                 "--output", "reports/{run_name}-{epochs}-{{x}}.ipynb", "--wait"])
    assert result.exit_code == 0, result.output
    # the run executed in this process, which keeps its own environment afterwards
    assert "MLWS_RUN_ID" not in os.environ and "MLWS_WORKSPACE" not in os.environ
    run_id = result.stdout.splitlines()[0]
    run = nbws.get_run(run_id)
    # every declared parameter (epochs is the notebook's default), the given ones listed
    assert run.params == {"lr": "0.5", "layers": "[64, 32]", "message": "0.1", "epochs": "5"}
    assert json.loads(run.tags["overridden_params"]) == ["layers", "lr", "message"]
    assert run.metrics["loss"] == 0.5**5
    copy = nbws.root / "reports" / f"{run.name}-5-{{x}}.ipynb"  # plain fields, the defaults' too
    assert nbformat.read(copy, as_version=4).cells[1].source.startswith("lr = 0.1")
    bad = runner.invoke(cli, ["-w", str(nbws.root), "run", "submit", "train.ipynb", "-p", "lr", "[1,"])
    assert bad.exit_code == 2 and "is not valid YAML/JSON" in bad.output
    failed = runner.invoke(cli, ["-w", str(nbws.root), "run", "submit", "fails.ipynb", "--wait"])
    assert failed.exit_code == 1 and "ValueError: bad value 2" in failed.output
    # the kernel started early for --wait still honours the cell timeout
    slow = runner.invoke(cli, ["-w", str(nbws.root), "run", "submit", "slow.ipynb", "-p", "seconds", "30",
                               "--timeout", "1", "--wait"])
    assert slow.exit_code == 1 and "timed_out" in slow.output


def test_submit_wait_refused_after_its_kernel_started_leaves_no_kernel(nbws, project):
    # --wait launches the run's kernel before it opens the workspace or reads the options
    runner = CliRunner()
    bad = runner.invoke(cli, ["-w", str(nbws.root), "run", "submit", "train.ipynb", "-p", "lr", "[1,",
                              "--wait"])
    assert bad.exit_code == 2 and "is not valid YAML/JSON" in bad.output
    lost = runner.invoke(cli, ["-w", str(project), "run", "submit", "train.ipynb", "--wait"])
    assert lost.exit_code != 0 and "workspace" in lost.output
    assert _kernels_of_this_process() == []
    assert nbws.describe()["runs"] == 0


def _kernels_of_this_process() -> list[int]:
    """The pids of kernels this process started that still run."""
    found = []
    for proc in Path("/proc").iterdir():
        try:
            status = (proc / "status").read_text()
            cmdline = (proc / "cmdline").read_bytes()
        except (OSError, ValueError):
            continue
        ppid = next(int(line.split()[1]) for line in status.splitlines() if line.startswith("PPid:"))
        if ppid == os.getpid() and b"ipykernel" in cmdline:
            found.append(int(proc.name))
    return found


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
    assert set(log[:10 << 20]) == {ord("x")}  # the first cell's 12 MB, not the notebook's 5 MB of it
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
