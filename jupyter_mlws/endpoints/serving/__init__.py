"""The server side of endpoints: a supervisor process, its workers, their HTTP connections,
the scoring app and monitoring.

Nothing here is imported by the workspace's core; the endpoint service starts
``python -m jupyter_mlws.endpoints.serving WORKSPACE ENDPOINT`` as a detached process.
"""
