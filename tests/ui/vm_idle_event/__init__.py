"""A test-only Jupyter server extension: registers the live event schemas of its folder
(``vm-idle-warning``, ``schedule-run``) on the server's event logger, each unless the server already
did (once every extension has loaded), so that a test can publish the event through Jupyter's own
``POST /api/events``, the emitter the live feed uses.  (Named for the first of them.)"""

from __future__ import annotations

from pathlib import Path

import yaml

SCHEMAS = sorted(Path(__file__).parent.glob("*.yaml"))


def _jupyter_server_extension_points():
    return [{"module": "vm_idle_event"}]


def _load_jupyter_server_extension(serverapp):
    from tornado.ioloop import IOLoop

    def register():
        for schema in SCHEMAS:
            if yaml.safe_load(schema.read_text())["$id"] not in serverapp.event_logger.schemas.schema_ids:
                serverapp.event_logger.register_event_schema(schema)

    IOLoop.current().add_callback(register)
