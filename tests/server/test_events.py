"""Run status changes, metric points and endpoint health reach the events websocket the
sidebar subscribes to."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

SCHEMA = "https://jupyter-mlws.org/events/run-status"
METRICS = "https://jupyter-mlws.org/events/run-metrics"
HEALTH = "https://jupyter-mlws.org/events/endpoint-health"
LOGS = "https://jupyter-mlws.org/events/run-logs"
SCHEDULE_RUN = "https://jupyter-mlws.org/events/schedule-run"
ECHO = Path(__file__).parent.parent / "endpoint_scripts" / "score_echo.py"


async def _next_event(events, run_id, status=None, *, schema=SCHEMA, timeout=15, key="run_id",
                      state_key="status"):
    """The next event of ``schema`` about ``run_id`` (with that ``status``, when given)."""
    async def read():
        while True:
            message = json.loads(await events.read_message())
            if (message.get("schema_id") == schema and message[key] == run_id
                    and (status is None or message[state_key] == status)):
                return message

    return await asyncio.wait_for(read(), timeout)


async def test_a_status_change_arrives_on_the_events_websocket(subscribe, mlws_ws):
    events = await subscribe()
    run = mlws_ws.experiment("live").start_run(snapshot=False, outputs=None)
    started = await _next_event(events, run.id, "running")
    assert started["experiment"] == "live"
    run.end("completed")
    ended = await _next_event(events, run.id, "completed")
    assert ended["previous_status"] == "running" and ended["end_time"]


async def test_points_a_live_run_logs_arrive_as_one_event_per_poll(subscribe, mlws_ws):
    events = await subscribe()
    run = mlws_ws.experiment("live").start_run(snapshot=False, outputs=None)
    await _next_event(events, run.id, "running")
    run.log_batch("loss", [1.0, 0.5, 0.25])
    event = await _next_event(events, run.id, schema=METRICS)
    assert event["points"] == 3
    run.end("completed")
    await _next_event(events, run.id, "completed")


async def test_a_running_runs_log_output_arrives_as_events_and_reads_from_an_offset(subscribe, api, mlws_ws):
    events = await subscribe()
    run = mlws_ws.experiment("live").start_run(snapshot=False, outputs=None)
    await _next_event(events, run.id, "running")
    log = mlws_ws.artifacts.live_file(run.id, "stdout.log")
    with open(log, "ab") as f:
        f.write(b"epoch 1\n")
    first = await _next_event(events, run.id, schema=LOGS)
    assert first["logs"] == {"stdout.log": 8} and "text" not in first  # sizes, never text
    with open(log, "ab") as f:
        f.write(b"epoch 2 \xc3\xa9\n")
    grown = await _next_event(events, run.id, schema=LOGS)
    assert grown["logs"] == {"stdout.log": 19}
    # the new bytes only, as the sidebar asks for them
    r = await api("GET", "runs", run.id, "logs", params={"name": "stdout.log", "since_bytes": "8"})
    assert r.json["logs"]["stdout.log"] == {"size": 19, "offset": 8, "text": "epoch 2 \u00e9\n"}
    r = await api("GET", "runs", run.id, "logs", params={"tail_bytes": "3"})
    assert r.json["logs"]["stdout.log"]["offset"] == 16
    r = await api("GET", "runs", run.id, "logs", params={"tail_bytes": "0"})
    assert r.code == 400
    run.end("completed")
    await _next_event(events, run.id, "completed")
    # stored at the end: the same reads from the stored log
    r = await api("GET", "runs", run.id, "logs", params={"name": "stdout.log", "since_bytes": "8"})
    assert r.json["logs"]["stdout.log"]["text"] == "epoch 2 \u00e9\n"


@pytest.mark.timeout(120)
async def test_endpoint_health_and_traffic_arrive_as_events(subscribe, mlws_ws, tmp_path):
    pytest.importorskip("uvicorn")
    events = await subscribe()
    (tmp_path / "m").mkdir()
    (tmp_path / "m" / "weights.txt").write_text("1")
    mlws_ws.register_model("echo", tmp_path / "m")

    async def health(state=None, **kw):
        return await _next_event(events, "live", state, schema=HEALTH, key="endpoint",
                                 state_key="state", **kw)
    try:
        await asyncio.sleep(1.5)  # the watcher's baseline poll
        await asyncio.to_thread(mlws_ws.endpoints.create, "live", "echo:1", ECHO, wait=False)
        created = await health()
        assert created["previous_state"] is None
        assert created["deployments"] == [{"name": "blue", "state": created["deployments"][0]["state"],
                                           "traffic": 100}]
        ready = created if created["state"] == "healthy" else await health("healthy", timeout=60)
        assert ready["deployments"][0]["state"] == "healthy"
        for _ in range(3):
            await asyncio.to_thread(mlws_ws.endpoints.invoke, "live", {"x": 1})
        served, counted = None, 0
        while counted < 3:  # monitoring flushes within a few seconds; each event counts the new ones
            served = await health("healthy", timeout=20)
            counted += served["requests"]
        assert counted == 3 and served["errors"] == 0
        assert "key" not in json.dumps(served).lower()  # events never carry keys
        await asyncio.to_thread(mlws_ws.endpoints.stop, "live")
        stopped = await health("stopped")
        assert stopped["previous_state"] == "healthy"
        await asyncio.to_thread(mlws_ws.endpoints.delete, "live")
        assert (await health("deleted"))["previous_state"] == "stopped"
    finally:
        for item in mlws_ws.endpoints.list():
            mlws_ws.endpoints.delete(item["name"])


MODELS = "https://jupyter-mlws.org/events/model-change"


async def test_a_model_registered_through_the_sdk_arrives_as_an_event(subscribe, mlws_ws, tmp_path):
    events = await subscribe()
    (tmp_path / "m").mkdir()
    (tmp_path / "m" / "weights.txt").write_text("1")
    await asyncio.sleep(1.5)  # the watcher's baseline poll
    mlws_ws.register_model("fresh", tmp_path / "m")
    event = await _next_event(events, "fresh", schema=MODELS, key="model", state_key="change")
    assert (event["change"], event["versions"], event["latest_version"]) == ("registered", 1, 1)


async def test_a_scheduled_runs_end_reaches_every_stream_of_a_personal_server(subscribe, mlws_ws):
    """Roles not enforced: every signed-in user acts as the workspace's owner, so each stream is
    the schedule owner's (the team server's case: tests/server/test_schedule_events.py)."""
    from jupyter_mlws.schedules.notify import notify_run_finished

    first, second = await subscribe(), await subscribe()
    ready = mlws_ws.experiment("live").start_run(snapshot=False, outputs=None)
    await _next_event(first, ready.id, "running")  # the watcher's baseline poll is over
    run = mlws_ws.experiment("nightly").start_run(snapshot=False, outputs=None, tags={
        "mlws.schedule": "nightly", "mlws.schedule.nominal": "2025-03-31T06:00:00+02:00"})
    run.end("failed")
    await asyncio.to_thread(notify_run_finished, mlws_ws,
                            {"name": "nightly", "owner": "someone", "notify": []}, {"id": run.id})
    for events in (first, second):
        got = await _next_event(events, run.id, schema=SCHEDULE_RUN)
        assert got == {"schema_id": SCHEDULE_RUN, "schedule": "nightly", "run_id": run.id,
                       "status": "failed", "nominal": "2025-03-31T06:00:00+02:00",
                       "trigger": "tick"}
