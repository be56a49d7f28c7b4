"""The notebook widgets over a real workspace (their rendering in a browser: tests/ui/test_widgets.py)."""

from __future__ import annotations

import json
import pickle
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
    # new points and the end arrive without a call
    parent.log("acc", 0.5, step=0)
    parent.end("completed")
    assert details.wait(10) == "completed"
    assert "completed" in details.header.value
    assert "acc" in details.metrics.options
    details.metrics.value = ("acc", "loss")
    assert details.chart.value.count("<polyline") == 2
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
