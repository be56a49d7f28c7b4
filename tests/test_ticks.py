"""Cron ticks claimed exactly once (jupyter_mlws.ticks, .ticker) on SQLite and PostgreSQL:
claims in the action's transaction, catch-up after downtime, the watcher loop, and two watcher
processes on one workspace."""

from __future__ import annotations

import subprocess
import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from sqlalchemy import func, select

from jupyter_mlws.cron import parse
from jupyter_mlws.errors import InvalidInput
from jupyter_mlws.ticker import Handler, Ticker, Watched
from jupyter_mlws.ticks import CatchUp, Tick, TickClaims, from_ms, to_ms
from tick_watcher import SCHEDULES, TZ, actions, owners

UTC = timezone.utc
T0 = datetime(2025, 3, 28, 6, 0, tzinfo=UTC)  # a Friday, 07:00 in Berlin
VM_SCHEDULE = "start 0 8 * * 1-5; stop 0 19 * * 1-5"


@pytest.fixture
def claims(any_ws):
    actions.create(any_ws.db.engine, checkfirst=True)
    return any_ws.tick_claims


def recorded(ws) -> list[tuple]:
    with ws.db.read() as conn:
        return [tuple(r) for r in conn.execute(
            select(actions.c.owner_id, actions.c.action, actions.c.nominal_at)
            .order_by(actions.c.nominal_at, actions.c.owner_id, actions.c.action))]


def record(conn, tick):
    conn.execute(actions.insert().values(owner_id=tick.owner_id, action=tick.action,
                                         nominal_at=to_ms(tick.nominal), worker="test"))
    return tick.action


def test_a_tick_is_claimed_once_with_its_record(any_ws, claims):
    tick = Tick("vm", "gpu", "stop", T0)
    first = claims.claim(tick, record)
    assert first is not None and first.recorded == "stop" and first.tick.nominal == T0
    assert claims.claim(tick, record) is None  # the same tick again: nothing, no second record
    assert recorded(any_ws) == [("gpu", "stop", to_ms(T0))]
    # the same instant for another action, or another owner, is another tick
    assert claims.claim(Tick("vm", "gpu", "start", T0), record) is not None
    assert claims.claim(Tick("vm", "cpu", "stop", T0), record) is not None
    assert len(recorded(any_ws)) == 3
    assert [c.action for c in claims.claims("vm", "gpu")] == ["start", "stop"]


def test_a_failing_record_leaves_the_tick_unclaimed(any_ws, claims):
    def broken(conn, tick):
        record(conn, tick)
        raise RuntimeError("the VM service is down")

    tick = Tick("vm", "gpu", "stop", T0)
    with pytest.raises(RuntimeError):
        claims.claim(tick, broken)
    assert recorded(any_ws) == [] and claims.claims("vm", "gpu") == []
    assert claims.claim(tick, record) is not None  # still claimable, once
    assert recorded(any_ws) == [("gpu", "stop", to_ms(T0))]


def test_a_watcher_behind_cannot_claim_an_older_tick(any_ws, claims):
    assert claims.claim(Tick("vm", "gpu", "stop", T0 + timedelta(hours=11)), record)
    assert claims.claim(Tick("vm", "gpu", "start", T0 + timedelta(hours=1)), record) is None
    assert claims.newest("vm", "gpu") == T0 + timedelta(hours=11)
    assert len(recorded(any_ws)) == 1


def test_prune_keeps_each_owners_newest_and_forget_removes_an_owner(claims):
    for hours in range(5):
        claims.claim(Tick("vm", "gpu", "stop", T0 + timedelta(hours=hours)))
    claims.claim(Tick("vm", "cpu", "stop", T0))
    assert claims.prune(T0 + timedelta(days=1)) == 4
    assert [c.nominal for c in claims.claims("vm", "gpu")] == [T0 + timedelta(hours=4)]
    assert [c.nominal for c in claims.claims("vm", "cpu")] == [T0]
    assert claims.forget("vm", "gpu") == 1 and claims.newest("vm", "gpu") is None


@pytest.mark.parametrize("text, expected", [(None, "latest"), ("", "latest"), ("LATEST", "latest"),
                                            ("skip", "skip"), ("all:3", "all:3")])
def test_catch_up_policies_parse(text, expected):
    assert str(CatchUp.parse(text)) == expected


@pytest.mark.parametrize("text", ["all", "all:0", "all:x", "all:100000", "some", "latest:2"])
def test_a_bad_catch_up_policy_says_which_exist(text):
    with pytest.raises(InvalidInput, match="use 'latest'.*'skip'.*'all:N'"):
        CatchUp.parse(text)


def ticker_over(claims, *watched, interval=30.0, grace=None) -> Ticker:
    ticker = Ticker(claims, interval=interval, grace=grace)
    ticker.watch("schedule", lambda: list(watched), Handler(record))
    return ticker


@pytest.mark.parametrize("policy, expected", [
    # the watcher was down across the 10:01, 10:02 and 10:03 ticks and is back at 10:03:20; a
    # tick is on time for 30 s
    ("latest", [("10:03", "10:00")]),
    ("skip", [("10:03", "10:00")]),
    ("all:2", [("10:02", "10:00"), ("10:03", None)]),
    ("all:5", [("10:01", None), ("10:02", None), ("10:03", None)]),
])
def test_after_downtime_the_policy_says_which_missed_ticks_run(claims, policy, expected):
    """Ticks 10:01-10:03 are missed: latest claims one standing for the others, skip only the
    one still on time, all:N the newest N.  ``missed_after`` marks the claim standing after the
    ones dropped."""
    since = datetime(2025, 1, 6, 10, 0, tzinfo=UTC)
    every_minute = Watched("nightly", parse("run * * * * *"), since=since, catch_up=CatchUp.parse(policy))
    ticker = ticker_over(claims, every_minute, grace=30)
    got = ticker.tick(since + timedelta(minutes=3, seconds=20))

    def hm(t):
        return t.strftime("%H:%M") if t else None
    assert [(hm(t.nominal), hm(t.missed_after)) for t in got] == expected
    # a second watcher, or the same one again, claims nothing more
    assert ticker_over(claims, every_minute).tick(since + timedelta(minutes=3, seconds=30)) == []


def test_skip_claims_nothing_when_every_missed_tick_is_late(claims):
    since = datetime(2025, 1, 6, 10, 0, tzinfo=UTC)
    hourly = Watched("h", parse("run 0 * * * *"), since=since, catch_up=CatchUp.parse("skip"))
    assert ticker_over(claims, hourly).tick(since + timedelta(hours=3, minutes=10)) == []
    assert ticker_over(claims, hourly).tick(since + timedelta(hours=4, seconds=5))[0].nominal == \
        since + timedelta(hours=4)


def test_vm_start_stop_after_downtime_is_the_latest_state(claims):
    """Down from 07:00 to 20:00 Berlin time: the 08:00 start and the 19:00 stop were missed;
    ``latest`` claims the stop only (the VM should be stopped now), standing for both."""
    vm = Watched("gpu", parse(VM_SCHEDULE, TZ, {"start", "stop"}), since=T0)
    got = ticker_over(claims, vm).tick(T0 + timedelta(hours=13))
    assert [(t.action, t.nominal, t.missed_after) for t in got] == [
        ("stop", T0 + timedelta(hours=12), T0)]


def test_the_ticker_claims_each_tick_once_across_a_dst_day(any_ws, claims):
    """A controllable clock in 10-minute steps through Berlin's spring-forward day: the 02:30
    start fires once, at the jump (01:00 UTC), the 19:00 stop once; then nothing more."""
    since = datetime(2025, 3, 29, 22, 0, tzinfo=UTC)
    vm = Watched("gpu", parse("start 30 2 * * *; stop 0 19 * * *", TZ, {"start", "stop"}), since=since)
    acted = []
    ticker = Ticker(claims, interval=600)
    ticker.watch("vm", lambda: [vm], Handler(record, act=lambda tick, rec: acted.append(rec)))
    for step in range(24 * 6 + 1):
        ticker.tick(since + timedelta(minutes=10 * step))
    assert recorded(any_ws) == [("gpu", "start", to_ms(datetime(2025, 3, 30, 1, 0, tzinfo=UTC))),
                                ("gpu", "stop", to_ms(datetime(2025, 3, 30, 17, 0, tzinfo=UTC)))]
    assert acted == ["start", "stop"]  # act ran after each commit, with what record returned
    assert ticker.next_due() == datetime(2025, 3, 31, 0, 30, tzinfo=UTC)


def test_a_failing_handler_is_retried_at_the_next_pass_and_others_go_on(any_ws, claims):
    since = datetime(2025, 1, 6, 10, 0, tzinfo=UTC)
    failures = {"left": 1}

    def flaky(conn, tick):
        if tick.owner_id == "bad" and failures["left"]:
            failures["left"] -= 1
            raise RuntimeError("not now")
        return record(conn, tick)

    ticker = Ticker(claims)
    ticker.watch("schedule", lambda: [Watched("bad", parse("run 1 10 * * *"), since),
                                      Watched("good", parse("run 1 10 * * *"), since)], Handler(flaky))
    assert [t.owner_id for t in ticker.tick(since + timedelta(minutes=1))] == ["good"]
    assert [t.owner_id for t in ticker.tick(since + timedelta(minutes=1, seconds=30))] == ["bad"]
    assert len(recorded(any_ws)) == 2


def test_a_changed_schedule_is_seen_at_the_next_pass(claims):
    since = datetime(2025, 1, 6, 10, 0, tzinfo=UTC)
    current = {"w": Watched("s", parse("run 0 12 * * *"), since)}
    ticker = Ticker(claims)
    ticker.watch("schedule", lambda: [current["w"]], Handler(record))
    assert ticker.tick(since + timedelta(minutes=1)) == []
    current["w"] = Watched("s", parse("run 2 10 * * *"), since)
    assert [t.nominal for t in ticker.tick(since + timedelta(minutes=2))] == [since + timedelta(minutes=2)]


def test_the_loop_runs_on_a_thread_until_stopped(claims):
    """The real clock: a schedule firing every minute is claimed within the pass at its time."""
    now = datetime.now(UTC)
    watched = Watched("s", parse("run * * * * *"), since=now - timedelta(minutes=5))
    ticker = ticker_over(claims, watched, interval=0.2)
    ticker.start()
    try:
        deadline = time.monotonic() + 30
        while claims.newest("schedule", "s") is None and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        ticker.stop()
    newest = claims.newest("schedule", "s")
    assert newest is not None and newest <= datetime.now(UTC)
    assert not any(t.name == "mlws-ticker" for t in __import__("threading").enumerate())


def test_two_watcher_processes_act_once_per_tick(any_ws, claims):
    """Two processes, one workspace (SQLite, then PostgreSQL), the same virtual clock in 30 s
    steps for two hours through Berlin's spring-forward jump: every tick of both schedules is
    recorded exactly once, none is missed."""
    start, steps, step_s = datetime(2025, 3, 30, 0, 0, tzinfo=UTC), 240, 30
    end = start + timedelta(seconds=(steps - 1) * step_s)
    go_at = time.time() + 3.0
    script = Path(__file__).with_name("tick_watcher.py")
    procs = [subprocess.Popen([sys.executable, str(script), str(any_ws.root), name, start.isoformat(),
                               str(steps), str(step_s), str(go_at)], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for name in ("w1", "w2")]
    outputs = [p.communicate(timeout=240) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], [err[-2000:] for _out, err in outputs]
    expected = sorted((w.owner_id, f.action, to_ms(f.at)) for w in owners(start)
                      for f in w.schedule.between(start, end))
    assert len(expected) > 100 and set(SCHEDULES) == {o for o, _a, _n in expected}
    # the jump: the 02:30 start fired once, at 01:00 UTC
    assert ("b", "start", to_ms(datetime(2025, 3, 30, 1, 0, tzinfo=UTC))) in expected
    got = recorded(any_ws)
    assert sorted(got) == expected  # none twice, none missed
    claimed = [int(out.strip()) for out, _err in outputs]
    assert sum(claimed) == len(expected)
    with any_ws.db.read() as conn:
        rows = conn.execute(select(func.count()).select_from(actions)).scalar()
    assert rows == len(expected)
    print("claims per watcher:", claimed)


def test_times_round_trip_in_milliseconds():
    assert from_ms(to_ms(T0)) == T0 and from_ms(None) is None
    with pytest.raises(InvalidInput, match="aware"):
        TickClaims.claim(None, Tick("vm", "x", "stop", datetime(2025, 1, 1)))


def test_a_catch_up_claim_stands_only_for_ticks_nobody_claimed(claims):
    """Another watcher claimed 10:02 meanwhile: the catch-up claim of 10:05 stands for the
    ticks after 10:02 only."""
    ten = datetime(2025, 1, 6, 10, 0, tzinfo=UTC)
    claims.claim(Tick("schedule", "s", "run", ten + timedelta(minutes=2)))
    got = claims.claim(Tick("schedule", "s", "run", ten + timedelta(minutes=5), missed_after=ten))
    assert got.tick.missed_after == ten + timedelta(minutes=2)
    assert claims.claims("schedule", "s")[0].missed_after == ten + timedelta(minutes=2)


def test_a_failing_source_is_logged_and_the_loop_does_not_spin(claims, caplog):
    since = datetime(2025, 1, 6, 10, 0, tzinfo=UTC)
    ok = {"fail": False}

    def source():
        if ok["fail"]:
            raise RuntimeError("the VM table is locked")
        return [Watched("s", parse("run * * * * *"), since)]

    ticker = Ticker(claims, interval=30)
    ticker.watch("schedule", source, Handler(record))
    ticker.tick(since + timedelta(seconds=61))
    ok["fail"] = True
    assert ticker.tick(since + timedelta(seconds=200)) == []
    assert "listing the schedule schedules failed" in caplog.text
    assert ticker.next_due() is None and ticker._sleep() == 30  # waits its interval, no busy loop
