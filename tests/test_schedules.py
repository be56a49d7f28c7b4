"""Schedules (jupyter_mlws.schedules) through the SDK, with real runs: what a schedule shows, bad
input refused with nothing stored, a tick's run as a normal run of the schedule's snapshot, a
deleted notebook failing its run while the others go on, catch-up after downtime, daylight-saving
days, retries with backoff, manual triggers, and who may act on a schedule."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest

from jupyter_mlws.errors import AlreadyExists, InvalidInput, NotFound, PermissionDenied
from jupyter_mlws.scheduler import Scheduler
from jupyter_mlws.ticker import Handler
from mlws_testing import wait_for
from schedule_support import T0, Clock, backdate, links, notebook, script_pipeline

UTC = timezone.utc
PROVIDER = "jupyter_mlws.schedules.watch:watchers"
#: a public address (no DNS needed): what a webhook check accepts without allow_private
HOOK = "https://93.184.215.14/services/T0/B0/s3cr3t?token=abc"


def host(ws, at: datetime) -> tuple[Scheduler, Clock]:
    """The scheduler host for schedules alone, on a clock the test moves."""
    clock = Clock(at)
    return Scheduler(ws, providers=[PROVIDER], clock=clock), clock


def ticker(ws):
    """A ticker that records each tick's run with its claim and starts nothing (the claim and
    the record are what these tests are about)."""
    t = ws.ticker(interval=30)
    t.watch("schedule", ws.schedules.runner.watched, Handler(ws.schedules.runner.record))
    return t


def shown(schedule: dict) -> dict:
    return {k: v for k, v in schedule.items() if k != "next"}


# -- what a schedule is and shows ------------------------------------------------------------------

def test_a_schedule_shows_its_cron_in_words_its_next_fires_and_its_snapshot(ws, tmp_path):
    from jupyter_mlws.access import os_user

    nb = notebook(tmp_path / "proj" / "report.ipynb")
    made = ws.schedules.create("nightly", notebook="proj/report.ipynb", cron="0 6 * * 1-5",
                               tz="Europe/Berlin", params={"x": 5}, retries=2, catch_up="all:3",
                               notify=[{"url": HOOK, "on": ["failure", "success"]}])
    assert made["name"] == "nightly" and made["kind"] == "notebook"
    assert made["source"] == "proj/report.ipynb" and made["source_state"] == "unchanged"
    assert made["description"] == "At 06:00, Monday through Friday"
    assert made["cron"] == "0 6 * * 1-5" and made["tz"] == "Europe/Berlin"
    assert len(made["next"]) == 5
    for text in made["next"]:
        at = datetime.fromisoformat(text)
        assert at.weekday() < 5 and (at.hour, at.minute) == (6, 0)
        assert at.utcoffset() in (timedelta(hours=1), timedelta(hours=2))
    assert [datetime.fromisoformat(t) for t in made["next"]] == sorted(
        datetime.fromisoformat(t) for t in made["next"])
    assert made["params"] == {"x": 5} and made["retries"] == 2 and made["catch_up"] == "all:3"
    assert made["notify"] == [{"url": "https://93.184.215.14/…", "on": ["failure", "success"]}]
    assert made["paused"] is False and made["owner"] == os_user() and made["last_runs"] == []
    text = json.dumps(made)
    assert "s3cr3t" not in text and "token" not in text and str(tmp_path) not in text
    assert [s["name"] for s in ws.schedules.list()] == ["nightly"]
    assert "source_state" not in ws.schedules.list()[0]
    # the snapshot is what runs: an edit shows as changed, a deletion as missing
    notebook(nb, body="print('edited')")
    assert ws.schedules.get("nightly")["source_state"] == "changed"
    assert ws.schedules.get("nightly")["source_changed"] == ["proj/report.ipynb"]
    assert ws.schedules.list()[0]["source_missing"] is False
    nb.unlink()
    assert ws.schedules.get("nightly")["source_state"] == "missing"
    assert ws.schedules.list()[0]["source_missing"] is True  # the list says it too


def test_pause_resume_update_and_delete(ws, tmp_path):
    notebook(tmp_path / "nb.ipynb")
    ws.schedules.create("s", notebook="nb.ipynb", cron="*/15 * * * *", tz="UTC")
    paused = ws.schedules.pause("s")
    assert paused["paused"] is True and paused["next"] == []
    resumed = ws.schedules.resume("s")
    assert resumed["paused"] is False and len(resumed["next"]) == 5
    changed = ws.schedules.update("s", cron="@daily", tz="America/New_York", retries=1)
    assert changed["cron"] == "@daily" and changed["description"] == "At 00:00"
    assert changed["next"][0].endswith(("-05:00", "-04:00")) and changed["retries"] == 1
    with pytest.raises(InvalidInput, match="no field 'owner'"):
        ws.schedules.update("s", owner="mallory")
    ws.schedules.delete("s")
    assert ws.schedules.list() == []
    with pytest.raises(NotFound, match="no schedule 's'"):
        ws.schedules.get("s")
    preview = ws.schedules.preview("*/15 9-17 * * 1-5", "UTC", n=3)
    assert preview["description"] == ("Every 15 minutes, between 09:00 and 17:59, Monday "
                                      "through Friday") and len(preview["next"]) == 3


BAD = [
    ({"cron": "61 * * * *"}, InvalidInput, "the minute field '61' is not valid"),
    ({"cron": "0 0 6 * * 1-5 2025"}, InvalidInput, "has 7 field(s)"),
    ({"cron": ""}, InvalidInput, "five fields"),
    ({"tz": "Mars/Olympus"}, InvalidInput, "unknown time zone 'Mars/Olympus'"),
    ({"catch_up": "some"}, InvalidInput, "unknown catch-up policy 'some'"),
    ({"retries": 11}, InvalidInput, "retries is an integer from 0 to 10"),
    ({"notebook": "missing.ipynb"}, NotFound, "no notebook 'missing.ipynb'"),
    ({"notebook": "data.csv"}, InvalidInput, "'data.csv' is not a notebook"),
    ({"notebook": None}, InvalidInput, "give the schedule a notebook"),
    ({"params": {"not valid": 1}}, InvalidInput, "not a Python identifier"),
    ({"compute": "nowhere"}, NotFound, "nowhere"),
    ({"secrets": ["no-such"]}, NotFound, "no-such"),
    ({"notify": ["ftp://hooks.example.com/x"]}, InvalidInput, "http"),
    ({"name": "bad name!"}, InvalidInput, "schedule name 'bad name!' is not valid"),
]


@pytest.mark.parametrize("change,error,message", BAD, ids=[str(b[0]) for b in BAD])
def test_bad_input_is_refused_with_a_clear_error_and_nothing_stored(ws, tmp_path, change, error,
                                                                     message):
    notebook(tmp_path / "nb.ipynb")
    (tmp_path / "data.csv").write_text("a,b\n")
    args = {"name": "s", "notebook": "nb.ipynb", "cron": "0 6 * * *", "tz": "UTC", **change}
    with pytest.raises(error) as caught:
        ws.schedules.create(args.pop("name"), **args)
    assert message in str(caught.value)
    assert str(tmp_path) not in str(caught.value)
    assert ws.schedules.list() == []


def test_a_bad_update_changes_nothing_and_a_name_is_taken_once(ws, tmp_path):
    notebook(tmp_path / "nb.ipynb")
    ws.schedules.create("s", notebook="nb.ipynb", cron="0 6 * * *", tz="UTC")
    before = shown(ws.schedules.get("s"))
    with pytest.raises(AlreadyExists, match="schedule 's' exists"):
        ws.schedules.create("s", notebook="nb.ipynb", cron="0 7 * * *", tz="UTC")
    for change, error in (({"cron": "61 * * * *"}, InvalidInput), ({"tz": "Nowhere/City"}, InvalidInput),
                          ({"notebook": "gone.ipynb"}, NotFound), ({"paused": "yes"}, InvalidInput)):
        with pytest.raises(error):
            ws.schedules.update("s", **change)
    assert shown(ws.schedules.get("s")) == before


def test_a_contributor_acts_on_their_own_schedules_only(ws, tmp_path):
    from jupyter_mlws.access import os_user

    notebook(tmp_path / "nb.ipynb")
    for user, role in (("carol", "contributor"), ("rita", "reader")):
        ws.access.grant(os_user(), user, role)
    ws.compute.run_as_server = "contributor"  # mlws.toml opens local to contributors' code
    mine = ws.schedules.create("carols", notebook="nb.ipynb", cron="0 6 * * *", tz="UTC",
                               user="carol")
    assert mine["owner"] == "carol"
    ws.schedules.create("owners", notebook="nb.ipynb", cron="0 6 * * *", tz="UTC")
    with pytest.raises(PermissionDenied, match="belongs to"):
        ws.schedules.pause("owners", user="carol")
    with pytest.raises(PermissionDenied):
        ws.schedules.create("ritas", notebook="nb.ipynb", cron="0 6 * * *", tz="UTC", user="rita")
    assert len(ws.schedules.list(user="rita")) == 2
    assert ws.schedules.pause("carols", user="carol")["paused"] is True
    assert ws.schedules.resume("carols")["paused"] is False  # a workspace owner may
    ws.schedules.delete("carols", user="carol")


# -- a tick's run ---------------------------------------------------------------------------------------

WRITE_V = ("import pathlib\npathlib.Path('outputs').mkdir(exist_ok=True)\n"
           "pathlib.Path('outputs/v.txt').write_text('{v} ' + str(x) + ' ' + "
           "pathlib.Path('data.txt').read_text())")


def test_a_tick_runs_the_snapshot_as_a_normal_notebook_run(ws, tmp_path):
    nb = notebook(tmp_path / "proj" / "report.ipynb", body=WRITE_V.replace("{v}", "one"))
    (tmp_path / "proj" / "data.txt").write_text("data-1")
    ws.schedules.create("rep", notebook="proj/report.ipynb", cron="0 6 * * *", tz="UTC",
                        params={"x": 5})
    notebook(nb, body=WRITE_V.replace("{v}", "two"))  # edited after: the schedule keeps "one"
    (tmp_path / "proj" / "data.txt").write_text("data-2")  # its data: as it is at the run
    backdate(ws, "rep", T0)
    scheduler, _clock = host(ws, T0 + timedelta(hours=6, seconds=1))
    assert scheduler.once() == 1  # the 06:00 tick, claimed, its run recorded and started
    [link] = links(ws, "rep")
    run = ws.wait(link["run_id"], timeout=180)
    assert run.status == "completed", run.record.error
    assert run.params["x"] == "5" and run.record.source_type == "notebook"
    assert run.tags["mlws.schedule"] == "rep"
    assert run.tags["mlws.schedule.nominal"] == "2025-03-03T06:00:00+00:00"
    assert json.loads(run.tags["mlws.schedule.ticks"]) == ["2025-03-03T06:00:00+00:00"]
    assert ws.list_experiments()[0]["name"] == "report"
    with ws.artifacts.open(run.id, "outputs/v.txt") as f:
        assert f.read() == b"one 5 data-2"
    snapshot = {f["path"] for f in run.files("snapshot")}
    assert {"report.ipynb", "data.txt"} <= snapshot
    assert "two" in nb.read_text()  # the user's file is untouched
    wait_for(lambda: not list((ws.root / "work").glob("schedule-*")),
             "the run's working copy removed when it ended")
    shown_runs = ws.schedules.runs("rep")
    assert [(r["id"], r["status"], r["trigger"], r["attempt"]) for r in shown_runs] == \
        [(run.id, "completed", "tick", 0)]
    assert ws.schedules.get("rep")["last_runs"][0]["id"] == run.id
    # updating with the file again takes the edit
    assert ws.schedules.update("rep", notebook="proj/report.ipynb")["source_state"] == "unchanged"


def test_a_deleted_notebook_fails_its_run_and_the_other_schedules_go_on(ws, tmp_path, caplog):
    caplog.set_level("INFO", logger="jupyter_mlws.schedules.runner")
    gone = notebook(tmp_path / "gone.ipynb")
    ws.schedules.create("gone", notebook="gone.ipynb", cron="0 * * * *", tz="UTC")
    ws.schedules.create("pipe", pipeline=str(script_pipeline(tmp_path / "p")), cron="0 * * * *",
                        tz="UTC")
    gone.unlink()
    for name in ("gone", "pipe"):
        backdate(ws, name, T0)
    scheduler, clock = host(ws, T0 + timedelta(hours=1))
    for hour in (1, 2):
        clock.at = T0 + timedelta(hours=hour)
        assert scheduler.once() == 2
        failed = [link for link in links(ws, "gone") if link["attempt"] == 0][-1]
        assert failed["status"] == "failed"
        assert failed["error"].startswith("notebook not found: 'gone.ipynb' was deleted")
        assert str(tmp_path) not in failed["error"]
        run = ws.wait(links(ws, "pipe")[-1]["run_id"], timeout=120)
        assert run.status == "completed", run.record.error
        assert run.tags["mlws.schedule"] == "pipe" and run.record.source_type == "pipeline"
    # the scheduler's log tells each start, failed start (and why) and end
    logged = [r.getMessage() for r in caplog.records]
    first = links(ws, "pipe")[0]["run_id"]
    assert f"schedule 'pipe': started run {first} (pipeline tick 2025-03-03T01:00:00+00:00)" \
        in logged, logged
    assert any(m.startswith("schedule 'gone': run ") and "(tick 2025-03-03T02:00:00+00:00) could "
               "not start: notebook not found: 'gone.ipynb' was deleted" in m for m in logged)
    scheduler.once()  # settles the ended runs
    logged = [r.getMessage() for r in caplog.records]
    assert f"schedule 'pipe': run {first} ended completed" in logged, logged
    triggered = ws.schedules.trigger("gone")
    assert triggered["status"] == "failed" and triggered["trigger"] == "manual"
    assert "notebook not found" in triggered["error"]


# -- after downtime, on daylight-saving days -------------------------------------------------------------

@pytest.mark.parametrize("policy,expected", [
    ("latest", [("04:00", ["02:00", "03:00", "04:00"])]),
    ("skip", []),
    ("all:2", [("03:00", ["02:00", "03:00"]), ("04:00", ["04:00"])]),
    ("all:5", [("02:00", ["02:00"]), ("03:00", ["03:00"]), ("04:00", ["04:00"])]),
])
def test_catch_up_after_the_scheduler_was_stopped_across_three_ticks(any_ws, tmp_path, policy,
                                                                     expected):
    ws = any_ws
    notebook(tmp_path / "nb.ipynb")
    ws.schedules.create("hourly", notebook="nb.ipynb", cron="0 * * * *", tz="UTC", catch_up=policy)
    backdate(ws, "hourly", T0 + timedelta(minutes=30))
    t = ticker(ws)
    assert len(t.tick(T0 + timedelta(hours=1))) == 1  # 01:00, on time
    # stopped from 01:30 to 04:30: the 02:00, 03:00 and 04:00 ticks fell due meanwhile
    t.tick(T0 + timedelta(hours=4, minutes=30))
    t.tick(T0 + timedelta(hours=4, minutes=31))  # nothing twice
    t.tick(T0 + timedelta(hours=5))  # 05:00, on time again
    got = [(r["nominal"][11:16], [tick[11:16] for tick in r["ticks"]])
           for r in reversed(ws.schedules.runs("hourly"))]
    assert got == [("01:00", ["01:00"]), *expected, ("05:00", ["05:00"])]
    assert [r["tick_count"] for r in reversed(ws.schedules.runs("hourly"))] == \
        [1, *[len(ticks) for _n, ticks in expected], 1]


def test_a_paused_schedule_runs_no_tick_and_resumes_from_then(ws, tmp_path, monkeypatch):
    from jupyter_mlws.schedules import service

    notebook(tmp_path / "nb.ipynb")
    ws.schedules.create("hourly", notebook="nb.ipynb", cron="0 * * * *", tz="UTC")
    backdate(ws, "hourly", T0)
    t = ticker(ws)
    assert len(t.tick(T0 + timedelta(hours=1))) == 1
    ws.schedules.pause("hourly")
    assert t.tick(T0 + timedelta(hours=2)) == []  # paused: nothing runs
    resumed_at = T0 + timedelta(hours=3, minutes=30)
    monkeypatch.setattr(service.R, "now_ms", lambda: int(resumed_at.timestamp() * 1000))
    ws.schedules.resume("hourly")  # at 03:30: the 02:00 and 03:00 ticks never run
    monkeypatch.undo()
    assert t.tick(T0 + timedelta(hours=3, minutes=31)) == []
    assert len(t.tick(T0 + timedelta(hours=4))) == 1
    assert [r["nominal"][11:16] for r in reversed(ws.schedules.runs("hourly"))] == ["01:00", "04:00"]


def test_daylight_saving_days_run_0230_exactly_once(ws, tmp_path):
    notebook(tmp_path / "nb.ipynb")
    for zone in ("Europe/Berlin", "America/New_York"):
        name = zone.split("/")[1].lower()
        ws.schedules.create(name, notebook="nb.ipynb", cron="30 2 * * *", tz=zone,
                            catch_up="skip")
        backdate(ws, name, datetime(2025, 3, 1, tzinfo=UTC))
    t = ticker(ws)
    # the four changeover days, from 21:00 UTC the day before to 12:00 UTC, in 5-minute steps
    # (the days between are skipped: catch-up skip runs none of their ticks)
    for day in ("2025-03-09", "2025-03-30", "2025-10-26", "2025-11-02"):
        start = datetime.fromisoformat(day).replace(tzinfo=UTC) - timedelta(hours=3)
        for step in range(15 * 12 + 1):
            t.tick(start + timedelta(minutes=5 * step))
    berlin = [r["nominal"] for r in reversed(ws.schedules.runs("berlin"))]
    new_york = [r["nominal"] for r in reversed(ws.schedules.runs("new_york"))]
    # spring: 02:30 does not exist, it runs at the jump (03:00); autumn: 02:30 (Berlin: twice
    # on the wall clock) runs once, at its first occurrence; the other zone's days are plain
    assert berlin == ["2025-03-09T02:30:00+01:00", "2025-03-30T03:00:00+02:00",
                      "2025-10-26T02:30:00+02:00", "2025-11-02T02:30:00+01:00"]
    assert new_york == ["2025-03-09T03:00:00-04:00", "2025-03-30T02:30:00-04:00",
                        "2025-10-26T02:30:00-04:00", "2025-11-02T02:30:00-05:00"]


# -- failures: retries with backoff, the final end notified once -----------------------------------------

def flaky(ws, tmp_path, *, retries: int, backoff_s: float) -> Scheduler:
    """Schedule "flaky": a pipeline that always fails, retried ``retries`` times after
    ``backoff_s`` (doubling); its 06:00 tick claimed and started by the scheduler returned."""
    yaml = script_pipeline(tmp_path / "p", code="raise SystemExit('the data is not there')\n")
    ws.schedules.create("flaky", pipeline=str(yaml), cron="0 6 * * *", tz="UTC", retries=retries)
    backdate(ws, "flaky", T0)
    ws.schedules.runner.retry_backoff_s = backoff_s
    scheduler, _clock = host(ws, T0 + timedelta(hours=6))
    assert scheduler.once() == 1
    return scheduler


def test_a_failed_run_is_retried_with_backoff_linked_to_its_tick(ws, tmp_path, monkeypatch,
                                                                 caplog):
    from jupyter_mlws.schedules import watch

    caplog.set_level("INFO", logger="jupyter_mlws.schedules.runner")
    notified = []
    monkeypatch.setattr(watch, "notify", lambda ws, schedule, run: notified.append((schedule, run)))
    scheduler = flaky(ws, tmp_path, retries=2, backoff_s=0.3)

    def three_failed():
        scheduler.once()
        done = [link for link in links(ws, "flaky") if link["settled_at"] is not None]
        return len(done) == 3 and done

    done = wait_for(three_failed, "three attempts failing", timeout=180)
    assert [(d["attempt"], d["status"]) for d in done] == [(0, "failed"), (1, "failed"),
                                                         (2, "failed")]
    assert {d["nominal_at"] for d in done} == {done[0]["nominal_at"]}  # one tick
    assert [d["retry_of"] for d in done] == [None, done[0]["run_id"], done[1]["run_id"]]
    # the backoff doubles: each retry became due 0.3 s, then 0.6 s after the failure was seen
    assert [d["due_at"] - d["created_at"] for d in done[1:]] == [300, 600]
    shown_runs = ws.schedules.runs("flaky")
    assert [r["attempt"] for r in shown_runs] == [2, 1, 0]
    assert {r["nominal"] for r in shown_runs} == {"2025-03-03T06:00:00+00:00"}
    scheduler.once()
    assert [(s["name"], r["id"], r["status"]) for s, r in notified] == \
        [("flaky", done[2]["run_id"], "failed")]  # the final end only, once
    logged = [r.getMessage() for r in caplog.records]
    assert any(m.startswith(f"schedule 'flaky': run {done[0]['run_id']} ended failed (")
               and "; retry 1 of 2 at 2" in m for m in logged), logged
    assert any(m == f"schedule 'flaky': started run {done[2]['run_id']} (pipeline tick "
               "2025-03-03T06:00:00+00:00, retry 2)" for m in logged), logged
    assert any(m.startswith(f"schedule 'flaky': run {done[2]['run_id']} ended failed: ")
               for m in logged), logged


def test_a_trigger_runs_now_even_while_paused(ws, tmp_path):
    ws.schedules.create("pipe", pipeline=str(script_pipeline(tmp_path / "p")), cron="0 6 * * *",
                        tz="UTC")
    (tmp_path / "p" / "step.py").write_text("print('edited')\n")  # a step's file, named
    shown = ws.schedules.get("pipe")
    assert (shown["source"], shown["source_state"], shown["source_changed"]) == \
        ("pipeline.yaml", "changed", ["step.py"])
    ws.schedules.pause("pipe")
    run = ws.schedules.trigger("pipe")
    assert run["trigger"] == "manual" and run["status"] in ("queued", "running", "completed")
    assert ws.wait(run["id"], timeout=120).status == "completed"
    assert ws.get_run(run["id"]).tags["mlws.schedule.trigger"] == "manual"
    assert [r["id"] for r in ws.schedules.runs("pipe")] == [run["id"]]


def test_a_schedules_runs_are_its_owners(ws, tmp_path):
    """A schedule's run and its steps' runs record who owns the schedule (they recorded the OS
    user of the process that ticked), whoever triggers it."""
    ws.schedules.create("pipe", pipeline=str(script_pipeline(tmp_path / "p")), cron="0 6 * * *",
                        tz="UTC", user="alice", check_actor=False)
    run = ws.wait(ws.schedules.trigger("pipe", check_actor=False)["id"], timeout=120)
    assert run.status == "completed", run.record.error
    steps = ws.runs.children(run.id)
    assert steps and {r.user for r in (run.record, *steps)} == {"alice"}


def test_a_pipeline_schedule_sets_a_steps_parameter(ws, tmp_path):
    """``-p STEP.NAME VALUE`` as `mlws pipeline run` takes it (a newcomer found it refused as
    "not a Python identifier"); a notebook schedule still refuses a dotted name."""
    folder = tmp_path / "p"
    folder.mkdir()
    (folder / "step.py").write_text("import sys\nprint(sys.argv)\n")
    (folder / "pipeline.yaml").write_text(
        "name: pipe\nsteps:\n  - {name: train, script: step.py, parameters: {C: 0.5}}\n")
    made = ws.schedules.create("pipe", pipeline=str(folder / "pipeline.yaml"),
                               cron="0 6 * * *", tz="UTC", params={"train.C": 0.2})
    assert made["params"] == {"train.C": 0.2}
    run = ws.wait(ws.schedules.trigger("pipe")["id"], timeout=120)
    assert run.status == "completed", run.record.error
    (step,) = [r for r in ws.search_runs(max_results=50) if r.record.parent_id == run.id]
    assert step.params["C"] == "0.2"  # run params are kept as text
    notebook(tmp_path / "nb.ipynb")
    with pytest.raises(InvalidInput, match="train.C"):
        ws.schedules.create("nb", notebook=str(tmp_path / "nb.ipynb"), cron="0 6 * * *",
                            params={"train.C": 0.2})


def test_parameters_a_notebook_does_not_declare_are_warned_of_as_run_submit_does(ws, tmp_path):
    """A newcomer's ``-p undeclared=1`` was taken silently: the schedule says so (``run submit``'s
    rule: warned of, naming what the notebook declares, passed anyway); an unknown pipeline step
    is refused with nothing stored."""
    notebook(tmp_path / "nb.ipynb", params="x = 1\nrows = 10")
    made = ws.schedules.create("nb", notebook=str(tmp_path / "nb.ipynb"), cron="0 6 * * *",
                               tz="UTC", params={"x": 2, "undeclared": 1})
    assert made["warnings"] == ["nb.ipynb does not declare parameter 'undeclared' in its "
                                "'parameters' cell (its parameters: x, rows; passed anyway)"]
    assert made["params"] == {"x": 2, "undeclared": 1}
    # new parameters, the snapshot kept: read from the snapshot, not the file as it is now
    notebook(tmp_path / "nb.ipynb", params="x = 1\nlater = 2")
    changed = ws.schedules.update("nb", params={"later": 1})
    assert changed["warnings"] == ["nb.ipynb does not declare parameter 'later' in its "
                                   "'parameters' cell (its parameters: x, rows; passed anyway)"]
    assert ws.schedules.update("nb", params={"rows": 1})["warnings"] == []
    assert ws.schedules.update("nb", notebook=str(tmp_path / "nb.ipynb"))["warnings"] == [
        "nb.ipynb does not declare parameter 'rows' in its 'parameters' cell (its parameters: "
        "x, later; passed anyway)"]
    # a pipeline's notebook step: the same words, naming the step
    folder = tmp_path / "p"
    notebook(folder / "train.ipynb", params="lr = 0.1")
    (folder / "pipeline.yaml").write_text(
        "name: pipe\nsteps:\n  - {name: train, notebook: train.ipynb}\n")
    made = ws.schedules.create("pipe", pipeline=str(folder / "pipeline.yaml"), cron="0 6 * * *",
                               tz="UTC", params={"train.nope": 1, "train.lr": 0.5})
    assert made["warnings"] == ["step 'train': train.ipynb does not declare parameter 'nope' in "
                                "its 'parameters' cell (its parameters: lr; passed anyway)"]
    with pytest.raises(InvalidInput, match="has no step 'nope': its steps are train"):
        ws.schedules.create("pipe2", pipeline=str(folder / "pipeline.yaml"), cron="0 6 * * *",
                            params={"nope.lr": 1})
    with pytest.raises(NotFound):
        ws.schedules.get("pipe2")


def test_a_retry_held_by_a_pause_says_so_not_a_past_time(ws, tmp_path):
    scheduler = flaky(ws, tmp_path, retries=1, backoff_s=0.01)
    (first,) = links(ws, "flaky")
    assert ws.wait(first["run_id"], timeout=120).status == "failed"
    ws.schedules.pause("flaky")
    scheduler.once()  # the failure seen: a retry is due at once, but the pause holds it
    waiting = wait_for(lambda: [r for r in ws.schedules.runs("flaky") if r["id"] is None],
                       "the retry recorded")
    assert waiting[0]["status"] == "waiting" and waiting[0]["held"] is True
    assert ws.schedules.get("flaky")["last_runs"][0]["held"] is True
    from click.testing import CliRunner

    from jupyter_mlws.cli import main

    shown = CliRunner().invoke(main, ["-w", str(ws.root), "schedule", "runs", "flaky"]).output
    assert "retry held (paused)" in shown and "retry at" not in shown
    ws.schedules.resume("flaky")
    assert ws.schedules.runs("flaky")[0]["held"] is False


def test_the_cron_in_words_on_the_readers_clock(ws, tmp_path):
    """The Schedules page wrote "At 06:00" beside fire times its locale writes "06:00 AM": the
    words come on a 12-hour clock when asked (``hour12``), 24 hours otherwise."""
    assert ws.schedules.preview("0 18 * * 1-5", "UTC")["description"] == \
        "At 18:00, Monday through Friday"
    assert ws.schedules.preview("0 18 * * 1-5", "UTC", hour12=True)["description"] == \
        "At 06:00 PM, Monday through Friday"
    notebook(tmp_path / "nb.ipynb")
    ws.schedules.create("nb", notebook=str(tmp_path / "nb.ipynb"), cron="0 18 * * *", tz="UTC")
    assert ws.schedules.get("nb", hour12=True)["description"] == "At 06:00 PM"
    assert [s["description"] for s in ws.schedules.list(hour12=True)] == ["At 06:00 PM"]
    assert ws.schedules.get("nb")["description"] == "At 18:00"
