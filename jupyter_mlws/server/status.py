"""The live events: what the workspace's change feed reports, published on Jupyter's event bus.

One loop per server polls the change feed (:mod:`jupyter_mlws.watch`) every ``poll_interval``
seconds, in a thread, and emits what changed under the event schemas in ``events/``: run
status, run metrics (at most one event per run and poll), run logs, endpoint health, model
changes (registered, a new version or alias, deleted), and notebook VMs' coming idle stops
(once per VM and stop time: :meth:`jupyter_mlws.vms.idle_states.VMIdleStates.warnings`, written by
whichever scheduler checked the VM).  Before it
publishes, every events stream whose user may no longer read the workspace (a revoked role)
is closed, so such a stream ends within one poll.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Awaitable, Callable

from .. import errors as E

EVENTS = Path(__file__).parent / "events"
RUN_STATUS_SCHEMA = "https://jupyter-mlws.org/events/run-status"
RUN_METRICS_SCHEMA = "https://jupyter-mlws.org/events/run-metrics"
RUN_LOGS_SCHEMA = "https://jupyter-mlws.org/events/run-logs"
ENDPOINT_HEALTH_SCHEMA = "https://jupyter-mlws.org/events/endpoint-health"
MODEL_CHANGE_SCHEMA = "https://jupyter-mlws.org/events/model-change"
VM_IDLE_WARNING_SCHEMA = "https://jupyter-mlws.org/events/vm-idle-warning"
#: the schema files in ``events/``
SCHEMA_FILES = ("run-status", "run-metrics", "run-logs", "endpoint-health", "model-change",
                "vm-idle-warning")


def register_schemas(event_logger) -> None:
    """Register the live events' schemas with the server's event logger."""
    for schema in SCHEMA_FILES:
        event_logger.register_event_schema(EVENTS / f"{schema}.yaml")


async def publish_changes(open_workspace: Callable, emit: Callable,
                          end_refused_streams: Callable[[], Awaitable], interval: float, log) -> None:
    """Poll the workspace's change feed every ``interval`` seconds and ``emit`` what changed,
    until cancelled (``open_workspace`` blocks: it runs in a thread, like every poll)."""
    runs = endpoints = models = ws = None
    warned: dict[str, int] = {}  # VM id -> the stop time last published
    while True:
        try:
            if runs is None:
                ws = await asyncio.to_thread(open_workspace)
                runs, endpoints = ws.changes.watch_runs(), ws.changes.watch_endpoints()
                models = ws.changes.watch_models()
            statuses = await asyncio.to_thread(runs.poll)
            health = await asyncio.to_thread(endpoints.poll)
            model_changes = await asyncio.to_thread(models.poll)
            warnings = await asyncio.to_thread(ws.vm_idle.warnings)
            # a stream whose user lost the right to read gets none of these: closed first
            await end_refused_streams()
            for event in statuses:
                emit(schema_id=RUN_STATUS_SCHEMA, data=event)
            for event in runs.metric_events:
                emit(schema_id=RUN_METRICS_SCHEMA, data=event)
            for event in runs.log_events:
                emit(schema_id=RUN_LOGS_SCHEMA, data=event)
            for event in health:
                emit(schema_id=ENDPOINT_HEALTH_SCHEMA, data=event)
            for event in model_changes:
                emit(schema_id=MODEL_CHANGE_SCHEMA, data=event)
            for w in warnings:
                if warned.get(w["id"]) != w["stop_at"]:
                    emit(schema_id=VM_IDLE_WARNING_SCHEMA,
                         data={"name": w["name"], "stop_at": w["stop_at"], "reason": w["reason"]})
            warned = {w["id"]: w["stop_at"] for w in warnings}
        except E.MlwsError:
            pass  # no workspace yet, or the store is busy: look again later
        except Exception:  # never let the loop die silently
            log.exception("jupyter_mlws: the run status poll failed")
        await asyncio.sleep(interval)
