"""Cron expressions in a time zone (jupyter_mlws.cron): errors, next fires, due fires, DST days."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from jupyter_mlws.cron import Cron, parse
from jupyter_mlws.errors import InvalidInput

UTC = timezone.utc
BERLIN, NEW_YORK = "Europe/Berlin", "America/New_York"
#: (zone, spring-forward day, fall-back day) in 2025
DST_DAYS = [(BERLIN, (2025, 3, 30), (2025, 10, 26)), (NEW_YORK, (2025, 3, 9), (2025, 11, 2))]


def local(tz: str, *args) -> datetime:
    return datetime(*args, tzinfo=ZoneInfo(tz))


def on_day(cron: Cron, day: tuple) -> list[str]:
    """The fires during the local calendar day, as local wall times with their UTC offset."""
    zone = ZoneInfo(cron.tz)
    start = datetime(*day, tzinfo=zone)
    tick = timedelta(microseconds=1)
    fires = cron.between(start - tick, start + timedelta(days=1) - tick)
    return [f.astimezone(zone).strftime("%H:%M%z") for f in fires]


@pytest.mark.parametrize("expr, message", [
    ("61 * * * *", "the minute field '61'"),
    ("0 25 * * *", "the hour field '25'"),
    ("0 8 32 * *", "the day of month field '32'"),
    ("0 8 * 13 *", "the month field '13'"),
    ("0 8 * * 1-8", "the day of week field '1-8'"),
    ("0 8 * * FOO", "the day of week field 'FOO'"),
    ("*/0 * * * *", "the minute field '*/0'"),
    ("0 0 * * * * *", "has 7 field(s)"),
    ("0 0 * * * 2025", "has 6 field(s)"),
    ("0 8 * *", "has 4 field(s)"),
    ("", "got an empty one"),
    ("@reboot", "unknown cron alias '@reboot'"),
    ("0 0 31 2 *", "never fires"),
])
def test_a_bad_expression_says_which_field_and_what_is_allowed(expr, message):
    with pytest.raises(InvalidInput) as err:
        Cron(expr, BERLIN)
    assert message in str(err.value)


def test_an_unknown_zone_is_refused_by_name():
    with pytest.raises(InvalidInput, match="unknown time zone 'Mars/Olympus'.*IANA"):
        Cron("0 8 * * *", "Mars/Olympus")
    with pytest.raises(InvalidInput, match="unknown time zone '../etc'"):
        Cron("0 8 * * *", "../etc")


def test_names_aliases_and_next_fires_in_a_zone():
    weekdays = Cron("0 8 * * MON-FRI", BERLIN)
    # Friday 2025-03-28 07:00 UTC is 08:00 in Berlin (CET, +01:00); the weekend is skipped
    fires = weekdays.next(datetime(2025, 3, 28, 6, 0, tzinfo=UTC), 3)
    assert [f.astimezone(ZoneInfo(BERLIN)).isoformat() for f in fires] == [
        "2025-03-28T08:00:00+01:00", "2025-03-31T08:00:00+02:00", "2025-04-01T08:00:00+02:00"]
    assert all(f.tzinfo == UTC for f in fires)
    assert Cron("@hourly").next(datetime(2025, 1, 1, 0, 30, tzinfo=UTC), 2) == [
        datetime(2025, 1, 1, 1, tzinfo=UTC), datetime(2025, 1, 1, 2, tzinfo=UTC)]
    # a fire exactly at `after` is not after it; one exactly at `until` is due
    daily = Cron("0 8 * * *", "UTC")
    at8 = datetime(2025, 1, 2, 8, tzinfo=UTC)
    assert daily.next(at8, 1) == [datetime(2025, 1, 3, 8, tzinfo=UTC)]
    assert daily.between(at8 - timedelta(days=1), at8) == [at8]


def test_naive_times_are_refused():
    with pytest.raises(InvalidInput, match="aware datetime"):
        Cron("0 8 * * *").next(datetime(2025, 1, 1))


@pytest.mark.parametrize("tz, spring, fall", DST_DAYS)
def test_a_0230_job_on_spring_forward_day_fires_once_at_the_jump(tz, spring, fall):
    """02:30 does not exist that day: it fires once, at 03:00 local (the instant the clock
    jumps from 02:00 to 03:00, Vixie cron's rule), and normally the days around it."""
    cron = Cron("30 2 * * *", tz)
    offset = {BERLIN: "+0200", NEW_YORK: "-0400"}[tz]
    assert on_day(cron, spring) == [f"03:00{offset}"]
    day_before = (datetime(*spring) - timedelta(days=1)).timetuple()[:3]
    day_after = (datetime(*spring) + timedelta(days=1)).timetuple()[:3]
    assert len(on_day(cron, day_before)) == len(on_day(cron, day_after)) == 1
    jump = {BERLIN: datetime(2025, 3, 30, 1, tzinfo=UTC), NEW_YORK: datetime(2025, 3, 9, 7, tzinfo=UTC)}[tz]
    assert cron.between(jump - timedelta(hours=6), jump + timedelta(hours=6)) == [jump]


@pytest.mark.parametrize("tz, spring, fall", DST_DAYS)
def test_a_job_in_the_repeated_hour_on_fall_back_day_fires_once_at_its_first_occurrence(tz, spring, fall):
    """01:30 in New York and 02:30 in Berlin happen twice that day: each fires once, the first
    time (still on summer time); a 01:30 job in Berlin (no repeat there) fires once as usual."""
    summer = {BERLIN: "+0200", NEW_YORK: "-0400"}[tz]
    repeated = {BERLIN: "30 2 * * *", NEW_YORK: "30 1 * * *"}[tz]
    assert on_day(Cron(repeated, tz), fall) == [f"{repeated.split()[1].zfill(2)}:30{summer}"]
    assert len(on_day(Cron("30 1 * * *", tz), fall)) == 1
    assert len(on_day(Cron("30 2 * * *", tz), fall)) == 1


@pytest.mark.parametrize("tz, spring, fall", DST_DAYS)
def test_a_wildcard_hour_keeps_its_rhythm_in_real_time(tz, spring, fall):
    """``0 * * * *`` fires every real hour: 23 times on the short day, 25 on the long one, and
    ``*/30`` every real half hour (46 and 50)."""
    hourly, half = Cron("0 * * * *", tz), Cron("*/30 * * * *", tz)
    assert (len(on_day(hourly, spring)), len(on_day(hourly, fall))) == (23, 25)
    assert (len(on_day(half, spring)), len(on_day(half, fall))) == (46, 50)
    fall_fires = half.between(local(tz, *fall), local(tz, *fall) + timedelta(days=1))
    gaps = {b - a for a, b in zip(fall_fires, fall_fires[1:])}
    assert gaps == {timedelta(minutes=30)}


def test_two_wall_times_in_the_gap_fire_once_together():
    assert on_day(Cron("0,30 2 * * *", BERLIN), (2025, 3, 30)) == ["03:00+0200"]


def test_next_and_between_agree_across_a_dst_change():
    """The same fires, whichever way they are asked for, in order and without repeats."""
    cron = Cron("*/20 * * * *", NEW_YORK)
    start = local(NEW_YORK, 2025, 11, 1, 22)
    ahead = cron.next(start, 20)
    assert ahead == sorted(set(ahead))
    assert cron.between(start, ahead[-1]) == ahead
    assert cron.between(ahead[5], ahead[12]) == ahead[6:13]


def test_last_finds_the_newest_fires_far_back_cheaply():
    yearly = Cron("0 0 1 1 *", "UTC")
    now = datetime(2025, 6, 1, tzinfo=UTC)
    assert yearly.last(now, 2) == [datetime(2024, 1, 1, tzinfo=UTC), datetime(2025, 1, 1, tzinfo=UTC)]
    assert yearly.last(now, 5, after=datetime(2023, 1, 1, tzinfo=UTC)) == [
        datetime(2024, 1, 1, tzinfo=UTC), datetime(2025, 1, 1, tzinfo=UTC)]
    minutely = Cron("* * * * *", "UTC")
    assert minutely.last(now, 3, after=datetime(2000, 1, 1, tzinfo=UTC)) == [
        now - timedelta(minutes=2), now - timedelta(minutes=1), now]


def test_a_schedule_text_parses_into_entries_and_merges_their_fires():
    schedule = parse("start 0 8 * * 1-5;  stop 0 19 * * 1-5\n", BERLIN, {"start", "stop"})
    assert schedule.text == "start 0 8 * * 1-5; stop 0 19 * * 1-5"
    fires = schedule.next(datetime(2025, 3, 28, 0, tzinfo=UTC), 3)
    assert [(f.action, f.at.astimezone(ZoneInfo(BERLIN)).strftime("%a %H:%M")) for f in fires] == [
        ("start", "Fri 08:00"), ("stop", "Fri 19:00"), ("start", "Mon 08:00")]
    due = schedule.between(datetime(2025, 3, 28, 0, tzinfo=UTC), datetime(2025, 3, 31, 12, tzinfo=UTC))
    assert [f.action for f in due] == ["start", "stop", "start"]
    assert [f.action for f in schedule.last(datetime(2025, 3, 31, 12, tzinfo=UTC), 2)] == ["stop", "start"]


@pytest.mark.parametrize("text, message", [
    ("", "got an empty one"),
    ("  ;  ", "got an empty one"),
    ("begin 0 8 * * *", "schedule entry 1 ('begin 0 8 * * *'): unknown action 'begin'; it starts "
                        "with one of start, stop"),
    ("start 0 8 * * 1-5; stop 0 25 * * 1-5", "schedule entry 2 ('stop 0 25 * * 1-5'): cron "
                                             "expression '0 25 * * 1-5': the hour field '25'"),
    ("start 0 8 * * *; start 0  8 * * *", "schedule entry 2 ('start 0 8 * * *') repeats"),
    ("0 8 * * *", "unknown action '0'"),
])
def test_a_bad_schedule_names_the_entry_and_the_problem(text, message):
    with pytest.raises(InvalidInput) as err:
        parse(text, BERLIN, {"start", "stop"})
    assert message in str(err.value)


def test_a_schedule_in_an_unknown_zone_is_refused_once():
    with pytest.raises(InvalidInput, match="^unknown time zone 'Europe/Berlinn'"):
        parse("start 0 8 * * *", "Europe/Berlinn", {"start"})


def test_any_action_word_when_none_are_listed():
    assert parse("run 30 2 * * *").entries[0].action == "run"
    with pytest.raises(InvalidInput, match="starts with an action"):
        parse("run-now 30 2 * * *")
