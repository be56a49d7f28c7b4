"""Live updates: what the SDK does elsewhere shows in the open navigator and a run's page without a
reload or a click."""

from __future__ import annotations

import re
from pathlib import Path

from jupyter_mlws import Workspace

from .conftest import SCREENSHOTS


def test_a_new_run_its_points_and_its_end_reach_the_navigator_and_its_page(page, lab):
    # ?mlws=open opens the panel (an activation, where a click on its tab would toggle it)
    page.goto(f"{lab['url']}{lab['home']}?mlws=open&token={lab['token']}")
    page.wait_for_selector(".mlws-Sidebar .mlws-NavRun")
    page.locator(".mlws-NavExperiment").select_option("")  # every experiment
    with Workspace.open(Path(lab["log"]).parent / "ws") as ws:
        run = ws.experiment("live").start_run("live-run", snapshot=False, outputs=None)
        try:
            # a new run appears in the navigator by itself (the server's run-status event)
            row = page.locator(f'.mlws-NavRun[data-run-id="{run.id}"]')
            row.wait_for(timeout=15_000)
            row.locator(".mlws-NavOpen").click()
            view = page.locator(f"#jp-main-dock-panel .mlws-RunPage[data-run-id='{run.id}']")
            status = view.locator(".mlws-RunPageHeader .mlws-Status")
            status.filter(has_text="running").wait_for()
            # points logged now show without a reload (the run-metrics event): in the Overview's
            # latest metrics, and drawn on the Charts tab, which follows the points logged next
            run.log_batch("live_loss", [1.0, 0.5, 0.25])
            view.locator(".mlws-Metrics tr[data-key='live_loss'] td", has_text="0.2500").wait_for(timeout=15_000)
            view.locator(".mlws-RunTab[data-tab='charts']").click()
            chart = view.locator(".mlws-RunSection[data-tab='charts'] .mlws-ChartCard[data-metric='live_loss']")
            chart.locator("canvas").wait_for(timeout=15_000)
            assert chart.locator(".mlws-ChartInfo").inner_text() == "3 points"
            run.log_batch("live_loss", [0.2, 0.1])
            chart.locator(".mlws-ChartInfo", has_text=re.compile("^5 points$")).wait_for(timeout=15_000)
            # what it prints is tailed live (the run-logs event; only the new bytes are fetched)
            view.locator(".mlws-RunTab[data-tab='logs']").click()
            logs = view.locator(".mlws-RunSection[data-tab='logs'] .mlws-Log[data-log='stdout.log']")
            log = ws.artifacts.live_file(run.id, "stdout.log")
            with open(log, "a") as f:
                f.write("epoch 1: loss 0.5\n")
            text = logs.locator(".mlws-LogText")
            text.filter(has_text="epoch 1: loss 0.5").wait_for(timeout=15_000)
            fetched = []
            page.on("request", lambda r: fetched.append(r.url) if "/logs" in r.url else None)
            with open(log, "a") as f:
                f.write("epoch 2: loss 0.25\n")
            text.filter(has_text="epoch 2: loss 0.25").wait_for(timeout=15_000)
            assert text.inner_text().strip() == "epoch 1: loss 0.5\nepoch 2: loss 0.25"
            assert any("since_bytes=18" in url for url in fetched), fetched
            run.end("completed")
            status.filter(has_text="completed").wait_for(timeout=15_000)
            # once stored, the whole log downloads from its heading
            link = logs.locator("h3 .mlws-Download", has_text=re.compile("^Download$"))
            link.wait_for()
            assert page.request.get(link.get_attribute("href")).text() == (
                "epoch 1: loss 0.5\nepoch 2: loss 0.25\n")
            page.screenshot(path=str(SCREENSHOTS / "live.png"))
        finally:
            if run.is_active:
                run.end("canceled")
