"""The change feed behind live events: cursors and run ids in, what changed out."""

import pytest

from jupyter_mlws.errors import InvalidInput
from jupyter_mlws.limits import WINDOW_MAX_S, check_window


@pytest.fixture
def ws(any_ws):
    """Every test here runs on SQLite and on PostgreSQL."""
    return any_ws


def test_the_feed_answers_with_cursors_and_run_ids(ws):
    done = ws.experiment("e").start_run(snapshot=False)
    done.end()
    live = ws.experiment("e").start_run(snapshot=False)
    live.log("loss", 1.0, step=0)
    live.flush()
    baseline, cursor = ws.changes.run_changes()
    assert [r["run_id"] for r in baseline] == [live.id]  # the live runs only
    assert baseline[0]["points"] == 1 and baseline[0]["experiment"] == "e"
    assert isinstance(cursor, str)
    assert ws.changes.run_changes(cursor) == ([], cursor)
    new = ws.experiment("e").start_run(snapshot=False)
    changed, after = ws.changes.run_changes(cursor, [live.id])
    assert [r["run_id"] for r in changed] == [live.id, new.id] and after != cursor
    with pytest.raises(InvalidInput, match="not a cursor"):
        ws.changes.run_changes("12")
    live.end()
    new.end()


def test_a_run_watch_reports_status_changes_and_points_once_per_poll(ws):
    watch = ws.changes.watch_runs()
    run = ws.experiment("e").start_run(snapshot=False)
    assert watch.poll() == []  # a baseline
    for step in range(5):
        run.log("loss", 1.0 / (step + 1), step=step)
    run.flush()
    assert watch.poll() == [] and watch.metric_events == [{"run_id": run.id, "points": 5}]
    run.end()
    [event] = watch.poll()
    assert (event["run_id"], event["status"], event["previous_status"]) == (run.id, "completed", "running")
    assert watch.poll() == [] and watch.metric_events == []


def test_a_log_stored_after_a_run_ended_is_reported(ws):
    """An ssh run's runner stores its own log as it exits, after the run ended: a page showing
    the run hears of it (a run-logs event with the stored logs' sizes), once."""
    watch = ws.changes.watch_runs()
    run = ws.experiment("e").start_run(snapshot=False)
    assert watch.poll() == []  # a baseline
    run.end()
    [event] = watch.poll()
    assert event["status"] == "completed" and watch.log_events == []
    ws.artifacts.attach_log(run.id, "ssh-runner.log", b"mlws ssh runner: exit 0\n")
    assert watch.poll() == []
    assert watch.log_events == [{"run_id": run.id, "logs": {"ssh-runner.log": 24}}]
    assert watch.poll() == [] and watch.log_events == []  # told once


def test_metric_points_are_downsampled_in_the_core(ws):
    with ws.experiment("e").start_run(snapshot=False) as run:
        for step in range(1000):
            run.log("loss", float(step % 7), step=step)
    every = ws.runs.metric_points(run.id, "loss")
    assert every["total"] == 1000 and not every["downsampled"] and len(every["steps"]) == 1000
    thin = ws.runs.metric_points(run.id[:8], "loss", 50)
    assert thin["total"] == 1000 and thin["downsampled"] and len(thin["values"]) <= 50
    assert (thin["steps"][0], thin["steps"][-1]) == (0, 999)
    with pytest.raises(InvalidInput, match="max_points"):
        ws.runs.metric_points(run.id, "loss", 0)


def test_every_face_gets_the_same_time_window_cap():
    assert check_window(600) == 600
    for bad in (0, -1, WINDOW_MAX_S + 1, float("nan"), "1h", True):
        with pytest.raises(InvalidInput, match="since must be a number of seconds"):
            check_window(bad)


def test_a_model_watch_reports_registrations_versions_aliases_and_deletions(ws, tmp_path):
    (tmp_path / "m").mkdir()
    (tmp_path / "m" / "weights.txt").write_text("1")
    watch = ws.changes.watch_models()
    assert watch.poll() == []  # a baseline
    ws.register_model("clf", tmp_path / "m")
    assert watch.poll() == [{"model": "clf", "change": "registered", "versions": 1, "latest_version": 1,
                             "aliases": {}}]
    assert watch.poll() == []
    (tmp_path / "m" / "weights.txt").write_text("2")
    ws.register_model("clf", tmp_path / "m")
    ws.models.set_alias("clf", "prod", 1)
    assert watch.poll() == [{"model": "clf", "change": "changed", "versions": 2, "latest_version": 2,
                             "aliases": {"prod": 1}}]
    ws.models.delete("clf")
    assert watch.poll() == [{"model": "clf", "change": "deleted", "versions": 0, "latest_version": None,
                             "aliases": {}}]
