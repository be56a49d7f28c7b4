"""Endpoints: registered models behind a scoring script, served over HTTP and monitored.

- :mod:`.service`: :class:`~.service.EndpointService`, the life cycle (create, deploy,
  traffic, keys, update, start, stop, delete, invoke);
- :mod:`.drift`: training-data statistics and how far sampled inputs drift from them;
- :mod:`.serving`: the process side (supervisor, workers, the ASGI app, monitoring), started
  as ``python -m jupyter_mlws.endpoints.serving``.

Nothing is imported here: a worker process imports :mod:`.serving` without the store.
"""
