"""A pipeline run's graph in a real JupyterLab and Chromium: a five-step pipeline of script steps
(no kernel) run once, then again through the REST API with a changed parameter; its run page opens
on the graph, which follows the run live (train running, then finished) and says why each step ran
or was reused; the steps are laid out without overlapping, a long edge bends around the layer it
crosses; Tab walks the steps layer by layer, Enter (or a click) opens a step's run; the Pipelines
page lists the pipeline, its runs, and draws the one chosen."""

from __future__ import annotations

import pytest
import yaml

from .conftest import SCREENSHOTS, lab_api, open_page, palette

#: a step: sleeps, then writes its name and x, and its inputs' text, to outputs/out.txt
SCRIPT = """\
import pathlib, time, jupyter_mlws
p = jupyter_mlws.parameters(x=0, sleep=0)
time.sleep(p["sleep"])
inputs = [pathlib.Path(v).read_text() for k, v in sorted(p.items()) if k.startswith("in_")]
pathlib.Path("outputs").mkdir(exist_ok=True)
pathlib.Path("outputs/out.txt").write_text("|".join([f"NAME:{p['x']}", *inputs]))
"""
#: step -> (its parameters, its upstream steps); report reads prep too: an edge across two layers
STEPS = {
    "prep": ({}, []),
    "features": ({}, ["prep"]),
    "train": ({"x": "${x}", "sleep": "${sleep}"}, ["features"]),
    "evaluate": ({}, ["features"]),
    "report": ({}, ["train", "evaluate", "prep"]),
}
EDGES = {(up, step) for step, (_, ups) in STEPS.items() for up in ups}
#: the second run's parameters: train runs again (slowly enough to be seen running), and report after it
SECOND = {"x": 2, "sleep": 8}


@pytest.fixture(scope="module")
def pipeline(lab):
    """The project in the server's folder, run once to the end (every step ran: no earlier run)."""
    from jupyter_mlws import Workspace

    folder = lab["root"] / "demo-pipe"
    folder.mkdir()
    steps = []
    for step, (params, ups) in STEPS.items():
        (folder / f"{step}.py").write_text(SCRIPT.replace("NAME", step))
        steps.append({"name": step, "script": f"{step}.py", "parameters": params, "outputs": ["out.txt"],
                      **({"inputs": {f"in_{u}": f"{u}/out.txt" for u in ups}} if ups else {})})
    definition = {"name": "demo-pipe", "parameters": {"x": 1, "sleep": 0}, "steps": steps}
    (folder / "pipeline.yaml").write_text(yaml.safe_dump(definition, sort_keys=False))
    with Workspace.open(lab["root"]) as ws:
        first = ws.pipelines.run(folder / "pipeline.yaml", wait=True)
        assert ws.get_run(first).status == "completed", ws.get_run(first).record.error
    return {"first": first}


def steps_of(lab, run_id: str) -> dict[str, dict]:
    status, answer = lab_api(lab, "GET", f"runs/{run_id}/pipeline")
    assert status == 200, answer
    return {s["name"]: s for s in answer["steps"]}


def box(page, step: str):
    return page.locator(f"#jp-main-dock-panel .mlws-PipelineGraph .mlws-Step[data-step='{step}']")


def test_a_pipeline_runs_graph_follows_it_live_and_opens_its_steps(page, lab, pipeline):
    status, answer = lab_api(lab, "POST", "pipelines", {"path": "demo-pipe/pipeline.yaml", "parameters": SECOND})
    assert status == 201, answer
    run_id = answer["run"]["id"]
    open_page(page, lab, {"kind": "run", "id": run_id})
    # a pipeline run's page opens on its graph
    page.locator("#jp-main-dock-panel .mlws-RunTab[data-tab='pipeline'][aria-selected='true']").wait_for()
    graph = page.locator("#jp-main-dock-panel .mlws-PipelineGraph")
    graph.wait_for()
    assert box(page, "train").count() == 1 and graph.locator(".mlws-Step").count() == len(STEPS)

    # live: train is seen running, then finished, without a reload
    page.wait_for_selector(".mlws-Step[data-step='train'][data-state='running']", timeout=60_000)
    page.wait_for_selector(".mlws-Step[data-step='report'][data-state='finished']", timeout=120_000)
    page.locator("#jp-main-dock-panel .mlws-PipelineSummary .mlws-status-completed").wait_for()
    page.locator("#jp-main-dock-panel .mlws-RunPageHeader .mlws-Status", has_text="completed").wait_for()
    steps = steps_of(lab, run_id)
    assert {name: s["state"] for name, s in steps.items()} == {
        "prep": "reused", "features": "reused", "evaluate": "reused", "train": "completed", "report": "completed"}

    # each step says why it ran or was reused: in its box, and whole in the table below
    for name in ("prep", "features", "evaluate"):
        assert box(page, name).get_attribute("data-state") == "reused"
        assert box(page, name).locator(".mlws-StepWhy").inner_text() == "unchanged: reused"
    assert box(page, "train").locator(".mlws-StepWhy").inner_text() == "parameters changed"
    # its label says the state once ("reused: reused: ..." read a newcomer's screen reader)
    label = box(page, "prep").get_attribute("aria-label")
    assert label == f"Step prep (script), {steps['prep']['reason']}. Opens its run.", label
    assert steps["prep"]["reason"].startswith("reused: ")
    assert box(page, "report").locator(".mlws-StepWhy").inner_text() == "inputs changed"
    row = page.locator("#jp-main-dock-panel .mlws-PipelineStepRow[data-step='train']")
    assert steps["train"]["reason"] in row.inner_text() and "parameters changed (sleep, x)" in row.inner_text()
    prep_row = page.locator("#jp-main-dock-panel .mlws-PipelineStepRow[data-step='prep']")
    assert prep_row.locator(".mlws-StepSource").get_attribute("data-run-id") == steps["prep"]["reused_from"]

    # the drawing: every edge, no two boxes overlapping, prep -> report bent through the layer between
    edges = graph.locator(".mlws-PipelineEdge").evaluate_all(
        "paths => paths.map(p => [p.dataset.from, p.dataset.to, p.getAttribute('d')])")
    assert {(a, b) for a, b, _ in edges} == EDGES
    long_edge = next(d for a, b, d in edges if (a, b) == ("prep", "report"))
    assert " L" in long_edge  # it passes layers 1 and 2 beside their steps, not through them
    rects = graph.locator(".mlws-Step").evaluate_all(
        "els => els.map(e => { const r = e.getBoundingClientRect(); return [r.left, r.top, r.right, r.bottom]; })")
    for i, a in enumerate(rects):
        for b in rects[i + 1:]:
            assert a[2] <= b[0] or b[2] <= a[0] or a[3] <= b[1] or b[3] <= a[1], (a, b)
    page.screenshot(path=str(SCREENSHOTS / "pipeline-graph.png"))

    # keyboard: Tab walks the steps layer by layer; Enter opens a step's run
    box(page, "prep").focus()
    walked = []
    for _ in range(len(STEPS) - 1):
        page.keyboard.press("Tab")
        walked.append(page.evaluate("document.activeElement.dataset.step"))
    assert walked[0] == "features" and set(walked[1:3]) == {"train", "evaluate"} and walked[3] == "report"
    box(page, "train").focus()
    page.keyboard.press("Enter")
    train_run = steps["train"]["run_id"]
    page.locator(f"#jp-main-dock-panel .mlws-RunPage[data-run-id='{train_run}']").wait_for()
    # a click opens one too (the pipeline run's tab first)
    page.locator(".lm-DockPanel-tabBar .lm-TabBar-tab", has_text=answer["run"]["name"]).click()
    box(page, "report").click()
    page.locator(f"#jp-main-dock-panel .mlws-RunPage[data-run-id='{steps['report']['run_id']}']").wait_for()


def test_the_pipelines_page_lists_runs_and_draws_the_one_chosen(page, lab, pipeline):
    palette(page, "Pipelines")
    row = page.locator("#jp-main-dock-panel .mlws-PipelineRow[data-pipeline='demo-pipe']")
    row.wait_for()
    listed = {p["name"]: p for p in lab_api(lab, "GET", "pipelines")[1]["pipelines"]}
    assert row.locator("td").nth(1).inner_text() == str(listed["demo-pipe"]["runs"])
    row.locator(".mlws-PipelineOpen").click()
    history = page.locator("#jp-main-dock-panel .mlws-PipelinesPage[data-pipeline='demo-pipe']")
    runs = lab_api(lab, "GET", "pipelines/demo-pipe/runs")[1]["runs"]
    history.locator(".mlws-PipelineRunRow").nth(len(runs) - 1).wait_for()
    assert history.locator(".mlws-PipelineRunRow").evaluate_all("rows => rows.map(r => r.dataset.runId)") == [
        r["id"] for r in runs]
    # the latest is drawn; the first run (every step ran, none before it) drawn on request
    drawn = history.locator(".mlws-PipelineDrawn .mlws-PipelineRun[data-status]")  # loaded, not "Loading…"
    drawn.wait_for()
    assert drawn.get_attribute("data-run-id") == runs[0]["id"]
    first = history.locator(f".mlws-PipelineRunRow[data-run-id='{pipeline['first']}']")
    assert "5 steps: 5 finished" in first.inner_text()
    if runs[0]["id"] != pipeline["first"]:  # (run alone, this module's first test made no later run)
        first.locator(".mlws-DrawRun").click()
    history.locator(f".mlws-PipelineDrawn .mlws-PipelineRun[data-run-id='{pipeline['first']}']").wait_for()
    assert history.locator(".mlws-Step[data-state='finished']").count() == len(STEPS)
    assert history.locator(".mlws-Step[data-step='prep'] .mlws-StepWhy").inner_text() == "no earlier run"
    # another run starts while the user follows this one: it stays drawn, the newer one is offered
    from jupyter_mlws import Workspace

    with Workspace.open(lab["root"]) as ws:
        newer = ws.pipelines.run(lab["root"] / "demo-pipe" / "pipeline.yaml", wait=True)
    history.locator(f".mlws-PipelineRunRow[data-run-id='{newer}']").wait_for()  # listed live
    offer = history.locator(".mlws-NewerRun")
    offer.wait_for()
    assert f"A newer run, {newer[:8]}, started" in offer.inner_text()
    assert history.locator(".mlws-PipelineDrawn .mlws-PipelineRun").get_attribute("data-run-id") == \
        pipeline["first"]
    offer.locator(".mlws-DrawNewer").click()
    history.locator(f".mlws-PipelineDrawn .mlws-PipelineRun[data-run-id='{newer}']").wait_for()
    offer.wait_for(state="detached")
    # the list scrolls past about 8 runs: the graph stays in view below it (17 runs pushed it off)
    scroll = history.locator(".mlws-PipelineRunsScroll")
    assert scroll.evaluate("e => getComputedStyle(e).overflowY") == "auto"
    assert scroll.evaluate("e => parseFloat(getComputedStyle(e).maxHeight)") < 400
    # JupyterLab Dark: the same graph in the theme's colours (a look, for the screenshot)
    palette(page, "JupyterLab Dark")
    page.wait_for_selector("body[data-jp-theme-light='false']", state="attached")
    page.wait_for_timeout(500)
    page.screenshot(path=str(SCREENSHOTS / "pipeline-graph-dark.png"))
    palette(page, "JupyterLab Light")


def test_a_failed_pipeline_runs_traceback_keeps_its_lines(page, lab):
    """A scheduled pipeline run that failed showed its traceback as one paragraph: preformatted,
    its lines kept, in the code font and the theme's colours, scrolling when long."""
    from jupyter_mlws import Workspace

    folder = lab["root"] / "broken-pipe"
    folder.mkdir()
    (folder / "bad.py").write_text("def load():\n    raise ValueError('the data is not there')\n\nload()\n")
    (folder / "pipeline.yaml").write_text("name: broken-pipe\nsteps:\n  - {name: bad, script: bad.py}\n")
    with Workspace.open(lab["root"]) as ws:
        run_id = ws.pipelines.run(folder / "pipeline.yaml", wait=True)
        error = ws.get_run(run_id).record.error
    assert "Traceback" in error and error.count("\n") > 3
    open_page(page, lab, {"kind": "run", "id": run_id})
    shown = page.locator("#jp-main-dock-panel .mlws-PipelineError")
    shown.wait_for()
    assert shown.evaluate("e => e.tagName") == "PRE"
    assert shown.inner_text().strip() == error.strip()
    style = shown.evaluate(
        "e => { const s = getComputedStyle(e); return [s.whiteSpace, s.fontFamily, s.overflowY]; }")
    assert style[0] == "pre-wrap" and "mono" in style[1].lower() and style[2] == "auto", style
    page.screenshot(path=str(SCREENSHOTS / "pipeline-failure.png"))
