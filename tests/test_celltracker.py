"""Cell-executed runs: the IPython extension in a real kernel, and promoting a session."""

import json

import nbformat
import pytest
from nbclient import NotebookClient

import jupyter_mlws as mlws
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
    with pytest.raises(InvalidInput, match="only session runs"):
        ws.promote(promoted.id)


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
