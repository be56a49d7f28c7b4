"""Models & endpoints in a real JupyterLab and a real browser: from the navigator, the models
page deploys a registered sklearn model from the form, watches it become healthy, and calls it
from the test box; the navigator shows the endpoint's state."""

from __future__ import annotations

import json

import pytest

from .conftest import SCREENSHOTS, lab_api

pytest.importorskip("sklearn")
pytest.importorskip("uvicorn")

SAMPLE = {"data": [[5.1, 3.5, 1.4, 0.2], [6.7, 3.0, 5.2, 2.3]]}  # a setosa and a virginica


@pytest.fixture
def no_endpoints_left(lab):
    """Endpoints the test deployed are stopped and removed after it."""
    yield
    for item in lab_api(lab, "GET", "endpoints")[1]["endpoints"]:
        assert lab_api(lab, "DELETE", f"endpoints/{item['name']}")[0] == 204


def test_deploy_from_the_form_and_invoke(page, lab, no_endpoints_left):
    page.locator('.jp-SideBar.jp-mod-left [data-id="mlws-sidebar"]').click()
    page.wait_for_selector(".mlws-Sidebar .mlws-NavRun")
    page.locator(".mlws-Sidebar .mlws-NavModel[data-model='iris'] .mlws-NavOpen").click()
    page.locator("#jp-main-dock-panel .mlws-ModelRow", has_text="iris").click()
    page.locator(".mlws-Versions .mlws-DeployVersion").first.click()
    form = page.locator(".mlws-DeployForm")
    assert form.locator("h3").inner_text() == "Deploy iris:1"
    assert form.locator(".mlws-DeployName").input_value() == "iris"

    # a script outside the server's folder: the server's message, verbatim, and nothing created
    form.locator(".mlws-DeployName").fill("iris-ui")
    form.locator(".mlws-DeployScript").fill("../score.py")
    form.locator(".mlws-DeploySubmit").click()
    expected = lab_api(lab, "POST", "endpoints", {"name": "iris-ui", "model": "iris:1", "script": "../score.py"})
    assert expected[0] == 400
    assert form.locator(".mlws-Error").inner_text() == expected[1]["message"]
    assert lab_api(lab, "GET", "endpoints")[1]["endpoints"] == []

    # deploy: progress from creating to healthy, then the endpoint in the list
    form.locator(".mlws-DeployScript").fill("score.py")
    form.locator(".mlws-DeployWorkers").fill("1")
    form.locator(".mlws-DeploySubmit").click()
    page.wait_for_selector(".mlws-DeployProgress[data-state='creating']")
    page.wait_for_selector(".mlws-DeployProgress[data-state='healthy']", timeout=90_000)
    shown = lab_api(lab, "GET", "endpoints/iris-ui")[1]
    assert shown["state"] == "healthy"
    card = page.locator(".mlws-Endpoint[data-endpoint='iris-ui']")
    assert card.get_attribute("data-state") == "healthy"
    assert card.locator(".mlws-EndpointUrl").inner_text() == shown["scoring_uri"]
    assert card.locator(".mlws-TrafficShare").inner_text().startswith("blue 100%")
    # the navigator lists it, its state as a dot (the server's endpoint-health events)
    page.locator(".mlws-Sidebar .mlws-NavEndpoint[data-endpoint='iris-ui'][data-state='healthy']").wait_for()

    # the test box: JSON in, the model's predictions out; bad JSON gets the server's message
    card.locator(".mlws-TestBox summary").click()
    card.locator(".mlws-TestInput").fill(json.dumps(SAMPLE))
    card.locator(".mlws-TestSend").click()
    output = card.locator(".mlws-TestOutput")
    output.wait_for()
    assert json.loads(output.inner_text())["predictions"] == [0, 2]
    card.locator(".mlws-TestInput").fill("{not json")
    card.locator(".mlws-TestSend").click()
    card.locator(".mlws-TestBox .mlws-Error").wait_for()
    bad = lab_api(lab, "POST", "endpoints/iris-ui/invoke", b"{not json")
    assert bad[0] == 400 and card.locator(".mlws-TestBox .mlws-Error").inner_text() == bad[1]["message"]

    # live metrics: each call is counted once the endpoint flushes and the view refreshes
    count = ("Number(document.querySelector(\".mlws-Endpoint[data-endpoint='iris-ui'] .mlws-EndpointMetrics\")"
             "?.dataset.count ?? 0)")
    page.wait_for_function(f"{count} === 1", timeout=30_000)  # the bad JSON never reached it
    assert "p95" in card.locator(".mlws-EndpointMetrics").inner_text()
    card.locator(".mlws-TestInput").fill(json.dumps(SAMPLE))
    card.locator(".mlws-TestSend").click()
    output.wait_for()
    page.wait_for_function(f"{count} === 2", timeout=30_000)
    page.screenshot(path=str(SCREENSHOTS / "endpoints.png"))

    # no polling: an idle endpoint costs the page no request; a call from elsewhere (the SDK,
    # curl) reaches the view through the server's endpoint-health event
    polled = []
    page.on("request", lambda r: polled.append(r.url) if "/mlws/api/endpoints" in r.url else None)
    page.wait_for_timeout(1_500)  # a refresh already under way may still finish
    polled.clear()
    page.wait_for_timeout(5_000)
    assert polled == []
    assert lab_api(lab, "POST", "endpoints/iris-ui/invoke", SAMPLE)[0] == 200
    page.wait_for_function(f"{count} === 3", timeout=30_000)
    assert any(url.split("?")[0].endswith("/mlws/api/endpoints") for url in polled)
    # and nothing at all once the page is closed and the panel collapsed (the layout JupyterLab
    # restores for the next test is a collapsed panel again)
    page.locator(".lm-DockPanel-tabBar .lm-TabBar-tab", has_text="Model iris").locator(".lm-TabBar-tabCloseIcon").click()
    page.wait_for_selector(".mlws-Endpoint", state="detached")
    page.locator('.jp-SideBar.jp-mod-left [data-id="mlws-sidebar"]').click()
    page.wait_for_selector(".mlws-Sidebar", state="hidden")
    page.wait_for_timeout(500)
    polled.clear()
    assert lab_api(lab, "POST", "endpoints/iris-ui/invoke", SAMPLE)[0] == 200
    page.wait_for_timeout(6_000)
    assert polled == []
