"""A pipeline schedule and new data (issue 13, a newcomer's finding: every tick reused all steps
after raw.csv changed): a step's declared deps make its runs see the new file; --no-reuse and
--force make a schedule's runs run steps whatever their key."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from jupyter_mlws.errors import InvalidInput

PREP = """\
import pathlib
pathlib.Path("outputs").mkdir(exist_ok=True)
pathlib.Path("outputs/out.txt").write_text(pathlib.Path("raw.csv").read_text())
"""
TRAIN = """\
import pathlib
import jupyter_mlws
p = jupyter_mlws.parameters(data="")
pathlib.Path("outputs").mkdir(exist_ok=True)
pathlib.Path("outputs/out.txt").write_text("trained on " + pathlib.Path(p["data"]).read_text())
"""
YAML = """\
name: sched-deps
steps:
  - name: prep
    script: prep.py
    deps: [raw.csv]
    outputs: [out.txt]
  - name: train
    script: train.py
    inputs: {data: prep/out.txt}
    outputs: [out.txt]
"""


@pytest.fixture
def yaml(tmp_path):
    folder = tmp_path / "proj"
    folder.mkdir()
    (folder / "prep.py").write_text(PREP)
    (folder / "train.py").write_text(TRAIN)
    (folder / "raw.csv").write_text("v1")
    (folder / "pipeline.yaml").write_text(YAML)
    return folder / "pipeline.yaml"


def _states(ws, run_id: str) -> dict[str, str]:
    return {s["name"]: s["state"] for s in ws.pipelines.describe(run_id)["steps"]}


def _trained(ws, run_id: str) -> str:
    step = {s["name"]: s for s in ws.pipelines.describe(run_id)["steps"]}["train"]
    return ws.blobs.read_bytes(step["files"]["out.txt"]["sha256"]).decode()


def _run(ws, name: str) -> str:
    run = ws.wait(ws.schedules.trigger(name)["id"], timeout=180)
    assert run.status == "completed", run.record.error
    return run.id


def test_a_schedules_runs_see_a_changed_declared_file(ws, yaml):
    made = ws.schedules.create("daily", pipeline=str(yaml), cron="0 6 * * *", tz="UTC")
    assert made["no_reuse"] is False and made["force"] == []
    first = _run(ws, "daily")
    assert _trained(ws, first) == "trained on v1"
    assert _states(ws, _run(ws, "daily")) == {"prep": "reused", "train": "reused"}
    (yaml.parent / "raw.csv").write_text("v2")  # new data: the next run runs prep and train
    third = _run(ws, "daily")
    assert _states(ws, third) == {"prep": "completed", "train": "completed"}
    assert _trained(ws, third) == "trained on v2"
    reason = {s["name"]: s for s in ws.pipelines.describe(third)["steps"]}["prep"]["reason"]
    assert "project files changed (raw.csv)" in reason


def test_no_reuse_and_force_for_a_pipeline_schedule(ws, yaml, tmp_path):
    made = ws.schedules.create("always", pipeline=str(yaml), cron="0 6 * * *", tz="UTC",
                               no_reuse=True)
    assert made["no_reuse"] is True
    _run(ws, "always")
    assert _states(ws, _run(ws, "always")) == {"prep": "completed", "train": "completed"}
    changed = ws.schedules.update("always", force=["train"])  # replaces --no-reuse
    assert (changed["no_reuse"], changed["force"]) == (False, ["train"])
    assert _states(ws, _run(ws, "always")) == {"prep": "reused", "train": "completed"}
    # checked, nothing changed: an unknown step, both at once, a notebook schedule
    with pytest.raises(InvalidInput, match="has no step 'nope'"):
        ws.schedules.update("always", force=["nope"])
    with pytest.raises(InvalidInput, match="not both"):
        ws.schedules.update("always", no_reuse=True, force=["prep"])
    assert ws.schedules.get("always")["force"] == ["train"]
    from schedule_support import notebook

    notebook(tmp_path / "nb.ipynb")
    with pytest.raises(InvalidInput, match="a pipeline schedule's options"):
        ws.schedules.create("nb", notebook=str(tmp_path / "nb.ipynb"), cron="0 6 * * *",
                            tz="UTC", no_reuse=True)
    # the CLI: --no-reuse on create, --reuse on update, shown by show
    from jupyter_mlws.cli.main import main

    runner = CliRunner()
    args = ["-w", str(ws.root), "schedule"]
    r = runner.invoke(main, [*args, "create", "cli", "--pipeline", str(yaml), "--cron",
                             "0 6 * * *", "--tz", "UTC", "--no-reuse"])
    assert r.exit_code == 0 and "every step runs (--no-reuse)" in r.output, r.output
    r = runner.invoke(main, [*args, "show", "cli"])
    assert "every step runs (--no-reuse)" in r.output
    r = runner.invoke(main, [*args, "update", "cli", "--reuse", "--json"])
    assert json.loads(r.output)["no_reuse"] is False
    r = runner.invoke(main, [*args, "update", "cli", "--force", "prep"])
    assert "forces prep (--force)" in r.output, r.output
