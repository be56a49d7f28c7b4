"""Pipelines: definitions checked before anything runs, steps reused by content, parallel steps,
a killed orchestrator resumed, --only / --from, cancel.  Real executors and kernels: the steps
are scripts (no kernel), one step a notebook where reuse of notebooks is the point."""

from __future__ import annotations

import json
import os
import signal
import time
from pathlib import Path

import nbformat
import pytest
from click.testing import CliRunner

from jupyter_mlws.errors import InvalidInput, NotFound
from jupyter_mlws.pipelines import Pipeline, Step

#: a script step: appends its name, its parameter x and its inputs' text to outputs/out.txt
SCRIPT = """\
import pathlib, time
import jupyter_mlws
p = jupyter_mlws.parameters(x=0, sleep=0)
time.sleep(p["sleep"])
text = "{name}:" + str(p["x"])
for name in sorted(k for k in p if k.startswith("in_")):
    text += "|" + pathlib.Path(p[name]).read_text()
pathlib.Path("outputs").mkdir(exist_ok=True)
pathlib.Path("outputs/out.txt").write_text(text)
"""


def _notebook(path: Path, suffix: str, markdown: str = "# step c") -> None:
    """Step c as a notebook: the same as SCRIPT, its text ending with ``suffix``."""
    nb = nbformat.v4.new_notebook()
    params = nbformat.v4.new_code_cell("x = 0\nin_b = ''")
    params.metadata["tags"] = ["parameters"]
    nb.cells = [nbformat.v4.new_markdown_cell(markdown), params, nbformat.v4.new_code_cell(
        "import pathlib\npathlib.Path('outputs').mkdir(exist_ok=True)\n"
        f"pathlib.Path('outputs/out.txt').write_text('c:' + str(x) + '{suffix}|' + "
        "pathlib.Path(in_b).read_text())")]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, str(path))


def project(folder: Path, steps: dict[str, list[str]], *, notebook: str | None = None,
            params: dict | None = None, name: str = "p") -> Path:
    """A project of script steps (``notebook``: that one a notebook) reading their upstream
    steps' out.txt; returns its pipeline.yaml."""
    folder.mkdir(parents=True, exist_ok=True)
    lines = [f"name: {name}", "parameters: {x: 1}", "steps:"]
    for step, ups in steps.items():
        kind = "notebook" if step == notebook else "script"
        file = f"{step}.ipynb" if kind == "notebook" else f"{step}.py"
        if kind == "notebook":
            _notebook(folder / file, "")
        else:
            (folder / file).write_text(SCRIPT.replace("{name}", step))
        step_params = {"x": "${x}", **(params or {}).get(step, {})}
        lines.append(f"  - name: {step}\n    {kind}: {file}\n    parameters: {json.dumps(step_params)}"
                     "\n    outputs: [out.txt]")
        if ups:
            lines.append("    inputs: {" + ", ".join(f"in_{u}: {u}/out.txt" for u in ups) + "}")
    (folder / "pipeline.yaml").write_text("\n".join(lines) + "\n")
    return folder / "pipeline.yaml"


def steps_of(ws, run_id: str) -> dict[str, dict]:
    return {s["name"]: s for s in ws.pipelines.describe(run_id)["steps"]}


def output(ws, step: dict) -> str:
    return ws.blobs.read_bytes(step["files"]["out.txt"]["sha256"]).decode()


def executed(ws, experiment: str) -> dict[str, int]:
    """How many times each step executed in the workspace (child runs not reused)."""
    counts: dict[str, int] = {}
    for run in ws.search_runs(experiments=[experiment], max_results=1000):
        step = run.tags.get("pipeline_step")
        if step and "reused_from" not in run.tags:
            counts[step] = counts.get(step, 0) + 1
    return counts


CHAIN5 = {"a": [], "b": ["a"], "c": ["b"], "d": ["c"], "e": ["d"]}


def test_unchanged_steps_are_reused_and_a_code_edit_reruns_exactly_what_depends_on_it(ws, tmp_path):
    yaml = project(tmp_path / "proj", CHAIN5, notebook="c")
    first = ws.pipelines.run(yaml, wait=True)
    assert ws.get_run(first).status == "completed", ws.get_run(first).record.error
    steps = steps_of(ws, first)
    assert {s["state"] for s in steps.values()} == {"completed"}
    assert steps["a"]["changed"] == ["no earlier run"]
    assert output(ws, steps["e"]) == "e:1|d:1|c:1|b:1|a:1"  # outputs flowed as artifacts
    assert executed(ws, "p") == dict.fromkeys(CHAIN5, 1)
    assert ws.runs.values(steps["c"]["run_id"], "attempts")  # the notebook ran in a kernel

    # unchanged: every step reused, nothing executed (no attempt recorded, no kernel started)
    second = ws.pipelines.run(yaml, wait=True)
    steps2 = steps_of(ws, second)
    assert {s["state"] for s in steps2.values()} == {"reused"}
    for name, step in steps2.items():
        assert step["reused_from"] == steps[name]["run_id"]
        assert "unchanged" in step["reason"]
        child = ws.get_run(step["run_id"])
        assert child.status == "completed" and child.tags["reused_from"] == steps[name]["run_id"]
        assert child.record.parent_id == second
        assert not ws.runs.values(child.id, "attempts") and "kernel" not in child.tags
        assert step["files"] == steps[name]["files"]  # the same blobs
    assert executed(ws, "p") == dict.fromkeys(CHAIN5, 1)

    # a markdown cell of step c changes: still all reused
    _notebook(yaml.parent / "c.ipynb", "", markdown="# step c, now explained at length")
    third = ws.pipelines.run(yaml, wait=True)
    assert {s["state"] for s in steps_of(ws, third).values()} == {"reused"}

    # its code changes: c, d and e run again, each saying why
    _notebook(yaml.parent / "c.ipynb", "v2")
    fourth = ws.pipelines.run(yaml, wait=True)
    steps4 = steps_of(ws, fourth)
    assert {n: s["state"] for n, s in steps4.items()} == {
        "a": "reused", "b": "reused", "c": "completed", "d": "completed", "e": "completed"}
    assert steps4["c"]["changed"] == ["code"] and "code changed" in steps4["c"]["reason"]
    assert steps4["d"]["changed"] == ["inputs"] and "inputs changed (in_c)" in steps4["d"]["reason"]
    assert output(ws, steps4["e"]) == "e:1|d:1|c:1v2|b:1|a:1"
    assert executed(ws, "p") == {"a": 1, "b": 1, "c": 2, "d": 2, "e": 2}

    # a parameter changes: from that step on
    fifth = ws.pipelines.run(yaml, parameters={"d.x": 7}, wait=True)
    steps5 = steps_of(ws, fifth)
    assert [n for n, s in steps5.items() if s["state"] == "completed"] == ["d", "e"]
    assert steps5["d"]["changed"] == ["parameters"] and "parameters changed (x)" in steps5["d"]["reason"]
    described = ws.pipelines.describe(fifth)
    assert described["edges"] == [["a", "b"], ["b", "c"], ["c", "d"], ["d", "e"]]


def test_a_diamond_runs_its_middle_steps_at_once(ws, tmp_path):
    yaml = project(tmp_path / "proj", {"a": [], "b": ["a"], "c": ["a"], "d": ["b", "c"]},
                   params={s: {"sleep": 2} for s in "abcd"}, name="diamond")
    run_id = ws.pipelines.run(yaml, wait=True, max_parallel=2)
    steps = steps_of(ws, run_id)
    assert {s["state"] for s in steps.values()} == {"completed"}
    span = {n: (s["started_at"], s["ended_at"]) for n, s in steps.items()}
    assert span["a"][1] <= min(span["b"][0], span["c"][0])  # b and c read a's output
    assert span["b"][0] < span["c"][1] and span["c"][0] < span["b"][1]  # b and c overlap
    assert span["d"][0] >= max(span["b"][1], span["c"][1])
    assert output(ws, steps["d"]) == "d:1|b:1|a:1|c:1|a:1"


def test_a_killed_orchestrator_is_resumed_without_repeating_completed_steps(ws, tmp_path):
    yaml = project(tmp_path / "proj", {"a": [], "b": ["a"], "c": ["b"]},
                   params={"b": {"sleep": 4}}, name="resume")
    first = ws.pipelines.run(yaml)  # detached: its orchestrator is a process of its own
    deadline = time.monotonic() + 60
    while steps_of(ws, first)["b"]["run_status"] != "running":
        assert time.monotonic() < deadline, steps_of(ws, first)
        time.sleep(0.1)
    orchestrator = ws.runs.process_of(first)
    assert orchestrator.pid != os.getpid()
    os.kill(orchestrator.pid, signal.SIGKILL)
    deadline = time.monotonic() + 30  # the signal is sent; the process is gone a moment later
    while orchestrator.is_mine():
        assert time.monotonic() < deadline, "the killed orchestrator did not exit"
        time.sleep(0.05)
    second = ws.pipelines.run(yaml, wait=True)
    assert ws.get_run(second).status == "completed", ws.get_run(second).record.error
    steps = steps_of(ws, second)
    assert steps["a"]["state"] == "reused"
    assert steps["b"]["state"] == "reused"  # the running one was waited for, not started again
    assert steps["c"]["state"] == "completed"
    assert executed(ws, "resume") == {"a": 1, "b": 1, "c": 1}
    old = ws.get_run(first)
    assert old.status == "killed" and "orchestrator" in old.record.error
    assert output(ws, steps["c"]) == "c:1|b:1|a:1"


def test_only_and_from_take_skipped_steps_outputs_from_their_latest_run(ws, tmp_path):
    yaml = project(tmp_path / "proj", {"a": [], "b": ["a"], "c": ["b"]}, name="part")
    with pytest.raises(InvalidInput, match="'a' is not selected to run, and has no completed run"):
        ws.pipelines.run(yaml, only=["b"])
    assert not ws.pipelines.list()  # nothing recorded
    full = steps_of(ws, ws.pipelines.run(yaml, wait=True))
    only = steps_of(ws, ws.pipelines.run(yaml, only=["b"], parameters={"b.x": 2}, wait=True))
    assert {n: s["state"] for n, s in only.items()} == {"a": "skipped", "b": "completed",
                                                        "c": "skipped"}
    assert only["a"]["reused_from"] == full["a"]["run_id"] and "--only" in only["a"]["reason"]
    # c did not run, and no run of it read b's new output: left without outputs (not stale ones)
    assert not only["c"]["files"] and "no completed run of it matches" in only["c"]["reason"]
    assert output(ws, only["b"]) == "b:2|a:1"
    frm = steps_of(ws, ws.pipelines.run(yaml, from_step="b", parameters={"b.x": 2}, wait=True))
    assert {n: s["state"] for n, s in frm.items()} == {"a": "skipped", "b": "reused",
                                                       "c": "completed"}
    assert output(ws, frm["c"]) == "c:1|b:2|a:1"
    forced = steps_of(ws, ws.pipelines.run(yaml, force=["b"], parameters={"b.x": 2}, wait=True))
    assert {n: s["state"] for n, s in forced.items()} == {"a": "reused", "b": "completed",
                                                          "c": "completed"}
    assert forced["b"]["changed"] == ["forced"] and "--force b" in forced["b"]["reason"]
    assert executed(ws, "part") == {"a": 1, "b": 3, "c": 3}


def test_canceling_a_pipeline_run_cancels_its_running_step(ws, tmp_path):
    yaml = project(tmp_path / "proj", {"a": [], "b": ["a"]}, params={"a": {"sleep": 60}},
                   name="cancel")
    run_id = ws.pipelines.run(yaml)
    deadline = time.monotonic() + 60
    while steps_of(ws, run_id)["a"]["run_status"] != "running":
        assert time.monotonic() < deadline
        time.sleep(0.1)
    ws.cancel_run(run_id)
    steps = ws.wait(run_id, timeout=60) and steps_of(ws, run_id)
    assert ws.get_run(run_id).status == "canceled"
    assert ws.wait(steps["a"]["run_id"], timeout=60).status == "canceled"
    deadline = time.monotonic() + 30
    while steps_of(ws, run_id)["b"]["state"] != "canceled":  # the orchestrator records it
        assert time.monotonic() < deadline, steps_of(ws, run_id)
        time.sleep(0.1)


BAD = [
    ("steps: [a, b", "not valid YAML at line 1"),
    ("name: p\nsteps:\n  - {name: a, script: a.py, inputs: {x: b/o}, outputs: [o]}\n"
     "  - {name: b, script: b.py, inputs: {y: a/o}, outputs: [o]}\n", "has a cycle: a -> b -> a"),
    ("steps:\n  - {name: a, script: a.py, inputs: {x: nope/o}}\n", "names no step of the pipeline"),
    ("steps:\n  - {name: a, script: a.py}\n  - {name: b, script: b.py, inputs: {x: a/o}}\n",
     "declares no output 'o'"),
    ("steps:\n  - {name: a, script: a.py}\n  - {name: a, script: b.py}\n", "two steps are named 'a'"),
    ("steps:\n  - {name: a, script: a.py, parameters: {1x: 1}}\n", "is not a Python identifier"),
    ("steps:\n  - {name: a, script: a.py, parameters: {class: 1}}\n", "is not a Python identifier"),
    ("steps:\n  - {name: a, script: ../a.py}\n", "is not a path inside the project folder"),
    ("steps:\n  - {name: a, script: /etc/a.py}\n", "is not a path inside the project folder"),
    ("steps:\n  - {name: a, script: a.py, outputs: [../o]}\n", "is not a path inside the project"),
    ("steps:\n  - {name: a, script: a.py, notebook: a.ipynb}\n", "exactly one of script"),
    ("steps:\n  - {name: a, script: a.ipynb}\n", "a script is a .py file"),
    ("steps:\n  - {name: a, script: a.py, retry: 2}\n", "unknown field 'retry'"),
    ("steps:\n  - {name: a, script: a.py, parameters: {n: '${rows}'}}\n", "refers to ${rows}"),
    ("steps:\n  - {name: a, script: a.py, inputs: {n: a/o}, outputs: [o]}\n", "the step's own output"),
    ("steps: []\n", "has no steps"),
    ("- a\n", "must be a mapping"),
    ("steps:\n  - {name: 'a b', script: a.py}\n", "step name 'a b' is not valid"),
    ("name: a/b\nsteps:\n  - {name: a, script: a.py}\n", "pipeline name 'a/b' is not valid"),
]


@pytest.mark.parametrize("text,message", BAD)
def test_a_bad_definition_is_refused_naming_the_mistake_and_nothing_runs(ws, tmp_path, text, message):
    (tmp_path / "a.py").write_text("")
    (tmp_path / "b.py").write_text("")
    (tmp_path / "pipeline.yaml").write_text(text)
    with pytest.raises(InvalidInput) as err:
        ws.pipelines.run(tmp_path / "pipeline.yaml")
    assert message in str(err.value)
    assert str(tmp_path) not in str(err.value)  # no server path
    assert not ws.search_runs()


def test_bad_options_and_missing_files_are_refused_before_anything_is_recorded(ws, tmp_path):
    yaml = project(tmp_path / "proj", {"a": [], "b": ["a"]}, name="opts")
    for options, kind, message in [
        ({"only": ["zz"]}, InvalidInput, "has no step 'zz': its steps are a, b"),
        ({"only": ["a"], "from_step": "a"}, InvalidInput, "not both"),
        ({"parameters": {"rows": 1}}, InvalidInput, "declares no parameter 'rows'"),
        ({"parameters": {"b.in_a": "x"}}, InvalidInput, "is an input of step 'b'"),
        ({"compute": "nowhere"}, NotFound, "nowhere"),
        ({"max_parallel": 0}, InvalidInput, "max_parallel"),
    ]:
        with pytest.raises(kind, match=message):
            ws.pipelines.run(yaml, **options)
    (yaml.parent / "b.py").unlink()
    with pytest.raises(NotFound, match="no script 'b.py'"):
        ws.pipelines.run(yaml)
    (yaml.parent / "b.py").write_text("")
    (yaml.parent / ".mlwsignore").write_text("b.py\n")
    with pytest.raises(InvalidInput, match="left out of the project's snapshot"):
        ws.pipelines.run(yaml)
    assert not ws.search_runs()


def test_a_pipeline_built_in_code_and_a_failing_step_blocks_what_depends_on_it(ws, tmp_path):
    (tmp_path / "ok.py").write_text(SCRIPT.replace("{name}", "ok"))
    (tmp_path / "bad.py").write_text("import sys\nprint('something broke', file=sys.stderr)\n"
                                     "sys.exit(3)\n")
    (tmp_path / "after.py").write_text(SCRIPT.replace("{name}", "after"))
    pipeline = (Pipeline("built")
                .add(Step("ok", script="ok.py", outputs=["out.txt"]))
                .add(Step("bad", script="bad.py", inputs={"in_ok": "ok/out.txt"}, outputs=["out.txt"]))
                .add(Step("after", script="after.py", inputs={"in_bad": "bad/out.txt"})))
    run_id = ws.pipelines.run(pipeline, project_dir=tmp_path, wait=True)
    record = ws.get_run(run_id)
    assert record.status == "failed"
    assert "step bad failed: bad.py exited with status 3:\nsomething broke" in record.record.error
    steps = steps_of(ws, run_id)
    assert [steps[n]["state"] for n in ("ok", "bad", "after")] == ["completed", "failed", "blocked"]
    assert steps["after"]["run_id"] is None
    assert b"something broke" in ws.run_logs(steps["bad"]["run_id"])["stderr.log"]
    # `mlws pipeline show` names what broke, not only the exit status
    shown = CliRunner().invoke(main_cli(), ["-w", str(ws.root), "pipeline", "show", run_id]).output
    assert "error:" in shown and "bad.py exited with status 3: something broke" in shown
    # a script step's run reads as a script's (it said "source: notebook bad.py")
    shown = CliRunner().invoke(main_cli(), ["-w", str(ws.root), "run", "show",
                                            steps["bad"]["run_id"]]).output
    assert "script bad.py" in shown and "notebook bad.py" not in shown
    assert ws.get_run(steps["bad"]["run_id"]).record.details()["source_kind"] == "script"


def test_the_cli_runs_shows_and_lists(ws, tmp_path):
    yaml = project(tmp_path / "proj", {"a": [], "b": ["a"]}, name="cli")
    runner = CliRunner()
    args = ["-w", str(ws.root), "pipeline"]
    r = runner.invoke(main_cli(), [*args, "run", str(yaml), "--wait", "-p", "x", "3"])
    assert r.exit_code == 0, r.output
    run_id = r.output.splitlines()[0]
    assert "steps 2/2 ended: 2 completed" in r.output and "no earlier run" in r.output
    r = runner.invoke(main_cli(), [*args, "run", str(yaml), "--wait", "-p", "x", "3", "--json"])
    assert [s["state"] for s in json.loads(r.output)["steps"]] == ["reused", "reused"]
    r = runner.invoke(main_cli(), [*args, "show", run_id])
    assert "completed" in r.output and "no earlier run" in r.output
    r = runner.invoke(main_cli(), [*args, "list", "--json"])
    assert json.loads(r.output)[0]["runs"] == 2
    r = runner.invoke(main_cli(), [*args, "runs", "cli"])
    assert run_id in r.output and "2 reused" in r.output
    r = runner.invoke(main_cli(), [*args, "show", "cli"])
    assert "a.py" in r.output and "in_a=a/out.txt" in r.output
    # a failed run says what ended how, not "2/2 done"
    failing = project(tmp_path / "fails", {"a": [], "b": ["a"]}, name="cli-fails",
                      params={"a": {"sleep": "not a number"}})
    r = runner.invoke(main_cli(), [*args, "run", str(failing), "--wait"])
    assert r.exit_code == 1 and "steps 2/2 ended: 1 failed, 1 blocked" in r.output, r.output
    assert "done" not in r.output
    r = runner.invoke(main_cli(), [*args, "runs", "cli-fails"])
    assert "1 failed, 1 blocked" in r.output
    (tmp_path / "bad.yaml").write_text("steps: [")
    r = runner.invoke(main_cli(), [*args, "run", str(tmp_path / "bad.yaml")])
    assert r.exit_code == 2 and "not valid YAML" in r.output


def test_a_step_parameter_its_notebook_does_not_declare_is_warned_of_and_passed(ws, tmp_path):
    """``-p train.nope 3`` was taken silently (a newcomer): warned of as ``mlws run submit``
    warns, naming the step and what its notebook declares, and passed; an unknown step is
    refused (exit 2) with nothing recorded."""
    nb = nbformat.v4.new_notebook()
    params = nbformat.v4.new_code_cell("lr = 0.1")
    params.metadata["tags"] = ["parameters"]
    nb.cells = [params, nbformat.v4.new_code_cell(
        "import pathlib\npathlib.Path('outputs').mkdir(exist_ok=True)\n"
        "pathlib.Path('outputs/out.txt').write_text(f'{lr} {nope}')")]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, str(tmp_path / "train.ipynb"))
    (tmp_path / "pipeline.yaml").write_text(
        "name: warned\nsteps:\n  - {name: train, notebook: train.ipynb, outputs: [out.txt]}\n")
    warning = ("step 'train': train.ipynb does not declare parameter 'nope' in its 'parameters' "
               "cell (its parameters: lr; passed anyway)")
    assert ws.pipelines.check(tmp_path / "pipeline.yaml",
                              parameters={"train.nope": 3, "train.lr": 0.5}) == [warning]
    args = ["-w", str(ws.root), "pipeline", "run", str(tmp_path / "pipeline.yaml")]
    r = CliRunner().invoke(main_cli(), [*args, "-p", "nope.lr", "1"])
    assert r.exit_code == 2 and "has no step 'nope': its steps are train" in r.output
    assert not ws.search_runs()
    r = CliRunner().invoke(main_cli(), [*args, "-p", "train.nope", "3", "-p", "train.lr", "0.5",
                                        "--wait"])
    assert r.exit_code == 0, r.output
    assert f"warning: {warning}" in r.stderr
    run_id = r.stdout.splitlines()[0]
    described = ws.pipelines.describe(run_id)
    assert described["warnings"] == [warning] and "warnings" not in described["options"]
    assert output(ws, described["steps"][0]) == "0.5 3"  # passed anyway
    # what a step that runs again says of its environment: what changed since that run's, by
    # package, a local (editable) package's new source its own item
    from dataclasses import replace

    from jupyter_mlws.environments.spec import LocalPackage, diff

    step_run = described["steps"][0]["run_id"]
    before = ws.environments.of_run(step_run)
    pins = sorted(p for p in before.packages if not p.startswith("nbformat=="))
    now = replace(before, packages=tuple(pins + ["nbformat==0.0.1", "zzz-new==1.0"]),
                  local=(*before.local, LocalPackage("mypkg", "0.1", "sha256:" + "a" * 64)))
    changes = ws.pipelines.environment_changes(step_run, now)
    assert "added zzz-new 1.0" in changes and "added mypkg 0.1 (local aaaaaaaaaaaa)" in changes
    assert any(c.startswith("nbformat ") and c.endswith(" -> 0.0.1") for c in changes), changes
    edited = replace(now, local=(*before.local, LocalPackage("mypkg", "0.1", "sha256:" + "b" * 64)))
    assert diff(now, edited).changes() == ["mypkg 0.1: its local source changed"]
    assert ws.pipelines.environment_changes(None, now) == []


def main_cli():
    from jupyter_mlws.cli import main

    return main


def test_a_changed_environment_is_explained_by_what_changed_in_it():
    from jupyter_mlws.pipelines.keys import Key, explain

    before = Key.of("c", {"x": 1}, {}, "env-1")
    now = Key.of("c", {"x": 1}, {}, "env-2")
    asked = []

    def changes():
        asked.append(1)
        return ["numpy 1.26.4 -> 2.0.0", "mypkg 0.1: its local source changed"]

    assert explain(now, before, "r1", environment=changes) == (
        ["environment"], "environment changed (numpy 1.26.4 -> 2.0.0; mypkg 0.1: its local source "
                         "changed) since run r1")
    assert explain(now, before, "r1", environment=list) == (["environment"],
                                                            "environment changed since run r1")
    explain(before, before, "r1", environment=changes)  # unchanged: not asked what changed
    assert asked == [1]
