"""Runs as the SDK user meets them: logging, status, failure handling, files and search."""

import json
import math
import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest

import jupyter_mlws as mlws
from jupyter_mlws.errors import Conflict, InvalidInput, NotFound


@pytest.fixture
def ws(any_ws):
    """Every test here runs on SQLite and on PostgreSQL."""
    return any_ws


def test_the_readme_example_records_everything(ws, tmp_path):
    (tmp_path / "roc.png").write_bytes(b"\x89PNG\r\n\x1a\nfake")
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "model.pkl").write_bytes(b"model-bytes")
    with ws.experiment("iris").start_run(tags={"team": "a"}, snapshot=False) as run:
        run.log_params({"model": "rf", "n": 100})
        for step in range(1000):
            run.log("loss", 1 / (step + 1), step=step)
        run.log_list("acc_per_class", [0.9, 0.8, 0.95])
        run.log_table("confusion", {"pred": [0, 1, 1], "true": [0, 1, 0]})
        run.log_image("roc", "roc.png")
        run.upload_file("model.pkl", "out/model.pkl")
    got = ws.get_run(run.id)
    assert got.status == "completed" and got.record.end_time >= got.record.start_time
    assert got.params == {"model": "rf", "n": "100"}
    assert got.tags == {"team": "a"}
    assert got.metrics == {"loss": 1 / 1000}
    history = got.metric_history("loss")
    assert [s for s, _, _ in history] == list(range(1000))
    assert history[3][2] == 1 / 4
    kinds = {v["key"]: v["kind"] for v in got.values()}
    assert kinds == {"acc_per_class": "list", "confusion": "table", "roc": "image"}
    image = next(v for v in got.values() if v["key"] == "roc")
    assert ws.blobs.read_bytes(image["blob"]).endswith(b"fake")
    assert [f["path"] for f in got.files("artifact")] == ["model.pkl"]
    assert got.download(dest=tmp_path / "dl")[0].read_bytes() == b"model-bytes"


PNG = b"\x89PNG\r\n\x1a\n"


def test_a_child_run_records_its_parents_user_unless_given_one(ws):
    """Who started a run is who started its children (a pipeline's steps, a search's trials,
    a sweep's runs), not the OS user of the process recording them."""
    parent = ws.runs.create("e", user="alice")
    assert ws.runs.create("e", parent_id=parent.id).user == "alice"
    assert ws.runs.create("e", parent_id=parent.id, user="bob").user == "bob"
    from jupyter_mlws.access import os_user

    assert ws.runs.create("e").user == os_user()


def test_matplotlib_like_figures_are_saved_as_png(ws):
    class Figure:
        def savefig(self, buf, format):
            buf.write(PNG + format.encode())

    with ws.experiment("e").start_run(snapshot=False) as run:
        run.log_image("fig", Figure())
    assert ws.blobs.read_bytes(run.values("fig")[0]["blob"]) == PNG + b"png"


def test_log_image_refuses_what_is_not_an_image_and_records_nothing(ws, tmp_path):
    images = {"a.png": PNG + b"data", "b.jpg": b"\xff\xd8\xff\xe0data", "c.gif": b"GIF89adata",
              "d.webp": b"RIFF\x04\x00\x00\x00WEBPVP8 ", "e.svg": b'\xef\xbb\xbf<?xml version="1.0"?>\n'
              b'<!-- drawn by hand -->\n<svg xmlns="http://www.w3.org/2000/svg"></svg>'}
    bad = {"empty.png": (b"", "is an empty file"), "text.png": (b"not a picture", "is not an image"),
           "page.svg": (b"<html><body>hi</body></html>", "is not an image")}
    for name, data in {**images, **{n: d for n, (d, _) in bad.items()}}.items():
        (tmp_path / name).write_bytes(data)
    with ws.experiment("e").start_run(snapshot=False) as run:
        for name in images:
            run.log_image(name.split(".")[0], tmp_path / name)
        for name, (data, message) in bad.items():
            with pytest.raises(InvalidInput, match=f"image 'bad' {message}: log a PNG, JPEG, GIF, WebP"):
                run.log_image("bad", tmp_path / name)
            with pytest.raises(InvalidInput, match=message):
                run.log_image("bad", data)
    values = run.values()
    assert [json.loads(v["data"])["format"] for v in values] == ["png", "jpeg", "gif", "webp", "svg"]
    assert all(v["key"] != "bad" for v in values)


def test_special_floats_round_trip_exactly(ws):
    any_ws = ws
    values = [math.nan, math.inf, -math.inf, -0.0, 1e308, 5e-324, 0.0, -1.5]
    with any_ws.experiment("e").start_run(snapshot=False) as run:
        for v in values:
            run.log("x", v)
        run.log_batch("y", values)
    for key in ("x", "y"):
        got = [v for _, _, v in run.metric_history(key)]
        assert [_bits(v) for v in got] == [_bits(v) for v in values]
    assert _bits(any_ws.get_run(run.id).metrics["x"]) == _bits(-1.5)


def _bits(v):
    return "nan" if math.isnan(v) else (v, math.copysign(1, v))


def test_each_metric_s_latest_is_its_highest_step_the_last_logged_among_equals(ws):
    with ws.experiment("e").start_run(snapshot=False) as run:  # keys interleaved in one batch
        for step in range(3):
            run.log("a", float(step + 1), step=step)
            run.log("b", 10.0 * (step + 1), step=step)
        run.log("a", 9.0, step=0)  # late, at a lower step: not the latest
        run.log("b", 31.0, step=2)  # the highest step again, logged later: the latest
        run.log("c", math.nan, step=5)
        run.log("c", 4.0, step=1)
    with ws.experiment("e").start_run(snapshot=False) as one:  # one key, steps out of order
        for step, value in [(3, 1.0), (5, 2.0), (4, 3.0)]:
            one.log("d", value, step=step)
    got = ws.get_run(run.id).metrics
    assert (got["a"], got["b"]) == (3.0, 31.0) and math.isnan(got["c"])
    assert ws.get_run(one.id).metrics == {"d": 2.0}
    assert [(s, v) for s, _, v in run.metric_history("a")] == [(0, 1.0), (0, 9.0), (1, 2.0), (2, 3.0)]
    assert [(s, v) for s, _, v in run.metric_history("b")] == [(0, 10.0), (1, 20.0), (2, 30.0),
                                                               (2, 31.0)]
    assert [(s, v) for s, _, v in one.metric_history("d")] == [(3, 1.0), (4, 3.0), (5, 2.0)]


@pytest.mark.parametrize("kwargs, message", [
    ({"step": 2**63}, "64-bit range"),
    ({"step": 1.5}, "step must be an integer"),
    ({"timestamp": -1}, "outside"),
    ({"timestamp": 2.6e14}, "year 9999"),
])
def test_steps_and_timestamps_beyond_the_limits_are_rejected(ws, kwargs, message):
    with ws.experiment("e").start_run(snapshot=False) as run:
        with pytest.raises(InvalidInput, match=message):
            run.log("x", 1.0, **kwargs)
        run.log("x", 1.0, step=2**63 - 1, timestamp=253402300799999)
    assert run.metric_history("x") == [(2**63 - 1, 253402300799999, 1.0)]


def test_bad_metric_values_and_names_are_clear_errors(ws):
    with ws.experiment("e").start_run(snapshot=False) as run:
        with pytest.raises(InvalidInput, match="needs a number"):
            run.log("x", "high")
        with pytest.raises(InvalidInput, match="non-empty string"):
            run.log("", 1)
        with pytest.raises(InvalidInput, match="longer than 250"):
            run.log("k" * 300, 1)


def test_params_keep_their_first_value(ws):
    with ws.experiment("e").start_run(snapshot=False) as run:
        run.log_params({"lr": 0.1})
        run.log_params({"lr": 0.1})
        with pytest.raises(Conflict, match="already '0.1'"):
            run.log_param("lr", 0.2)
    assert ws.get_run(run.id).params == {"lr": "0.1"}


def test_params_of_every_type_are_recorded_in_one_encoding(ws):
    import numpy as np

    values = {"none": None, "flag": True, "C": 1.0, "n": 3, "layers": (64, 32),
              "cfg": {"a": 1, "b": None, "c": "é"}, "model": "rf", "word": "None",
              "np_float": np.float64(0.5), "np_bool": np.bool_(False), "arr": np.arange(2),
              "nan": float("nan"), "lr": "1e-3"}
    expected = {"none": "null", "flag": "true", "C": "1.0", "n": "3", "layers": "[64, 32]",
                "cfg": '{"a": 1, "b": null, "c": "é"}', "model": "rf", "word": "None",
                "np_float": "0.5", "np_bool": "false", "arr": "[0, 1]", "nan": "NaN", "lr": "1e-3"}
    with ws.experiment("e").start_run(snapshot=False) as run:
        run.log_params(values)
        assert run.params == expected
        run.log_params({"none": None, "cfg": {"a": 1, "b": None, "c": "é"}})  # the same value again
        with pytest.raises(Conflict, match="already 'null'"):
            run.log_param("none", "other")
    assert ws.get_run(run.id).params == expected
    query = ("params.none = 'null' and params.flag = true and params.C > 0.5 and params.C = 1 "
             "and params.cfg = '{\"a\": 1, \"b\": null, \"c\": \"é\"}' and params.lr < 0.01 "
             "and params.np_float = 0.5 and params.np_bool = false")
    assert [r.id for r in ws.search_runs(query)] == [run.id]


def test_a_param_holding_a_lone_surrogate_is_refused(ws):
    with ws.experiment("e").start_run(snapshot=False) as run:
        with pytest.raises(InvalidInput, match="param 'cfg' holds .* lone surrogate"):
            run.log_params({"cfg": {"a": "\ud800"}})
        assert run.params == {}


def test_an_exception_fails_the_run_and_keeps_what_was_logged(ws):
    with pytest.raises(ZeroDivisionError):
        with ws.experiment("e").start_run(snapshot=False) as run:
            run.log("before", 1.0)
            1 / 0
    got = ws.get_run(run.id)
    assert got.status == "failed"
    assert "ZeroDivisionError" in got.record.error
    assert got.metrics == {"before": 1.0}


def test_keyboard_interrupt_cancels(ws):
    with pytest.raises(KeyboardInterrupt):
        with ws.experiment("e").start_run(snapshot=False) as run:
            raise KeyboardInterrupt
    assert ws.get_run(run.id).status == "canceled"


def test_logging_to_an_ended_run_is_a_conflict(ws):
    with ws.experiment("e").start_run(snapshot=False) as run:
        pass
    with pytest.raises(Conflict, match="completed, not running"):
        run.log("x", 1)
    with pytest.raises(Conflict, match="already ended"):
        ws.runs.end(run.id, "failed")
    run.set_tag("reviewed", "yes")  # tags stay editable
    assert ws.get_run(run.id).tags == {"reviewed": "yes"}


def test_child_runs_and_description(ws):
    with ws.experiment("sweep").start_run(snapshot=False, description="grid") as parent:
        for lr in (0.1, 0.01):
            with parent.child(name=f"lr={lr}", tags={"lr": lr}) as child:
                child.log("acc", lr * 5)
    kids = ws.get_run(parent.id).children()
    assert [k.name for k in kids] == ["lr=0.1", "lr=0.01"]
    assert all(k.record.parent_id == parent.id for k in kids)
    assert ws.get_run(parent.id).record.description == "grid"
    assert {r.id for r in ws.search_runs(f"parent_id = '{parent.id}'")} == {k.id for k in kids}


def test_a_run_that_ended_elsewhere_is_recorded_whole_or_not_at_all(ws):
    # what an automated-ML search records for each finished trial: one transaction
    with ws.experiment("search").start_run(snapshot=False) as parent:
        runs = ws.runs
        child_id = runs.record_ended("search", parent_id=parent.id, name="trial-1", tags={"t": "1"},
                                     source_type="automl-trial", source_name="lgbm trial 1",
                                     params={"n_estimators": 4}, points=[("acc", 0.9, 0, 1000)],
                                     started_ms=500, ended_ms=1500)
        child = ws.get_run(child_id).record
        assert (child.status, child.parent_id, child.start_time, child.end_time) == \
            ("completed", parent.id, 500, 1500)
        assert child.params == {"n_estimators": "4"} and child.metrics == {"acc": 0.9}
        with pytest.raises(InvalidInput):
            runs.record_ended("search", parent_id=parent.id, name="trial-2", tags={},
                              source_type="automl-trial", source_name="x",
                              params={"": 1}, points=[("acc", 0.8, 0, 1000)])
        with pytest.raises(NotFound):
            runs.record_ended("search", parent_id="ffffffffffff", name="trial-2", tags={},
                              source_type="automl-trial", source_name="x", params={}, points=[])
        assert [k.id for k in ws.get_run(parent.id).children()] == [child_id]


def test_unknown_and_prefix_run_ids(ws):
    with ws.experiment("e").start_run(snapshot=False) as run:
        pass
    assert ws.get_run(run.id[:6]).id == run.id
    with pytest.raises(NotFound, match="mlws run list"):
        ws.get_run("ffffffffffff")
    # a unique prefix too short to name a run says how long one must be
    with pytest.raises(NotFound, match=f"no run '{run.id[:2]}': a prefix of a run id needs at least 4"):
        ws.get_run(run.id[:2])


def test_a_record_counts_the_points_of_each_metric(ws):
    with ws.experiment("e").start_run(snapshot=False) as run:
        run.log("acc", 0.9)
        run.log_batch("loss", [0.5, 0.4, 0.3])
        run.log("loss", 0.2, step=10)
    record = ws.get_run(run.id).record
    assert record.metric_counts == {"acc": 1, "loss": 4}
    assert record.to_dict()["metric_counts"] == {"acc": 1, "loss": 4}
    assert ws.search_runs(f"id = '{run.id}'")[0].record.metric_counts == {"acc": 1, "loss": 4}


def test_search_filters_orders_and_pages(ws):
    for i in range(25):
        with ws.experiment("a" if i % 2 else "b").start_run(snapshot=False, tags={"team": "x"}) as run:
            run.log_params({"model": "rf" if i % 3 else "svm", "n": i})
            run.log("acc", i / 25)
    page = ws.search_runs("metrics.acc > 0.5 and params.model = 'rf'", order_by=["metrics.acc DESC"])
    accs = [r.metrics["acc"] for r in page]
    assert accs == sorted(accs, reverse=True) and min(accs) > 0.5
    assert all(r.params["model"] == "rf" for r in page)
    assert len(ws.search_runs("params.n >= 20", experiments=["a"])) == 2
    seen, token = [], None
    while True:
        page = ws.search_runs(order_by=["params.n"], max_results=7, page_token=token)
        seen += [int(r.params["n"]) for r in page]
        token = page.next_page_token
        if token is None:
            break
    assert seen == list(range(25))
    with pytest.raises(InvalidInput, match="different search"):
        ws.search_runs("params.n > 1", max_results=7,
                       page_token=ws.search_runs(max_results=7).next_page_token)
    with pytest.raises(InvalidInput, match=r"\^"):
        ws.search_runs("metrics.acc >> 0.9")
    with pytest.raises(NotFound, match="no experiment named 'zzz'"):
        ws.search_runs(experiments=["zzz"])


def test_compare_puts_runs_side_by_side(ws):
    ids = []
    for lr in (0.1, 0.2):
        with ws.experiment("e").start_run(snapshot=False) as run:
            run.log_params({"lr": lr})
            run.log("acc", lr * 2)
        ids.append(run.id)
    table = ws.compare_runs(ids)
    assert table["params"] == {"lr": ["0.1", "0.2"]}
    assert table["metrics"] == {"acc": [0.2, 0.4]}


def test_snapshot_outputs_and_git_state(ws, tmp_path):
    project = tmp_path / "project"
    (project / "outputs").mkdir(parents=True)
    (project / "train.py").write_text("print('hi')\n")
    (project / ".gitignore").write_text("data/\n")
    (project / "data").mkdir()
    (project / "data" / "big.csv").write_text("1,2\n")
    subprocess.run(["git", "init", "-q", str(project)], check=True)
    subprocess.run(["git", "-C", str(project), "-c", "user.email=a@b", "-c", "user.name=a",
                    "commit", "-q", "--allow-empty", "-m", "init"], check=True)
    os.chdir(project)
    with ws.experiment("e").start_run(snapshot=project) as run:
        (project / "outputs" / "result.txt").write_text("42")
    got = ws.get_run(run.id)
    assert [f["path"] for f in got.files("snapshot")] == [".gitignore", "train.py"]
    assert [f["path"] for f in got.files("artifact")] == ["outputs/result.txt"]
    # train.py and .gitignore ran but are not in the (empty) commit: the state is not clean
    assert len(got.record.git_commit) == 40 and got.record.git_dirty is True


def test_outputs_left_by_an_earlier_run_are_not_uploaded_again(ws, tmp_path):
    os.chdir(tmp_path)
    (tmp_path / "outputs").mkdir()
    with ws.experiment("e").start_run(snapshot=False) as first:
        (tmp_path / "outputs" / "a.txt").write_text("first")
    time.sleep(0.1)
    with ws.experiment("e").start_run(snapshot=False) as second:
        (tmp_path / "outputs" / "b.txt").write_text("second")
    assert [f["path"] for f in first.files("artifact")] == ["outputs/a.txt"]
    assert [f["path"] for f in second.files("artifact")] == ["outputs/b.txt"]


def test_snapshots_are_stored_once_across_runs(ws, tmp_path):
    project = tmp_path / "p"
    project.mkdir()
    for i in range(20):
        (project / f"f{i}.py").write_text(f"x = {i}\n" * 100)
    for _ in range(30):
        with ws.experiment("e").start_run(snapshot=project):
            pass
    blobs = [p for p in (ws.root / "artifacts" / "blobs").rglob("*") if p.is_file()]
    assert len(blobs) == 20


def test_a_too_large_snapshot_says_how_to_fix_it(ws, tmp_path):
    ws.config.snapshot_max_mb = 1
    project = tmp_path / "p"
    project.mkdir()
    (project / "weights.bin").write_bytes(b"\0" * (2 << 20))
    with pytest.raises(InvalidInput, match=r"\.mlwsignore.*snapshot=False"):
        ws.experiment("e").start_run(snapshot=project)
    assert ws.describe()["runs"] == 0


@pytest.mark.parametrize("name", ["../../etc/passwd", "/abs", "a\\..\\b", "%2e%2e/x", "a\0b"])
def test_artifact_names_that_escape_are_rejected(ws, tmp_path, name):
    (tmp_path / "f").write_text("x")
    with ws.experiment("e").start_run(snapshot=False) as run:
        with pytest.raises(InvalidInput):
            run.upload_file(name, tmp_path / "f")
    assert run.files() == []


def test_module_level_log_goes_to_the_innermost_run(ws):
    with pytest.raises(Conflict, match="no active run"):
        mlws.log("x", 1)
    with ws.experiment("e").start_run(snapshot=False) as run:
        mlws.log("x", 1)
        assert mlws.current_run() is run
    assert ws.get_run(run.id).metrics == {"x": 1.0}


# -- runs in their own processes -------------------------------------------------------


def _script(ws, body, tmp_path):
    code = textwrap.dedent(f"""
        import os, signal, sys, time
        import jupyter_mlws as mlws
        ws = mlws.Workspace.open({str(ws.root)!r})
    """) + textwrap.dedent(body)
    path = tmp_path / "script.py"
    path.write_text(code)
    return [sys.executable, str(path)]


def _last_run(ws):
    return ws.search_runs(max_results=1)[0]


def test_sys_exit_fails_the_run_but_zero_completes(ws, tmp_path):
    for code, status in ((3, "failed"), (0, "completed")):
        argv = _script(ws, f"""
            with ws.experiment("e").start_run(snapshot=False) as run:
                run.log("x", 1)
                sys.exit({code})
        """, tmp_path)
        assert subprocess.run(argv).returncode == code
        got = _last_run(ws)
        assert got.status == status and got.metrics == {"x": 1.0}
    assert "exited with status 3" in ws.search_runs("status = 'failed'")[0].record.error


def test_sigterm_fails_the_run_and_keeps_its_metrics(ws, tmp_path):
    argv = _script(ws, """
        with ws.experiment("e").start_run(snapshot=False) as run:
            for i in range(100):
                run.log("x", i)
            run.flush()
            print(run.id, flush=True)
            time.sleep(60)
    """, tmp_path)
    with subprocess.Popen(argv, stdout=subprocess.PIPE, text=True) as proc:
        run_id = proc.stdout.readline().strip()
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(30) == 128 + signal.SIGTERM
    got = ws.get_run(run_id)
    assert got.status == "failed" and got.record.error == "terminated by SIGTERM"
    assert len(got.metric_history("x")) == 100


# how a program ends -> its exit status, and the status and error of the runs it left open
ENDINGS = {
    "runs to its end": ("", 0, "completed", None),
    "sys.exit(3)": ("sys.exit(3)", 3, "failed", "exited with status 3"),
    "sys.exit(0)": ("sys.exit(0)", 0, "completed", None),
    "sys.exit(main())": ("def main():\n    return 2\nsys.exit(main())", 2, "failed",
                         "exited with status 2"),
    "exit(4) builtin": ("exit(4)", 4, "failed", "exited with status 4"),
    "sys.exit(message)": ("sys.exit('bad config')", 1, "failed", "exited with status 1: bad config"),
    "an exception": ("raise ValueError('boom')", 1, "failed", "ValueError: boom"),
    "Ctrl-C": ("raise KeyboardInterrupt", -signal.SIGINT, "canceled", "interrupted (KeyboardInterrupt)"),
    "a sys.exit caught": ("try:\n    sys.exit(5)\nexcept SystemExit:\n    run.log('after', 1)",
                          0, "completed", None),
    "a thread's sys.exit": ("import threading\nt = threading.Thread(target=sys.exit, args=(6,))\n"
                            "t.start(); t.join()", 0, "completed", None),
}


@pytest.mark.parametrize("ending", list(ENDINGS))
def test_a_run_without_a_with_block_ends_as_its_program_ends(ws, tmp_path, ending):
    code, exit_status, status, error = ENDINGS[ending]
    argv = _script(ws, textwrap.dedent("""
        run = ws.experiment("e").start_run(snapshot=False)
        child = run.child("fold-1")
        run.log("x", 2)
    """) + code + "\n", tmp_path)
    proc = subprocess.run(argv, capture_output=True, text=True)
    assert proc.returncode == exit_status, proc.stderr
    got = ws.search_runs()
    assert [r.status for r in got] == [status, status]  # the run and its child alike
    assert [r.metrics.get("x") for r in got if r.record.parent_id is None] == [2.0]
    for run in got:
        assert (run.record.error is None) if error is None else (error in run.record.error)


def test_run_start_of_a_script_that_exits_3_fails_every_run_it_made(ws, tmp_path):
    """``mlws run start``: the launcher's run (logged to through ``mlws.log``) fails with the
    command's status, and so do the runs the script started itself without ``with``."""
    (tmp_path / "train.py").write_text(textwrap.dedent("""
        import sys
        import jupyter_mlws as mlws
        mlws.log("loss", 0.5)
        own = mlws.Workspace.open().experiment("inner").start_run(snapshot=False)
        own.log("acc", 0.9)
        sys.exit(3)
    """))
    env = {k: v for k, v in os.environ.items() if k not in ("MLWS_WORKSPACE", "MLWS_RUN_ID")}
    proc = subprocess.run(
        [sys.executable, "-m", "jupyter_mlws.cli", "-w", str(ws.root), "run", "start", "-e", "outer",
         "--no-snapshot", "--", sys.executable, "train.py"],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 3, proc.stderr
    [outer] = ws.search_runs(experiments=["outer"])
    [inner] = ws.search_runs(experiments=["inner"])
    assert (outer.status, outer.record.error, outer.metrics) == ("failed", "exited with status 3",
                                                                  {"loss": 0.5})
    assert (inner.status, inner.record.error, inner.metrics) == ("failed", "exited with status 3",
                                                                  {"acc": 0.9})
    assert inner.record.parent_id == outer.id


def test_run_command_records_the_command_as_one_run(ws, tmp_path, monkeypatch):
    """``Workspace.run_command`` (what ``mlws run start`` calls): the command's run has its
    source, snapshot, tags, logs, outputs, process and exit status; a run the calling process
    is itself managed under is not its parent."""
    project = tmp_path / "proj"
    (project / "outputs").mkdir(parents=True)
    (project / "train.py").write_text(textwrap.dedent("""
        import sys
        import jupyter_mlws as mlws
        mlws.log("loss", 0.25)
        open("outputs/m.txt", "w").write("m")
        print("out here")
        print("err here", file=sys.stderr)
        sys.exit(4)
    """))
    outer = ws.experiment("outer").start_run(snapshot=False, outputs=None)
    monkeypatch.setenv("MLWS_RUN_ID", outer.id)
    warnings = []
    run = ws.run_command([sys.executable, "train.py"], experiment="cmd", tags={"k": "v"},
                         cwd=project, echo=False, on_warning=warnings.append)
    outer.end()
    assert warnings == []
    assert (run.status, run.record.error, run.exit_code) == ("failed", "exited with status 4", 4)
    got = ws.get_run(run.id)
    assert (got.record.experiment, got.record.source_type) == ("cmd", "command")
    assert got.record.source_name.endswith(" train.py") and got.record.parent_id is None
    assert got.tags == {"k": "v"} and got.metrics == {"loss": 0.25}
    files = {(f["kind"], f["path"]) for f in got.files()}
    assert {("snapshot", "train.py"), ("artifact", "outputs/m.txt"),
            ("log", "stdout.log"), ("log", "stderr.log")} <= files
    assert ws.run_logs(run.id) == {"stdout.log": b"out here\n", "stderr.log": b"err here\n"}
    # an empty folder warns before the command runs; a command that cannot start fails its run
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(InvalidInput, match="could not start"):
        ws.run_command(["/nonexistent/cmd"], cwd=empty, echo=False, on_warning=warnings.append)
    assert len(warnings) == 1 and "snapshot is empty" in warnings[0]
    [failed] = ws.search_runs(experiments=["default"])
    assert failed.status == "failed" and "could not start" in failed.record.error


def test_kill_9_marks_the_run_killed_once_its_heartbeat_is_stale(tmp_path, monkeypatch):
    monkeypatch.delenv("MLWS_WORKSPACE", raising=False)
    ws = mlws.Workspace.create(tmp_path / "ws", heartbeat_interval=0.2, heartbeat_timeout=1.5)
    argv = _script(ws, """
        run = ws.experiment("e").start_run(snapshot=False)
        run.log("x", 7)
        run.flush()
        print(run.id, flush=True)
        time.sleep(60)
    """, tmp_path)
    with subprocess.Popen(argv, stdout=subprocess.PIPE, text=True) as proc:
        run_id = proc.stdout.readline().strip()
        time.sleep(1.8)  # heartbeats keep a live run running past the timeout
        assert ws.runs.reap_stale(force=True) == 0
        assert ws.get_run(run_id).status == "running"
        proc.kill()
    time.sleep(2)
    ws.runs.reap_stale(force=True)
    got = ws.get_run(run_id)
    assert got.status == "killed" and "no heartbeat" in got.record.error
    assert got.metrics == {"x": 7.0}
    ws.close()


def test_log_batch_checks_its_columns_and_writes_nothing_on_error(ws):
    with ws.experiment("e").start_run(snapshot=False) as run:
        with pytest.raises(InvalidInput, match="needs a number, got str"):
            run.log_batch("x", [1.0, "two"])
        with pytest.raises(InvalidInput, match="2 steps for 3 values"):
            run.log_batch("x", [1, 2, 3], steps=[0, 1])
        with pytest.raises(InvalidInput, match="64-bit range"):
            run.log_batch("x", [1, 2], steps=[0, 2**64])
        with pytest.raises(InvalidInput, match="timestamp must be a number"):
            run.log_batch("x", [1, 2], timestamps=[1.0, math.nan])
        assert run.log_batch("x", [1, 2.5, True], steps=[5, 3, 4], timestamps=[1e3, 2e3, 3e3]) == 3
        run.log("x", 9.0)  # continues after the highest step
    assert run.metric_history("x") == [(3, 2000, 2.5), (4, 3000, 1.0), (5, 1000, 1.0), (6, run.metric_history("x")[-1][1], 9.0)]
    assert ws.get_run(run.id).metrics == {"x": 9.0}


def test_a_running_runs_logs_are_its_logs_not_its_live_notebook(ws):
    """``mlws run logs --follow`` on a notebook run printed output.ipynb's JSON first (a
    newcomer): following, and reading the logs of a run that runs, give what the run's logs are
    once it ended (the executed notebook is its output, not a log; an empty log is none)."""
    from click.testing import CliRunner

    from jupyter_mlws.cli import main

    run = ws.experiment("live").start_run(snapshot=False, outputs=None)
    ws.artifacts.live_file(run.id, "output.ipynb").write_text('{"cells": []}')
    ws.artifacts.live_file(run.id, "executor.log").write_bytes(b"")
    ws.artifacts.live_file(run.id, "stdout.log").write_bytes(b"cell 1 says hi\n")
    assert ws.run_logs(run.id) == {"stdout.log": b"cell 1 says hi\n"}
    following = ws.follow_logs(run.id, interval=0.01)
    assert next(following) == ("stdout.log", b"cell 1 says hi\n")  # while it runs
    run.end()
    assert list(following) == []
    followed = CliRunner().invoke(main, ["-w", str(ws.root), "run", "logs", run.id, "--follow"])
    assert followed.output == "==> stdout.log <==\ncell 1 says hi\n"
    assert ws.run_logs(run.id) == {"stdout.log": b"cell 1 says hi\n"}
