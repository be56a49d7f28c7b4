"""The model registry: versions, lineage, aliases, flavours without unpickling, deletion."""

import json
import pickle
import sys
from collections import OrderedDict

import pytest
from click.testing import CliRunner

from jupyter_mlws.cli import main as cli
from jupyter_mlws.errors import InvalidInput, NotFound
from jupyter_mlws.models import detect_flavor


@pytest.fixture
def model_file(tmp_path):
    path = tmp_path / "model.pkl"
    path.write_bytes(pickle.dumps(OrderedDict(weights=[1, 2, 3])))
    return path


def test_each_registration_gets_the_next_version_with_files_hash_and_lineage(ws, model_file, tmp_path):
    with ws.experiment("iris").start_run(snapshot=False) as run:
        run.log_params({"C": 1.0})
        run.log("acc", 0.93)
        run.upload_file("model/model.pkl", model_file)
        run.upload_file("model/meta/info.json", model_file)
    v1 = run.register_model("iris", "model", description="first")
    v2 = ws.register_model("iris", model_file, run=run.id, tags={"stage": "dev"})
    assert (v1.ref, v2.ref) == ("iris:1", "iris:2")
    assert [f["path"] for f in v1.files] == ["meta/info.json", "model.pkl"]
    assert [f["path"] for f in v2.files] == ["model.pkl"]
    assert v1.lineage == {"run_id": run.id, "run_name": run.name, "experiment": "iris", "params": {"C": "1.0"},
                          "metrics": {"acc": 0.93}}
    assert v2.tags == {"stage": "dev"} and v1.description == "first"
    assert v1.size == 2 * model_file.stat().st_size and len(v1.sha256) == 64
    assert ws.models.resolve("iris").ref == "iris:2"  # a bare name is the latest version
    assert ws.models.download("iris:1", tmp_path / "dl")[1].read_bytes() == model_file.read_bytes()


def test_aliases_move_and_resolve_everywhere(ws, model_file):
    for _ in range(3):
        ws.register_model("iris", model_file)
    ws.models.set_alias("iris", "champion", 2)
    assert ws.models.resolve("iris@champion").ref == "iris:2"
    ws.models.set_alias("iris", "champion", 3)  # moved, not duplicated
    assert ws.models.resolve("iris@champion").ref == "iris:3"
    assert ws.models.resolve("iris:2").aliases == []
    assert ws.models.list()[0]["aliases"] == {"champion": 3}
    with pytest.raises(InvalidInput, match="would read like a version"):
        ws.models.set_alias("iris", "7", 1)
    ws.models.delete_alias("iris", "champion")
    with pytest.raises(NotFound, match="no alias 'champion'.*mlws model alias"):
        ws.models.resolve("iris@champion")


@pytest.mark.parametrize("ref, error, message", [
    ("nope", NotFound, "no model named 'nope'"),
    ("iris:9", NotFound, "has no version 9"),
    ("iris:x", InvalidInput, "must be a number"),
    ("bad name", InvalidInput, "is not valid"),
    ("a:1:2", InvalidInput, "does not name a model"),
])
def test_bad_references_are_clear_errors(ws, model_file, ref, error, message):
    ws.register_model("iris", model_file)
    with pytest.raises(error, match=message):
        ws.models.resolve(ref)


def test_an_empty_model_name_is_refused_with_what_to_give(ws, model_file):
    for empty in ("", " "):
        with pytest.raises(InvalidInput, match="^give the model name: letters, digits"):
            ws.register_model(empty, model_file)
    assert ws.models.list() == []


def test_registering_nothing_or_a_missing_artifact_is_refused(ws, model_file, tmp_path):
    with pytest.raises(NotFound, match="no model file or folder"):
        ws.register_model("iris", tmp_path / "missing.pkl")
    with pytest.raises(InvalidInput, match="--path FILE_OR_FOLDER"):
        ws.register_model("iris")
    with ws.experiment("e").start_run(snapshot=False) as run:
        pass
    with pytest.raises(NotFound, match="has no artifact 'model.pkl'"):
        ws.register_model("iris", run=run.id, artifact="model.pkl")
    assert ws.models.list() == []


def test_flavours_are_read_from_pickle_opcodes_without_loading(tmp_path, monkeypatch):
    # a pickle naming sklearn classes, which are not even importable here
    class Fake:
        pass

    Fake.__module__, Fake.__qualname__ = "sklearn.linear_model._logistic", "LogisticRegression"
    for name in ("sklearn", "sklearn.linear_model", "sklearn.linear_model._logistic"):
        monkeypatch.setitem(sys.modules, name, type(sys)(name))
    sys.modules["sklearn.linear_model._logistic"].LogisticRegression = Fake
    path = tmp_path / "m.pkl"
    path.write_bytes(pickle.dumps(Fake()))  # protocol 4+: STACK_GLOBAL
    old = tmp_path / "old.pkl"
    old.write_bytes(pickle.dumps(Fake(), protocol=0))  # GLOBAL
    for name in ("sklearn", "sklearn.linear_model", "sklearn.linear_model._logistic"):
        monkeypatch.delitem(sys.modules, name)
    assert detect_flavor([("m.pkl", path)]) == "sklearn"
    assert detect_flavor([("old.pkl", old)]) == "sklearn"
    # a string that names another library (an option's value) is no class; a module named a
    # second time comes from the pickle's memo (flaml.AutoML's own classes, then its model's)
    A = type("A", (), {"__module__": "mylib.m"})
    B = type("B", (), {"__module__": "mylib.m"})
    Fake.__module__ = "xgboost.sklearn"
    for name in ("mylib", "mylib.m", "xgboost", "xgboost.sklearn"):
        monkeypatch.setitem(sys.modules, name, type(sys)(name))
    sys.modules["mylib.m"].A, sys.modules["mylib.m"].B = A, B
    sys.modules["xgboost.sklearn"].LogisticRegression = Fake
    mixed = tmp_path / "mixed.pkl"
    mixed.write_bytes(pickle.dumps([A(), "catboost", B(), Fake()]))
    for name in ("mylib", "mylib.m", "xgboost", "xgboost.sklearn"):
        monkeypatch.delitem(sys.modules, name)
    assert detect_flavor([("mixed.pkl", mixed)]) == "xgboost"
    onnx = tmp_path / "m.onnx"
    onnx.write_bytes(b"x")
    assert detect_flavor([("m.onnx", onnx)]) == "onnx"
    monkeypatch.chdir(tmp_path)
    evil = tmp_path / "evil.pkl"
    evil.write_bytes(b"cos\nsystem\n(S'touch PWNED'\ntR.")
    assert detect_flavor([("evil.pkl", evil)]) == "pickle"  # read, never executed
    assert not (tmp_path / "PWNED").exists()


def test_delete_a_version_or_a_whole_model(ws, model_file):
    for _ in range(2):
        ws.register_model("iris", model_file)
    ws.models.set_alias("iris", "champion", 2)
    assert ws.models.delete("iris@champion") == ["iris:2"]
    assert ws.models.resolve("iris").ref == "iris:1"
    assert ws.models.delete("iris") == ["iris:1"]
    assert ws.models.list() == []
    assert ws.register_model("iris", model_file).ref == "iris:1"  # a new model starts again


def test_the_cli_registers_lists_shows_aliases_and_deletes(ws, model_file):
    runner = CliRunner()
    w = ["-w", str(ws.root)]

    def ok(*args):
        result = runner.invoke(cli, [*w, *args])
        assert result.exit_code == 0, result.output
        return result.output

    assert "registered iris:1 (pickle" in ok("model", "register", "iris", "--path", str(model_file))
    ok("model", "register", "iris", "--path", str(model_file), "--tag", "k=v")
    assert "iris@champion -> iris:1" in ok("model", "alias", "iris@champion", "1")
    listed = json.loads(ok("model", "list", "--json"))
    assert listed[0]["latest"] == 2 and listed[0]["aliases"] == {"champion": 1}
    shown = json.loads(ok("model", "show", "iris@champion", "--json"))
    assert shown["ref"] == "iris:1"
    assert len(json.loads(ok("model", "show", "iris", "--json"))) == 2
    assert "deleted iris:2" in ok("model", "delete", "iris:2")
    missing = runner.invoke(cli, [*w, "model", "show", "iris:2"])
    assert missing.exit_code == 3 and "has no version 2" in missing.output
