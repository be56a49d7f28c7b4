"""The timeline of an endpoint's requests: stored 10 s buckets regrouped into equal buckets."""

import pytest

from jupyter_mlws.endpoints.reports import check_buckets, timeline, timeline_grid
from jupyter_mlws.endpoints.serving.monitor import BOUNDS, bin_of
from jupyter_mlws.errors import InvalidInput


def _row(dep, start, count, errors=0, ms=2.0):
    return {"deployment": dep, "bucket_start": start, "count": count, "errors": errors,
            "statuses": {"200": count - errors, "500": errors}, "latency": {str(bin_of(ms)): count},
            "latency_sum_ms": ms * count}


def test_buckets_are_whole_stored_buckets_ending_with_the_current_one():
    end = 1_000_000_123
    first, width = timeline_grid(end - 600_000, end, 60)
    assert width == 10_000 and first % 10_000 == 0
    assert first + 59 * width <= end < first + 60 * width  # the last bucket holds "now"
    assert timeline_grid(end - 3_600_000, end, 7)[1] == 520_000  # 514.3 s, rounded up to 10 s
    assert timeline_grid(end - 5_000, end, 100)[1] == 10_000  # never finer than what is stored


def test_rows_land_in_their_bucket_per_deployment_and_empty_buckets_stay():
    end = 1_000_000_000
    first, _ = timeline_grid(end - 60_000, end, 3)  # 3 buckets of 20 s
    rows = [_row("blue", first, 6), _row("blue", first + 10_000, 4, errors=1, ms=50.0),
            _row("green", first + 40_000, 2), _row("blue", first - 10_000, 99)]  # the last is before
    line = timeline(rows, end - 60_000, end, 3)
    assert line["bucket_s"] == 20
    blue, green = line["deployments"]["blue"], line["deployments"]["green"]
    assert [p["t"] for p in blue] == [first, first + 20_000, first + 40_000] == [p["t"] for p in green]
    assert [(p["count"], p["errors"]) for p in blue] == [(10, 1), (0, 0), (0, 0)]
    assert [p["count"] for p in green] == [0, 0, 2]
    assert blue[0]["p50"] <= BOUNDS[bin_of(2.0)] and blue[0]["p99"] > 40.0  # 4 of 10 took 50 ms
    assert blue[1]["p50"] is blue[1]["p95"] is blue[1]["p99"] is None


@pytest.mark.parametrize("bad", [0, 1001, -1, 2.5, True, "10", None])
def test_a_bad_number_of_buckets_is_refused(bad):
    with pytest.raises(InvalidInput, match="buckets must be a whole number from 1 to 1000"):
        check_buckets(bad)
