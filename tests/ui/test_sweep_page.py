"""A sweep parent's page: the grid, the children with their params and final metrics (the best
marked by a chosen metric and direction, sortable), parallel coordinates and a scatter, from a real
notebook sweep (``ws.submit_notebook(..., grid=...)``: six children, about 5 s)."""

from __future__ import annotations

import json
import urllib.request

import pytest

from .conftest import SCREENSHOTS
from .conftest import open_page
from .test_compare import make_older, vega_marks

GRID = {"lr": [0.01, 0.1, 0.3], "depth": [2, 4]}
TRAIN = """import jupyter_mlws as mlws
loss = 1.0
for epoch in range(5):
    loss *= 1 - lr / depth
    mlws.log('loss', loss)
mlws.log('acc', round(1 - loss / (1 + depth), 4))"""


@pytest.fixture(scope="module")
def sweep(lab):
    """A notebook sweep over GRID in the served workspace, ended; returns the parent and children."""
    import nbformat

    from jupyter_mlws import Workspace

    folder = lab["root"].parent / "wine-sweep"
    folder.mkdir()
    params = nbformat.v4.new_code_cell("lr = 0.1\ndepth = 2")
    params.metadata["tags"] = ["parameters"]
    nb = nbformat.v4.new_notebook(cells=[params, nbformat.v4.new_code_cell(TRAIN)])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, folder / "train.ipynb")
    with Workspace.open(lab["root"]) as ws:
        parent = ws.submit_notebook(folder / "train.ipynb", grid=GRID, max_parallel=3,
                                    experiment="wine", wait=True)
        assert parent.status == "completed", parent.record.error
        children = {(float(k.params["lr"]), int(k.params["depth"])): k.record for k in parent.children()}
        make_older(ws, "wine")
    return {"parent": parent.id, "children": children}


#: children of the large sweep: one more than the page draws
BIG = 1001


@pytest.fixture(scope="module")
def big_sweep(lab):
    """A sweep parent with BIG children (recorded through the run service: seconds, not a
    notebook each) whose best child by acc is the last one, past the drawn 1,000; its grid tag
    is cut (as a too long one is), so the page reads the grid off the children."""
    from jupyter_mlws import Workspace
    from jupyter_mlws.runs import COMPLETED, now_ms

    with Workspace.open(lab["root"]) as ws:
        cut = json.dumps({"seed": list(range(BIG))})[:40]
        parent = ws.runs.create("big", name="big-sweep", source_type="sweep", tags={"grid": cut})
        for i in range(BIG):
            kid = ws.runs.create("big", name=f"seed-{i:04d}", parent_id=parent.id)
            ws.runs.log_params(kid.id, {"seed": i})
            acc = 0.99 if i == BIG - 1 else 0.5 + i / (4 * BIG)
            ws.runs.write_points(kid.id, [("acc", acc, 0, now_ms())])
            ws.runs.end(kid.id, COMPLETED)
        ws.runs.end(parent.id, COMPLETED)
        make_older(ws, "big")
    return parent.id


#: a sweep whose params have long names and many values (text ones too): its charts must fit them
LONG = {"learning_rate_initial_value": [0.0001, 0.0003, 0.001, 0.003, 0.01, 0.03],
        "maximum_tree_depth_per_estimator": [2, 4, 8],
        "optimizer_algorithm_name": ["adam_with_decoupled_weight_decay", "sgd_with_nesterov_momentum",
                                     "rmsprop_centered_variant"],
        "minimum_samples_per_leaf_node": [1, 5]}
#: children of that sweep; each also has an l2_regularisation_strength of 0.0 to 1.0 (21 values)
LONG_CHILDREN = 40


def long_params(i: int) -> dict:
    keys = list(LONG)
    return {keys[0]: LONG[keys[0]][i % 6], keys[1]: LONG[keys[1]][i // 6 % 3], keys[2]: LONG[keys[2]][i // 2 % 3],
            keys[3]: LONG[keys[3]][i // 3 % 2], "l2_regularisation_strength": round(i % 21 * 0.05, 2)}


def long_accuracy(i: int) -> float:
    """By the learning rate and the depth only, to two digits: children i and i + 18 tie."""
    return round(0.6 + 0.04 * (i % 6) + 0.03 * (i // 6 % 3), 2)


@pytest.fixture(scope="module")
def long_sweep(lab):
    """A sweep parent with LONG_CHILDREN children over LONG (recorded through the run service)."""
    from jupyter_mlws import Workspace
    from jupyter_mlws.runs import COMPLETED, now_ms

    with Workspace.open(lab["root"]) as ws:
        parent = ws.runs.create("long-names", name="long-names", source_type="sweep",
                                tags={"grid": json.dumps(LONG)})
        for i in range(LONG_CHILDREN):
            kid = ws.runs.create("long-names", name=f"trial-{i:02d}", parent_id=parent.id)
            ws.runs.log_params(kid.id, long_params(i))
            ws.runs.write_points(kid.id, [("validation_accuracy", long_accuracy(i), 0, now_ms())])
            ws.runs.end(kid.id, COMPLETED)
        ws.runs.end(parent.id, COMPLETED)
        make_older(ws, "long-names")
    return parent.id


def overlapping_texts(chart) -> list[list[str]]:
    """Pairs of texts of a drawn Vega chart whose boxes overlap (by more than a pixel)."""
    return chart.locator("svg").evaluate("""svg => {
        const boxes = [...svg.querySelectorAll('text')].filter(t => t.textContent.trim())
          .map(t => [t.textContent, t.getBoundingClientRect()]);
        const pairs = [];
        boxes.forEach(([a, p], i) => boxes.slice(i + 1).forEach(([b, q]) => {
          if (Math.min(p.right, q.right) - Math.max(p.left, q.left) > 1
              && Math.min(p.bottom, q.bottom) - Math.max(p.top, q.top) > 1) pairs.push([a, b]);
        }));
        return pairs; }""")


def row_texts(view) -> list[list[str]]:
    rows = view.locator(".mlws-SweepChildren tr.mlws-ResultRow").all()
    return [row.locator("td").all_inner_texts() for row in rows]


def test_a_sweep_shows_its_grid_children_and_best_child(page, lab, sweep):
    best = max(sweep["children"].values(), key=lambda r: r.metrics["acc"])
    assert (best.params["lr"], best.params["depth"]) == ("0.3", "4")
    open_page(page, lab, {"kind": "run", "id": sweep["parent"]})
    view = page.locator(".mlws-Sweep[data-loaded='true']")
    view.wait_for()
    # the grid as recorded on the parent
    assert view.locator(".mlws-GridTable caption").inner_text() == "Grid"
    grid = view.locator(".mlws-GridTable")
    assert grid.locator("tr[data-param='lr'] .mlws-Chip").all_inner_texts() == ["0.01", "0.1", "0.3"]
    assert grid.locator("tr[data-param='depth'] .mlws-Chip").all_inner_texts() == ["2", "4"]
    assert "6 completed" in view.locator(".mlws-SweepCounts").inner_text()
    # ranked as the runs table ranks the experiment (src/ranking.ts): by the loss, lowest first
    assert view.locator(".mlws-BestMetric").input_value() == "loss"
    assert view.locator(".mlws-BestDirection").input_value() == "min"
    lowest = min(sweep["children"].values(), key=lambda r: r.metrics["loss"])
    assert float(row_texts(view)[0][5]) == pytest.approx(lowest.metrics["loss"], rel=1e-3)
    # picking acc ranks it highest first, by itself
    view.locator(".mlws-BestMetric").select_option("acc")
    assert view.locator(".mlws-BestDirection").input_value() == "max"
    # the children with params and final metrics, best first by acc (highest), marked
    header = view.locator(".mlws-SweepChildren thead th").all_inner_texts()
    assert [h.strip(" ▼▲") for h in header] == ["Run", "Status", "lr", "depth", "acc", "loss"]
    rows = row_texts(view)
    assert len(rows) == 6
    accs = [float(r[4]) for r in rows]
    assert accs == sorted(accs, reverse=True)
    marked = view.locator(".mlws-SweepChildren tr.mlws-Best")
    assert marked.count() == 1 and "★ best" in marked.inner_text()
    assert marked.locator("td.mlws-Col-param").all_inner_texts() == ["0.3", "4"]
    # parallel coordinates: a line per child over lr, depth and acc; the scatter: a point per child
    assert vega_marks(view, ".mlws-Parallel", "line").count() == 6
    axes = view.locator(".mlws-Parallel svg g[class*='mlws_titles'] text").all_text_contents()
    assert axes == ["lr", "depth", "acc"]
    assert vega_marks(view, ".mlws-ScatterPlot", "symbol").count() == 6
    page.screenshot(path=str(SCREENSHOTS / "sweep.png"))


def test_the_best_follows_the_chosen_metric_and_direction_and_columns_sort(page, lab, sweep):
    lowest = min(sweep["children"].values(), key=lambda r: r.metrics["loss"])
    open_page(page, lab, {"kind": "run", "id": sweep["parent"]})
    view = page.locator(".mlws-Sweep[data-loaded='true']")
    view.wait_for()
    view.locator(".mlws-BestMetric").select_option("loss")
    view.locator(".mlws-BestDirection").select_option("min")
    marked = view.locator(".mlws-SweepChildren tr.mlws-Best")
    params = marked.locator("td.mlws-Col-param").all_inner_texts()
    assert params == [lowest.params["lr"], lowest.params["depth"]]
    assert [float(r[5]) for r in row_texts(view)][0] == pytest.approx(lowest.metrics["loss"], rel=1e-3)
    # a header is a button: sort by lr (ascending), then again (descending)
    view.locator(".mlws-SweepChildren thead button", has_text="lr").click()
    assert [r[2] for r in row_texts(view)] == ["0.01", "0.01", "0.1", "0.1", "0.3", "0.3"]
    view.locator(".mlws-SweepChildren thead button", has_text="lr").press("Enter")
    assert [r[2] for r in row_texts(view)][:2] == ["0.3", "0.3"]
    # the scatter takes any param against any metric
    view.locator(".mlws-ScatterParam").select_option("depth")
    view.locator(".mlws-ScatterMetric").select_option("acc")
    titles = view.locator(".mlws-ScatterPlot svg g.role-axis-title text").all()
    assert sorted((title.locator("tspan").all_text_contents() or [title.text_content()])[0] for title in titles) \
        == ["acc", "depth"]
    assert vega_marks(view, ".mlws-ScatterPlot", "symbol").count() == 6


def _theme(lab, name: str | None) -> None:
    raw = json.dumps({"theme": name} if name else {})
    req = urllib.request.Request(f"{lab['url']}lab/api/settings/@jupyterlab/apputils-extension:themes",
                                 data=json.dumps({"raw": raw}).encode(), method="PUT",
                                 headers={"Authorization": f"token {lab['token']}",
                                          "Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=30) as resp:
        assert resp.status == 204


def test_the_sweep_page_follows_the_dark_theme(page, lab, sweep):
    _theme(lab, "JupyterLab Dark")
    try:
        open_page(page, lab, {"kind": "run", "id": sweep["parent"]})
        page.wait_for_selector("body[data-jp-theme-light='false']", state="attached")
        view = page.locator(".mlws-Sweep[data-loaded='true']")
        view.wait_for()
        assert vega_marks(view, ".mlws-Parallel", "line").count() == 6
        # the charts' text is the theme's (light on dark), read from its CSS variables
        label = view.locator(".mlws-Parallel svg g[class*='mlws_titles'] text").first
        color = page.evaluate(
            "getComputedStyle(document.body).getPropertyValue('--jp-ui-font-color1').trim()")
        assert label.get_attribute("fill") == color
        page.screenshot(path=str(SCREENSHOTS / "sweep-dark.png"))
    finally:
        _theme(lab, None)


def test_a_large_sweep_draws_its_first_1000_children_and_its_best_of_all(page, lab, big_sweep):
    open_page(page, lab, {"kind": "run", "id": big_sweep})
    view = page.locator(".mlws-Sweep[data-loaded='true']")
    view.wait_for(timeout=60_000)
    note = view.locator(".mlws-Note").inner_text()
    assert note == ("This sweep has more than 1000 children: the table and charts show the first 1000, "
                    "and its best child of all.")
    assert "read off the children" in view.locator(".mlws-GridTable caption").inner_text()
    seeds = view.locator(".mlws-GridTable tr[data-param='seed']")
    assert seeds.locator(".mlws-Chip").count() == 24 and "and 976 more" in seeds.inner_text()
    assert view.locator(".mlws-SweepChildren tr.mlws-ResultRow").count() == 1001
    best = view.locator(".mlws-SweepChildren tr.mlws-Best")
    assert best.locator("td").first.inner_text() == "seed-1000★ best"
    assert vega_marks(view, ".mlws-Parallel", "line").count() == 1001


def test_long_param_names_and_shared_values_stay_readable(page, lab, long_sweep):
    open_page(page, lab, {"kind": "run", "id": long_sweep})
    view = page.locator(".mlws-Sweep[data-loaded='true']")
    view.wait_for()
    params = [*LONG, "l2_regularisation_strength"]
    assert vega_marks(view, ".mlws-Parallel", "line").count() == LONG_CHILDREN
    parallel = view.locator(".mlws-Parallel")
    # every axis is titled under it: in full, or cut with "…" where it would reach the next title
    titles = parallel.locator("svg g[class*='mlws_titles'] text").all_text_contents()
    assert len(titles) == len(params) + 1
    for title, full in zip(sorted(titles), sorted([*params, "validation_accuracy"])):
        assert title == full or (title.endswith("…") and full.startswith(title[:-1])), (title, full)
    assert any(t.endswith("…") for t in titles)  # these names are too long for the room they have
    # ... and no text of the chart (titles, values, legend) overlaps another
    assert overlapping_texts(parallel) == []
    # a cut title's tooltip names it in full
    cut = parallel.locator("svg g[class*='mlws_titles'] text", has_text="…").first
    full = next(p for p in [*params, "validation_accuracy"] if p.startswith(cut.text_content()[:-1]))
    cut.hover()
    tooltip = page.locator("#vg-tooltip-element")
    tooltip.wait_for()
    assert full in tooltip.inner_text()
    page.mouse.move(0, 0)

    # the scatter: a column per learning rate; children with the same rate and accuracy (i, i + 18)
    # are set side by side in the column, not drawn on each other, and the axis title says so
    scatter = view.locator(".mlws-Scatter")
    assert scatter.locator(".mlws-ScatterParam").input_value() == params[0]
    symbols = vega_marks(scatter, ".mlws-ScatterPlot", "symbol")
    assert symbols.count() == LONG_CHILDREN
    spots = [(long_params(i)[params[0]], long_accuracy(i)) for i in range(LONG_CHILDREN)]
    assert len(set(spots)) < LONG_CHILDREN  # ties in the data...
    where = symbols.evaluate_all("ps => ps.map(p => p.getAttribute('transform'))")
    assert len(set(where)) == LONG_CHILDREN  # ... none of them hidden
    x_title = scatter.locator("svg g.role-axis-title text tspan").all_text_contents()
    assert x_title == [params[0], "(overlapping runs set side by side)"]
    view.locator(".mlws-ChartRow").scroll_into_view_if_needed()
    page.screenshot(path=str(SCREENSHOTS / "sweep-long-names.png"))

    # a param of many numbers keeps a number axis, its lowest and highest points off the plot's edges
    scatter.locator(".mlws-ScatterParam").select_option("l2_regularisation_strength")
    scatter.locator("svg g.role-axis-title text", has_text="l2_regularisation_strength").wait_for()
    domains = [line.bounding_box() for line in scatter.locator("svg g.role-axis-domain line").all()]
    domain = max(domains, key=lambda box: box["width"])  # the x axis'
    boxes = [symbols.nth(i).bounding_box() for i in range(symbols.count())]
    assert len(boxes) == LONG_CHILDREN
    assert min(b["x"] for b in boxes) > domain["x"] + 2
    assert max(b["x"] + b["width"] for b in boxes) < domain["x"] + domain["width"] - 2
