"""The notebook widgets over a real workspace (their rendering in a browser: tests/ui/test_widgets.py)."""

from __future__ import annotations

import base64
import json
import pickle
import re
import time
from pathlib import Path

import pytest
from mlws_testing import iris_model

from jupyter_mlws import Workspace
from jupyter_mlws.widgets import Deploy, RegisterModel, RunDetails

SCRIPTS = Path(__file__).parent / "endpoint_scripts"


@pytest.fixture
def wws(tmp_path, monkeypatch):
    monkeypatch.delenv("MLWS_WORKSPACE", raising=False)
    monkeypatch.delenv("MLWS_RUN_ID", raising=False)
    ws = Workspace.create(tmp_path / "ws")
    yield ws
    for item in ws.endpoints.list():
        ws.endpoints.delete(item["name"])
    ws.close()


def test_run_details_follows_a_live_run_to_its_end(wws):
    parent = wws.experiment("w").start_run("train", snapshot=False, outputs=None)
    parent.log_params({"lr": 0.1})
    with parent.child("fold-1") as kid:
        kid.log("acc", 0.9)
    for step in range(50):
        parent.log("loss", 1 / (step + 1), step=step)
    parent.flush()
    details = RunDetails(parent, refresh=0.2)
    assert "running" in details.header.value and "train" in details.header.value
    assert "lr" in details.params.value and "0.1" in details.params.value
    assert details.metrics.value == ("loss",)
    assert details.chart.value.count("<polyline") == 1 and 'data-metric="loss"' in details.chart.value
    assert "fold-1" in details.runs.value and "acc=0.9" in details.runs.value
    # new points and the end arrive without a call; a metric logged once is a number
    parent.log("acc", 0.5, step=0)
    parent.end("completed")
    assert details.wait(10) == "completed"
    assert "completed" in details.header.value
    assert details.metrics.options == ("loss",)
    assert re.search(r'data-metric="acc".*>0\.5</div>', details.numbers.value)
    assert 'data-metric="acc"' not in details.chart.value
    # by id, and a run that does not exist shows the service's message
    assert "completed" in RunDetails(parent.id, workspace=wws).header.value
    missing = RunDetails("ffffffffffffffff", workspace=wws)
    assert "no run" in missing.error.value.lower() and "Traceback" not in missing.error.value


def test_register_model_from_a_run_artifact_and_refusals(wws, tmp_path):
    model_file = tmp_path / "model.pkl"
    model_file.write_bytes(pickle.dumps({"w": [1, 2]}))
    with wws.experiment("w").start_run("fit", snapshot=False, outputs=None) as run:
        run.upload_file("model/model.pkl", model_file)
    form = RegisterModel(run)
    assert "model" in form.artifact.options and "model/model.pkl" in form.artifact.options
    form.name.value = "bad name!"
    form.button.click()
    assert "not valid" in form.result.value and form.version is None
    with pytest.raises(Exception):
        wws.models.resolve("bad name!")
    form.name.value = "clf"
    form.artifact.value = "model"
    form.tags.value = "stage=dev"
    form.button.click()
    assert form.version is not None and form.version.ref == "clf:1"
    assert "clf:1" in form.result.value and run.id in form.result.value
    assert ">flavor</td>" in form.result.value  # the CLI's word, and the API field's
    assert wws.models.resolve("clf:1").tags == {"stage": "dev"}
    # from a path
    by_path = RegisterModel(str(model_file), workspace=wws)
    assert by_path.name.value == "model"
    assert by_path.register().ref == "model:1"


def test_deploy_starts_an_endpoint_off_the_kernel_and_calls_it(wws, tmp_path):
    folder = tmp_path / "iris"
    _, X = iris_model(folder)
    version = wws.register_model("iris", folder)
    wws.models.set_alias("iris", "champion", 1)
    form = Deploy("iris@champion", workspace=wws, entry_script=str(SCRIPTS / "score.py"))
    assert form.version.value == "iris:1" and "@champion" in form.version.options[0][0]
    started = time.monotonic()
    form.button.click()
    assert time.monotonic() - started < 1.0  # the click returns at once: the start runs in a thread
    info = form.wait(120)
    assert info is not None, form.status.value + form.result.value
    assert "healthy" in form.status.value and info["scoring_uri"] in form.result.value
    key = wws.endpoints.keys("iris-api")["primary"]
    assert f"writeText(&quot;{key}&quot;)" in form.result.value  # the copy button holds the key
    form.data.value = json.dumps({"data": X[:2].tolist()})
    assert form.invoke()["predictions"] == [0, 0]
    assert "predictions" in form.answer.value
    form.data.value = "{not json"
    assert form.invoke() is None and "not JSON" in form.answer.value
    # a second deploy under the same name says so, and the first endpoint keeps serving
    again = Deploy(version, workspace=wws, entry_script=str(SCRIPTS / "score.py"))
    again.button.click()
    assert again.wait(30) is None and "exists" in again.status.value
    assert wws.endpoints.show("iris-api")["state"] == "healthy"


def test_deploy_says_why_an_endpoint_failed_and_stops_waiting_at_its_timeout(wws, tmp_path):
    folder = tmp_path / "iris"
    iris_model(folder)
    wws.register_model("iris", folder)
    # init() raises: the endpoint failed, and the widget shows its state and why
    bad = Deploy("iris", workspace=wws, entry_script=str(SCRIPTS / "score_bad_init.py"))
    bad.endpoint.value = "bad"
    bad.button.click()
    assert bad.wait(120) is None
    assert "failed" in bad.status.value and "weights are corrupt" in bad.result.value
    assert not bad.button.disabled
    # init() takes longer than the widget's timeout: the core's wait ends, and says so
    (tmp_path / "slow.py").write_text("import time\n\n\ndef init():\n    time.sleep(60)\n\n\n"
                                      "def run(data):\n    return data\n")
    slow = Deploy("iris", workspace=wws, entry_script=str(tmp_path / "slow.py"), timeout=1.0)
    slow.endpoint.value = "slow"
    started = time.monotonic()
    slow.button.click()
    assert slow.wait(60) is None and time.monotonic() - started < 30
    assert "still starting after 1 s" in slow.status.value, slow.status.value
    assert not slow.button.disabled and slow.result.value == ""


def test_register_model_preselects_only_a_plain_model_artifact(wws, tmp_path):
    (tmp_path / "m.pkl").write_bytes(pickle.dumps({"w": 1}))
    (tmp_path / "nb.ipynb").write_text("{}")
    with wws.experiment("w").start_run("nb", snapshot=False, outputs=None) as run:
        run.upload_file("notebook/train.ipynb", tmp_path / "nb.ipynb")
        run.upload_file("outputs/model/model.pkl", tmp_path / "m.pkl")
        run.upload_file("outputs/scores.csv", tmp_path / "nb.ipynb")
    form = RegisterModel(run)
    assert form.artifact.options[0] == "notebook"  # listed first, but not chosen
    assert form.artifact.value == "outputs/model/model.pkl"
    # two candidate models: none is chosen, and Register asks for one, registering nothing
    with wws.experiment("w").start_run("two", snapshot=False, outputs=None) as two:
        two.upload_file("notebook/train.ipynb", tmp_path / "nb.ipynb")
        two.upload_file("a/model.pkl", tmp_path / "m.pkl")
        two.upload_file("b/model.onnx", tmp_path / "m.pkl")
    form = RegisterModel(two)
    assert form.artifact.value is None
    assert form.register() is None and "choose the artifact to register" in form.result.value
    assert wws.models.list() == []
    form.artifact.value = "b"
    assert form.register().ref == "two:1"


def test_a_widget_that_fails_to_build_raises_once_and_leaves_no_noise(tmp_path, monkeypatch):
    import gc
    import sys

    from jupyter_mlws.errors import NotFound

    monkeypatch.delenv("MLWS_WORKSPACE", raising=False)
    monkeypatch.chdir(tmp_path)  # no workspace here or above
    ignored = []
    monkeypatch.setattr(sys, "unraisablehook", ignored.append)
    for widget in (RunDetails, RegisterModel, Deploy):
        with pytest.raises(NotFound, match="no workspace found"):
            widget("0123456789abcdef")
        gc.collect()
    assert [f"{u.exc_type.__name__}: {u.exc_value}" for u in ignored] == []


PNG = b"\x89PNG\r\n\x1a\n" + bytes(24)
SVG = b"<svg xmlns='http://www.w3.org/2000/svg' onload='alert(1)'><rect width='4' height='4'/></svg>"


def test_run_details_shows_numbers_values_and_thumbnails_in_brief(wws):
    with wws.experiment("w").start_run("eval", description="rf, depth 4", tags={"stage": "dev"},
                                       snapshot=False, outputs=None) as run:
        run.log("acc", 0.875)
        run.log_list("per_class", list(range(15)))
        for step in range(3):
            run.log_table("confusion", {"label": ["cat", "dog"], "n": [step, 12]})
        for step in range(6):
            run.log_image("roc", PNG + bytes([step]))
        run.log_image("drawing", SVG)
        run.log_image("huge", PNG + bytes(2 << 20))
    details = RunDetails(run, refresh=0)
    assert "rf, depth 4" in details.header.value and "stage=dev" in details.header.value
    # the only metric is a single value: a number, no chart, no metric picker
    assert '<div style="font-size:20px">0.875</div>' in details.numbers.value
    assert details.metrics.options == () and details.metrics.layout.display == "none"
    assert details.chart.value == ""
    html = details.values.value
    assert "<b>confusion</b>" in html and "table, 3 steps" in html
    assert html.count('class="mlws-WidgetTable"') == 1 and "<td style=\"padding:2px 8px\">2</td>" in html
    assert "[0, 1, 2, 3, 4, 5, 6, 7, 8, 9, … (5 more)]" in html
    # the newest four of six images, from the stored bytes; SVG only as an <img> (no script runs)
    roc = re.findall(r'<img src="data:image/png;base64,([^"]+)" alt="roc at step (\d)"', html)
    assert [int(step) for _, step in roc] == [5, 4, 3, 2]
    assert base64.b64decode(roc[0][0]) == PNG + bytes([5])
    assert f'src="data:image/svg+xml;base64,{base64.b64encode(SVG).decode()}"' in html
    assert "<svg" not in html and "onload" not in html
    assert f"png, {len(PNG) + (2 << 20)} bytes (too large to show here)" in html
    assert details.cells.value == ""  # not a session run


def test_run_details_shows_a_sessions_cells(wws):
    session = wws.runs.create("study", source_type="session", source_name="study.ipynb")
    with wws.attach_run(session.id) as handle:
        handle.log("loss", 0.5)
        handle.log("loss", 0.25)
    start = wws.runs.get(session.id).start_time
    wws.runs.add_cells(session.id, [
        (1, start, {"execution_count": 1, "source": "for i in range(2):\n    log(i)", "start": start,
                    "duration": 60.0, "status": "completed", "metrics": {"loss": 2}}),  # the points in it
        (2, start, {"execution_count": 2, "source": "1 / 0", "start": start + 61_000, "duration": 0.01,
                    "status": "failed", "ename": "ZeroDivisionError", "evalue": "division by zero",
                    "metrics": {}})])
    cells = RunDetails(session.id, workspace=wws, refresh=0).cells.value
    rows = re.findall(r"<tr>(.*?)</tr>", cells)[1:]
    texts = [re.findall(r"<td[^>]*>(.*?)</td>", row) for row in rows]
    assert texts == [["[1]", "completed", "60.00 s", "loss=0.25", "for i in range(2): …", ""],
                     ["[2]", "failed", "0.01 s", "", "1 / 0", "ZeroDivisionError: division by zero"]]
