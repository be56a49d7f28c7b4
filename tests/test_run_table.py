"""What a runs table gets besides the records (jupyter_mlws.run_table through RunService.search):
child counts, metric ranges over all points, the experiments' keys, and sorting by a metric's
smallest or largest value; on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest

from jupyter_mlws.errors import InvalidInput


@pytest.fixture
def sweep(any_ws):
    """A sweep parent with three children (loss dips then rises), a lone run, another experiment."""
    exp = any_ws.experiment("sweep")
    ids = {}
    with exp.start_run("parent", snapshot=False, outputs=None) as parent:
        for name, series in (("a", [0.9, 0.2, 0.5]), ("b", [0.8, 0.4, 0.3]), ("c", [0.7, 0.6, 0.1])):
            with parent.child(name) as child:
                child.log_params({"lr": len(series) * 0.1, name: 1})
                child.log_batch("loss", series)
                child.set_tag("kind", "child")
                ids[name] = child.id
        ids["parent"] = parent.id
    with exp.start_run("lone", snapshot=False, outputs=None) as run:
        run.log_batch("loss", [0.05, float("nan"), 0.6])
        run.log("acc", float("inf"))
        ids["lone"] = run.id
    with any_ws.experiment("other").start_run("elsewhere", snapshot=False, outputs=None) as run:
        run.log_param("other_param", 1)
        run.log("other_metric", 1.0)
    return ids


def _ids(page):
    return [r.id for r in page.runs]


def test_top_level_runs_with_their_child_counts(any_ws, sweep):
    page = any_ws.runs.search(["parent_id IS NULL"], experiments=["sweep"], children=True)
    assert _ids(page) == [sweep["lone"], sweep["parent"]]  # newest first
    assert page.children == {sweep["parent"]: 3}  # runs without children are left out
    kids = any_ws.runs.search(f"parent_id = '{sweep['parent']}'", order_by=["start_time"], children=True)
    assert _ids(kids) == [sweep["a"], sweep["b"], sweep["c"]] and kids.children == {}
    assert any_ws.runs.search(["parent_id IS NULL"]).children is None  # not asked


def test_metric_ranges_cover_every_point(any_ws, sweep):
    page = any_ws.runs.search("tags.kind = 'child' or name = 'lone'", ranges=["loss", "acc", "nope"],
                              order_by=["name"])
    assert page.ranges[sweep["a"]] == {"loss": {"min": 0.2, "max": 0.9}}
    assert page.ranges[sweep["c"]] == {"loss": {"min": 0.1, "max": 0.7}}
    # NaN points are left out; infinities travel as JSON can carry them
    assert page.ranges[sweep["lone"]] == {"loss": {"min": 0.05, "max": 0.6}, "acc": {"min": "inf", "max": "inf"}}
    assert any_ws.runs.search("name = 'parent'", ranges=["loss"]).ranges == {}


def test_keys_of_the_experiments_searched(any_ws, sweep):
    page = any_ws.runs.search(experiments=["sweep"], max_results=1, keys=True)
    assert page.keys == {"params": ["a", "b", "c", "lr"], "metrics": ["acc", "loss"], "tags": ["kind"]}
    everything = any_ws.runs.search("name = 'nothing'", keys=True).keys  # whatever the filter
    assert everything["params"] == ["a", "b", "c", "lr", "other_param"]
    assert everything["metrics"] == ["acc", "loss", "other_metric"]


def test_sort_by_a_metrics_smallest_or_largest_value(any_ws, sweep):
    children = f"parent_id = '{sweep['parent']}'"
    # latest loss: a 0.5, b 0.3, c 0.1; smallest ever: a 0.2, b 0.3, c 0.1; largest: a .9, b .8, c .7
    assert _ids(any_ws.runs.search(children, order_by=["metrics.loss"])) == [sweep[k] for k in "cba"]
    assert _ids(any_ws.runs.search(children, order_by=["min(metrics.loss)"])) == [sweep[k] for k in "cab"]
    assert _ids(any_ws.runs.search(children, order_by=["max(metrics.loss) DESC"])) == [sweep[k] for k in "abc"]
    # the parent, which logged no loss, sorts last both ways (lone's smallest is 0.05)
    order = [sweep[k] for k in ("b", "a", "c", "lone", "parent")]
    assert _ids(any_ws.runs.search(experiments=["sweep"], order_by=["min(metrics.loss) DESC"])) == order
    assert _ids(any_ws.runs.search(experiments=["sweep"], order_by=["min(metrics.loss)"])) == (
        order[3::-1] + order[4:])


def test_pages_of_several_filters_keep_their_query(any_ws, sweep):
    first = any_ws.runs.search(["tags.kind = 'child'", "metrics.loss < 1"], max_results=2, order_by=["name"])
    assert len(first.runs) == 2 and first.next_page_token
    rest = any_ws.runs.search(["tags.kind = 'child'", "metrics.loss < 1"], max_results=2, order_by=["name"],
                              page_token=first.next_page_token)
    assert _ids(rest) == [sweep["c"]]
    with pytest.raises(InvalidInput, match="does not belong to this search|page token"):
        any_ws.runs.search(["tags.kind = 'child'"], max_results=2, order_by=["name"],
                           page_token=first.next_page_token)


def test_bad_input_says_what_is_wrong(any_ws, sweep):
    with pytest.raises(InvalidInput) as info:
        any_ws.runs.search(["parent_id IS NULL", "metrics.loss <"])
    assert str(info.value).split("\n")[1:3] == ["  metrics.loss <", "                ^"]  # its own caret
    with pytest.raises(InvalidInput, match="at most 50 metrics"):
        any_ws.runs.search(ranges=[f"m{i}" for i in range(51)])
    with pytest.raises(InvalidInput, match="metric name"):
        any_ws.runs.search(ranges=[""])
