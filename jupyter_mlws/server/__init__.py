"""The Jupyter server face: a REST API over the workspace, roles applied per user.

``extension.py`` holds the ExtensionApp (traits, routes, the status poll),
``handlers.py`` the thin HTTP handlers, ``openapi.py`` the API's description,
``status.py`` the run-status watcher behind the live events.
"""
