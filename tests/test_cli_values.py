"""``mlws run show`` / ``values`` / ``cells`` on a real session run (the cell tracker in a real
kernel): what a user reads of logged lists, tables, images, cells and lineage."""

from __future__ import annotations

import re

import pytest
from test_celltracker import _execute
from test_cli import mlws, ok, strict_json

import jupyter_mlws as mlws_sdk

PNG = b"\x89PNG\r\n\x1a\n" + bytes(24)
CELLS = [
    "%load_ext jupyter_mlws",
    "import jupyter_mlws as mlws\nrun = mlws.current_run()\nfor i in range(3):\n    mlws.log('acc', i / 10)",
    "run.log_table('confusion', {'label': ['cat', 'dog'], 'n': [12, 3]})\n"
    "for step in range(3):\n    run.log_list('per_class', [step, 0.5])",
    f"run.log_image('plots/roc', {PNG!r})\nrun.log_image('plots/roc', {PNG + b'2'!r})",
    "# a mistake\n1 / 0",
]


@pytest.fixture(scope="module")
def session(tmp_path_factory):
    """A workspace with one session run (the cells above, in a real kernel), promoted once."""
    monkeypatch = pytest.MonkeyPatch()
    folder = tmp_path_factory.mktemp("cli_values")
    monkeypatch.chdir(folder)
    ws = mlws_sdk.Workspace.create(folder / "ws")
    _execute(CELLS, monkeypatch, ws, session=str(folder / "study.ipynb"))
    run = ws.search_runs("source_type = 'session'")[0]
    promoted = ws.notebooks.promote(run.id, detach=False).run_id  # recorded, not executed
    yield ws, run.id, promoted
    monkeypatch.undo()
    ws.close()


def test_run_show_tells_values_cells_and_lineage(session):
    ws, run_id, promoted = session
    out = ok(mlws("-w", ws.root, "run", "show", run_id))
    assert "values:\n  confusion (table, 1 step): step 0: 2 columns x 2 rows (label, n)\n" \
           "  per_class (list, 3 steps): step 2: [2, 0.5]\n" \
           f"  plots/roc (image, 2 steps): step 1: png, {len(PNG) + 1} bytes\n" in out
    cells = re.findall(r"^  \[(\d)\] (\w+) (?:-|[\d.]+s) (.*)$", out, re.M)
    assert [(n, status) for n, status, _ in cells] == [
        ("1", "completed"), ("2", "completed"), ("3", "completed"), ("4", "completed"), ("5", "failed")]
    assert cells[1][2] == "import jupyter_mlws as mlws ...  acc=0.2"
    assert cells[4][2] == "# a mistake ..."
    assert "\n      ZeroDivisionError: division by zero\n" in out
    assert f"lineage:\n  promoted to: study-2 ({promoted}, queued)\n" in out
    assert all(line == line.rstrip() for line in out.splitlines())
    back = ok(mlws("-w", ws.root, "run", "show", promoted))
    assert f"lineage:\n  promoted from: study-1 ({run_id}, completed)\n" in back
    assert "values:" not in back and "cells" not in back  # nothing logged, not a session

    data = strict_json(ok(mlws("-w", ws.root, "run", "show", run_id[:8], "--json")))
    assert [c["metrics"] for c in data["cells"]] == [{}, {"acc": 0.2}, {}, {}, {}]
    assert [(v["key"], v["step"]) for v in data["values"]["values"]] == [
        ("confusion", 0), ("per_class", 2), ("plots/roc", 1)]
    assert data["lineage"]["promoted_to"][0]["id"] == promoted
    assert data["duration_s"] > 0 and data["git"] is None and data["files"] == []


def test_run_values_prints_tables_lists_and_images_and_downloads_them(session, tmp_path):
    ws, run_id, _ = session
    out = ok(mlws("-w", ws.root, "run", "values", run_id))
    assert out == (
        "confusion (table, 1 step)\n"
        "  step 0:\n"
        "    label  n\n"
        "    cat    12\n"
        "    dog    3\n"
        "per_class (list, 3 steps, newest 1 shown: --key per_class -n N for more)\n"
        "  step 2: [2, 0.5]\n"
        "plots/roc (image, 2 steps, newest 1 shown: --key plots/roc -n N for more)\n"
        f"  step 1: png, {len(PNG) + 1} bytes\n")
    out = ok(mlws("-w", ws.root, "run", "values", run_id, "--key", "per_class"))
    assert out.splitlines()[1:] == ["  step 2: [2, 0.5]", "  step 1: [1, 0.5]", "  step 0: [0, 0.5]"]
    result = mlws("-w", ws.root, "run", "values", run_id, "-k", "plots/roc", "-n", "5",
                  "--download", tmp_path / "imgs")
    assert ok(result).count("png") == 2
    assert (tmp_path / "imgs" / "plots_roc-1.png").read_bytes() == PNG + b"2"
    assert (tmp_path / "imgs" / "plots_roc-0.png").read_bytes() == PNG
    assert f"wrote {tmp_path / 'imgs' / 'plots_roc-1.png'}" in result.stderr
    data = strict_json(ok(mlws("-w", ws.root, "run", "values", run_id, "-k", "confusion", "--json")))
    assert data["values"][0]["value"] == {"label": ["cat", "dog"], "n": [12, 3]}
    assert len(data["keys"]) == 3 and data["written"] == []
    result = mlws("-w", ws.root, "run", "values", run_id, "--key", "nope")
    assert result.exit_code == 0 and result.stdout == ""
    assert "this run logged no value 'nope'" in result.stderr
    for args, code, message in ((["-n", "0"], 2, "max_results must be a whole number from 1 to 1000"),
                                (["--key", "a\nb"], 2, "contains a NUL or newline")):
        result = mlws("-w", ws.root, "run", "values", run_id, *args)
        assert result.exit_code == code and message in result.stderr, result.stderr
    result = mlws("-w", ws.root, "run", "values", "ffffffffffffffff")
    assert result.exit_code == 3 and result.stderr.startswith("error: no run 'ffffffffffffffff'")


def test_run_cells_lists_a_sessions_cells_and_the_failing_ones_source(session):
    ws, run_id, promoted = session
    out = ok(mlws("-w", ws.root, "run", "cells", run_id))
    lines = out.splitlines()
    assert re.fullmatch(r"CELL +STATUS +DURATION +METRICS +SOURCE", lines[0])
    assert re.fullmatch(r"\[2\] +completed +[\d.]+s +acc=0\.2 +import jupyter_mlws as mlws \.\.\.", lines[2])
    assert re.fullmatch(r"\[5\] +failed +[\d.]+s +- +# a mistake \.\.\.", lines[5])
    assert lines[6:] == ["", "[5] ZeroDivisionError: division by zero", "    # a mistake", "    1 / 0"]
    data = strict_json(ok(mlws("-w", ws.root, "run", "cells", run_id, "--json")))
    assert [c["number"] for c in data] == [1, 2, 3, 4, 5] and data[4]["status"] == "failed"
    result = mlws("-w", ws.root, "run", "cells", promoted)
    assert result.exit_code == 0 and result.stdout == ""
    assert "this run recorded no cells (only session runs do" in result.stderr


def test_run_show_names_parent_and_children(tmp_path, monkeypatch):
    monkeypatch.delenv("MLWS_WORKSPACE", raising=False)
    ws = mlws_sdk.Workspace.create(tmp_path / "ws")
    with ws.experiment("sweep").start_run(snapshot=False, outputs=None) as parent:
        kids = [parent.child(f"kid{i}") for i in range(5)]
        for kid in kids:
            kid.end()
    out = ok(mlws("-w", ws.root, "run", "show", parent.id))
    assert (f"lineage:\n  children (5): kid0 ({kids[0].id}, completed), kid1 ({kids[1].id}, completed), "
            f"kid2 ({kids[2].id}, completed), ... (2 more)\n") in out
    assert f"lineage:\n  parent: sweep-1 ({parent.id}, completed)\n" in ok(
        mlws("-w", ws.root, "run", "show", kids[3].id))
    ws.close()
