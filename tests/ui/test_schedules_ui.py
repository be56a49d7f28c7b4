"""The Schedules page in a real JupyterLab and Chromium, against the real schedules REST API and
the scheduler of the server extension: opened from the navigator; the New schedule form's live
preview (the cron in words and the next fire times in the browser's zone, or the server's error
verbatim); a refusal shown in the form, nothing created; a schedule created, its next 5 fire times
listed in local time; Trigger now starts a run that appears among its last runs with its status
and opens its page; Pause, Resume, and Delete confirmed.  And the ``schedule-run`` live event as a
JupyterLab notification (an error when the run failed) whose "Open run" opens the run."""

from __future__ import annotations

import json
import urllib.parse
import urllib.request
from datetime import datetime
from zoneinfo import ZoneInfo

import nbformat
import pytest

from .conftest import SCREENSHOTS, lab_api, palette

#: the browser's zone in these tests (the machine's is UTC): times must be shown in it
BROWSER_ZONE = "Europe/Berlin"
EVENT_SCHEMA = "https://jupyter-mlws.org/events/schedule-run"
NOTEBOOK = "sched_nb.ipynb"


@pytest.fixture(scope="module")
def schedules(lab):
    """The served folder's notebook for the schedules; skips where the server has no schedules
    REST (a branch before it)."""
    status, answer = lab_api(lab, "GET", "schedules")
    if status == 404:
        pytest.skip(f"this server has no schedules REST yet: {answer.get('message')}")
    assert status == 200, answer
    params = nbformat.v4.new_code_cell("lr = 0.1")
    params.metadata["tags"] = ["parameters"]
    nb = nbformat.v4.new_notebook(cells=[params, nbformat.v4.new_code_cell(
        "import jupyter_mlws as mlws\nmlws.log('lr_seen', lr)")])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, lab["root"] / NOTEBOOK)
    yield
    for name in ("nightly", "quarter-hourly"):
        lab_api(lab, "DELETE", f"schedules/{name}")


def in_browser_zone(iso: str, hour12: bool = False) -> str:
    """A fire time as the page writes it in the browser's zone, without the zone's name: on the
    clock the browser's locale reads (``06:00 AM`` or ``06:00``)."""
    clock = "%I:%M %p" if hour12 else "%H:%M"
    return datetime.fromisoformat(iso).astimezone(ZoneInfo(BROWSER_ZONE)).strftime(f"%a %Y-%m-%d {clock}")


def hour12(page) -> bool:
    """Whether the browser's locale reads times on 12 hours (what the page follows)."""
    return page.evaluate("['h11', 'h12'].includes(new Intl.DateTimeFormat(undefined, {hour: 'numeric'})"
                         ".resolvedOptions().hourCycle)")


def open_schedules(page, lab):
    """JupyterLab in BROWSER_ZONE with the navigator open; its Schedules entry opens the page."""
    cdp = page.context.new_cdp_session(page)
    cdp.send("Emulation.setTimezoneOverride", {"timezoneId": BROWSER_ZONE})
    page.goto(f"{lab['url']}{lab['home']}?mlws=open&token={lab['token']}")
    page.wait_for_selector("#jupyterlab-splash", state="detached", timeout=60_000)
    assert page.evaluate("Intl.DateTimeFormat().resolvedOptions().timeZone") == BROWSER_ZONE
    page.locator(".mlws-Sidebar .mlws-OpenSchedules").click()
    view = page.locator("#jp-main-dock-panel .mlws-SchedulesPage")
    view.wait_for()
    return view


def preview(lab, cron: str, tz: str):
    return lab_api(lab, "GET", "schedules-preview?" + urllib.parse.urlencode({"cron": cron, "tz": tz}))


def assert_times(times, isos: list[str], twelve: bool) -> None:
    """The listed times are `isos` in the browser's zone, each with its zone's name."""
    texts = times.all_inner_texts()
    assert len(texts) == len(isos) == 5, texts
    for text, iso in zip(texts, isos):
        assert text.startswith(in_browser_zone(iso, twelve) + " "), (text, iso)
        assert text.split(" ")[4 if twelve else 3].startswith(("CET", "CEST", "GMT+1", "GMT+2")), text


def test_create_preview_trigger_pause_delete(page, lab, schedules):
    view = open_schedules(page, lab)
    view.locator(".mlws-NewSchedule").click()
    name = view.locator(".mlws-NewSchedule-name")
    assert name.evaluate("e => e === document.activeElement")
    assert view.locator(".mlws-NewSchedule-tz").input_value() == BROWSER_ZONE  # yours to start with
    name.fill("nightly")
    view.locator(".mlws-NewSchedule-path").fill("no-such.ipynb")

    # the live preview: a bad cron's error as the server words it
    cron = view.locator(".mlws-NewSchedule-cron")
    cron.fill("61 * * * *")
    error = view.locator(".mlws-CronPreview.mlws-CronError")
    error.wait_for()
    status, answer = preview(lab, "61 * * * *", BROWSER_ZONE)
    assert status == 400 and error.inner_text() == answer["message"]
    # a good one in another zone: its words and its next fire times, in the browser's zone
    view.locator(".mlws-NewSchedule-tz").fill("America/New_York")
    cron.fill("0 6 * * 1-5")
    status, expected = preview(lab, "0 6 * * 1-5", "America/New_York")
    assert status == 200, expected
    # the words on the clock the fire times are written on (the browser's locale's)
    twelve = hour12(page)
    status, on_clock = lab_api(lab, "GET", "schedules-preview?" + urllib.parse.urlencode(
        {"cron": "0 6 * * 1-5", "tz": "America/New_York", "hour12": str(twelve).lower()}))
    assert on_clock["description"] == ("At 06:00 AM, Monday through Friday" if twelve else
                                       "At 06:00, Monday through Friday")
    words = view.locator(".mlws-CronPreview .mlws-CronWords")
    words.filter(has_text=on_clock["description"]).wait_for()
    assert_times(view.locator(".mlws-CronPreview .mlws-FireTimes li"), expected["next"], twelve)
    assert in_browser_zone(expected["next"][0], twelve).endswith("12:00 PM" if twelve else "12:00")
    # the placeholder of the cron field shows whole (it was cut)
    assert cron.evaluate("""e => { const c = document.createElement('canvas').getContext('2d');
        const s = getComputedStyle(e); c.font = `${s.fontSize} ${s.fontFamily}`;
        const room = e.clientWidth - parseFloat(s.paddingLeft) - parseFloat(s.paddingRight);
        return c.measureText(e.placeholder).width <= room; }""")

    # a refusal shows in the form, verbatim (a missing notebook, a webhook that is not http);
    # nothing is created
    view.locator(".mlws-NewSchedule-params").fill("lr = 0.5")
    view.locator(".mlws-CreateSchedule").click()
    refusal = view.locator(".mlws-CreateScheduleError")
    refusal.wait_for()
    body = {"name": "nightly", "notebook": "no-such.ipynb", "cron": "0 6 * * 1-5", "tz": "America/New_York",
            "params": {"lr": 0.5}}
    status, answer = lab_api(lab, "POST", "schedules", body)
    assert status == 404 and refusal.inner_text() == answer["message"]
    view.locator(".mlws-NewSchedule-path").fill(NOTEBOOK)
    view.locator(".mlws-NewSchedule-webhook").fill("ftp://hooks.example.org/x")
    view.locator(".mlws-CreateSchedule").click()
    refusal.filter(has_text="ftp").wait_for()
    status, answer = lab_api(lab, "POST", "schedules", {
        **body, "notebook": NOTEBOOK, "notify": [{"url": "ftp://hooks.example.org/x", "on": ["failure"]}]})
    assert status == 400 and refusal.inner_text() == answer["message"]
    assert lab_api(lab, "GET", "schedules/nightly")[0] == 404

    # created: the form closes, its row lists the next 5 fire times in local time
    view.locator(".mlws-NewSchedule-webhook").fill("")
    view.locator(".mlws-NewSchedule-name").press("Enter")  # Enter submits
    view.locator(".mlws-NewScheduleForm").wait_for(state="detached")
    row = view.locator(".mlws-ScheduleRow[data-schedule='nightly']")
    row.wait_for()
    created = lab_api(lab, "GET", f"schedules/nightly?hour12={str(twelve).lower()}")[1]
    assert created["params"] == {"lr": 0.5} and created["tz"] == "America/New_York"
    assert row.locator(".mlws-CronWords").inner_text() == created["description"]
    assert_times(row.locator(".mlws-FireTimes li"), created["next"], twelve)
    assert row.locator(".mlws-ScheduleState").inner_text() == "active"
    assert "no runs yet" in row.inner_text()

    # Trigger now: a run starts, appears among the last runs with its status, and opens
    row.locator(".mlws-TriggerSchedule").click()
    started = row.locator(".mlws-TriggeredRun")
    started.wait_for()
    run_id = started.get_attribute("data-run-id")
    done = row.locator(f".mlws-ScheduleRun[data-run-id='{run_id}'][data-status='completed']")
    done.wait_for(timeout=120_000)  # followed live: the run's status events reload the list
    run = lab_api(lab, "GET", f"runs/{run_id}")[1]
    assert run["tags"]["mlws.schedule"] == "nightly" and float(run["params"]["lr"]) == 0.5

    # a second schedule, paused (from the API): Resume and Pause by role; its times come and go
    status, other = lab_api(lab, "POST", "schedules", {"name": "quarter-hourly", "notebook": NOTEBOOK,
                                                       "cron": "*/15 * * * *", "tz": "UTC"})
    assert status == 201, other
    view.locator(".mlws-Reload").click()
    quarter = view.locator(".mlws-ScheduleRow[data-schedule='quarter-hourly']")
    quarter.locator(".mlws-PauseSchedule").click()
    view.locator(".mlws-ScheduleRow[data-schedule='quarter-hourly'][data-paused='true']").wait_for()
    assert "none while paused" in quarter.inner_text()
    assert quarter.locator(".mlws-ScheduleState").inner_text() == "paused"
    assert lab_api(lab, "GET", "schedules/quarter-hourly")[1]["paused"] is True
    # its details: what runs is the snapshot, and the file is unchanged since
    row.locator(".mlws-ToggleDetails").click()
    details = row.locator(".mlws-ScheduleDetails")
    assert f"notebook {NOTEBOOK}" in details.locator("tr[data-key='Runs']").inner_text()
    assert "taken" in details.locator("tr[data-key='Snapshot']").inner_text()
    row.locator(".mlws-ToggleDetails").click()
    # the form above the list, its preview live (the picture); Escape closes it
    view.locator(".mlws-NewSchedule").click()
    view.locator(".mlws-NewSchedule-name").fill("weekly-report")
    view.locator(".mlws-NewSchedule-path").fill(NOTEBOOK)
    view.locator(".mlws-NewSchedule-cron").fill("30 2 * * 0")
    view.locator(".mlws-CronPreview .mlws-FireTimes li").nth(4).wait_for()
    page.screenshot(path=str(SCREENSHOTS / "schedules.png"))
    palette(page, "JupyterLab Dark")
    page.wait_for_selector("body[data-jp-theme-light='false']", state="attached")
    page.wait_for_timeout(500)
    page.screenshot(path=str(SCREENSHOTS / "schedules-dark.png"))
    palette(page, "JupyterLab Light")
    view.locator(".mlws-NewSchedule-cron").press("Escape")
    view.locator(".mlws-NewScheduleForm").wait_for(state="detached")
    page.wait_for_function("() => document.activeElement?.classList.contains('mlws-NewSchedule')")
    assert lab_api(lab, "GET", "schedules/weekly-report")[0] == 404
    quarter.locator(".mlws-ResumeSchedule").click()
    view.locator(".mlws-ScheduleRow[data-schedule='quarter-hourly'][data-paused='false']").wait_for()
    assert quarter.locator(".mlws-FireTimes li").count() == 5

    # Delete: confirmed (Escape keeps it), then gone
    quarter.locator(".mlws-DeleteSchedule").click()
    page.locator(".jp-Dialog").wait_for()
    page.keyboard.press("Escape")
    page.locator(".jp-Dialog").wait_for(state="detached")
    assert lab_api(lab, "GET", "schedules/quarter-hourly")[0] == 200
    page.wait_for_timeout(300)  # the dialog gave the focus back to Delete, at the row's right end
    widget = view.locator("xpath=ancestor::*[contains(@class, 'mlws-SchedulesWidget')]")
    assert widget.evaluate("e => e.scrollLeft") == 0  # the page did not stay scrolled sideways
    quarter.locator(".mlws-DeleteSchedule").click()
    page.locator(".jp-Dialog .jp-mod-warn").click()
    quarter.wait_for(state="detached")
    assert lab_api(lab, "GET", "schedules/quarter-hourly")[0] == 404
    assert widget.evaluate("e => e.scrollLeft") == 0

    # the last run opens its page
    done.click()
    page.locator(f"#jp-main-dock-panel .mlws-RunPage[data-run-id='{run_id}']").wait_for()


def publish(lab, data: dict) -> None:
    """A ``schedule-run`` event through Jupyter's own emitter (the one the live feed uses)."""
    body = {"schema_id": EVENT_SCHEMA, "version": "1", "data": data}
    req = urllib.request.Request(f"{lab['url']}api/events", data=json.dumps(body).encode(), method="POST",
                                 headers={"Authorization": f"token {lab['token']}"})
    with urllib.request.urlopen(req, timeout=30) as resp:
        assert resp.status == 204


def test_a_schedule_run_event_is_a_notification_that_opens_the_run(page, lab):
    page.wait_for_selector("#jupyterlab-splash", state="detached", timeout=60_000)
    run_id = lab["long_id"]  # any run: the notification opens the one the event names
    publish(lab, {"schedule": "nightly", "run_id": run_id, "status": "failed",
                  "nominal": "2025-06-02T06:00:00-04:00"})
    failed = page.locator(".Toastify__toast", has_text=f"Schedule nightly: run {run_id[:8]} failed")
    failed.wait_for()
    assert "Toastify__toast--error" in failed.get_attribute("class")
    publish(lab, {"schedule": "nightly", "run_id": run_id, "status": "failed",
                  "nominal": "2025-06-02T06:00:00-04:00"})  # the same again: not shown twice
    publish(lab, {"schedule": "nightly", "run_id": run_id, "status": "completed", "nominal": None})
    ok = page.locator(".Toastify__toast", has_text=f"Schedule nightly: run {run_id[:8]} completed")
    ok.wait_for()
    # a run started with Trigger now is not said to be for a fire time
    publish(lab, {"schedule": "nightly", "run_id": run_id, "status": "canceled",
                  "nominal": "2025-06-02T06:00:00-04:00", "trigger": "manual"})
    manual = page.locator(".Toastify__toast", has_text=f"Schedule nightly: run {run_id[:8]} canceled")
    manual.wait_for()
    assert "(started with Trigger now, " in manual.inner_text() and "fire time" not in manual.inner_text()
    assert "Toastify__toast--error" not in ok.get_attribute("class")
    assert failed.count() == 1
    page.wait_for_timeout(1000)  # the toasts' entering animation, for the picture only
    page.screenshot(path=str(SCREENSHOTS / "schedule-run-notice.png"))
    failed.get_by_role("button", name="Open run").click()
    page.locator(f"#jp-main-dock-panel .mlws-RunPage[data-run-id='{run_id}']").wait_for()


def test_a_pipeline_schedule_without_reuse_a_stale_refusal_and_a_missing_file(page, lab, schedules):
    """Issue 13's newcomer: the form offers "Run every step" for a pipeline (no_reuse), a
    refusal goes once the form is edited (it stayed after the zone was fixed), and a schedule
    whose file is gone says so in its row, not "active"."""
    folder = lab["root"] / "sched_pipe"
    folder.mkdir(exist_ok=True)
    (folder / "step.py").write_text("print('ok')\n")
    (folder / "pipeline.yaml").write_text("name: sched-pipe\nsteps:\n  - {name: s, script: step.py}\n")
    gone = lab["root"] / "sched_gone.ipynb"
    gone.write_bytes((lab["root"] / NOTEBOOK).read_bytes())
    status, made = lab_api(lab, "POST", "schedules", {"name": "doomed", "notebook": gone.name,
                                                      "cron": "0 6 * * *", "tz": "UTC"})
    assert status == 201, made
    gone.unlink()
    try:
        view = open_schedules(page, lab)
        doomed = view.locator(".mlws-ScheduleRow[data-schedule='doomed']")
        state = doomed.locator(".mlws-ScheduleState")
        assert "file missing" in state.inner_text() and "mlws-mod-missing" in state.get_attribute("class")
        assert "sched_gone.ipynb was deleted or moved" in state.get_attribute("title")

        view.locator(".mlws-NewSchedule").click()
        view.locator(".mlws-NewSchedule-name").fill("every-step")
        view.locator(".mlws-NewSchedule-kind").select_option("pipeline")
        view.locator(".mlws-NewSchedule-path").fill("sched_pipe/pipeline.yaml")
        view.locator(".mlws-NewSchedule-cron").fill("0 6 * * *")
        view.locator(".mlws-NewSchedule-tz").fill("Europe/Berln")
        view.locator(".mlws-CreateSchedule").click()
        refusal = view.locator(".mlws-CreateScheduleError")
        refusal.filter(has_text="unknown time zone").wait_for()
        view.locator(".mlws-NewSchedule-tz").fill("Europe/Berlin")  # fixed: the refusal goes
        refusal.filter(has_text="unknown time zone").wait_for(state="detached")
        view.locator(".mlws-NewSchedule-noReuse").check()
        view.locator(".mlws-CreateSchedule").click()
        view.locator(".mlws-NewScheduleForm").wait_for(state="detached")
        assert lab_api(lab, "GET", "schedules/every-step")[1]["no_reuse"] is True
        row = view.locator(".mlws-ScheduleRow[data-schedule='every-step']")
        row.locator(".mlws-ToggleDetails").click()
        reuse = row.locator(".mlws-ScheduleDetails tr[data-key='Reuse']")
        reuse.filter(has_text="every step runs (no reuse)").wait_for()

        # a long warning (an undeclared parameter): the toast ends at a word, Details has it whole
        view.locator(".mlws-NewSchedule").click()
        view.locator(".mlws-NewSchedule-name").fill("warned")
        view.locator(".mlws-NewSchedule-path").fill(NOTEBOOK)
        view.locator(".mlws-NewSchedule-cron").fill("0 6 * * *")
        view.locator(".mlws-NewSchedule-params").fill("a_rather_long_parameter_name_nobody_declared = 1")
        view.locator(".mlws-CreateSchedule").click()
        view.locator(".mlws-NewScheduleForm").wait_for(state="detached")
        toast = page.locator(".Toastify__toast", has_text="Schedule warned:")
        toast.wait_for()
        assert toast.inner_text().splitlines()[0].endswith(" …")  # at a word, said to go on
        toast.get_by_text("Details").click()
        dialog = page.locator(".jp-Dialog")
        dialog.wait_for()
        assert "(its parameters: lr; passed anyway)" in dialog.inner_text()
        dialog.locator(".jp-mod-accept").click()
        dialog.wait_for(state="detached")
    finally:
        for name in ("doomed", "every-step", "warned"):
            lab_api(lab, "DELETE", f"schedules/{name}")
