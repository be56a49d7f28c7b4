"""Dataset lineage, both ways and automatic: runs reading versions (``ws.dataset``), versions given
as notebook and script parameters (``dataset:REF``), model versions trained on a tabular version
or registered from a run that read one; deletion refused while any of them used it; and datasets
on an S3 datastore (moto) with every upload counted from moto's request recording."""

from __future__ import annotations

import json
import pickle

import nbformat
import pytest
from click.testing import CliRunner

from jupyter_mlws.cli import main as cli
from jupyter_mlws.errors import Conflict, InvalidInput, NotFound


@pytest.fixture
def train(ws, tmp_path):
    """Dataset ``train:1``: one CSV table, registered tabular."""
    path = tmp_path / "train.csv"
    path.write_text("x,label\n" + "".join(f"{i},{i % 2}\n" for i in range(200)))
    return ws.datasets.register("train", path, tabular=True).version


def _artifact(run, path: str, tmp_path) -> bytes:
    return run.download(path, tmp_path / f"dl-{run.id}")[0].read_bytes()


def _cli(ws, *args) -> str:
    result = CliRunner().invoke(cli, ["-w", str(ws.root), *args])
    assert result.exit_code == 0, result.output
    return result.output


def test_runs_and_models_that_used_a_version_both_ways(ws, train, tmp_path):
    model = tmp_path / "model.pkl"
    model.write_bytes(pickle.dumps({"w": [1, 2]}))
    with ws.experiment("fit").start_run(snapshot=False) as run:
        frame = ws.dataset("train:1").to_pandas()  # a read, recorded on the active run
        assert len(frame) == 200
        ws.dataset("train").files()  # the same version read again: one row
        run.upload_file("model/model.pkl", model)
    run.register_model("clf", "model")
    trained = ws.register_model("clf2", model, training_data="dataset:train:1")

    assert ws.lineage.of(run.id)["datasets"] == [
        {"ref": "train:1", "name": "train", "version": 1, "root_hash": train.root_hash, "how": "read"}]
    assert [(d["ref"], d["how"]) for d in ws.models.resolve("clf:1").datasets] == [("train:1", "run read")]
    assert [(d["ref"], d["how"]) for d in trained.datasets] == [("train:1", "training")]
    # trained on the version its run read: listed once, as its training data
    both = ws.register_model("clf3", run=run.id, artifact="model",
                             training_data="dataset:train:1")
    assert [(d["ref"], d["how"]) for d in both.datasets] == [("train:1", "training")]
    assert "datasets:\n  train:1 (trained on it)\n" in _cli(ws, "model", "show", "clf3:1")
    ws.models.delete("clf3")
    # the model compares its inputs with the statistics recorded with the version
    stats = ws.models.training_data("clf2:1")
    assert stats["rows"] == 200 and [f["name"] for f in stats["features"]] == ["x", "label"]
    assert stats["features"] == train.stats["features"]

    used = ws.datasets.show("train:1")["used_by"]
    assert used["runs"] == [{"id": run.id, "name": run.name, "status": "completed", "how": "read"}]
    assert used["models"] == [{"name": "clf", "version": 1, "how": "run"},
                              {"name": "clf2", "version": 1, "how": "training"}]
    out = _cli(ws, "dataset", "show", "train:1")
    assert f"runs (1):\n  {run.id}  {run.name}  completed  (read)\n" in out
    assert "models (2):\n  clf:1  (from a run that used it)\n  clf2:1  (trained on it)\n" in out
    assert "datasets:\n  train:1 (run read)\n" in _cli(ws, "model", "show", "clf:1")
    assert "datasets:\n  train:1 (trained on it)\n" in _cli(ws, "model", "show", "clf2:1")
    assert "  datasets: train:1 (read)\n" in _cli(ws, "run", "show", run.id)

    with pytest.raises(Conflict, match=rf"train:1 was used by run {run.id}; models clf:1, clf2:1: "
                                       "it is kept as their lineage"):
        ws.datasets.delete("train:1")
    bad = CliRunner().invoke(cli, ["-w", str(ws.root), "dataset", "delete", "train",
                                   "--all-versions", "--yes"])
    assert bad.exit_code == 5 and "train:1 was used by run" in bad.output
    assert ws.dataset("train:1").version == 1  # nothing deleted
    ws.models.delete("clf2")
    assert ws.datasets.show("train:1")["used_by"]["model_count"] == 1


def test_a_version_that_is_not_tabular_is_no_training_data(ws, tmp_path):
    (tmp_path / "d").mkdir()
    (tmp_path / "d" / "a.txt").write_text("x")
    ws.datasets.register("text", tmp_path / "d")
    model = tmp_path / "m.pkl"
    model.write_bytes(pickle.dumps(1))
    with pytest.raises(InvalidInput, match="dataset text:1 is not tabular"):
        ws.register_model("m", model, training_data="dataset:text")
    with pytest.raises(NotFound, match="no dataset named 'nope'"):
        ws.register_model("m", model, training_data="dataset:nope:1")
    assert ws.models.list() == []


SCRIPT = """
import json, os, jupyter_mlws
p = jupyter_mlws.parameters()
os.makedirs("outputs", exist_ok=True)
with open(p["data"]) as f:
    rows = f.read().splitlines()
json.dump({"path_is_absolute": os.path.isabs(p["data"]), "rows": len(rows),
           "writable": os.access(p["data"], os.W_OK)}, open("outputs/seen.json", "w"))
"""


def test_a_dataset_parameter_reaches_a_script_as_a_local_path(ws, train, tmp_path):
    project = tmp_path / "proj"
    project.mkdir()
    (project / "count.py").write_text(SCRIPT)
    run = ws.submit_notebook(project / "count.py", {"data": "dataset:train"}, wait=True)
    assert run.status == "completed", run.record.error
    seen = json.loads(_artifact(run, "outputs/seen.json", tmp_path))
    assert seen["path_is_absolute"] and seen["rows"] == 201
    assert run.params["data"] == "dataset:train:1"  # pinned: a re-run reads the same version
    assert [(d["ref"], d["how"]) for d in ws.datasets.of_run(run.id)] == [("train:1", "input")]
    assert ws.datasets.show("train:1")["used_by"]["runs"][0]["how"] == "input"

    with pytest.raises(NotFound, match="dataset 'train' has no version 9"):
        ws.submit_notebook(project / "count.py", {"data": "dataset:train:9"})
    with pytest.raises(InvalidInput, match=r"dataset name '\.\./x' is not valid"):
        ws.submit_notebook(project / "count.py", {"data": "dataset:../x"})
    assert len(ws.search_runs()) == 1  # the refused submissions recorded nothing


def test_a_dataset_parameter_reaches_a_notebook_as_a_local_path(ws, train, tmp_path):
    project = tmp_path / "nbproj"
    project.mkdir()
    nb = nbformat.v4.new_notebook(metadata={"kernelspec": {"name": "python3", "display_name": "P"}})
    params = nbformat.v4.new_code_cell("data = 'unset'")
    params.metadata["tags"] = ["parameters"]
    nb.cells = [params, nbformat.v4.new_code_cell(
        "import os, pandas as pd\nassert os.path.isfile(data), data\nrows = len(pd.read_csv(data))\n"
        "os.makedirs('outputs', exist_ok=True)\nopen('outputs/rows.txt', 'w').write(str(rows))")]
    nbformat.write(nb, project / "read.ipynb")
    out = _cli(ws, "run", "submit", str(project / "read.ipynb"), "-p", "data", "dataset:train:1",
               "--wait")
    run = ws.search_runs()[0]
    assert run.status == "completed", (out, run.record.error)
    assert _artifact(run, "outputs/rows.txt", tmp_path) == b"200"
    assert [(d["ref"], d["how"]) for d in ws.lineage.of(run.id)["datasets"]] == [("train:1", "input")]


def recorded(moto_s3):
    """The requests moto receives inside the block: ``[(method, path)]``."""
    return moto_s3.recorded()


def _object_writes(seen) -> list[str]:
    return [path for method, path in seen if method in ("PUT", "POST") and "/.mlws/objects/" in path]


def test_an_s3_datastore_gets_each_content_once(ws, moto_s3, tmp_path):
    bucket = moto_s3.bucket()
    ws.secrets.set(ws.access.creator(), "lake-s3", moto_s3.credentials)
    ws.datastores.register("lake", moto_s3.url(bucket, "data"), credentials_secret="lake-s3")
    src = tmp_path / "s3data"
    for i in range(200):
        (src / f"p{i // 50}").mkdir(parents=True, exist_ok=True)
        (src / f"p{i // 50}" / f"f{i:03d}.txt").write_text(f"row {i}\n" * 20)
    (src / "p0" / "copy.txt").write_text("row 1\n" * 20)  # the content of p0/f001.txt again

    with recorded(moto_s3) as seen:
        first = ws.datasets.register("s3set", src, datastore="lake")
    assert first.version.file_count == 201 and first.uploaded_files == 200
    assert len(_object_writes(seen)) == 200  # one upload per content
    assert len(moto_s3.fs().find(f"{bucket}/data/.mlws/objects")) == 200

    with recorded(moto_s3) as seen:
        again = ws.datasets.register("s3set", src, datastore="lake")
    assert not again.created and seen == []  # unchanged: not one request to the store

    (src / "p1" / "f060.txt").write_text("changed\n")
    with recorded(moto_s3) as seen:
        one = ws.datasets.register("s3set", src, datastore="lake")
    assert one.version.ref == "s3set:2" and len(_object_writes(seen)) == 1

    (src / "p2").rename(src / "moved")
    with recorded(moto_s3) as seen:
        moved = ws.datasets.register("s3set", src, datastore="lake")
    assert moved.version.ref == "s3set:3" and moved.uploaded_bytes == 0
    assert _object_writes(seen) == [] and seen == []  # every object known from earlier versions

    back = ws.dataset("s3set:3").download(tmp_path / "back")
    assert (back / "moved" / "f100.txt").read_text() == "row 100\n" * 20
    assert (back / "p1" / "f060.txt").read_text() == "changed\n"
    with pytest.raises(Conflict, match="s3set:1, s3set:2, s3set:3"):
        ws.datastores.delete("lake")


PREP = """
import os, jupyter_mlws
p = jupyter_mlws.parameters()
rows = open(p["raw"]).read().splitlines()
os.makedirs("outputs", exist_ok=True)
with open("outputs/table.csv", "w") as f:
    f.write("n,text\\n" + "".join(f"{i},{r}\\n" for i, r in enumerate(rows)))
"""


def test_a_pipeline_step_passes_its_output_on_as_a_dataset_version(ws, tmp_path):
    raw = tmp_path / "raw.txt"
    raw.write_text("a\nb\n")
    ws.datasets.register("raw", raw)
    project = tmp_path / "pipe"
    project.mkdir()
    (project / "prep.py").write_text(PREP)
    (project / "pipeline.yaml").write_text(
        "name: pipe\nsteps:\n  - name: prep\n    script: prep.py\n"
        "    parameters: {raw: 'dataset:raw'}\n"
        "    outputs: [{file: table.csv, dataset: clean}]\n")
    first = ws.get_run(ws.pipelines.run(project / "pipeline.yaml", wait=True))
    assert first.status == "completed", first.record.error
    clean = ws.dataset("clean:1")
    step_run = ws.search_runs("tags.pipeline_step = 'prep'")[0]
    assert clean.run_id == step_run.id and clean.stats["rows"] == 2 and clean.source == "prep/table.csv"
    assert [(d["ref"], d["how"]) for d in ws.datasets.of_run(step_run.id)] == [
        ("raw:1", "input"), ("clean:1", "output")]

    again = ws.get_run(ws.pipelines.run(project / "pipeline.yaml", wait=True))  # reused
    assert again.status == "completed"
    assert [v.version for v in ws.datasets.versions("clean")] == [1]

    raw.write_text("a\nb\nc\n")
    ws.datasets.register("raw", raw)  # raw:2 changes the step's key: it runs again
    third = ws.get_run(ws.pipelines.run(project / "pipeline.yaml", wait=True))
    assert third.status == "completed", third.record.error
    assert ws.dataset("clean").ref == "clean:2" and ws.dataset("clean").stats["rows"] == 3


def test_a_dataset_output_is_checked_with_the_definition(ws, tmp_path):
    from jupyter_mlws.pipelines.definition import parse

    base = {"name": "p", "steps": [{"name": "s", "script": "s.py", "outputs": None}]}
    for outputs, message in (([{"file": "t.csv", "dataset": "../x"}], "dataset name '../x' is not valid"),
                             ([{"file": "../t.csv", "dataset": "x"}], "not a path inside the project"),
                             ([{"file": "t.csv"}], r"an output is a file name, or \{file: F, dataset")):
        base["steps"][0]["outputs"] = outputs
        with pytest.raises(InvalidInput, match=message):
            parse(base)
    base["steps"][0]["outputs"] = ["a.txt", {"file": "t.csv", "dataset": "scores"}]
    step = parse(base).steps[0]
    assert step.outputs == ["a.txt", "t.csv"] and step.datasets == {"t.csv": "scores"}
    assert step.to_dict()["outputs"] == ["a.txt", {"file": "t.csv", "dataset": "scores"}]
