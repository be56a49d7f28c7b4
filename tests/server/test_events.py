"""Run status changes reach the events websocket the sidebar subscribes to."""

from __future__ import annotations

import asyncio
import json

SCHEMA = "https://jupyter-mlws.org/events/run-status"
METRICS = "https://jupyter-mlws.org/events/run-metrics"


async def _next_event(socket, run_id, status=None, *, schema=SCHEMA, timeout=15):
    """The next event of ``schema`` about ``run_id`` (with that ``status``, when given)."""
    async def read():
        while True:
            message = json.loads(await socket.read_message())
            if (message.get("schema_id") == schema and message["run_id"] == run_id
                    and (status is None or message["status"] == status)):
                return message

    return await asyncio.wait_for(read(), timeout)


async def test_a_status_change_arrives_on_the_events_websocket(jp_ws_fetch, jp_serverapp, api, mlws_ws):
    # pytest-jupyter does not run the server's start phase; do what ServerApp._post_start does
    await jp_serverapp.extension_manager.start_all_extensions()
    assert (await api("GET", "workspace")).code == 200
    socket = await jp_ws_fetch("api", "events", "subscribe")
    try:
        run = mlws_ws.experiment("live").start_run(snapshot=False, outputs=None)
        started = await _next_event(socket, run.id, "running")
        assert started["experiment"] == "live"
        run.end("completed")
        ended = await _next_event(socket, run.id, "completed")
        assert ended["previous_status"] == "running" and ended["end_time"]
    finally:
        socket.close()


async def test_points_a_live_run_logs_arrive_as_one_event_per_poll(jp_ws_fetch, jp_serverapp, api, mlws_ws):
    await jp_serverapp.extension_manager.start_all_extensions()
    assert (await api("GET", "workspace")).code == 200
    socket = await jp_ws_fetch("api", "events", "subscribe")
    try:
        run = mlws_ws.experiment("live").start_run(snapshot=False, outputs=None)
        await _next_event(socket, run.id, "running")
        run.log_batch("loss", [1.0, 0.5, 0.25])
        event = await _next_event(socket, run.id, schema=METRICS)
        assert event["points"] == 3
        run.end("completed")
        await _next_event(socket, run.id, "completed")
    finally:
        socket.close()
