"""Endpoints: registered models behind a scoring script, served over HTTP and monitored.

- :mod:`.service`: :class:`~.service.EndpointService`, the life cycle (create, deploy,
  traffic, keys, update, start, stop, delete, invoke);
- :mod:`.settings`: an endpoint's settings, their defaults and checks;
- :mod:`.records`: the endpoint tables, read and written by the service and the supervisor;
- :mod:`.reports`: request metrics over a time window, sampled payloads, drift verdicts;
- :mod:`.drift`: training-data statistics and how far sampled inputs drift from them;
- :mod:`.serving`: the process side (supervisor, workers, the ASGI app, monitoring), started
  as ``python -m jupyter_mlws.endpoints.serving``.

Nothing is imported here: a worker process imports :mod:`.serving` without the store.
"""
