"""A test-only Jupyter server extension: registers the ``vm-idle-warning`` event schema on the
server's event logger unless the server already did (once every extension has loaded), so that a
test can publish the event through Jupyter's own ``POST /api/events``, the emitter the live feed
uses."""

from __future__ import annotations

from pathlib import Path

SCHEMA = Path(__file__).with_name("vm-idle-warning.yaml")
SCHEMA_ID = "https://jupyter-mlws.org/events/vm-idle-warning"


def _jupyter_server_extension_points():
    return [{"module": "vm_idle_event"}]


def _load_jupyter_server_extension(serverapp):
    from tornado.ioloop import IOLoop

    def register():
        if SCHEMA_ID not in serverapp.event_logger.schemas.schema_ids:
            serverapp.event_logger.register_event_schema(SCHEMA)

    IOLoop.current().add_callback(register)
