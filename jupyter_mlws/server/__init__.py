"""The Jupyter server face: a REST API over the workspace, roles applied per user.

``extension.py`` holds the ExtensionApp (traits, setup, the workspace), ``handlers/`` the thin
HTTP handlers (``base.py``: auth, errors, JSON; one module per concept, each with its
``ROUTES``), ``routes.py`` joins the routes in one place, ``openapi.py`` describes the API,
``status.py`` publishes the live events from the core's change feed (``jupyter_mlws.watch``).
"""
