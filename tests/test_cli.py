"""The ``mlws`` command line as a user meets it: what it prints, its exit codes, the files it writes.

Most commands run in-process through click's ``CliRunner``; ``mlws run start``
runs as a real ``mlws`` process where the child's output and the exit status
are what is being tested.
"""

from __future__ import annotations

import gc
import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from jupyter_mlws import Workspace
from jupyter_mlws.access import os_user
from jupyter_mlws.cli import main

BIN = Path(sys.executable).parent
MLWS = str(BIN / "mlws") if (BIN / "mlws").exists() else shutil.which("mlws")
RUN_LINE = re.compile(r"^run ([0-9a-f]{16}) (\w+)", re.M)
ID = re.compile(r"^[0-9a-f]{16}$")

TRAIN = """\
import os
import sys

import jupyter_mlws

print("hello on stdout")
print("oops on stderr", file=sys.stderr)
run = jupyter_mlws.current_run()
run.log_params({"lr": 0.1})
for value in (0.5, 0.25, 0.125):
    jupyter_mlws.log("loss", value)
os.makedirs("outputs", exist_ok=True)
with open("outputs/x.txt", "w") as f:
    f.write("the model\\n")
"""


# -- helpers ---------------------------------------------------------------------------


def mlws(*args, env: dict | None = None):
    """Invoke the CLI in-process; the result has exit_code, stdout and stderr apart."""
    return CliRunner().invoke(main, [str(a) for a in args], env=env, catch_exceptions=False)


def mlws_process(*args, cwd, timeout=60) -> subprocess.CompletedProcess:
    """Run the installed ``mlws`` entry point as a user would, from ``cwd``."""
    assert MLWS, "the mlws entry point is not installed"
    env = {k: v for k, v in os.environ.items() if k not in ("MLWS_WORKSPACE", "MLWS_RUN_ID")}
    env["PATH"] = str(BIN) + os.pathsep + env.get("PATH", "")  # `python` is the venv's
    return subprocess.run([MLWS, *map(str, args)], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=timeout)


def strict_json(text: str):
    """Parse JSON that other tools can read: NaN and Infinity are not JSON."""
    def refuse(constant):
        raise AssertionError(f"the output is not valid JSON: it holds {constant}")
    return json.loads(text, parse_constant=refuse)


def ok(result) -> str:
    assert result.exit_code == 0, f"exit {result.exit_code}\nstdout: {result.stdout}\nstderr: {result.stderr}"
    return result.stdout


def table_ids(text: str) -> list[str]:
    """The run ids in the first column of a table."""
    return [line.split()[0] for line in text.splitlines() if line and ID.match(line.split()[0])]


def make_run(ws, experiment="exp", *, params=None, metrics=None, tags=None, files=None,
             snapshot=False) -> str:
    """A completed run made through the SDK; returns its id."""
    with ws.experiment(experiment).start_run(tags=tags, snapshot=snapshot, outputs=None) as run:
        if params:
            run.log_params(params)
        for key, values in (metrics or {}).items():
            for value in values if isinstance(values, list) else [values]:
                run.log(key, value)
        for name, path in (files or {}).items():
            run.upload_file(name, path)
    return run.id


@pytest.fixture
def w(ws):
    """The ``--workspace`` option naming the test's workspace."""
    return ["-w", ws.root]


# -- workspaces ------------------------------------------------------------------------


def test_version():
    assert "0.1.0" in ok(mlws("--version"))


def test_workspace_create_then_show(tmp_path, monkeypatch):
    monkeypatch.delenv("MLWS_WORKSPACE", raising=False)
    monkeypatch.chdir(tmp_path)
    out = ok(mlws("workspace", "create", "proj", "--name", "team"))
    assert out.strip() == f"created workspace 'team' in {tmp_path / 'proj'}"
    assert (tmp_path / "proj" / "mlws.toml").is_file()
    assert (tmp_path / "proj" / "mlws.db").is_file()

    out = ok(mlws("--workspace", "proj", "workspace", "show"))
    assert re.search(r"^name:\s+team$", out, re.M)
    assert re.search(rf"^path:\s+{re.escape(str(tmp_path / 'proj'))}$", out, re.M)
    assert re.search(r"^runs:\s+0$", out, re.M)

    info = strict_json(ok(mlws("-w", "proj", "workspace", "show", "--json")))
    assert info["name"] == "team"
    assert info["path"] == str(tmp_path / "proj")
    assert info["metadata"].startswith("sqlite:///")
    assert info["artifacts"] == str(tmp_path / "proj" / "artifacts")
    assert (info["experiments"], info["runs"]) == (0, 0)


def test_workspace_is_found_from_env_and_by_walking_up(ws, monkeypatch, tmp_path):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    info = strict_json(ok(mlws("workspace", "show", "--json", env={"MLWS_WORKSPACE": str(ws.root)})))
    assert info["path"] == str(ws.root)

    deep = ws.root / "project" / "src"
    deep.mkdir(parents=True)
    monkeypatch.chdir(deep)
    info = strict_json(ok(mlws("workspace", "show", "--json")))
    assert info["path"] == str(ws.root)

    # --workspace wins over the variable
    other = tmp_path / "other"
    Workspace.create(other, name="other").close()
    info = strict_json(ok(mlws("-w", other, "workspace", "show", "--json",
                               env={"MLWS_WORKSPACE": str(ws.root)})))
    assert info["name"] == "other"


def test_creating_over_an_existing_workspace_fails_clearly(ws):
    toml = (ws.root / "mlws.toml").read_text()
    result = mlws("workspace", "create", ws.root)
    assert result.exit_code == 4
    assert result.stderr.strip() == f"error: a workspace already exists at '{ws.root}': open it instead"
    assert result.stdout == ""
    assert (ws.root / "mlws.toml").read_text() == toml


def test_workspace_create_artifacts_is_relative_to_where_the_user_typed_it(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    ok(mlws("workspace", "create", "proj", "--artifacts", "blobs-here"))
    monkeypatch.chdir(tmp_path / "proj")
    info = strict_json(ok(mlws("workspace", "show", "--json")))
    assert info["artifacts"] == str(tmp_path / "blobs-here")


def test_outside_any_workspace_show_says_to_create_one_and_creates_nothing(tmp_path, monkeypatch):
    monkeypatch.delenv("MLWS_WORKSPACE", raising=False)
    empty = tmp_path / "empty"
    empty.mkdir()
    monkeypatch.chdir(empty)
    for args in (["workspace", "show"], ["run", "list"], ["-w", "missing", "workspace", "show"]):
        result = mlws(*args)
        assert result.exit_code == 3, args
        assert result.stderr.startswith("error: no workspace")
        assert "mlws workspace create" in result.stderr
        assert "Traceback" not in result.stderr
        assert list(empty.iterdir()) == []


def test_backup_is_a_workspace_with_the_same_runs(ws, w, tmp_path):
    (tmp_path / "model.bin").write_bytes(b"\x00weights")
    ids = {make_run(ws, metrics={"acc": 0.5}),
           make_run(ws, metrics={"acc": 0.8}, files={"model.bin": tmp_path / "model.bin"})}
    dest = tmp_path / "backup"
    out = ok(mlws(*w, "workspace", "backup", dest))
    assert out.strip() == f"backed up to {dest}"
    assert (dest / "mlws.toml").is_file()

    listed = strict_json(ok(mlws("-w", dest, "run", "list", "--json")))
    assert {r["id"] for r in listed["runs"]} == ids
    assert strict_json(ok(mlws("-w", dest, "workspace", "show", "--json")))["runs"] == 2
    with_file = next(r["id"] for r in listed["runs"] if r["metrics"]["acc"] == 0.8)
    ok(mlws("-w", dest, "run", "download", with_file, "--dest", tmp_path / "got"))
    assert (tmp_path / "got" / "model.bin").read_bytes() == b"\x00weights"

    again = mlws(*w, "workspace", "backup", dest)
    assert again.exit_code == 5
    assert "not empty" in again.stderr


# -- experiments --------------------------------------------------------------------


def test_experiment_list(ws, w):
    out = ok(mlws(*w, "experiment", "list"))
    assert out.split() == ["NAME", "RUNS", "LAST", "RUN"]
    make_run(ws, "iris")
    make_run(ws, "iris")
    make_run(ws, "mnist")
    lines = ok(mlws(*w, "experiment", "list")).splitlines()
    assert lines[0].split() == ["NAME", "RUNS", "LAST", "RUN"]
    assert [line.split()[:2] for line in lines[1:]] == [["iris", "2"], ["mnist", "1"]]
    exps = strict_json(ok(mlws(*w, "experiment", "list", "--json")))
    assert [(e["name"], e["runs"]) for e in exps] == [("iris", 2), ("mnist", 1)]
    assert all(isinstance(e["last_run"], int) for e in exps)


# -- mlws run start: a real process ---------------------------------------------------


def test_run_start_captures_output_metrics_and_outputs(ws, tmp_path):
    project = ws.root / "project"
    project.mkdir()
    (project / "train.py").write_text(TRAIN)
    proc = mlws_process("run", "start", "-e", "exp", "--tag", "k=v", "--", "python", "train.py",
                        cwd=project)
    assert proc.returncode == 0, proc.stderr
    assert "hello on stdout" in proc.stdout
    assert "oops on stderr" in proc.stderr
    run_id, status = RUN_LINE.search(proc.stderr).groups()
    assert status == "completed"

    out = ok(mlws("-w", ws.root, "run", "logs", run_id))
    assert "==> stdout.log <==\nhello on stdout\n" in out
    assert "==> stderr.log <==\noops on stderr\n" in out
    assert ok(mlws("-w", ws.root, "run", "logs", run_id, "--name", "stdout.log")) == "hello on stdout\n"

    shown = strict_json(ok(mlws("-w", ws.root, "run", "show", run_id, "--json")))
    assert shown["status"] == "completed" and shown["error"] is None
    assert shown["experiment"] == "exp"
    assert shown["tags"] == {"k": "v"}
    assert shown["params"] == {"lr": "0.1"}
    assert shown["metrics"] == {"loss": 0.125}
    assert (shown["source_type"], shown["source_name"]) == ("command", "python train.py")
    files = {(f["kind"], f["path"]) for f in shown["files"]}
    assert {("artifact", "outputs/x.txt"), ("snapshot", "train.py"),
            ("log", "stdout.log"), ("log", "stderr.log")} <= files

    history = strict_json(ok(mlws("-w", ws.root, "run", "history", run_id, "loss", "--json")))
    assert [(p["step"], p["value"]) for p in history] == [(0, 0.5), (1, 0.25), (2, 0.125)]

    dest = tmp_path / "dl"
    ok(mlws("-w", ws.root, "run", "download", run_id, "outputs/x.txt", "--dest", dest))
    assert (dest / "outputs" / "x.txt").read_text() == "the model\n"


def test_run_logs_follow_prints_what_the_run_writes_until_it_ends(ws, w):
    run = ws.experiment("f").start_run(snapshot=False, outputs=None)
    log = ws.artifacts.live_file(run.id, "stdout.log")
    log.write_text("epoch 1\n")

    def later():
        time.sleep(1.0)
        with open(log, "a") as f:
            f.write("epoch 2 é\n")
        time.sleep(0.6)
        run.end("completed")

    writer = threading.Thread(target=later)
    writer.start()
    started = time.monotonic()
    out = ok(mlws("-w", ws.root, "run", "logs", run.id, "--follow"))
    writer.join()
    assert out == "==> stdout.log <==\nepoch 1\nepoch 2 é\n"
    assert time.monotonic() - started >= 1.5  # it waited for the run to end
    # a run that has ended: its logs, at once; a log it never had: a clear error
    assert ok(mlws("-w", ws.root, "run", "logs", run.id, "-f", "--name", "stdout.log")) == "epoch 1\nepoch 2 é\n"
    res = mlws("-w", ws.root, "run", "logs", run.id, "-f", "--name", "nope.log")
    assert res.exit_code == 3 and "no log 'nope.log'" in res.output


def test_run_start_of_a_failing_script_fails_the_run_and_mlws(ws):
    project = ws.root / "project"
    project.mkdir()
    (project / "fail.py").write_text("import sys\nprint('giving up')\nsys.exit(3)\n")
    proc = mlws_process("run", "start", "-e", "exp", "--", "python", "fail.py", cwd=project)
    assert proc.returncode == 3  # the script's own status, for shells and CI scripts
    assert "giving up" in proc.stdout
    run_id, status = RUN_LINE.search(proc.stderr).groups()
    assert status == "failed"
    assert "exited with status 3" in proc.stderr

    shown = strict_json(ok(mlws("-w", ws.root, "run", "show", run_id, "--json")))
    assert shown["status"] == "failed"
    assert shown["error"] == "exited with status 3"
    text = ok(mlws("-w", ws.root, "run", "show", run_id))
    assert re.search(r"^status:\s+failed$", text, re.M)
    assert "error:\n  exited with status 3" in text
    assert "giving up" in ok(mlws("-w", ws.root, "run", "logs", run_id))


def test_run_start_of_a_missing_program_is_a_clear_error(ws):
    proc = mlws_process("run", "start", "-e", "exp", "--", "no-such-program-for-mlws", "x",
                        cwd=ws.root)
    assert proc.returncode == 2
    assert "error: could not start 'no-such-program-for-mlws': No such file or directory" in proc.stderr
    assert "Traceback" not in proc.stderr
    listed = strict_json(ok(mlws("-w", ws.root, "run", "list", "--json")))
    [run] = listed["runs"]
    assert run["status"] == "failed"
    assert "could not start" in run["error"]


def test_run_start_in_the_workspace_folder_warns_and_says_what_to_do(ws, w, monkeypatch, tmp_path):
    monkeypatch.chdir(ws.root)
    script = "import os; os.makedirs('outputs'); open('outputs/m.txt', 'w').write('m')"
    result = mlws(*w, "run", "start", "--", sys.executable, "-c", script)
    assert result.exit_code == 0, result.output
    assert ("warning: the source snapshot is empty: this folder is the workspace itself, whose own "
            "files are never kept, and the run's outputs/ will be written into it; run from your "
            "project folder") in result.stderr
    assert "--project-dir PROJECT" in result.stderr
    # --project-dir: the snapshot and the outputs are the project's, and nothing to warn about
    project = tmp_path / "project"
    project.mkdir()
    (project / "train.py").write_text(script)
    result = mlws(*w, "run", "start", "--project-dir", project, "--", sys.executable, "train.py")
    assert result.exit_code == 0 and "warning" not in result.stderr, result.output
    run_id = RUN_LINE.search(result.stderr).group(1)
    shown = strict_json(ok(mlws(*w, "run", "show", run_id, "--json")))
    files = {(f["kind"], f["path"]) for f in shown["files"]}
    assert {("snapshot", "train.py"), ("artifact", "outputs/m.txt")} <= files
    assert (project / "outputs" / "m.txt").exists()


def test_run_start_in_process_leaks_no_file_descriptors(ws, w):
    ok(mlws(*w, "run", "start", "--no-snapshot", "--", sys.executable, "-c", "print('hi')"))
    gc.collect()


def test_run_start_refuses_a_malformed_tag_and_a_missing_command(ws, w):
    result = mlws(*w, "run", "start", "--tag", "novalue", "--", "true")
    assert result.exit_code == 2
    assert "error: tag 'novalue' is not KEY=VALUE" in result.stderr
    result = mlws(*w, "run", "start", "-e", "exp")
    assert result.exit_code == 2
    assert "Missing argument" in result.stderr
    assert strict_json(ok(mlws(*w, "run", "list", "--json")))["runs"] == []


# -- mlws run submit --wait: what it shows while it waits ----------------------------------


def _notebook(path: Path, cells: list[str]) -> Path:
    """A tiny notebook whose first cell is its ``parameters`` cell."""
    import nbformat

    nb = nbformat.v4.new_notebook(
        cells=[nbformat.v4.new_code_cell(src) for src in cells],
        metadata={"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"},
                  "language_info": {"name": "python"}})
    nb.cells[0].metadata["tags"] = ["parameters"]
    nbformat.write(nb, path)
    return path


def _sweep_process(args, cwd, stderr_tty: bool) -> tuple[int, str, str]:
    """``mlws ARGS`` as a real process (a sweep forks its children); stderr a pipe or a terminal."""
    import pty

    env = {k: v for k, v in os.environ.items() if k not in ("MLWS_WORKSPACE", "MLWS_RUN_ID")}
    master, slave = pty.openpty() if stderr_tty else (None, subprocess.PIPE)
    proc = subprocess.Popen([MLWS, *map(str, args)], cwd=cwd, env=env, stdout=subprocess.PIPE,
                            stderr=slave, text=True)
    if not stderr_tty:
        out, err = proc.communicate(timeout=240)
        return proc.returncode, out, err
    os.close(slave)
    chunks = []
    while True:
        try:
            chunk = os.read(master, 65536)
        except OSError:  # EIO: the process closed the terminal
            break
        if not chunk:
            break
        chunks.append(chunk)
    os.close(master)
    out = proc.communicate(timeout=60)[0]
    return proc.returncode, out, b"".join(chunks).decode(errors="replace")


def test_run_submit_wait_prints_a_line_per_cell_when_not_at_a_terminal(ws, w, tmp_path):
    _notebook(tmp_path / "four.ipynb", ["x = 0", "y = x + 1", "z = y * 2", "print(z)"])
    result = mlws(*w, "run", "submit", tmp_path / "four.ipynb", "-p", "x", "1", "--wait")
    assert ID.match(ok(result).strip())  # stdout: the run id alone, for scripts
    lines = result.stderr.splitlines()
    progress = [line for line in lines if line.startswith("cell ")]
    # the user's four cells, as the user counts them (not the parameters cell Papermill inserts)
    assert progress == [f"cell {n}/4 done" for n in range(1, 5)]
    assert lines[-1] == f"run {result.stdout.strip()} completed"
    # a failing cell is not done: the count stops before it, and the error names it the same way
    _notebook(tmp_path / "fails.ipynb", ["x = 0", "raise ValueError('bad')", "print('never')"])
    result = mlws(*w, "run", "submit", tmp_path / "fails.ipynb", "-p", "x", "1", "--wait")
    lines = result.stderr.splitlines()
    assert [line for line in lines if line.startswith("cell ")] == ["cell 1/3 done"]
    assert "failed: cell 2 (In [3]) raised ValueError: bad" in lines[-1], lines  # In [2]: the injected cell


def test_a_sweep_counts_its_child_runs_a_line_each_or_on_a_bar(ws, tmp_path):
    project = tmp_path / "project"
    project.mkdir()
    _notebook(project / "one.ipynb", ["x = 0", "print(x)"])
    base = ["-w", ws.root, "run", "submit", "one.ipynb", "--max-parallel", "2", "--wait"]
    code, out, err = _sweep_process([*base, "--grid", "x=1,2"], project, stderr_tty=False)
    assert code == 0, err
    assert [line for line in err.splitlines() if line.startswith("run ")][:2] == ["run 1/2 done",
                                                                                 "run 2/2 done"]
    # at a terminal: a bar that counts the children, not cells
    code, out, err = _sweep_process([*base, "--grid", "x=3"], project, stderr_tty=True)
    assert code == 0, err
    assert re.search(r"\] 1/1 runs", err) and "cells" not in err


# -- listing and searching runs ---------------------------------------------------------


@pytest.fixture
def five(ws):
    """Five runs of 'exp' (acc 0.5, 0.5, 0.7, 0.5, 0.9) and one of 'other'; ids oldest first."""
    ids = [make_run(ws, params={"model": "rf" if acc > 0.6 else "lr"}, metrics={"acc": acc})
           for acc in (0.5, 0.5, 0.7, 0.5, 0.9)]
    ids.append(make_run(ws, "other", metrics={"acc": 0.1}))
    return ids


def test_run_list_table_and_json(w, five):
    out = ok(mlws(*w, "run", "list"))
    header = out.splitlines()[0].split()
    assert header == ["ID", "NAME", "EXPERIMENT", "USER", "STATUS", "STARTED", "DURATION", "acc"]
    assert table_ids(out) == five[::-1]  # newest first
    assert {line.split()[3] for line in out.splitlines()[1:]} == {os_user()}  # who ran each
    assert "more:" not in out

    data = strict_json(ok(mlws(*w, "run", "list", "--json")))
    assert [r["id"] for r in data["runs"]] == five[::-1]
    assert data["next_page_token"] is None
    first = data["runs"][-1]
    assert (first["experiment"], first["status"], first["metrics"]) == ("exp", "completed", {"acc": 0.5})

    only = strict_json(ok(mlws(*w, "run", "list", "-e", "other", "--json")))
    assert [r["id"] for r in only["runs"]] == [five[5]]
    missing = mlws(*w, "run", "list", "-e", "nope")
    assert missing.exit_code == 3
    assert "no experiment named 'nope'" in missing.stderr


def test_run_list_filter_and_order_by(w, five):
    out = ok(mlws(*w, "run", "list", "--filter", "metrics.acc > 0.6 and params.model = 'rf'"))
    assert set(table_ids(out)) == {five[2], five[4]}
    out = ok(mlws(*w, "run", "list", "-e", "exp", "--order-by", "metrics.acc DESC", "-o", "start_time ASC"))
    assert table_ids(out) == [five[4], five[2], five[0], five[1], five[3]]


def test_run_list_pages_through_every_run_exactly_once(w, five):
    seen, token, pages = [], None, 0
    while True:
        args = [*w, "run", "list", "-n", "2", "-o", "metrics.acc DESC"]
        out = ok(mlws(*args, *(["--page-token", token] if token else [])))
        ids = table_ids(out)
        assert 1 <= len(ids) <= 2
        seen += ids
        pages += 1
        more = re.search(r"^more: --page-token (\S+)$", out, re.M)
        if not more:
            break
        token = more.group(1)
    assert pages == 3
    assert sorted(seen) == sorted(five)

    seen, token = [], None
    while True:
        data = strict_json(ok(mlws(*w, "run", "list", "-n", "4", "--json",
                                   *(["--page-token", token] if token else []))))
        seen += [r["id"] for r in data["runs"]]
        token = data["next_page_token"]
        if token is None:
            break
    assert seen == five[::-1]

    # a token is bound to its search
    first = strict_json(ok(mlws(*w, "run", "list", "-n", "2", "--json")))
    result = mlws(*w, "run", "list", "-n", "2", "-f", "metrics.acc > 0", "--page-token",
                  first["next_page_token"])
    assert result.exit_code == 2
    assert "page token" in result.stderr


def test_run_list_bad_filter_points_at_the_mistake(w, five):
    result = mlws(*w, "run", "list", "-f", "metrics.acc >> 1")
    assert result.exit_code == 2
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert lines[0].startswith("error: invalid filter:")
    assert "position 13" in lines[0]
    source = next(line for line in lines[1:] if line.strip() == "metrics.acc >> 1")
    caret = next(line for line in lines[1:] if line.strip() == "^")
    assert caret.index("^") == source.index("metrics.acc") + 13  # under the second '>'

    result = mlws(*w, "run", "list", "-n", "0")
    assert result.exit_code == 2
    assert "max_results" in result.stderr


# -- one run, several runs --------------------------------------------------------------


def test_run_show_by_id_and_prefix(ws, w):
    run_id = make_run(ws, params={"model": "rf"}, metrics={"acc": [0.5, 0.75]}, tags={"team": "a"})
    out = ok(mlws(*w, "run", "show", run_id))
    assert ws.get_run(run_id).user == os_user() and ws.get_run(run_id).host  # the SDK's too
    for pattern in (rf"^id:\s+{run_id}$", r"^name:\s+exp-1$", r"^experiment:\s+exp$",
                    rf"^user:\s+{os_user()} on {re.escape(ws.get_run(run_id).host)}$",
                    r"^status:\s+completed$", r"^params:\n  model = rf$", r"^metrics:\n  acc = 0.75$",
                    r"^tags:\n  team = a$"):
        assert re.search(pattern, out, re.M), pattern
    assert all(line == line.rstrip() for line in out.splitlines())

    data = strict_json(ok(mlws(*w, "run", "show", run_id[:6], "--json")))
    assert data["id"] == run_id
    assert data["metrics"] == {"acc": 0.75}
    assert data["files"] == [] and data["children"] == []
    assert "pk" not in data


def _aligned(text: str) -> dict[str, str]:
    """The ``label: value`` lines of a show command; each value starts one space or more past
    its colon, all in one column."""
    fields = re.findall(r"^([a-z0-9_]+):( +)(\S.*)$", text, re.M)
    columns = {len(label) + 1 + len(space) for label, space, _ in fields}
    assert len(columns) == 1, text
    assert not re.search(r"^[a-z0-9_]+:[^\s]", text, re.M), text  # no value glued to its label
    return {label: value for label, _, value in fields}


def test_show_commands_put_a_space_between_every_label_and_its_value(ws, w, tmp_path):
    with ws.experiment("exp").start_run(snapshot=False, outputs=None) as run:
        run.set_description("rf depth 4")
    assert _aligned(ok(mlws(*w, "run", "show", run.id)))["description"] == "rf depth 4"
    (tmp_path / "m.bin").write_bytes(b"weights")
    ok(mlws(*w, "model", "register", "wine", "--path", tmp_path / "m.bin", "--description", "rf depth 4"))
    shown = _aligned(ok(mlws(*w, "model", "show", "wine:1")))
    assert shown["description"] == "rf depth 4" and shown["flavor"] == "unknown"
    assert _aligned(ok(mlws(*w, "workspace", "show")))["name"] == "ws"


def test_endpoint_help_names_the_first_deployment_and_the_exit_codes():
    create = ok(mlws("endpoint", "create", "--help"))
    assert "first deployment is named 'blue'" in " ".join(create.split())
    invoke = " ".join(ok(mlws("endpoint", "invoke", "--help")).split())
    assert "one line of JSON" in invoke and "exits with 8" in invoke


def test_run_show_of_an_unknown_run_is_a_helpful_error(ws, w):
    make_run(ws)
    result = mlws(*w, "run", "show", "nosuchrun")
    assert result.exit_code == 3
    assert result.stderr.strip() == "error: no run 'nosuchrun': 'mlws run list' shows run ids"
    assert result.stdout == ""
    short = mlws(*w, "run", "show", make_run(ws)[:2])  # unique, but too short to be a prefix
    assert short.exit_code == 3
    assert short.stderr.strip().endswith("a prefix of a run id needs at least 4 characters "
                                         "('mlws run list' shows run ids)")


def test_run_compare_side_by_side(ws, w):
    a = make_run(ws, params={"lr": 0.1, "model": "rf"}, metrics={"acc": [0.2, 0.9]})
    b = make_run(ws, params={"lr": 0.2}, metrics={"acc": 0.7, "loss": float("nan"), "gap": float("inf")})
    lines = ok(mlws(*w, "run", "compare", a, b[:8])).splitlines()
    assert lines[0].split() == [a, b]
    rows = {line.split()[0]: line.split()[1:] for line in lines[1:]}
    assert rows["status"] == ["completed", "completed"]
    assert rows["params.lr"] == ["0.1", "0.2"]
    assert rows["params.model"] == ["rf", "-"]
    assert rows["metrics.acc"] == ["0.9", "0.7"]
    assert rows["metrics.loss"] == ["-", "nan"]

    data = strict_json(ok(mlws(*w, "run", "compare", a, b, "--json")))
    assert data["runs"] == [a, b]
    assert data["params"] == {"lr": ["0.1", "0.2"], "model": ["rf", None]}
    assert data["metrics"] == {"acc": [0.9, 0.7], "gap": [None, "inf"], "loss": [None, "nan"]}

    result = mlws(*w, "run", "compare", a)
    assert result.exit_code == 2
    assert "at least two runs" in result.stderr


def test_run_download_artifacts_and_snapshot(ws, w, tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    (src / "train.py").write_text("print('train')\n")
    (tmp_path / "x.txt").write_text("x\n")
    (tmp_path / "m.bin").write_bytes(b"\x01\x02")
    with ws.experiment("exp").start_run(snapshot=src, outputs=None) as run:
        run.upload_file("outputs/x.txt", tmp_path / "x.txt")
        run.upload_file("outputs/model/m.bin", tmp_path / "m.bin")
        run.upload_file("notes.txt", tmp_path / "x.txt")

    dest = tmp_path / "all"
    out = ok(mlws(*w, "run", "download", run.id, "--dest", dest))
    assert sorted(out.split()) == sorted(str(dest / p) for p in
                                         ("outputs/x.txt", "outputs/model/m.bin", "notes.txt"))
    assert (dest / "outputs" / "model" / "m.bin").read_bytes() == b"\x01\x02"

    dest = tmp_path / "some"
    ok(mlws(*w, "run", "download", run.id, "outputs/model", "--dest", dest))
    assert [p.relative_to(dest).as_posix() for p in dest.rglob("*") if p.is_file()] == ["outputs/model/m.bin"]

    dest = tmp_path / "snap"
    ok(mlws(*w, "run", "download", run.id, "--snapshot", "--dest", dest))
    assert (dest / "train.py").read_text() == "print('train')\n"
    assert not (dest / "outputs").exists()

    result = mlws(*w, "run", "download", run.id, "nope.txt", "--dest", tmp_path / "none")
    assert result.exit_code == 3
    assert "no artifact at 'nope.txt'" in result.stderr


def test_run_download_refuses_paths_outside_dest(ws, w, tmp_path):
    (tmp_path / "x.txt").write_text("x\n")
    with ws.experiment("exp").start_run(snapshot=False, outputs=None) as run:
        run.upload_file("x.txt", tmp_path / "x.txt")
    box = tmp_path / "box"
    dest = box / "dest"
    dest.mkdir(parents=True)
    for path in ("../x.txt", "../../x", "a/../../x.txt", "/etc/passwd", "%2e%2e/x.txt"):
        result = mlws(*w, "run", "download", run.id, path, "--dest", dest)
        assert result.exit_code == 2, path
        assert result.stderr.startswith("error: invalid artifact name"), path
        assert result.stdout == ""
    assert [p for p in box.rglob("*")] == [dest]


def test_run_history_table_and_json_with_nan_and_inf(ws, w):
    run_id = make_run(ws, metrics={"loss": [1.5, float("nan"), float("inf"), float("-inf"), 0.25]})
    lines = ok(mlws(*w, "run", "history", run_id, "loss")).splitlines()
    assert lines[0].split() == ["STEP", "TIME", "VALUE"]
    assert [(line.split()[0], line.split()[-1]) for line in lines[1:]] == [
        ("0", "1.5"), ("1", "nan"), ("2", "inf"), ("3", "-inf"), ("4", "0.25")]

    points = strict_json(ok(mlws(*w, "run", "history", run_id, "loss", "--json")))
    assert [p["value"] for p in points] == [1.5, "nan", "inf", "-inf", 0.25]
    assert [p["step"] for p in points] == [0, 1, 2, 3, 4]
    assert all(isinstance(p["ts"], int) for p in points)

    shown = strict_json(ok(mlws(*w, "run", "show", run_id, "--json")))
    assert shown["metrics"] == {"loss": 0.25}


def test_the_mlws_process_exits_with_its_status_and_every_byte_it_printed(ws, tmp_path):
    # the real process through a pipe: its output outgrows stdout's buffer and the pipe's
    with ws.experiment("e").start_run(snapshot=False) as run:
        run.log_batch("loss", [i / 7 for i in range(20_000)])
    env = {k: v for k, v in os.environ.items() if not k.startswith("MLWS_")}
    argv = [sys.executable, "-m", "jupyter_mlws.cli", "-w", str(ws.root), "run", "history"]
    done = subprocess.run([*argv, run.id, "loss", "--json"], capture_output=True, text=True,
                          env=env, cwd=tmp_path, timeout=120)
    assert done.returncode == 0, done.stderr
    points = json.loads(done.stdout)
    assert len(points) == 20_000 and points[-1] == {"step": 19_999, "ts": points[-1]["ts"],
                                                    "value": 19_999 / 7}
    missing = subprocess.run([*argv, "0000aaaa", "loss"], capture_output=True, text=True, env=env,
                             cwd=tmp_path, timeout=120)
    assert (missing.returncode, missing.stdout) == (3, "")
    assert missing.stderr == "error: no run '0000aaaa': 'mlws run list' shows run ids\n"
    # under a profiler the ordinary exit: cProfile writes its file after the program returned
    profiled = subprocess.run([sys.executable, "-m", "cProfile", "-o", str(tmp_path / "prof"), *argv[1:],
                               run.id, "loss"], capture_output=True, text=True, env=env, cwd=tmp_path,
                              timeout=120)
    assert profiled.returncode == 0 and (tmp_path / "prof").stat().st_size > 0, profiled.stderr


# -- mlws server ------------------------------------------------------------------------------


def test_mlws_server_starts_for_whoever_runs_it_root_included(ws, tmp_path):
    from mlws_testing import start_jupyter, stop_jupyter

    server = start_jupyter(tmp_path, lambda port, token: [
        MLWS, "-w", ws.root, "server", "--port", str(port), f"--IdentityProvider.token={token}"],
        cwd=tmp_path, allow_root=False)  # no --allow-root from the caller
    try:
        log = server.log.read_text(errors="replace")
        assert "Running as root is not recommended" not in log
        # it serves no files: Jupyter's "Serving notebooks from local directory" would mislead
        assert "Serving notebooks" not in log and "Serving the workspace's page and API only" in log, log
        if os.geteuid() == 0:
            assert "running as root, so Jupyter is started with --allow-root" in log
    finally:
        stop_jupyter(server)


# -- quickstart ----------------------------------------------------------------------------


def test_quickstart_in_an_empty_folder_then_again(tmp_path, monkeypatch):
    monkeypatch.delenv("MLWS_WORKSPACE", raising=False)
    folder = tmp_path / "fresh"
    folder.mkdir()
    monkeypatch.chdir(folder)

    # a real process: in-process, launcher's leaked pipes would fail the test (see above)
    proc = mlws_process("quickstart", cwd=folder)
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    assert f"workspace 'fresh' in {folder}" in out
    ran = re.search(r"ran 3 sample runs in experiment 'quickstart' \((.*)\)", out).group(1)
    runs = [item.split() for item in ran.split(", ")]
    assert [status for _, status in runs] == ["completed"] * 3
    best = re.search(r"^best run: ([0-9a-f]{16}) \(lr=\S+, loss=\S+\)$", out, re.M).group(1)
    assert best in [run_id for run_id, _ in runs]
    for command in ("mlws run list -e quickstart", f"mlws run show {best}",
                    f"mlws run logs {best}", f"mlws run history {best} loss",
                    "mlws run compare " + " ".join(run_id for run_id, _ in runs)):
        assert f"  {command}\n" in out + "\n", command

    # the follow-up commands work as printed
    shown = strict_json(ok(mlws("run", "show", best, "--json")))
    assert shown["status"] == "completed" and "loss" in shown["metrics"]
    assert ("artifact", "outputs/model.json") in {(f["kind"], f["path"]) for f in shown["files"]}
    assert "done: w=" in ok(mlws("run", "logs", best))
    assert len(strict_json(ok(mlws("run", "history", best, "loss", "--json")))) == 60
    workspace_id = strict_json(ok(mlws("workspace", "show", "--json")))["id"]

    # again: the same workspace, and the sample runs already there are reused, and said so
    proc = mlws_process("quickstart", cwd=folder)
    assert proc.returncode == 0, proc.stderr
    assert f"workspace 'fresh' in {folder}" in proc.stdout
    assert f"reused the 3 sample runs already in experiment 'quickstart' ({ran}); train another: " \
           in proc.stdout
    assert f"best run: {best} " in proc.stdout
    info = strict_json(ok(mlws("workspace", "show", "--json")))
    assert info["id"] == workspace_id
    assert info["runs"] == 3
    exps = strict_json(ok(mlws("experiment", "list", "--json")))
    assert [(e["name"], e["runs"]) for e in exps] == [("quickstart", 3)]


def test_quickstart_opens_a_jupyterlab_workspace_of_its_own(tmp_path, monkeypatch):
    """JupyterLab keeps its saved layouts per user: each mlws workspace lands on one of its own
    (``mlws-`` and 8 hex digits of its id), the same every time, so that another project's tabs
    never come back in it."""
    monkeypatch.delenv("MLWS_WORKSPACE", raising=False)
    hints = {}
    for name in ("one", "two"):
        folder = tmp_path / name
        folder.mkdir()
        proc = mlws_process("quickstart", "--no-lab", cwd=folder)
        assert proc.returncode == 0, proc.stderr
        hint = r"--LabApp\.default_url=/lab/workspaces/(mlws-[0-9a-f]{8})\b"
        hints[name] = re.search(hint, proc.stdout).group(1)
        again = mlws_process("quickstart", "--no-lab", cwd=folder).stdout
        assert re.search(hint, again).group(1) == hints[name]
    assert hints["one"] != hints["two"]


def test_quickstart_next_steps_work_as_the_readme_shows(tmp_path, monkeypatch):
    """README 'Next, with the sample': the sample notebook runs with a parameter and its model,
    registered from the run's outputs, is scored by the sample's scoring script."""
    monkeypatch.delenv("MLWS_WORKSPACE", raising=False)
    folder = tmp_path / "fresh"
    folder.mkdir()
    assert mlws_process("quickstart", cwd=folder).returncode == 0
    project = folder / "quickstart"
    assert {"train_line.ipynb", "score_line.py"} <= {p.name for p in project.iterdir()}
    readme = (Path(__file__).parent.parent / "README.md").read_text()
    assert "mlws run submit train_line.ipynb -p lr 0.1 --wait" in readme
    monkeypatch.chdir(project)

    proc = mlws_process("run", "submit", "train_line.ipynb", "-p", "lr", "0.1", "--wait", "--json",
                        cwd=project)
    assert proc.returncode == 0, proc.stderr
    run = strict_json(proc.stdout)
    assert run["status"] == "completed" and run["params"]["lr"] == "0.1" and "loss" in run["metrics"]
    assert ok(mlws("model", "register", "line", "--run", run["id"], "--artifact", "outputs/model.json"))
    ok(mlws("model", "download", "line:1", "--dest", str(tmp_path / "m")))
    monkeypatch.setenv("MLWS_MODEL_DIR", str(tmp_path / "m"))
    spec = importlib.util.spec_from_file_location("score_line", project / "score_line.py")
    score = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(score)
    score.init()
    predictions = score.run({"x": [0.5, 1.0]})["predictions"]
    assert abs(predictions[0] - 2.0) < 0.2 and abs(predictions[1] - 3.0) < 0.2

    # quickstart again keeps the user's edits of the copied samples
    (project / "score_line.py").write_text("# mine\n")
    assert mlws_process("quickstart", cwd=folder).returncode == 0
    assert (project / "score_line.py").read_text() == "# mine\n"


# -- the README tells the truth about what exists ----------------------------------------------


def test_the_readme_roles_name_only_what_the_roles_guard():
    from jupyter_mlws.server.authorizer import CONCEPTS

    readme = (Path(__file__).parent.parent / "README.md").read_text()
    roles = readme.split("### Roles", 1)[1].split("```", 1)[0]
    changed = re.search(r"Contributor \(create and change ([^)]*)\)", roles).group(1)
    things = [t.removesuffix(" targets") for t in re.split(r",\s*|\s+and\s+", changed)]
    assert things and all(thing in CONCEPTS for thing in things), things
    for missing in ("VM",):  # not part of the product (yet)
        assert missing not in roles


def test_numbers_in_tables_read_as_numbers():
    from jupyter_mlws.cli.main import _fmt

    # a drift table's mean shift of -0.0 read "-0"
    assert [_fmt(v) for v in (-0.0, 0.0, -1.5, 0.1234567, None)] == ["0", "0", "-1.5", "0.123457", "-"]
