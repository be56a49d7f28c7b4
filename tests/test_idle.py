"""The idle rule (jupyter_mlws.vms.idle) on its own, with a controllable clock: what each kind of
observation leads to, the unknown server, postponements, durations.  The same rule against a
real Jupyter server: tests/test_idle_server.py."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from jupyter_mlws.errors import InvalidInput
from jupyter_mlws.vms.activity import KernelActivity, Observation, TerminalActivity
from jupyter_mlws.vms.idle import NONE, STOP, WARN, IdlePolicy, parse_duration

UTC = timezone.utc
START = datetime(2025, 5, 5, 9, 0, tzinfo=UTC)
T = timedelta(minutes=30)
POLICY = IdlePolicy(T)
MIN = timedelta(minutes=1)


def seen(at, *, last=START, kernels=(), terminals=()) -> Observation:
    return Observation(at, True, started=START, last_activity=last, kernels=tuple(kernels),
                       terminals=tuple(terminals))


def silent(at, error="the Jupyter server did not answer: connection refused") -> Observation:
    return Observation(at, False, error=error)


def kernel(state="idle", last=START, connections=0) -> KernelActivity:
    return KernelActivity("3f1c9a2e-0000", "python3", state, last, connections)


def test_a_server_never_used_stops_t_after_it_started_with_a_warning_first():
    assert POLICY.decide(START + 19 * MIN, [seen(START + 19 * MIN)]).action == NONE
    warn = POLICY.decide(START + 21 * MIN, [seen(START + 21 * MIN)])
    assert warn.action == WARN and warn.stop_at == START + T and warn.idle_since == START
    assert "the Jupyter server started" in warn.reason
    stop = POLICY.decide(START + T, [seen(START + T)])
    assert stop.action == STOP and "idle since 2025-05-05 09:00:00 UTC" in stop.reason


def test_a_busy_kernel_keeps_it_up_however_long():
    now = START + timedelta(days=3)
    decision = POLICY.decide(now, [seen(now, kernels=[kernel("busy")])])
    assert decision.action == NONE and decision.idle_since is None
    assert "kernel python3 (3f1c9a2e) is busy" in decision.reason


@pytest.mark.parametrize("kernel_state", ["starting", "restarting"])
def test_a_starting_kernel_counts_for_a_few_minutes_only(kernel_state):
    """jupyter_server says ``starting`` for ever of a kernel nobody connected to."""
    soon, later = START + 2 * MIN, START + T
    assert POLICY.decide(soon, [seen(soon, kernels=[kernel(kernel_state)])]).reason == \
        f"in use: kernel python3 (3f1c9a2e) is {kernel_state}"
    assert POLICY.decide(later, [seen(later, kernels=[kernel(kernel_state)])]).action == STOP


def test_a_browser_connection_counts_until_its_kernel_was_quiet_for_the_connection_limit():
    tab = kernel(last=START, connections=2)
    hours = [POLICY.decide(START + timedelta(hours=h), [seen(START + timedelta(hours=h), kernels=[tab])])
             for h in (1, 11, 13)]
    assert [d.action for d in hours] == [NONE, NONE, STOP]
    assert "2 browser connection(s)" in hours[0].reason


def test_the_newest_activity_of_any_kind_restarts_the_idle_time():
    typed = START + 2 * timedelta(hours=1)
    obs = seen(typed + 25 * MIN, last=START, kernels=[kernel(last=START + MIN)],
               terminals=[TerminalActivity("1", typed)])
    decision = POLICY.decide(typed + 25 * MIN, [obs])
    assert decision.action == WARN and decision.idle_since == typed and "terminal 1" in decision.reason
    later = seen(typed + T, terminals=[TerminalActivity("1", typed)])
    assert POLICY.decide(typed + T, [later]).action == STOP


def test_activity_stamped_a_little_in_the_future_counts_as_now():
    now = START + timedelta(hours=5)
    decision = POLICY.decide(now, [seen(now, last=now + timedelta(seconds=3))])
    assert decision.idle_since == now and decision.action == NONE


def test_a_run_in_flight_means_no_stop_and_no_warning_and_its_end_restarts_the_time():
    now = START + timedelta(hours=6)
    assert POLICY.decide(now, [seen(now)], runs_in_flight=1).action == NONE
    assert "1 mlws run(s) in flight" in POLICY.decide(now, [seen(now)], runs_in_flight=1).reason
    ended = POLICY.decide(now, [seen(now)], last_run_ended=now - 5 * MIN)
    assert ended.action == NONE and "the last mlws run on it ended" in ended.reason
    assert POLICY.decide(now, [seen(now)], last_run_ended=now - T).action == STOP


def test_a_scheduled_run_due_within_t_of_the_stop_holds_it():
    now = START + timedelta(hours=2)
    held = POLICY.decide(now, [seen(now)], next_scheduled_run=now + 20 * MIN)
    assert held.action == NONE and "a scheduled run is due at 2025-05-05 11:20:00 UTC" in held.reason
    # no warning either while the stop would meet the run
    warn_time = START + 25 * MIN
    assert POLICY.decide(warn_time, [seen(warn_time)], next_scheduled_run=START + T + 20 * MIN).action == NONE
    assert POLICY.decide(now, [seen(now)], next_scheduled_run=now + T + MIN).action == STOP


def test_a_postponement_moves_the_stop_and_the_warning():
    now = START + T
    later = now + timedelta(hours=1)
    assert POLICY.decide(now, [seen(now)], postponed_until=later).action == NONE
    warn = POLICY.decide(later - 5 * MIN, [seen(later - 5 * MIN)], postponed_until=later)
    assert warn.action == WARN and warn.stop_at == later and "postponed until" in warn.reason
    assert POLICY.decide(later, [seen(later)], postponed_until=later).action == STOP
    # a postponement already past changes nothing
    assert POLICY.decide(now, [seen(now)], postponed_until=now - MIN).action == STOP


def test_an_unreachable_server_is_unknown_then_stops_after_the_limit():
    """Known idle since START, then silent from START+10 min: no stop at T (unknown is not
    idle), a warning 10 minutes before the unknown limit ends, the stop at it."""
    known = seen(START + 10 * MIN)
    quiet = START + 11 * MIN

    def at(minutes):
        now = START + minutes * MIN
        return POLICY.decide(now, [known, silent(quiet), silent(now)])
    assert at(40).action == NONE and "unknown since 2025-05-05 09:11:00 UTC" in at(40).reason
    assert "connection refused" in at(40).reason
    assert at(62).action == WARN
    assert at(71).action == STOP and at(71).stop_at == quiet + timedelta(hours=1)


def test_an_unknown_server_stops_only_when_both_the_limit_and_t_have_passed():
    """Silent for longer than the unknown limit, yet active T ago at most: it waits for T."""
    policy = IdlePolicy(T, unknown_limit=10 * MIN)
    typed = START + timedelta(hours=3)
    known = seen(typed, terminals=[TerminalActivity("1", typed)])

    def at(minutes):
        now = typed + minutes * MIN
        return policy.decide(now, [known, silent(typed + MIN), silent(now)])
    assert [at(m).action for m in (12, 25, 30)] == [NONE, WARN, STOP]
    assert at(30).stop_at == typed + T and "last activity seen: terminal 1" in at(30).reason


def test_a_server_never_reached_stops_after_the_unknown_limit():
    first = START + MIN
    assert POLICY.decide(first, [silent(first)]).action == NONE
    hour = first + timedelta(hours=1)
    assert POLICY.decide(hour, [silent(first), silent(hour)]).action == STOP
    assert "not observed yet" in POLICY.decide(START, []).reason


def test_an_old_observation_says_nothing_about_now():
    stale = seen(START, kernels=[kernel("busy", last=START)])
    decision = POLICY.decide(START + timedelta(minutes=20), [stale])
    assert decision.action == NONE and "no recent observation" in decision.reason
    assert POLICY.decide(START + timedelta(hours=2), [stale]).action == STOP


def test_a_short_timeout_warns_in_its_second_half_only():
    short = IdlePolicy(timedelta(minutes=4))
    assert short.decide(START + MIN, [seen(START + MIN)]).action == NONE
    assert short.decide(START + 3 * MIN, [seen(START + 3 * MIN)]).action == WARN


@pytest.mark.parametrize("text, minutes", [("30m", 30), ("1h30m", 90), ("2h", 120), ("90s", 1.5),
                                           ("1d", 1440), ("45", 45), (" 1H 5M ", 65)])
def test_durations_parse(text, minutes):
    assert parse_duration(text) == timedelta(minutes=minutes)


@pytest.mark.parametrize("text", ["", "m", "30x", "-5m", "0m", "1.5h", "5m30", "soon"])
def test_a_bad_duration_says_what_a_duration_looks_like(text):
    with pytest.raises(InvalidInput, match="a duration|longer than zero"):
        parse_duration(text)


def test_a_policy_refuses_a_tiny_timeout_and_negative_limits():
    with pytest.raises(InvalidInput, match="at least 0:01:00"):
        IdlePolicy.from_text("30s")
    with pytest.raises(InvalidInput, match="warn_before cannot be negative"):
        IdlePolicy(T, warn_before=-MIN)
    assert IdlePolicy.from_text("2h").timeout == timedelta(hours=2)
    with pytest.raises(InvalidInput, match="aware"):
        POLICY.decide(datetime(2025, 1, 1), [])
