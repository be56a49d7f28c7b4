"""A workspace reached over HTTP: the SDK's transport to a workspace server.

``Workspace.connect(url, token=)`` (or ``MLWS_WORKSPACE=https://...`` with ``MLWS_TOKEN``) gives
a :class:`~.workspace.RemoteWorkspace`: the same :class:`~jupyter_mlws.tracking.Tracking` and
:class:`~jupyter_mlws.run.Run` as on a local workspace, over a run store that speaks the server's
REST API (:mod:`.store`) through one kept-alive connection pool (:mod:`.client`).  Nothing here
opens a database.
"""
