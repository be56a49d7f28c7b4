"""The core behind a run's details, on SQLite and PostgreSQL: pages of logged values (bounded),
a session's cells with the last value each logged, lineage, and the description's limit."""

from __future__ import annotations

import math

import pytest

from jupyter_mlws import values as V
from jupyter_mlws.errors import InvalidInput, NotFound

PNG = b"\x89PNG\r\n\x1a\n" + bytes(8)


@pytest.fixture
def ws(any_ws):
    return any_ws


def test_a_page_is_the_newest_steps_of_each_key_and_bounded_in_bytes(ws, monkeypatch):
    with ws.experiment("v").start_run(snapshot=False, outputs=None) as run:
        for step in (0, 2, 1):
            run.log_list("b", [step], step=step)
        run.log_list("b", ["again"], step=2)  # the same step logged twice: the later first
        run.log_table("a", {"x": list(range(100))})
        run.log_image("c", PNG, step=-5)
    page = ws.values.page(run.id, max_results=3)
    assert [(v["key"], v["step"], v["value"]) for v in page["values"]] == [
        ("a", 0, {"x": list(range(100))}), ("b", 2, ["again"]), ("b", 2, [2]), ("b", 1, [1]),
        ("c", -5, None)]
    assert ws.values.image(run.id, "c", -5)["name"] == "c--5.png"
    assert ws.values.count(run.id) == 6
    # past the byte budget, older values come without content; each key's newest always has it
    monkeypatch.setattr(V, "PAGE_BUDGET", 20)
    page = ws.values.page(run.id)
    assert [(v["key"], v["step"], v.get("truncated", False)) for v in page["values"]] == [
        ("a", 0, False), ("b", 2, False), ("b", 2, True), ("b", 1, True), ("b", 0, True),
        ("c", -5, False)]
    assert all(v["value"] is None for v in page["values"] if v.get("truncated"))
    for bad in (0, 1001, True, "5", 2.0):
        with pytest.raises(InvalidInput, match="max_results"):
            ws.values.page(run.id, max_results=bad)
    with pytest.raises(NotFound, match="no image 'b' at step 2"):
        ws.values.image(run.id, "b", 2)


def test_a_cells_metrics_are_the_last_values_logged_while_it_ran(ws):
    session = ws.runs.create("study", source_type="session", source_name="study.ipynb")
    points = [("acc", 0.1, 0, 1000), ("acc", 0.2, 1, 1500), ("loss", 9.0, 0, 1500),
              ("acc", 0.3, 2, 5000), ("acc", 0.0, 2, 5200), ("loss", float("nan"), 1, 5100)]
    ws.runs.write_points(session.id, points)
    ws.runs.add_cells(session.id, [
        (1, 0, {"execution_count": 7, "source": "a", "start": 1000, "duration": 0.5,
                "status": "completed", "metrics": {"acc": 2, "loss": 1}}),
        (2, 0, {"execution_count": 8, "source": "b", "start": 4999, "duration": 1.0,
                "status": "completed", "metrics": {"acc": 2, "loss": 1}}),
        (3, 0, {"source": "c", "start": 9000, "duration": 0.1, "status": "failed",
                "ename": "KeyError", "evalue": "", "metrics": {"acc": 1}})])  # logged elsewhen
    cells = ws.cells.list(session.id[:6])
    assert cells[0]["metrics"] == {"acc": 0.2, "loss": 9.0}
    assert cells[1]["metrics"]["acc"] == 0.0 and math.isnan(cells[1]["metrics"]["loss"])  # as logged
    assert cells[2] == {"number": 3, "cell_id": None, "status": "failed", "started": 9000,
                        "duration_s": 0.1, "source": "c", "error": "KeyError", "metrics": {"acc": None}}
    assert [c["number"] for c in cells] == [7, 8, 3]
    with ws.experiment("v").start_run(snapshot=False, outputs=None) as plain:
        plain.log_list("cells", [1])  # a value named "cells" is no cell
    assert ws.cells.list(plain.id) == []


def test_lineage_lists_at_most_the_first_children_and_counts_them(ws, monkeypatch):
    from jupyter_mlws import lineage

    monkeypatch.setattr(lineage, "LINKS_MAX", 2)
    with ws.experiment("s").start_run(snapshot=False, outputs=None) as parent:
        kids = [parent.child() for _ in range(3)]
        for kid in kids:
            kid.end()
    ws.runs.set_tags(kids[0].id, {"promoted_from": "not-a-run"})  # edited by hand: links nothing
    found = ws.lineage.of(parent.id)
    assert [c["id"] for c in found["children"]] == [kids[0].id, kids[1].id]
    assert found["child_count"] == 3
    assert ws.lineage.of(kids[0].id)["promoted_from"] is None


def test_a_description_is_text_of_at_most_20000_characters(ws):
    with pytest.raises(InvalidInput, match="over the 20000 limit"):
        ws.experiment("d").start_run(description="x" * 20_001, snapshot=False, outputs=None)
    assert ws.search_runs() == []
    with ws.experiment("d").start_run(description="short", snapshot=False, outputs=None) as run:
        with pytest.raises(InvalidInput, match="over the 20000 limit"):
            run.set_description("x" * 20_001)
        run.set_description("y" * 20_000)
    assert ws.runs.get(run.id).description == "y" * 20_000
