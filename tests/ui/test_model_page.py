"""A model's page in a real JupyterLab and a real browser: versions with aliases (move one),
a version's description, tags, lineage (its run's params and metrics, its training data's
statistics) and files; Deploy from the page; and a version an endpoint serves that the
workspace refuses to delete, with its own words."""

from __future__ import annotations

import pytest

from .conftest import SCREENSHOTS, lab_api, palette

pytest.importorskip("sklearn")
pytest.importorskip("uvicorn")



MODEL = "flower"
ENDPOINT = "flower-ep"


@pytest.fixture(scope="module")
def flower(lab):
    """flower:1 registered from the workspace's long run (its params and metrics) with iris as
    its training data, flower:2 and :3 from files; @champion on 1.  No run is added (other
    modules count the workspace's runs); the endpoint a test deploys is removed at the end."""
    import pandas as pd
    from mlws_testing import iris_model
    from sklearn.datasets import load_iris

    from jupyter_mlws import Workspace

    root = lab["root"].parent
    with Workspace.open(lab["root"]) as ws:
        _, X = iris_model(root / "flower-1")
        # long feature names, as a real table's: the statistics are wider than the version's column
        features = pd.DataFrame(X, columns=[f"the flower's {name}" for name in load_iris().feature_names])
        ws.models.register(MODEL, run=lab["long_id"], artifact="summary.json", training_data=features,
                           description="The long run's model", tags={"stage": "dev"})
        for n in (2, 3):
            iris_model(root / f"flower-{n}", C=1.0 / n)
            ws.register_model(MODEL, root / f"flower-{n}")
        ws.models.set_alias(MODEL, "champion", 1)
    yield lab["long_id"]
    lab_api(lab, "DELETE", f"endpoints/{ENDPOINT}")


def _open_model_page(page):
    palette(page, "Models")
    row = page.locator("#jp-main-dock-panel .mlws-ModelsPage .mlws-ModelRow[data-model='flower']")
    row.wait_for()
    row.locator(".mlws-ModelOpen").click()
    view = page.locator(f"#jp-main-dock-panel .mlws-ModelPage[data-model='{MODEL}']")
    view.locator(".mlws-VersionRow").first.wait_for()
    return view


def test_versions_aliases_lineage_and_edits(page, lab, flower):
    palette(page, "Models")
    row = page.locator("#jp-main-dock-panel .mlws-ModelsPage .mlws-ModelRow[data-model='flower']")
    row.wait_for()
    assert row.locator(".mlws-ModelAliases").inner_text() == "@champion → v1"
    assert [c.inner_text() for c in row.locator("td").all()[1:5]] == ["v3", "@champion → v1", "3", "–"]
    view = _open_model_page(page)
    assert page.locator(".lm-DockPanel-tabBar .lm-TabBar-tab", has_text=f"Model {MODEL}").count() == 1
    rows = view.locator(".mlws-VersionRow")
    assert [rows.nth(i).get_attribute("data-version") for i in range(rows.count())] == ["3", "2", "1"]
    assert view.locator(".mlws-VersionDetail").get_attribute("data-version") == "3"  # the latest first

    # version 1: its run's params and metric, its training data's statistics, its file
    view.locator(".mlws-VersionRow[data-version='1'] .mlws-VersionOpen").click()
    detail = view.locator(".mlws-VersionDetail[data-version='1']")
    detail.wait_for()
    assert detail.locator(".mlws-LineageRun").inner_text() == "long-run"  # its name, not its id
    assert detail.locator(".mlws-LineageRun").get_attribute("title") == f"Open run {flower}"
    lineage = lab_api(lab, "GET", f"models/{MODEL}:1")[1]["lineage"]
    assert lineage["params"] == {"lr": "0.001"} and lineage["experiment"] == "long"
    assert detail.locator(".mlws-LineageParams").inner_text().split() == ["lr", "0.001"]
    metrics = detail.locator(".mlws-LineageMetrics").inner_text()
    assert "val_loss" in metrics and "loss" in metrics.replace("val_loss", "")
    stats = detail.locator(".mlws-FeatureStats tbody tr")
    stats.first.wait_for()
    assert stats.count() == 4 and "150 rows, 4 features" in detail.locator(".mlws-TrainingData").inner_text()
    expected = lab_api(lab, "GET", f"models/{MODEL}:1/training-data")[1]["features"][0]
    assert stats.first.locator("td").nth(4).inner_text() == str(float(f"{expected['mean']:.4g}"))
    # at 1400 px, every column of the statistics is in reach: the table scrolls in the version's
    # column, whose right edge is in the main area (its last columns were cut at the area's edge)
    reach = detail.locator(".mlws-TrainingData").evaluate("""box => {
        const page = document.querySelector('#jp-main-dock-panel').getBoundingClientRect();
        box.scrollLeft = box.scrollWidth;
        const last = box.querySelector('.mlws-FeatureStats thead th:last-child').getBoundingClientRect();
        const shown = box.getBoundingClientRect();
        const out = {last: last.right, box: shown.right, page: page.right,
                     text: box.querySelector('.mlws-FeatureStats thead th:last-child').textContent};
        box.scrollLeft = 0;
        return out;
    }""")
    assert reach["text"] == "Max" and reach["last"] <= reach["box"] + 1 <= reach["page"] + 1, reach
    assert detail.locator(".mlws-VersionFiles").inner_text().count("summary.json") == 1
    assert detail.locator(".mlws-DescriptionInput").input_value() == "The long run's model"

    # move @champion from 1 to 2: the server has it, the table shows it
    alias = view.locator(".mlws-AliasRow[data-alias='champion']")
    assert alias.get_attribute("data-version") == "1"
    alias.locator(".mlws-AliasTarget").select_option("2")
    alias.locator(".mlws-AliasMove").click()
    view.locator(".mlws-AliasRow[data-alias='champion'][data-version='2']").wait_for()
    assert lab_api(lab, "GET", f"models/{MODEL}@champion")[1]["version"] == 2
    assert view.locator(".mlws-VersionRow[data-version='2'] .mlws-VersionAliases").inner_text() == "@champion"
    # a new alias, with a name the server refuses first (its words, verbatim)
    view.locator(".mlws-AliasName").fill("42")
    view.locator(".mlws-AliasSet").click()
    error = view.locator(".mlws-ModelActionError")
    error.wait_for()
    refused = lab_api(lab, "PUT", f"models/{MODEL}/aliases/42", {"version": 1})
    assert refused[0] == 400 and error.inner_text() == refused[1]["message"]
    view.locator(".mlws-AliasName").fill("baseline")
    view.locator(".mlws-AliasSet").click()
    view.locator(".mlws-AliasRow[data-alias='baseline'][data-version='1']").wait_for()

    # description and tags, kept by the server
    detail.locator(".mlws-DescriptionInput").fill("The long run's model, lr=0.001")
    detail.locator(".mlws-DescriptionSave").click()
    page.wait_for_function("!document.querySelector('.mlws-DescriptionSave:not([disabled])')")
    detail.locator(".mlws-TagKey").fill("reviewed")
    detail.locator(".mlws-TagValue").fill("yes")
    detail.locator(".mlws-TagAdd").click()
    detail.locator(".mlws-Tag[data-tag='reviewed']").wait_for()
    detail.locator(".mlws-Tag[data-tag='stage'] .mlws-TagRemove").click()
    detail.locator(".mlws-Tag[data-tag='stage']").wait_for(state="detached")
    shown = lab_api(lab, "GET", f"models/{MODEL}:1")[1]
    assert shown["description"] == "The long run's model, lr=0.001" and shown["tags"] == {"reviewed": "yes"}
    page.screenshot(path=str(SCREENSHOTS / "model-page.png"))

    # the alias pills read well in both themes (WCAG AAA: 7:1 against what is behind them)
    pill = view.locator(".mlws-AliasRow[data-alias='champion'] .mlws-Alias")
    assert _contrast(pill) >= 7
    palette(page, "JupyterLab Dark")
    page.wait_for_function("document.body.dataset.jpThemeLight === 'false'")
    page.wait_for_timeout(500)
    assert _contrast(pill) >= 7
    page.screenshot(path=str(SCREENSHOTS / "model-page-dark.png"))
    palette(page, "JupyterLab Light")
    page.wait_for_function("document.body.dataset.jpThemeLight === 'true'")


def _contrast(locator) -> float:
    """The contrast ratio of an element's text against the first background behind it that is not transparent."""
    return locator.evaluate("""el => {
        const rgb = c => c.match(/[\\d.]+/g).map(Number);
        const lum = c => { const [r, g, b] = rgb(c).map(v => { v /= 255; return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; });
                           return 0.2126 * r + 0.7152 * g + 0.0722 * b; };
        let under = el, bg = getComputedStyle(el).backgroundColor;
        while (rgb(bg).length === 4 && rgb(bg)[3] === 0) { under = under.parentElement; bg = getComputedStyle(under).backgroundColor; }
        const [a, b] = [lum(getComputedStyle(el).color), lum(bg)];
        return (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);
    }""")


def test_deploy_then_a_served_version_cannot_be_deleted(page, lab, flower):
    view = _open_model_page(page)
    view.locator(".mlws-VersionRow[data-version='2'] .mlws-VersionOpen").click()
    detail = view.locator(".mlws-VersionDetail[data-version='2']")
    detail.locator(".mlws-DeployVersion").click()
    form = detail.locator(".mlws-DeployForm")
    assert form.locator("h3").inner_text() == f"Deploy {MODEL}:2"
    form.locator(".mlws-DeployName").fill(ENDPOINT)
    form.locator(".mlws-DeployScript").fill("score.py")
    form.locator(".mlws-DeploySubmit").click()
    # the start's progress arrives through the server's events; then "served by" shows it
    page.wait_for_selector(".mlws-DeployProgress[data-state='healthy']", timeout=90_000)
    view.locator(f".mlws-VersionRow[data-version='2'] .mlws-ServedBy", has_text=ENDPOINT).wait_for()

    # delete the served version: asked to confirm, then the workspace's refusal, verbatim
    detail.locator(".mlws-DeleteVersion").click()
    detail.locator(".mlws-DeleteConfirm").click()
    error = view.locator(".mlws-ModelActionError")
    error.wait_for()
    refused = lab_api(lab, "DELETE", f"models/{MODEL}:2")
    assert refused[0] == 409 and ENDPOINT in refused[1]["message"]
    assert error.inner_text() == refused[1]["message"]
    assert view.locator(".mlws-VersionRow").count() == 3

    # version 3 serves nowhere: deleted, and gone from the page
    view.locator(".mlws-VersionRow[data-version='3'] .mlws-VersionOpen").click()
    view.locator(".mlws-VersionDetail[data-version='3'] .mlws-DeleteVersion").click()
    view.locator(".mlws-VersionDetail[data-version='3'] .mlws-DeleteCancel").click()  # changed my mind
    assert view.locator(".mlws-VersionRow").count() == 3
    view.locator(".mlws-VersionDetail[data-version='3'] .mlws-DeleteVersion").click()
    view.locator(".mlws-VersionDetail[data-version='3'] .mlws-DeleteConfirm").click()
    view.locator(".mlws-VersionRow[data-version='3']").wait_for(state="detached")
    assert [v["version"] for v in lab_api(lab, "GET", f"models/{MODEL}")[1]["versions"]] == [2, 1]

    # the endpoint's link opens its page
    view.locator(".mlws-VersionRow[data-version='2'] .mlws-ServedBy").click()
    page.locator(f"#jp-main-dock-panel .mlws-EndpointPage[data-endpoint='{ENDPOINT}']").wait_for()


@pytest.fixture(scope="module")
def team_lab(tmp_path_factory):
    """A ``jupyter lab`` that applies workspace roles (a team's server), on a workspace with
    flower:1 and flower:2 and a run; yields its URL, token, workspace folder and the run's id."""
    from .conftest import start_team_lab
    from mlws_testing import iris_model, stop_jupyter

    from jupyter_mlws import Workspace

    root = tmp_path_factory.mktemp("team-lab")
    with Workspace.create(root / "ws") as ws:
        for n in (1, 2):
            iris_model(root / f"m{n}", C=1.0 / n)
            ws.register_model(MODEL, root / f"m{n}")
        ws.models.set_alias(MODEL, "champion", 1)
        with ws.experiment("team").start_run("team-run", snapshot=False, outputs=None) as run:
            run.set_tag("stage", "dev")
            run_id = run.id
    # whoever has the token is "alice" (the server's shared token would be its OS user, the
    # workspace's owner, under enforced roles: README "Tokens for a team")
    server = start_team_lab(root)
    try:
        yield {"url": server.url, "token": server.token, "ws": root / "ws", "run": run_id}
    finally:
        stop_jupyter(server)


def test_readers_see_no_enabled_controls_and_refusals_show_verbatim(browser, team_lab):
    from jupyter_mlws import Workspace
    from jupyter_mlws.access import os_user
    from jupyter_mlws.errors import PermissionDenied

    context = browser.new_context(viewport={"width": 1400, "height": 900})
    page = context.new_page()
    page.set_default_timeout(20_000)
    try:
        page.goto(f"{team_lab['url']}lab/workspaces/roles?token={team_lab['token']}")
        page.wait_for_selector("#jp-main-dock-panel")
        user = page.evaluate("fetch('/api/me').then(r => r.json()).then(me => me.identity.username)")
        with Workspace.open(team_lab["ws"]) as ws:
            ws.access.grant(os_user(), user, "contributor")
        view = _open_model_page(page)
        alias = view.locator(".mlws-AliasRow[data-alias='champion']")
        alias.locator(".mlws-AliasTarget").select_option("2")
        assert alias.locator(".mlws-AliasMove").is_enabled()

        # demoted while the page is open: the server refuses, and the page shows its words
        with Workspace.open(team_lab["ws"]) as ws:
            ws.access.grant(os_user(), user, "reader")
            with pytest.raises(PermissionDenied) as refusal:
                ws.access.require(user, "write", "models", f"PUT models/{MODEL}/aliases/champion")
        alias.locator(".mlws-AliasMove").click()
        error = view.locator(".mlws-ModelActionError")
        error.wait_for()
        assert error.inner_text() == str(refusal.value)
        with Workspace.open(team_lab["ws"]) as ws:
            assert ws.models.resolve(f"{MODEL}@champion").version == 1

        # opened again as a reader: nothing to click that would change the model
        page.reload()
        view = _open_model_page(page)  # restored with the layout, or opened again
        assert "you are a reader" in view.locator(".mlws-PageHeader").inner_text()
        controls = view.locator(".mlws-VersionActions button, .mlws-Aliases button, .mlws-Aliases select, "
                                ".mlws-Aliases input")
        assert controls.count() >= 6
        assert all(c.is_disabled() for c in controls.all())
        assert view.locator(".mlws-DescriptionInput, .mlws-TagForm, .mlws-TagRemove").count() == 0
        page.screenshot(path=str(SCREENSHOTS / "model-page-reader.png"))

        # a run's page follows the same rule (pages/role.ts): its description and tags are read only
        page.goto(f"{team_lab['url']}lab/workspaces/roles?mlws=open&token={team_lab['token']}")
        page.locator(f".mlws-NavRun[data-run-id='{team_lab['run']}'] .mlws-NavOpen").click()
        run = page.locator(f"#jp-main-dock-panel .mlws-RunPage[data-run-id='{team_lab['run']}']")
        run.locator(".mlws-RunPageHeader", has_text="you are a reader: changes need a contributor").wait_for()
        run.locator(".mlws-Tag[data-tag='stage']").wait_for()
        assert run.locator(".mlws-EditDescription, .mlws-TagForm, .mlws-TagRemove").count() == 0
    finally:
        context.close()
