"""The ``schedule-run`` live event on a team server (roles enforced): a scheduled run that ended
reaches its schedule's owner's events streams and no one else's, never a stream whose user
lost read access, and cannot be forged through ``POST /api/events``."""

from __future__ import annotations

import asyncio
import json

from test_roles import CONTRIBUTOR, OWNER, READER
from test_secrets_api import mlws_config, team  # noqa: F401  (a team server: roles enforced)

from jupyter_mlws.schedules.notify import notify_run_finished

SCHEDULE_RUN = "https://jupyter-mlws.org/events/schedule-run"
RUN_STATUS = "https://jupyter-mlws.org/events/run-status"
NOMINAL = "2025-03-31T06:00:00+02:00"


def _scheduled_run(ws, status):
    run = ws.experiment("nightly").start_run(snapshot=False, outputs=None, tags={
        "mlws.schedule": "nightly", "mlws.schedule.nominal": NOMINAL})
    run.end(status)
    return run


async def _until(socket, schema, timeout=30, **match):
    """The messages on ``socket`` up to the first of ``schema`` with the values of ``match``
    (its last item), or up to the socket's close (then the last item is None)."""
    async def read():
        seen = []
        while True:
            message = await socket.read_message()
            if message is None:
                return seen + [None]
            event = json.loads(message)
            seen.append(event)
            if event.get("schema_id") == schema and all(
                    event.get(k) == v for k, v in match.items()):
                return seen

    return await asyncio.wait_for(read(), timeout)


async def _polling(socket, ws):
    """Once the server's live events have polled (their first poll only takes a baseline): a
    run's status event reached ``socket``."""
    run = ws.experiment("ready").start_run(snapshot=False, outputs=None)
    assert (await _until(socket, RUN_STATUS, run_id=run.id))[-1] is not None
    run.end("completed")


def _schedule_runs(events):
    return [e for e in events if e and e.get("schema_id") == SCHEDULE_RUN]


async def test_a_scheduled_runs_end_reaches_its_owner_alone(subscribe, team, mlws_ws):
    owner_of_schedule, workspace_owner, reader = (
        await subscribe(CONTRIBUTOR), await subscribe(OWNER), await subscribe(READER))
    await _polling(owner_of_schedule, mlws_ws)
    run = _scheduled_run(mlws_ws, "failed")
    schedule = {"name": "nightly", "owner": CONTRIBUTOR, "notify": []}
    assert await asyncio.to_thread(notify_run_finished, mlws_ws, schedule, {"id": run.id}) is None
    got = (await _until(owner_of_schedule, SCHEDULE_RUN, run_id=run.id))[-1]
    assert got == {"schema_id": SCHEDULE_RUN, "schedule": "nightly", "run_id": run.id,
                   "status": "failed", "nominal": NOMINAL, "trigger": "tick"}
    # a run started afterwards: its status event reaches every reader, later than the notice
    marker = mlws_ws.experiment("other").start_run(snapshot=False, outputs=None)
    for socket in (workspace_owner, reader):
        seen = await _until(socket, RUN_STATUS, run_id=marker.id)
        assert seen[-1] is not None and _schedule_runs(seen) == []
    # told once, however often the end is seen
    await asyncio.to_thread(notify_run_finished, mlws_ws, schedule, {"id": run.id})
    marker.end("completed")
    later = mlws_ws.experiment("other").start_run(snapshot=False, outputs=None)
    seen = await _until(owner_of_schedule, RUN_STATUS, run_id=later.id)  # a poll after the end's
    assert seen[-1] is not None and _schedule_runs(seen) == []


async def test_no_notice_reaches_a_user_who_lost_read_access(subscribe, api, team, mlws_ws):
    owner_of_schedule = await subscribe(CONTRIBUTOR)
    await _polling(owner_of_schedule, mlws_ws)
    assert (await api("DELETE", "access", CONTRIBUTOR, user=OWNER)).code == 204
    run = _scheduled_run(mlws_ws, "failed")
    await asyncio.to_thread(notify_run_finished, mlws_ws,
                            {"name": "nightly", "owner": CONTRIBUTOR, "notify": []}, {"id": run.id})
    seen = await _until(owner_of_schedule, SCHEDULE_RUN, run_id=run.id)
    assert seen[-1] is None and _schedule_runs(seen) == []  # closed before, never told
    assert owner_of_schedule.close_code == 1008


async def test_the_event_cannot_be_posted_to_the_event_bus(jp_fetch, subscribe, team, mlws_ws):
    reader = await subscribe(READER)
    body = {"schema_id": SCHEDULE_RUN, "version": "1",
            "data": {"schedule": "x", "run_id": "r", "status": "failed", "nominal": None}}
    response = await jp_fetch("api", "events", method="POST", body=json.dumps(body),
                              headers={"Authorization": f"token {OWNER}-token"}, raise_error=False)
    assert response.code == 400
    marker = mlws_ws.experiment("other").start_run(snapshot=False, outputs=None)
    seen = await _until(reader, RUN_STATUS, run_id=marker.id)
    assert seen[-1] is not None and _schedule_runs(seen) == []
