"""An endpoint's page in a real JupyterLab and a real browser, against one real endpoint serving
a real sklearn model: charts of requests over time drawn after calls from the test box, drift per
feature, keys masked and copied, the log, a second deployment with a 90/10 traffic split, and
live updates through the server's events (nothing polls)."""

from __future__ import annotations

import json
import shutil
import time

import pytest

from .conftest import SCREENSHOTS, lab_api
from .conftest import palette

pytest.importorskip("sklearn")
pytest.importorskip("uvicorn")

SAMPLE = {"data": [[5.1, 3.5, 1.4, 0.2], [6.7, 3.0, 5.2, 2.3]]}  # a setosa and a virginica
MODEL = "petal"
ENDPOINT = "petal-ep"
#: 120 rows like the training data's: enough sampled rows for a drift verdict
ROWS = [[5.0 + i % 20 / 10, 3.0 + i % 10 / 10, 1.5 + i % 40 / 10, 0.2 + i % 20 / 10] for i in range(120)]


@pytest.fixture(scope="module")
def endpoint(lab):
    """petal:1 (with its training data) served by one endpoint sampling every request; petal:2
    for a second deployment.  The endpoint is removed at the end."""
    from mlws_testing import iris_model

    from jupyter_mlws import Workspace

    root = lab["root"].parent
    with Workspace.open(lab["root"]) as ws:
        _, X = iris_model(root / "petal-1")
        ws.models.register(MODEL, root / "petal-1", training_data=X.tolist())
        iris_model(root / "petal-2", C=0.3)
        ws.register_model(MODEL, root / "petal-2")
        script = lab["root"] / "serving" / "score_petal.py"  # a scoring script in a folder
        script.parent.mkdir(exist_ok=True)
        shutil.copy(lab["root"] / "score.py", script)
        ws.deploy(f"{MODEL}:1", ENDPOINT, script, sample_rate=1.0, flush_interval=0.5)
    yield ENDPOINT
    assert lab_api(lab, "DELETE", f"endpoints/{ENDPOINT}")[0] == 204


def _open(page):
    palette(page, "Endpoints")
    row = page.locator(f"#jp-main-dock-panel .mlws-EndpointsPage .mlws-EndpointRow[data-endpoint='{ENDPOINT}']")
    row.wait_for()
    assert row.get_attribute("data-state") == "healthy"
    row.locator(".mlws-EndpointOpen").click()
    view = page.locator(f"#jp-main-dock-panel .mlws-EndpointPage[data-endpoint='{ENDPOINT}']")
    view.locator(".mlws-Deployments").wait_for()
    return view


def _send(view, data) -> None:
    view.locator(".mlws-EndpointTest .mlws-TestInput").fill(json.dumps(data))
    view.locator(".mlws-TestSend").click()


def test_charts_drift_keys_and_log(page, lab, endpoint):
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    view = _open(page)
    assert view.locator(".mlws-NoRequests").is_visible()  # nothing served yet

    # the test box starts from what the scoring script's input_schema accepts (4 numbers a row)
    box = view.locator(".mlws-EndpointTest .mlws-TestInput")
    page.wait_for_function("el => el.value !== ''", arg=box.element_handle())
    assert json.loads(box.input_value()) == {"data": [[0, 0, 0, 0]]}
    assert view.locator(".mlws-TestHint").count() == 0
    # the model's predictions; bad JSON gets the server's message verbatim
    _send(view, SAMPLE)
    output = view.locator(".mlws-TestOutput")
    output.wait_for()
    assert json.loads(output.inner_text())["predictions"] == [0, 2]
    view.locator(".mlws-EndpointTest .mlws-TestInput").fill("{not json")
    view.locator(".mlws-TestSend").click()
    error = view.locator(".mlws-TestError")
    error.wait_for()
    bad = lab_api(lab, "POST", f"endpoints/{ENDPOINT}/invoke", b"{not json")
    assert bad[0] == 400 and error.inner_text() == bad[1]["message"]
    for _ in range(2):
        _send(view, {"data": ROWS})
        output.wait_for()

    # the charts, drawn once the calls reach the page through the server's events
    requests = view.locator(".mlws-RequestsChart")
    page.wait_for_function(
        "Number(document.querySelector('.mlws-EndpointPage .mlws-RequestsChart')?.dataset.sum ?? 0) >= 3",
        timeout=30_000)
    for chart in ("mlws-RequestsChart", "mlws-ErrorsChart", "mlws-LatencyChart"):
        assert view.locator(f".{chart} canvas").count() == 1, chart
    assert requests.get_attribute("data-series") == "1"  # one deployment
    assert view.locator(".mlws-LatencyChart").get_attribute("data-series") == "3"  # p50, p95, p99
    assert view.locator(".mlws-Totals").get_attribute("data-count") == "3"
    # in a narrow panel the charts go one under the other, each redrawn within it (none cut off)
    view.evaluate("v => { v.style.width = '260px'; }")
    page.wait_for_function(
        """() => { const page = document.querySelector('.mlws-EndpointPage').getBoundingClientRect();
             const canvases = [...document.querySelectorAll('.mlws-EndpointPage .mlws-TimeChart canvas')];
             return canvases.length === 3 && canvases.every(c => c.getBoundingClientRect().right <= page.right + 1); }""")
    view.evaluate("v => { v.style.width = ''; }")

    # drift per feature: 240 sampled rows against the training data
    drift = view.locator(".mlws-DriftDeployment[data-deployment='blue']")
    drift.locator(".mlws-DriftTable").wait_for(timeout=30_000)
    features = drift.locator(".mlws-DriftTable tbody tr")
    assert [features.nth(i).get_attribute("data-feature") for i in range(features.count())] == ["0", "1", "2", "3"]
    expected = lab_api(lab, "GET", f"endpoints/{ENDPOINT}/drift?since=3600")[1]["deployments"]["blue"]
    assert features.first.locator("td").nth(1).inner_text() == str(expected["features"][0]["psi"])
    assert drift.get_attribute("data-verdict") == expected["verdict"]

    # keys: never on the page; Copy puts the key on the clipboard
    keys = lab_api(lab, "GET", f"endpoints/{ENDPOINT}/keys")[1]
    assert view.locator(".mlws-KeyRow").count() == 2
    html = page.content()
    assert keys["primary"] not in html and keys["secondary"] not in html
    view.locator(".mlws-KeyRow[data-key='primary'] .mlws-KeyCopy").click()
    view.locator(".mlws-KeyRow[data-key='primary'] .mlws-KeyCopy", has_text="Copied").wait_for()
    assert page.evaluate("navigator.clipboard.readText()") == keys["primary"]
    assert keys["primary"] not in page.content()

    # the log: the endpoint's own lines
    assert "healthy on 127.0.0.1" in view.locator(".mlws-EndpointLog").inner_text()

    # nothing polls: an idle page sends no request; a call from elsewhere reaches it as an event
    polled = []
    page.on("request", lambda r: polled.append(r.url) if "/mlws/api/" in r.url else None)
    page.wait_for_timeout(2_000)  # a refresh already under way may still finish
    polled.clear()
    page.wait_for_timeout(5_000)
    assert polled == []
    assert lab_api(lab, "POST", f"endpoints/{ENDPOINT}/invoke", SAMPLE)[0] == 200
    page.wait_for_function(
        "document.querySelector('.mlws-EndpointPage .mlws-Totals')?.dataset.count === '4'", timeout=30_000)
    assert any("/metrics" in url for url in polled)
    # a call whose run() raises: one error, worded in the singular
    assert lab_api(lab, "POST", f"endpoints/{ENDPOINT}/invoke", {**SAMPLE, "raise": True})[0] >= 400
    page.wait_for_function(
        "document.querySelector('.mlws-EndpointPage .mlws-Totals')?.dataset.errors === '1'", timeout=30_000)
    assert view.locator(".mlws-Totals").inner_text().split()[:4] == ["5", "requests", "1", "error"]


def test_traffic_split_between_two_deployments(page, lab, endpoint):
    view = _open(page)
    blue = view.locator(".mlws-DeploymentRow[data-deployment='blue']")
    assert blue.get_attribute("data-traffic") == "100"

    # a second deployment, from the page; it starts with no traffic
    view.locator(".mlws-AddDeployment summary").click()
    assert view.locator(".mlws-NewDeploymentName").input_value() == "green"
    view.locator(".mlws-NewDeploymentModel").fill(f"{MODEL}:2")
    # offered: the current deployment's scoring script, by its path in the server's folder
    assert view.locator(".mlws-NewDeploymentScript").input_value() == "serving/score_petal.py"
    view.locator(".mlws-NewDeploymentSubmit").click()
    green = view.locator(".mlws-DeploymentRow[data-deployment='green']")
    view.locator(".mlws-DeploymentRow[data-deployment='green'][data-state='healthy']").wait_for(timeout=90_000)
    assert green.get_attribute("data-traffic") == "0"

    # shares that do not sum to 100 cannot be applied
    blue.locator(".mlws-TrafficInput").fill("80")
    green.locator(".mlws-TrafficInput").fill("10")
    assert view.locator(".mlws-TrafficSum").get_attribute("data-sum") == "90"
    assert view.locator(".mlws-TrafficApply").is_disabled()
    # 90/10: applied by the server, shown on the page and in the bar
    blue.locator(".mlws-TrafficInput").fill("90")
    view.locator(".mlws-TrafficApply").click()
    view.locator(".mlws-DeploymentRow[data-deployment='green'][data-traffic='10']").wait_for()
    shown = lab_api(lab, "GET", f"endpoints/{ENDPOINT}")[1]
    assert {d["name"]: d["traffic"] for d in shown["deployments"]} == {"blue": 90, "green": 10}
    assert [s.inner_text() for s in view.locator(".mlws-TrafficSegment").all()] == ["blue 90%", "green 10%"]

    # calls to green, from the test box: its own series in the charts
    view.locator(".mlws-TestDeployment").select_option("green")
    _send(view, SAMPLE)
    assert json.loads(view.locator(".mlws-TestOutput").inner_text())["deployment"] == "green"
    page.wait_for_function(
        "document.querySelector('.mlws-EndpointPage .mlws-RequestsChart')?.dataset.series === '2'", timeout=30_000)
    view.locator(".mlws-Window").select_option("900")  # the last 15 minutes: 60 buckets of 20 s
    view.locator(".mlws-Totals .mlws-Muted", has_text="20 s buckets").wait_for()
    view.locator(".mlws-Window").select_option("300")  # the last 5 minutes: 30 buckets of 10 s
    view.locator(".mlws-Totals .mlws-Muted", has_text="10 s buckets").wait_for()
    assert view.locator(".mlws-RequestsChart").get_attribute("data-points") == "60"  # 2 deployments
    page.screenshot(path=str(SCREENSHOTS / "endpoint-page.png"))
    view.locator(".mlws-Drift").scroll_into_view_if_needed()
    page.screenshot(path=str(SCREENSHOTS / "endpoint-page-below.png"))

    # the dark theme: the same page with JupyterLab's dark colours (switched back afterwards)
    palette(page, "Use Theme: JupyterLab Dark")
    page.wait_for_function("document.body.dataset.jpThemeLight === 'false'")
    try:
        view.locator(".mlws-RequestsChart canvas").wait_for()
        page.wait_for_timeout(500)
        page.screenshot(path=str(SCREENSHOTS / "endpoint-page-dark.png"))
    finally:
        palette(page, "Use Theme: JupyterLab Light")
        page.wait_for_function("document.body.dataset.jpThemeLight === 'true'")

    # a refusal comes back verbatim: a deployment taking traffic cannot be removed
    green.locator(".mlws-RemoveDeployment").click()
    error = view.locator(".mlws-Deployments .mlws-DeploymentError")
    error.wait_for()
    refused = lab_api(lab, "DELETE", f"endpoints/{ENDPOINT}/deployments/green")
    assert refused[0] == 409 and error.inner_text() == refused[1]["message"]


def test_charts_built_behind_another_tab_take_their_width_when_shown(page, lab, endpoint):
    """The page's uPlot charts, built while its tab is hidden, are as wide as their boxes once
    the tab is shown."""
    from .test_chart_size import shown_charts_take_their_width

    assert lab_api(lab, "POST", f"endpoints/{ENDPOINT}/invoke", SAMPLE)[0] == 200
    for _ in range(120):  # until the call is counted (the endpoint flushes every 0.5 s)
        if lab_api(lab, "GET", f"endpoints/{ENDPOINT}/metrics?since=3600")[1]["total"]["count"]:
            break
        time.sleep(0.25)
    shown_charts_take_their_width(page, lab, {"kind": "endpoint", "id": ENDPOINT}, f"Endpoint {ENDPOINT}",
                                  ".mlws-EndpointPage .mlws-TimeChartCanvas", 3)
