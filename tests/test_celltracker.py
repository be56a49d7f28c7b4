"""Cell-executed runs: the IPython extension in a real kernel, and promoting a session."""

import json

import nbformat
import pytest
from click.testing import CliRunner
from nbclient import NotebookClient

import jupyter_mlws as mlws
from jupyter_mlws.cli import main as cli
from jupyter_mlws.errors import InvalidInput

CELLS = [
    "%load_ext jupyter_mlws",
    "import jupyter_mlws as mlws\nfor i in range(3):\n    mlws.log('acc', i / 10)",
    "1 / 0",
    "x = [1, 2, 3]\nx",
    # an internal error in the tracker: the cell still runs, tracking turns off with a warning
    "import jupyter_mlws.celltracker as ct\nct._tracker.run.record_cell = None\ny = 5",
    "y * 2",
]


def _execute(cells, monkeypatch, workspace=None, session="/work/analysis.ipynb"):
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(s) for s in cells])
    if workspace is not None:
        monkeypatch.setenv("MLWS_WORKSPACE", str(workspace.root))
    monkeypatch.setenv("JPY_SESSION_NAME", session)
    monkeypatch.delenv("MLWS_RUN_ID", raising=False)
    NotebookClient(nb, kernel_name="python3", allow_errors=True).execute()
    return nb


@pytest.fixture(scope="module")
def session(tmp_path_factory):
    """One real kernel session with the extension loaded, shared by the tests below."""
    monkeypatch = pytest.MonkeyPatch()
    folder = tmp_path_factory.mktemp("session")
    monkeypatch.chdir(folder)
    ws = mlws.Workspace.create(folder / "ws")
    nb = _execute(CELLS, monkeypatch, ws)
    yield ws, nb
    monkeypatch.undo()
    ws.close()


def _session_run(ws):
    return ws.search_runs("source_type = 'session'")[0]


def test_every_cell_is_a_step_of_the_session_run(session):
    ws, _nb = session
    run = _session_run(ws)
    assert run.status == "completed"  # ended when the kernel exited, despite the failing cell
    assert run.record.source_name == "/work/analysis.ipynb"
    assert run.record.experiment == "analysis"
    assert run.tags["kernel"] == "python3"
    cells = [json.loads(v["data"]) for v in run.values("cells")]
    assert [c["execution_count"] for c in cells] == [1, 2, 3, 4]  # then tracking turned off
    assert [c["status"] for c in cells] == ["completed", "completed", "failed", "completed"]
    assert cells[2]["ename"] == "ZeroDivisionError" and cells[2]["evalue"] == "division by zero"
    assert cells[3]["result"] == {"type": "builtins.list", "size": 3}
    assert cells[1]["source"].startswith("import jupyter_mlws") and cells[1]["duration"] >= 0
    assert cells[0]["start"] is None  # the cell that loaded the extension


def test_metrics_from_cells_land_in_the_session_run_tied_to_their_cell(session):
    ws, _nb = session
    run = _session_run(ws)
    assert [v for _, _, v in run.metric_history("acc")] == [0.0, 0.1, 0.2]
    cells = [json.loads(v["data"]) for v in run.values("cells")]
    assert cells[1]["metrics"] == {"acc": 3}


def test_an_internal_error_turns_tracking_off_without_breaking_cells(session):
    _ws, nb = session
    warning = [o for o in nb.cells[4].outputs if o.get("name") == "stderr"]
    assert "cell tracking hit an internal error and is off" in warning[0]["text"]
    assert nb.cells[5].outputs[0]["data"]["text/plain"] == "10"


def test_promote_turns_the_session_into_a_notebook_run(session):
    ws, _nb = session
    source = _session_run(ws)
    promoted = ws.promote(source.id, wait=True)
    assert promoted.status == "completed", promoted.record.error
    assert promoted.tags["promoted_from"] == source.id
    assert ws.get_run(source.id).tags["promoted_to"] == promoted.id
    assert [v for _, _, v in promoted.metric_history("acc")] == [0.0, 0.1, 0.2]
    assert promoted.warnings == [f"the notebook of session run {source.id} (/work/analysis.ipynb) "
                                 "cannot be read: the promoted notebook has no 'parameters' cell"]
    with pytest.raises(InvalidInput, match="only session runs"):
        ws.promote(promoted.id)


def _execute_as_jupyterlab(nb):
    """Execute the cells as JupyterLab does: each execute_request names its cell's id."""
    from jupyter_client.manager import start_new_kernel

    km, kc = start_new_kernel(kernel_name="python3")
    try:
        for cell in nb.cells:
            msg = kc.session.msg("execute_request", {"code": cell.source, "silent": False},
                                 metadata={"cellId": cell.id})
            kc.shell_channel.send(msg)
            while kc.get_shell_msg(timeout=60)["parent_header"].get("msg_id") != msg["msg_id"]:
                pass
    finally:
        kc.stop_channels()
        km.shutdown_kernel()


def test_a_promoted_notebook_keeps_its_kernel_and_parameters_cell_and_runs_with_parameters(
        tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    ws = mlws.Workspace.create(tmp_path / "ws")
    study = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(s) for s in (
        "%load_ext jupyter_mlws", "C = 1.0", "import jupyter_mlws as mlws\nmlws.log('c', C)")])
    study.cells[1].metadata["tags"] = ["parameters"]
    monkeypatch.setenv("MLWS_WORKSPACE", str(ws.root))
    monkeypatch.setenv("JPY_SESSION_NAME", str(tmp_path / "study.ipynb"))
    _execute_as_jupyterlab(study)
    study.cells[1].source = "C = 2.0"  # edited, not run again: the tag is found by the cell's id
    nbformat.write(study, tmp_path / "study.ipynb")
    session = _session_run(ws)
    promoted = ws.promote(session.id, wait=True)
    assert promoted.status == "completed", promoted.record.error
    assert promoted.metrics == {"c": 1.0} and promoted.warnings == []
    written = tmp_path / f"study-promoted-{session.id[:8]}.ipynb"
    nb = nbformat.read(written, as_version=4)
    nbformat.validate(nb)
    assert nb.metadata.kernelspec.name == "python3" and nb.metadata.language_info.name == "python"
    assert [(c.source, c.metadata.get("tags")) for c in nb.cells] == [
        ("C = 1.0", ["parameters"]), ("import jupyter_mlws as mlws\nmlws.log('c', C)", None)]
    # submitted again with a parameter: a declared one (no warning), and it runs
    res = CliRunner().invoke(cli, ["-w", str(ws.root), "run", "submit", str(written), "-p", "C", "0.2",
                                   "--wait"])
    assert res.exit_code == 0, res.output
    assert "warning" not in res.output
    assert ws.get_run(res.stdout.split()[0]).metrics == {"c": 0.2}
    again = ws.rerun(promoted.id, {"C": 0.3}, wait=True)
    assert again.status == "completed" and again.metrics == {"c": 0.3}
    ws.close()


def test_without_a_workspace_tracking_is_off_and_cells_run(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("MLWS_WORKSPACE", raising=False)
    nb = _execute(["%load_ext jupyter_mlws", "1 + 1"], monkeypatch)
    assert "cell tracking is off: no workspace found" in nb.cells[0].outputs[0]["text"]
    assert nb.cells[1].outputs[0]["data"]["text/plain"] == "2"


def test_logging_in_a_notebook_run_by_hand_starts_its_session_run(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    ws = mlws.Workspace.create(tmp_path / "ws")
    _execute(["import jupyter_mlws as mlws\nmlws.log('loss', 0.5)", "mlws.log('loss', 0.25)"],
             monkeypatch, ws, session=str(tmp_path / "by_hand.ipynb"))
    run = _session_run(ws)
    assert run.record.experiment == "by_hand" and run.status == "completed"
    assert [v for _, _, v in run.metric_history("loss")] == [0.5, 0.25]
    assert len(run.values("cells")) == 2  # the cell that started it is recorded too
    ws.close()


def test_without_cell_ids_the_parameters_cell_is_found_by_its_source(tmp_path):
    ws = mlws.Workspace.create(tmp_path / "ws")
    study = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("C = 1.0"),
                                            nbformat.v4.new_code_cell("print(C)")])
    study.cells[0].metadata["tags"] = ["parameters"]
    nbformat.write(study, tmp_path / "study.ipynb")
    session = ws.runs.create("study", source_type="session", source_name="study.ipynb",
                             tags={"kernel": "unknown", "cwd": str(tmp_path)})
    ws.runs.add_cells(session.id, [(n, 0, {"source": s, "status": "completed"})  # older records
                                   for n, s in enumerate(["C = 1.0", "print(C)", "C = 1.0"], 1)])
    ws.notebooks.promote(session.id, detach=False)  # recorded, not executed
    nb = nbformat.read(tmp_path / f"study-promoted-{session.id[:8]}.ipynb", as_version=4)
    nbformat.validate(nb)
    assert nb.metadata.kernelspec.name == "python3" and nb.metadata.language_info.name == "python"
    assert [c.metadata.get("tags") for c in nb.cells] == [None, None, ["parameters"]]  # the last run
    other = ws.runs.create("study", source_type="session", source_name=str(tmp_path / "study.ipynb"))
    ws.runs.add_cells(other.id, [(1, 0, {"source": "print(2)", "status": "completed"})])
    assert ws.notebooks.promote(other.id, detach=False).warnings == [
        f"session run {other.id} did not run the 'parameters' cell of its notebook successfully: "
        "the promoted notebook has none"]
    ws.close()


def test_cells_are_tracked_into_a_workspace_over_http(http_workspace, monkeypatch):
    """The JupyterLab of a notebook VM reaches its workspace over HTTP (MLWS_WORKSPACE is the
    workspace server's URL): ``%load_ext jupyter_mlws`` there records the session like locally
    (it raised LocalOnly: ws.start_session_run works on a local workspace only)."""
    monkeypatch.setenv("MLWS_WORKSPACE", http_workspace.url)
    monkeypatch.setenv("MLWS_TOKEN", http_workspace.token)
    nb = _execute(["%load_ext jupyter_mlws",
                   "import jupyter_mlws as mlws\nmlws.log('acc', 0.5)", "2 + 2"],
                  monkeypatch, session="/vm/home/over-http.ipynb")
    said = "".join(o.get("text", "") + o.get("evalue", "") for c in nb.cells for o in c.outputs)
    assert "tracking this session as run" in said, said
    assert "LocalOnly" not in said and "cell tracking is off" not in said
    ws = http_workspace.ws
    [run] = ws.search_runs("source_type = 'session' and source_name = '/vm/home/over-http.ipynb'")
    assert run.status == "completed"
    assert run.record.experiment == "over-http"
    cells = [json.loads(v["data"]) for v in run.values("cells")]
    assert [c["execution_count"] for c in cells] == [1, 2, 3]
    assert cells[1]["metrics"] == {"acc": 1} and cells[2]["result"]["type"] == "builtins.int"
    assert run.metrics["acc"] == 0.5
