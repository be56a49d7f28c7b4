"""Schedules over REST on a team server (roles enforced): create (201), list, show, change, pause,
trigger (201 with the run), runs, delete (204) and the form's live preview; readers read,
contributors act on their own, owners on everyone's; a bad cron, zone, file or name is a 400 (a
missing file a 404, a taken name a 409) that stores nothing; no answer holds a server path or a
webhook's token."""

from __future__ import annotations

import json

from test_roles import CONTRIBUTOR, NOBODY, OWNER, READER
from test_secrets_api import mlws_config, team  # noqa: F401  (a team server: roles enforced)

from schedule_support import notebook

HOOK = "https://93.184.215.14/services/T0/B0/s3cr3t?token=abc"


def _state(ws) -> list[dict]:
    return [{k: v for k, v in s.items() if k != "next"}
            for s in ws.schedules.list(check_actor=False)]


async def test_schedules_over_rest_with_roles(api, team, mlws_ws, jp_root_dir,
        contributors_run_locally):
    notebook(jp_root_dir / "reports" / "daily.ipynb")
    body = {"name": "nightly", "notebook": "reports/daily.ipynb", "cron": "0 6 * * 1-5",
            "tz": "Europe/Berlin", "params": {"x": 5}, "retries": 1,
            "notify": [{"url": HOOK, "on": ["failure"]}]}
    for user in (READER, NOBODY):
        assert (await api("POST", "schedules", body=body, user=user)).code == 403
    r = await api("POST", "schedules", body=body, user=CONTRIBUTOR)
    assert r.code == 201, r
    made = r.json
    assert made["owner"] == CONTRIBUTOR and made["source"] == "reports/daily.ipynb"
    assert made["description"] == "At 06:00, Monday through Friday" and len(made["next"]) == 5
    assert made["notify"] == [{"url": "https://93.184.215.14/…", "on": ["failure"]}]
    assert made["warnings"] == []  # x is declared
    assert str(jp_root_dir) not in r.raw.decode() and "s3cr3t" not in r.raw.decode()
    assert (await api("POST", "schedules", body=body, user=CONTRIBUTOR)).code == 409
    listed = await api("GET", "schedules", user=READER)
    assert listed.code == 200 and [s["name"] for s in listed.json["schedules"]] == ["nightly"]
    assert (await api("GET", "schedules", user=NOBODY)).code == 403
    shown = await api("GET", "schedules", "nightly", user=READER)
    assert shown.code == 200 and shown.json["source_state"] == "unchanged"
    assert (await api("GET", "schedules", "nope", user=READER)).code == 404
    # only its owner or a workspace owner changes it
    for user in (READER, NOBODY):
        assert (await api("PATCH", "schedules", "nightly", body={"paused": True}, user=user)).code == 403
    r = await api("PATCH", "schedules", "nightly", body={"paused": True}, user=CONTRIBUTOR)
    assert r.code == 200 and r.json["paused"] is True and r.json["next"] == []
    r = await api("PATCH", "schedules", "nightly", body={"paused": False, "cron": "30 7 * * *"},
                  user=OWNER)
    assert r.code == 200 and r.json["description"] == "At 07:30" and len(r.json["next"]) == 5
    owners = dict(body, name="owners")
    assert (await api("POST", "schedules", body=owners, user=OWNER)).code == 201
    r = await api("PATCH", "schedules", "owners", body={"paused": True}, user=CONTRIBUTOR)
    assert r.code == 403 and "belongs to" in r.json["message"]
    assert (await api("POST", "schedules", "owners", "trigger", user=CONTRIBUTOR)).code == 403
    assert (await api("DELETE", "schedules", "owners", user=CONTRIBUTOR)).code == 403
    # a trigger answers with its run: here it fails at once, its notebook deleted
    (jp_root_dir / "reports" / "daily.ipynb").unlink()
    r = await api("POST", "schedules", "nightly", "trigger", user=CONTRIBUTOR)
    assert r.code == 201 and r.json["status"] == "failed" and r.json["trigger"] == "manual"
    assert r.json["error"].startswith("notebook not found: 'reports/daily.ipynb' was deleted")
    assert str(jp_root_dir) not in r.raw.decode()
    runs = await api("GET", "schedules", "nightly", "runs", params={"limit": "5"}, user=READER)
    assert runs.code == 200 and [x["id"] for x in runs.json["runs"]] == [r.json["id"]]
    assert (await api("GET", "schedules", "nightly", user=READER)).json["source_state"] == "missing"
    assert (await api("DELETE", "schedules", "nightly", user=READER)).code == 403
    assert (await api("DELETE", "schedules", "nightly", user=CONTRIBUTOR)).code == 204
    assert (await api("GET", "schedules", "nightly", user=READER)).code == 404
    assert (await api("DELETE", "schedules", "owners", user=OWNER)).code == 204


BAD = [
    ({"cron": "61 * * * *"}, 400, "the minute field '61' is not valid"),
    ({"cron": "0 0 6 * * 1-5 2025"}, 400, "has 7 field(s)"),
    ({"tz": "Mars/Olympus"}, 400, "unknown time zone 'Mars/Olympus'"),
    ({"name": "bad name!"}, 400, "schedule name"),
    ({"notebook": "../outside.ipynb"}, 400, "not a path inside the server's folder"),
    ({"notebook": "missing.ipynb"}, 404, "no notebook 'missing.ipynb'"),
    ({"catch_up": "all:0"}, 400, "catch-up"),
    ({"retries": 99}, 400, "retries"),
    ({"owner": "mallory"}, 400, "owner"),
    ({"notify": [{"url": "ftp://hooks.example.com/x"}]}, 400, "http"),
    ({"secrets": ["no-such"]}, 404, "no-such"),
]


async def test_a_failed_request_says_why_and_changes_nothing(api, team, mlws_ws, jp_root_dir):
    notebook(jp_root_dir / "nb.ipynb")
    base = {"name": "s", "notebook": "nb.ipynb", "cron": "0 6 * * *", "tz": "UTC"}
    assert (await api("POST", "schedules", body=dict(base, name="kept"), user=OWNER)).code == 201
    before = _state(mlws_ws)
    for change, code, message in BAD:
        r = await api("POST", "schedules", body={**base, **change}, user=OWNER)
        assert r.code == code and message in r.json["message"], (change, r)
        assert str(jp_root_dir) not in r.json["message"]
    for change, code in (({"cron": "61 * * * *"}, 400), ({"tz": "Nowhere/City"}, 400),
                         ({"notebook": "gone.ipynb"}, 404), ({"paused": "yes"}, 400),
                         ({"name": "renamed"}, 400)):
        r = await api("PATCH", "schedules", "kept", body=change, user=OWNER)
        assert r.code == code, (change, r)
    assert _state(mlws_ws) == before


async def test_the_live_preview(api, team):
    r = await api("GET", "schedules-preview", params={"cron": "*/15 9-17 * * 1-5", "tz": "UTC"},
                  user=READER)
    assert r.code == 200 and len(r.json["next"]) == 5
    assert r.json["description"].startswith("Every 15 minutes")
    r = await api("GET", "schedules-preview", params={"cron": "61 * * * *"}, user=READER)
    assert r.code == 400 and "the minute field '61' is not valid" in r.json["message"]
    r = await api("GET", "schedules-preview", params={"cron": "0 6 * * *", "tz": "Mars/Olympus"},
                  user=READER)
    assert r.code == 400 and "unknown time zone" in r.json["message"]
    assert (await api("GET", "schedules-preview", params={"cron": "0 6 * * *"}, user=NOBODY)).code == 403
    assert json.loads(json.dumps(r.json))["reason"] == "invalid_input"
    r = await api("GET", "schedules-preview", params={"cron": "0 18 * * *", "tz": "UTC",
                                                      "hour12": "true"}, user=READER)
    assert r.code == 200 and r.json["description"] == "At 06:00 PM"


async def test_undeclared_parameters_are_warned_of_and_an_unknown_step_refused(api, team, mlws_ws,
                                                                             jp_root_dir):
    notebook(jp_root_dir / "nb.ipynb")
    r = await api("POST", "schedules", body={"name": "nb", "notebook": "nb.ipynb", "cron": "@daily",
                                             "params": {"undeclared": 1}}, user=OWNER)
    assert r.code == 201 and r.json["warnings"] == [
        "nb.ipynb does not declare parameter 'undeclared' in its 'parameters' cell (its "
        "parameters: x; passed anyway)"]
    notebook(jp_root_dir / "p" / "train.ipynb")
    (jp_root_dir / "p" / "pipeline.yaml").write_text(
        "name: pipe\nsteps:\n  - {name: train, notebook: train.ipynb}\n")
    r = await api("POST", "schedules", body={"name": "pipe", "pipeline": "p/pipeline.yaml",
                                             "cron": "@daily", "params": {"nope.x": 1}}, user=OWNER)
    assert r.code == 400 and "has no step 'nope': its steps are train" in r.json["message"]
    assert (await api("GET", "schedules", "pipe", user=OWNER)).code == 404
