"""`mlws server`: a Jupyter server with the workspace alone, for a team: its own web page (the
navigator beside the same pages as in JupyterLab, live) and its API, and nothing of the machine
(no files, kernels, terminals)."""

from __future__ import annotations

import json
import sys
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from mlws_testing import start_jupyter, stop_jupyter

from jupyter_mlws import Workspace

from .conftest import SCREENSHOTS


def _get(url: str, token: str | None = None) -> int:
    headers = {"Authorization": f"token {token}"} if token else {}
    try:
        with urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=5) as resp:
            return resp.status
    except urllib.error.HTTPError as err:
        return err.code


@pytest.fixture(scope="module")
def team(tmp_path_factory):
    """`mlws server` on a workspace with a sweep parent (two children) and two runs; yields its
    URL, token and workspace path."""
    root = tmp_path_factory.mktemp("team")
    with Workspace.create(root / "ws") as ws:
        with ws.experiment("team").start_run("grid", snapshot=False, outputs=None) as parent:
            for depth in (2, 4):
                with parent.child(f"grid-depth{depth}") as child:
                    child.log_param("depth", depth)
                    child.log("acc", 0.5 + depth / 10)
        for lr in (0.1, 0.2):
            with ws.experiment("team").start_run(f"lr-{lr}", snapshot=False, outputs=None) as run:
                run.log_param("lr", lr)
                run.log_batch("loss", [1 / (step + 1 + lr) for step in range(40)])
    (root / "ws" / "secret.txt").write_text("not for the team")
    server = start_jupyter(root, lambda port, token: [
        str(Path(sys.executable).parent / "mlws"), "-w", str(root / "ws"), "server", "--port", str(port),
        f"--IdentityProvider.token={token}"], cwd=root / "ws")
    try:
        yield {"url": server.url, "token": server.token, "ws": root / "ws"}
    finally:
        stop_jupyter(server)


def test_the_team_server_serves_the_workspace_and_not_the_machine(team):
    base, token = team["url"], team["token"]
    assert _get(base + "mlws/api/workspace", token) == 200
    with urllib.request.urlopen(urllib.request.Request(
            base + "mlws/api/workspace", headers={"Authorization": f"token {token}"})) as resp:
        assert json.load(resp)["name"] == "ws"
    assert _get(base + "mlws/api/workspace") in (401, 403)  # sign-in required
    for route in ("api/contents", "api/contents/secret.txt", "files/secret.txt", "api/kernels",
                  "api/sessions", "api/terminals", "lab"):
        assert _get(base + route, token) == 404, route


def test_the_team_page_shows_the_workspace_live(browser, team):
    context = browser.new_context(viewport={"width": 1300, "height": 850})
    page = context.new_page()
    page.set_default_timeout(20_000)
    try:
        # the server's address leads to the workspace page (after sign-in with the token)
        page.goto(f"{team['url']}?token={team['token']}")
        page.wait_for_url("**/mlws/**")
        assert page.title() == "ws · ML workspace"
        page.locator(".mlws-Header", has_text="ML workspace · ws").wait_for()
        rows = page.locator(".mlws-Sidebar .mlws-NavRun")
        rows.first.wait_for()
        assert rows.count() == 3
        assert page.locator(".mlws-Tab", has_text="Access").count() == 1
        # the runs table opens beside the navigator, as a tab of the page's dock
        table = page.locator("#mlws-dock .mlws-RunsPage")
        table.locator(".mlws-RunRow", has_text="lr-0.2").wait_for()
        assert table.locator(".mlws-RunRow[data-depth='0']").count() == 3

        # a run opened from the navigator: its page, params, and its chart on the Charts tab
        rows.filter(has_text="lr-0.1").locator(".mlws-NavOpen").click()
        view = page.locator("#mlws-dock .mlws-RunPage", has=page.locator(".mlws-RunTitle", has_text="lr-0.1"))
        assert view.locator(".mlws-Params tr[data-key='lr'] td").inner_text() == "0.1"
        assert page.locator(".mlws-OpenNotebook").count() == 0  # no notebooks on a team server
        view.locator(".mlws-RunTab[data-tab='charts']").click()
        chart = view.locator(".mlws-ChartCard[data-metric='loss']")
        chart.locator("canvas").wait_for()
        assert chart.locator(".mlws-ChartInfo").inner_text() == "40 points"
        assert page.locator("#mlws-dock .lm-TabBar-tab").all_inner_texts() == ["Runs · team", "lr-0.1"]
        page.screenshot(path=str(SCREENSHOTS / "team-page.png"))

        # a sweep parent's page opens on its Sweep tab; without JupyterLab's Vega renderer its
        # parallel coordinates are a table, the best child marked
        rows.filter(has_text="grid").locator(".mlws-NavOpen").click()
        sweep = page.locator("#mlws-dock .mlws-RunPage", has=page.locator(".mlws-RunTitle", has_text="grid"))
        sweep.locator(".mlws-RunTab.mlws-mod-active[data-tab='sweep']").wait_for()
        children = sweep.locator(".mlws-SweepChildren tr.mlws-ResultRow")
        children.first.wait_for()
        assert children.count() == 2
        parallel = sweep.locator(".mlws-ParallelTable")
        parallel.wait_for()
        assert parallel.locator("tr.mlws-Best").inner_text().startswith("grid-depth4")
        assert sweep.locator(".mlws-Parallel svg").count() == 0

        # live: a run started elsewhere shows up without a reload (the server's events)
        with Workspace.open(team["ws"]) as ws:
            with ws.experiment("team").start_run("arrived-live", snapshot=False, outputs=None) as run:
                run.log("loss", 0.5)
        rows.filter(has_text="arrived-live").wait_for(timeout=15_000)
        page.locator("#mlws-dock .lm-TabBar-tab", has_text="Runs").click()
        table.locator(".mlws-RunRow", has_text="arrived-live").wait_for(timeout=15_000)

        # changes go through too (the page sends Jupyter's XSRF token with its cookie)
        page.locator(".mlws-Tab", has_text="Access").click()
        page.locator(".mlws-GrantUser").fill("bob")
        page.locator(".mlws-GrantSubmit").click()
        page.locator(".mlws-Roles tr[data-user='bob']").wait_for()
        with Workspace.open(team["ws"]) as ws:
            assert ws.access.role_of("bob") == "reader"
    finally:
        context.close()


def test_a_run_link_opens_the_run(browser, team):
    """The link a schedule's webhook posts (``{server}/mlws/?run=ID``, schedules/notify.run_link)
    opens that run's page."""
    from jupyter_mlws.schedules.notify import run_link

    with Workspace.open(team["ws"]) as ws:
        run_id = next(r.id for r in ws.experiment("team").search_runs() if r.name == "lr-0.2")
        ws.config.server_url = team["url"]
        link = run_link(ws, run_id)
    context = browser.new_context(viewport={"width": 1300, "height": 850})
    page = context.new_page()
    page.set_default_timeout(20_000)
    try:
        page.goto(f"{team['url']}login?next={link.split(team['url'].rstrip('/'), 1)[1]}")
        page.locator("#password_input").fill(team["token"])
        page.locator("#login_submit").click()
        page.wait_for_url("**/mlws/?run=*")
        view = page.locator("#mlws-dock .mlws-RunPage", has=page.locator(".mlws-RunTitle", has_text="lr-0.2"))
        assert view.locator(".mlws-Params tr[data-key='lr'] td").inner_text() == "0.2"
    finally:
        context.close()
