"""The live events: what the workspace's change feed reports, published on Jupyter's event bus.

One loop per server polls the change feed (:mod:`jupyter_mlws.watch`) every ``poll_interval``
seconds, in a thread, and emits what changed under the event schemas in ``events/``: run
status, run metrics (at most one event per run and poll), run logs, endpoint health, model
changes (registered, a new version or alias, deleted), and notebook VMs' coming idle stops
(once per VM and stop time: :meth:`jupyter_mlws.vms.idle_states.VMIdleStates.warnings`, written by
whichever scheduler checked the VM).  Before it
publishes, every events stream whose user may no longer read the workspace (a revoked role)
is closed, so such a stream ends within one poll.

Personal events (:data:`PERSONAL_SCHEMA_FILES`: a scheduled run that ended, ``schedule-run``,
from the notices whichever scheduler recorded, :mod:`jupyter_mlws.schedules.notify`) go to one
user's streams alone (:class:`PersonalEvents`), in the same message form as the others; they
are never put on the server's event bus, so no other stream receives them and nobody can POST
one to ``/api/events``.
"""

from __future__ import annotations

import asyncio
import json
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
SCHEDULE_RUN_SCHEMA = "https://jupyter-mlws.org/events/schedule-run"
#: the schema files in ``events/`` of the events every reader's stream gets (the event bus)
SCHEMA_FILES = ("run-status", "run-metrics", "run-logs", "endpoint-health", "model-change",
                "vm-idle-warning")
#: the schema files in ``events/`` of the events one user's streams get (:class:`PersonalEvents`)
PERSONAL_SCHEMA_FILES = ("schedule-run",)
#: what a ``schedule-run`` event tells of a notice
SCHEDULE_RUN_FIELDS = ("schedule", "run_id", "status", "nominal", "trigger")


def register_schemas(event_logger) -> None:
    """Register the live events' schemas with the server's event logger."""
    for schema in SCHEMA_FILES:
        event_logger.register_event_schema(EVENTS / f"{schema}.yaml")


class PersonalEvents:
    """Sends the events of :data:`PERSONAL_SCHEMA_FILES` to one user's open events streams.

    Parameters
    ----------
    streams_of : callable
        ``streams_of(user) -> [WebSocketHandler]``: the open events streams that may receive
        ``user``'s events (the authorizer's :meth:`~.authorizer.WorkspaceAuthorizer.streams_of`).
    """

    def __init__(self, streams_of: Callable[[str], list]):
        from jupyter_events.schema import EventSchema

        self.streams_of = streams_of
        self.schemas = {}
        for name in PERSONAL_SCHEMA_FILES:
            schema = EventSchema(EVENTS / f"{name}.yaml")
            self.schemas[schema.id] = schema

    def send(self, user: str, schema_id: str, data: dict) -> int:
        """Write the event (``{"schema_id", **data}``, as Jupyter's events stream writes every
        event) to ``user``'s streams; returns how many got it.  Raises jsonschema's
        ValidationError for data the schema refuses, KeyError for an unknown schema."""
        from tornado.websocket import WebSocketClosedError

        self.schemas[schema_id].validate(data)
        message = json.dumps({"schema_id": schema_id, **data})
        sent = 0
        for stream in self.streams_of(user):
            try:
                stream.write_message(message)
                sent += 1
            except WebSocketClosedError:
                pass  # closed meanwhile: nothing to tell it
        return sent


async def publish_changes(open_workspace: Callable, emit: Callable,
                          end_refused_streams: Callable[[], Awaitable], interval: float, log,
                          personal: PersonalEvents | None = None) -> None:
    """Poll the workspace's change feed every ``interval`` seconds and ``emit`` what changed,
    and ``personal.send`` each user's own events, until cancelled (``open_workspace`` blocks:
    it runs in a thread, like every poll)."""
    runs = endpoints = models = notices = ws = None
    warned: dict[str, int] = {}  # VM id -> the stop time last published
    while True:
        try:
            if runs is None:
                ws = await asyncio.to_thread(open_workspace)
                runs, endpoints = ws.changes.watch_runs(), ws.changes.watch_endpoints()
                models = ws.changes.watch_models()
                notices = ws.schedule_notices.watch()
            statuses = await asyncio.to_thread(runs.poll)
            health = await asyncio.to_thread(endpoints.poll)
            model_changes = await asyncio.to_thread(models.poll)
            warnings = await asyncio.to_thread(ws.vm_idle.warnings)
            ended = await asyncio.to_thread(notices.poll)
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
                    emit(schema_id=VM_IDLE_WARNING_SCHEMA, data=_idle_warning(w))
            warned = {w["id"]: w["stop_at"] for w in warnings}
            for notice in ended if personal is not None else ():
                _send_schedule_run(personal, notice, log)
        except E.MlwsError:
            pass  # no workspace yet, or the store is busy: look again later
        except Exception:  # never let the loop die silently
            log.exception("jupyter_mlws: the run status poll failed")
        await asyncio.sleep(interval)


def _idle_warning(warning: dict) -> dict:
    """The ``vm-idle-warning`` event of a VM's warning (``idle_since`` only when known)."""
    data = {key: warning[key] for key in ("name", "stop_at", "reason")}
    if isinstance(warning.get("idle_since"), int):
        data["idle_since"] = warning["idle_since"]
    return data


def _send_schedule_run(personal: PersonalEvents, notice: dict, log) -> None:
    """The ``schedule-run`` event of a notice, to its schedule's owner (one that fails is logged
    and skipped: the others still go)."""
    try:
        personal.send(notice["owner"], SCHEDULE_RUN_SCHEMA,
                      {key: notice[key] for key in SCHEDULE_RUN_FIELDS})
    except Exception:
        log.exception("jupyter_mlws: the schedule-run event of run %s was not sent",
                      notice.get("run_id"))
