"""Drift: training-data statistics at registration, compared with an endpoint's sampled inputs."""

from __future__ import annotations

import json
import os
import random
import time
from pathlib import Path

import pytest
from click.testing import CliRunner
from mlws_testing import iris_model

from jupyter_mlws import Workspace
from jupyter_mlws.cli import main as cli
from jupyter_mlws.endpoints.drift import compare, feature_stats
from jupyter_mlws.errors import InvalidInput, NotFound

SCRIPTS = Path(__file__).parent / "endpoint_scripts"


def _rows(n, seed, shift=0.0):
    rnd = random.Random(seed)
    return [[rnd.gauss(5.8, 0.8), rnd.gauss(3.0, 0.4), rnd.gauss(3.8, 1.7) + shift, rnd.choice("abc")]
            for _ in range(n)]


def test_statistics_and_psi_tell_a_shifted_feature_from_steady_ones():
    stats = feature_stats(_rows(2000, 1))
    assert stats["rows"] == 2000
    kinds = [f["kind"] for f in stats["features"]]
    assert kinds == ["numeric", "numeric", "numeric", "categorical"]
    assert len(stats["features"][0]["fractions"]) == 10
    same = compare(stats, _rows(1000, 2))
    assert same["verdict"] == "ok", same
    moved = compare(stats, _rows(1000, 3, shift=3.0))
    verdicts = {f["name"]: f["verdict"] for f in moved["features"]}
    assert verdicts == {"0": "ok", "1": "ok", "2": "drift", "3": "ok"}
    shift = next(f for f in moved["features"] if f["name"] == "2")["mean_shift_std"]
    assert shift == pytest.approx(3.0 / 1.7, abs=0.4)
    assert moved["verdict"] == "drift"
    # rows as dicts are matched by name
    named = feature_stats([{"a": r[0], "b": r[3]} for r in _rows(500, 4)])
    assert compare(named, [{"b": "zzz", "a": 5.8}] * 50)["features"][1]["verdict"] == "drift"


def test_training_data_from_a_csv_a_dataframe_and_bad_inputs(tmp_path):
    import pandas as pd

    csv_path = tmp_path / "train.csv"
    csv_path.write_text("sepal,petal,kind\n" + "\n".join(f"{r[0]},{r[2]},{r[3]}" for r in _rows(300, 5)))
    from_csv = feature_stats(csv_path)
    assert [f["name"] for f in from_csv["features"]] == ["sepal", "petal", "kind"]
    frame = pd.read_csv(csv_path)
    assert feature_stats(frame)["features"][0]["mean"] == pytest.approx(from_csv["features"][0]["mean"])

    ragged = tmp_path / "ragged.csv"
    ragged.write_text("a,b\n1,2\n3\n")
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    for bad, kind, message in [(ragged, InvalidInput, "line 3"), (empty, InvalidInput, "empty"),
                               (tmp_path / "nope.csv", NotFound, "no training data file"),
                               (tmp_path / "x.txt", NotFound, "no training data file"),
                               ([[1, 2], [3]], InvalidInput, "same"), ([], InvalidInput, "no rows"),
                               (42, InvalidInput, "cannot read training data")]:
        with pytest.raises(kind, match=message):
            feature_stats(bad)


@pytest.fixture(scope="module")
def drift_ws(tmp_path_factory):
    root = tmp_path_factory.mktemp("drift")
    old = os.environ.pop("MLWS_WORKSPACE", None)
    ws = Workspace.create(root / "ws")
    folder = root / "model"
    _, X = iris_model(folder)
    try:
        yield ws, folder, X
    finally:
        for item in ws.endpoints.list():
            ws.endpoints.delete(item["name"])
        ws.close()
        if old is not None:
            os.environ["MLWS_WORKSPACE"] = old


def test_an_endpoint_reports_drift_of_its_sampled_inputs(drift_ws, tmp_path):
    ws, folder, X = drift_ws
    # bad training data registers nothing
    with pytest.raises(InvalidInput):
        ws.register_model("iris", folder, training_data=[[1.0, 2.0], [3.0]])
    with pytest.raises(NotFound):
        ws.models.resolve("iris")
    plain = ws.register_model("iris", folder)
    assert plain.training_data is None
    version = ws.register_model("iris", folder, training_data=X)
    assert version.training_data == {"rows": 150, "features": ["0", "1", "2", "3"]}

    ws.endpoints.create("watched", version.ref, SCRIPTS / "score.py", sample_rate=1.0,
                        flush_interval=0.5)
    few = ws.endpoints.drift("watched", 600)["deployments"]["blue"]
    assert few["verdict"] == "unknown" and "only 0 sampled input rows" in few["message"]

    steady = X.tolist()
    random.Random(7).shuffle(steady)
    for i in range(0, 150, 5):
        ws.endpoints.invoke("watched", {"data": steady[i:i + 5]})

    def settled(since_wall, count):  # the window starts at the wall-clock time since_wall
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            report = ws.endpoints.drift("watched", time.time() - since_wall)["deployments"]["blue"]
            if report["samples"] >= count:
                return report
            time.sleep(0.3)
        raise AssertionError(f"the samples never reached the store: {report}")

    ok = settled(time.time() - 600, 150)
    assert ok["verdict"] == "ok" and ok["model"] == version.ref, ok
    time.sleep(1.5)
    started = time.time() - 0.2
    shifted = [[r[0], r[1], r[2] + 3.0, r[3]] for r in steady]  # petal length moved by ~1.7 std
    for i in range(0, 150, 5):
        ws.endpoints.invoke("watched", {"data": shifted[i:i + 5]})
    moved = settled(started, 150)
    assert moved["samples"] == 150, moved  # only the shifted window
    by_name = {f["name"]: f["verdict"] for f in moved["features"]}
    assert by_name["2"] == "drift" and by_name["0"] == "ok" and by_name["1"] == "ok", moved
    assert moved["verdict"] == "drift"

    runner = CliRunner()
    res = runner.invoke(cli, ["-w", str(ws.root), "endpoint", "drift", "watched", "--since", "1h"])
    assert res.exit_code == 0, res.output
    assert "blue (iris:2)" in res.output and "PSI" in res.output
    as_json = json.loads(runner.invoke(cli, ["-w", str(ws.root), "endpoint", "drift", "watched",
                                             "--json"]).output)
    assert as_json["deployments"]["blue"]["samples"] == 300

    # a version without training data says how to attach it; no sampling says how to turn it on
    ws.endpoints.deploy("watched", "green", plain.ref, SCRIPTS / "score.py")
    assert "registered without training data" in ws.endpoints.drift("watched")["deployments"]["green"]["message"]
    ws.endpoints.update("watched", sample_rate=0.0)
    ws.endpoints.set_traffic("watched", {"blue": 0, "green": 100})
    ws.endpoints.deploy("watched", "blue", version.ref, SCRIPTS / "score.py")
    quiet = ws.endpoints.drift("watched", 0.5)["deployments"]["blue"]
    assert "sampling is off" in quiet["message"], quiet

    # the CLI registers with training data from a CSV
    csv_path = tmp_path / "train.csv"
    csv_path.write_text("a,b,c,d\n" + "\n".join(",".join(str(v) for v in row) for row in X.tolist()))
    res = runner.invoke(cli, ["-w", str(ws.root), "model", "register", "iris", "--path", str(folder),
                              "--training-data", str(csv_path)])
    assert res.exit_code == 0 and "training data: 150 rows, 4 features" in res.output, res.output
