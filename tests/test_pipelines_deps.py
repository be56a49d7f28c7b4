"""A step's ``deps`` (project files and folders it reads) in its key; steps not selected with
--only / --from take a run that matches them as now defined (issue 13, newcomer's findings)."""

from __future__ import annotations

from pathlib import Path

import pytest

from jupyter_mlws.errors import InvalidInput
from jupyter_mlws.pipelines import Pipeline, Step, load
from jupyter_mlws.pipelines.keys import Key, explain

#: prep: reads raw.csv and data/*.txt from the project folder, writes their text
PREP = """\
import pathlib
import jupyter_mlws
p = jupyter_mlws.parameters(rows=1)
text = pathlib.Path("raw.csv").read_text() + "|" + pathlib.Path("notes.txt").read_text()
text += "|" + ",".join(f.read_text() for f in sorted(pathlib.Path("data").glob("*.txt")))
pathlib.Path("outputs").mkdir(exist_ok=True)
pathlib.Path("outputs/out.txt").write_text(f"{text}|rows={p['rows']}")
"""
#: train: reads prep's output, writes it with its C
TRAIN = """\
import pathlib
import jupyter_mlws
p = jupyter_mlws.parameters(C=0.5, data="")
pathlib.Path("outputs").mkdir(exist_ok=True)
pathlib.Path("outputs/out.txt").write_text(pathlib.Path(p["data"]).read_text() + f"|C={p['C']}")
"""
EVALUATE = TRAIN.replace("C=0.5, ", "").replace("+ f\"|C={p['C']}\"", "+ '|evaluated'")

YAML = """\
name: deps
parameters: {rows: 100}
steps:
  - name: prep
    script: prep.py
    parameters: {rows: "${rows}"}
    deps: [raw.csv, data/]
    outputs: [out.txt]
  - name: train
    script: train.py
    parameters: {C: 0.5}
    inputs: {data: prep/out.txt}
    outputs: [out.txt]
  - name: evaluate
    script: evaluate.py
    inputs: {data: train/out.txt}
    outputs: [out.txt]
"""


def _project(folder: Path) -> Path:
    (folder / "data").mkdir(parents=True)
    (folder / "prep.py").write_text(PREP)
    (folder / "train.py").write_text(TRAIN)
    (folder / "evaluate.py").write_text(EVALUATE)
    (folder / "raw.csv").write_text("a,b\n1,2\n")
    (folder / "notes.txt").write_text("n1")
    (folder / "data" / "x.txt").write_text("x1")
    (folder / "pipeline.yaml").write_text(YAML)
    return folder / "pipeline.yaml"


def _steps(ws, run_id: str) -> dict[str, dict]:
    return {s["name"]: s for s in ws.pipelines.describe(run_id)["steps"]}


def _out(ws, step: dict) -> str:
    return ws.blobs.read_bytes(step["files"]["out.txt"]["sha256"]).decode()


def test_a_changed_dep_reruns_its_step_and_what_follows_an_undeclared_file_does_not(ws, tmp_path):
    yaml = _project(tmp_path / "proj")
    first = _steps(ws, ws.pipelines.run(yaml, wait=True))
    assert {s["state"] for s in first.values()} == {"completed"}, first
    assert _out(ws, first["evaluate"]) == "a,b\n1,2\n|n1|x1|rows=100|C=0.5|evaluated"

    again = _steps(ws, ws.pipelines.run(yaml, wait=True))
    assert {s["state"] for s in again.values()} == {"reused"}
    assert "raw.csv, data" in again["prep"]["reason"]  # the reuse names what it covered

    # the declared raw.csv changes: prep runs again, saying which file; the rest follows
    (yaml.parent / "raw.csv").write_text("a,b\n3,4\n")
    changed = _steps(ws, ws.pipelines.run(yaml, wait=True))
    assert {n: s["state"] for n, s in changed.items()} == dict.fromkeys(first, "completed")
    assert changed["prep"]["changed"] == ["deps"]
    assert "project files changed (raw.csv)" in changed["prep"]["reason"]
    assert _out(ws, changed["evaluate"]).startswith("a,b\n3,4\n")

    # a new file in the declared folder data/: named too
    (yaml.parent / "data" / "y.txt").write_text("y1")
    folder = _steps(ws, ws.pipelines.run(yaml, wait=True))
    assert folder["prep"]["state"] == "completed"
    assert "project files changed (data/y.txt)" in folder["prep"]["reason"]

    # notes.txt is read but not declared: not hashed, so everything is reused (documented)
    (yaml.parent / "notes.txt").write_text("n2")
    undeclared = _steps(ws, ws.pipelines.run(yaml, wait=True))
    assert {s["state"] for s in undeclared.values()} == {"reused"}
    assert "|n1|" in _out(ws, undeclared["evaluate"])


def test_deps_are_checked_before_anything_is_recorded(ws, tmp_path):
    yaml = _project(tmp_path / "proj")
    yaml.write_text(YAML.replace("[raw.csv, data/]", "[raw.csv, missing.csv]"))
    with pytest.raises(InvalidInput, match="dep 'missing.csv' is no file or folder of the "
                                           "project's snapshot"):
        ws.pipelines.run(yaml)
    (yaml.parent / ".mlwsignore").write_text("data/\n")
    yaml.write_text(YAML)
    with pytest.raises(InvalidInput, match="'data'.*un-ignore it"):
        ws.pipelines.run(yaml)
    assert not ws.pipelines.list()
    with pytest.raises(InvalidInput, match="dep '../x' is not a path inside the project"):
        load(YAML.replace("[raw.csv, data/]", "[../x]"))
    with pytest.raises(InvalidInput, match="deps must be a list"):
        load(YAML.replace("[raw.csv, data/]", "{a: 1}"))


def test_deps_in_code_and_a_key_without_deps_is_unchanged():
    built = Pipeline("p").add(Step("prep", script="prep.py", deps=["raw.csv", "data/"]))
    assert built.to_dict()["steps"][0]["deps"] == ["raw.csv", "data/"]
    # a step without deps keeps the key it had before deps existed (no rerun after upgrading)
    key = Key.of("c", {"x": 1}, {}, "e")
    from jupyter_mlws.pipelines.keys import canonical, sha256

    assert key.value == sha256(canonical([key.code, key.parameters, key.inputs, key.environment]))
    with_deps = Key.of("c", {"x": 1}, {}, "e", {"raw.csv": "h1"})
    assert with_deps.value != key.value
    moved = Key.of("c", {"x": 1}, {}, "e", {"raw.csv": "h2"})
    assert explain(moved, Key.from_dict(with_deps.to_dict()))[1] == \
        "project files changed (raw.csv)"


def test_a_skipped_step_takes_a_run_made_with_these_parameters_or_is_refused(ws, tmp_path):
    yaml = _project(tmp_path / "proj")
    ws.pipelines.run(yaml, wait=True)
    c01 = _steps(ws, ws.pipelines.run(yaml, parameters={"train.C": 0.1}, wait=True))
    ws.pipelines.run(yaml, parameters={"rows": 120}, wait=True)  # the latest prep: rows=120

    # the default rows=100 is what --from evaluate means: prep and train from the first run
    frm = _steps(ws, ws.pipelines.run(yaml, from_step="evaluate", wait=True))
    assert frm["train"]["state"] == "skipped"
    assert _out(ws, frm["evaluate"]).endswith("rows=100|C=0.5|evaluated")
    # -p train.C 0.1: the train run made with C=0.1 (and rows=100)
    frm = _steps(ws, ws.pipelines.run(yaml, from_step="evaluate", parameters={"train.C": 0.1},
                                      wait=True))
    assert frm["train"]["reused_from"] == c01["train"]["run_id"]
    assert _out(ws, frm["evaluate"]).endswith("rows=100|C=0.1|evaluated")
    # no train run with C=0.3: refused, and nothing ran
    def executed() -> int:
        return sum(1 for r in ws.search_runs(experiments=["deps"], max_results=1000)
                   if r.tags.get("pipeline_step") and "reused_from" not in r.tags)

    before = executed()
    run_id = ws.pipelines.run(yaml, from_step="evaluate", parameters={"train.C": 0.3}, wait=True)
    run = ws.get_run(run_id)
    assert run.status == "failed"
    assert "no completed run of train with C=0.3: drop --from" in run.record.error
    assert _steps(ws, run_id)["evaluate"]["state"] == "canceled"
    assert executed() == before  # evaluate did not run


def test_only_refuses_a_gap_and_warns_of_parameters_without_effect(ws, tmp_path):
    yaml = _project(tmp_path / "proj")
    ws.pipelines.run(yaml, wait=True)
    with pytest.raises(InvalidInput, match="step 'train' is not selected, but it reads the "
                                           "outputs of a selected step and 'evaluate'"):
        ws.pipelines.run(yaml, only=["prep", "evaluate"])
    run_id = ws.pipelines.run(yaml, only=["train"], parameters={"train.C": 0.2,
                                                                "evaluate.x": 1}, wait=True)
    described = ws.pipelines.describe(run_id)
    assert any("-p evaluate.x has no effect" in w for w in described["warnings"])
    steps = {s["name"]: s for s in described["steps"]}
    # evaluate reads train's new output: no earlier run matches it, it is left without outputs
    assert steps["evaluate"]["state"] == "skipped" and not steps["evaluate"]["files"]
    assert "no completed run of it matches it now" in steps["evaluate"]["reason"]
