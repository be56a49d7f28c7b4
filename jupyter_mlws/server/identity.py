"""Run tokens as Jupyter identities: ``Authorization: token mlws_run_...`` signs in as a run
(and ``mlws_vm_...``, a notebook VM's token, as the VM's owner on runs and experiments only:
:class:`VMPrincipal`, see :mod:`jupyter_mlws.vms.tokens`).

The extension installs this around the server's own IdentityProvider (the one configured:
token, password, JupyterHub's): a request whose Authorization header carries a run's token
(:mod:`jupyter_mlws.run_tokens`) is that run's :class:`RunPrincipal`, on the workspace's API
(``{base_url}mlws/api/``) only; every other request, and every other credential, is the
configured provider's to judge, as before.  What a run principal may then do is the
:class:`~.authorizer.WorkspaceAuthorizer`'s to decide (its run's routes only).

The provider is wrapped on its instance, not replaced: its class, configuration and state stay
what the deployer chose (Jupyter checks its type in places), and only ``get_user`` looks at run
tokens first.  A refused token leaves its reason on the handler (``mlws_denied``, naming the
run, never the token), which the workspace's handlers answer 403 with.
"""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from jupyter_server.auth.identity import User
from jupyter_server.utils import url_path_join

from .. import errors as E
from ..run_tokens import PREFIX
from ..vms.tokens import PREFIX as VM_PREFIX

if TYPE_CHECKING:  # pragma: no cover
    from .extension import MlwsApp

_HEADER = re.compile(r"(?:token|bearer)\s+(" + re.escape(PREFIX) + r"\S+)", re.IGNORECASE)
_VM_HEADER = re.compile(r"(?:token|bearer)\s+(" + re.escape(VM_PREFIX) + r"\S+)", re.IGNORECASE)
_ELSEWHERE = "a run's token reaches its run on the workspace's API only"
_VM_ELSEWHERE = "a VM's token reaches the workspace's runs and experiments only"


@dataclass
class RunPrincipal(User):
    """The identity of a request made with a run's token: the run it may write to."""

    run_id: str = ""


@dataclass
class VMPrincipal(User):
    """The identity of a request made with a notebook VM's token: the VM's owner (``username``),
    capped at contributor, on runs and experiments only (see :mod:`jupyter_mlws.vms.tokens`)."""

    vm: str = ""


#: the user id jupyter_server gives a sign-in that names nobody (a shared token or password)
_ANONYMOUS_ID = re.compile(r"[0-9a-f]{32}")


def is_anonymous(user) -> bool:
    """Whether ``user`` is one of jupyter_server's anonymous users: signed in with the server's
    shared token or password, a random id and a random "Anonymous <moon>" name per browser (and
    per API request)."""
    name = getattr(user, "name", "") or ""
    return bool(_ANONYMOUS_ID.fullmatch(getattr(user, "username", "") or "")) and \
        name.startswith("Anonymous ")


def actor_name(user, enforce_roles: bool) -> str:
    """Who a request acts as, as the workspace records it ("created by", the audit's "who").

    With roles enforced (a team server), the Jupyter username, which roles are granted to.
    Otherwise (a personal server: every signed-in user acts as the owner), the user's name
    (the identity provider's ``name``, else ``display_name``), and for an anonymous user
    (:func:`is_anonymous`), ``"<the server's OS user> (Jupyter)"``: the person holding the
    server's token, never a random id.  A run's or a VM's token acts as its username.
    """
    from ..access import os_user

    username = getattr(user, "username", "") or ""
    if enforce_roles or isinstance(user, (RunPrincipal, VMPrincipal)):
        return username
    if is_anonymous(user):
        return f"{os_user() or 'the server'} (Jupyter)"
    return getattr(user, "name", "") or getattr(user, "display_name", "") or username


def install(app: MlwsApp) -> None:
    """Have the web app's IdentityProvider recognise run tokens (once)."""
    provider = app.serverapp.web_app.settings["identity_provider"]
    if getattr(provider, "_mlws_run_tokens", False):
        return
    configured = provider.get_user
    api = url_path_join(app.serverapp.base_url, "mlws/api/")

    def get_user(handler):
        header = handler.request.headers.get("Authorization", "").strip()
        match = _HEADER.fullmatch(header)
        if match is not None:
            return _run_principal(app, handler, match.group(1), api)
        match = _VM_HEADER.fullmatch(header)
        if match is not None:
            return _vm_principal(app, handler, match.group(1), api)
        return configured(handler)

    provider.get_user = get_user
    provider._mlws_run_tokens = True


async def _run_principal(app: MlwsApp, handler, token: str, api: str) -> RunPrincipal | None:
    """The run a token signs in as, or None (refused, the reason left on the handler)."""
    if not handler.request.path.startswith(api):
        handler.mlws_denied = _ELSEWHERE
        return None
    try:
        run_id = await asyncio.to_thread(app.verify_run_token, token)
    except E.PermissionDenied as exc:
        handler.mlws_denied = str(exc)
        return None
    handler._token_authenticated = True  # a header credential: no XSRF cookie, as with tokens
    return RunPrincipal(username=f"run:{run_id}", display_name=f"run {run_id}", run_id=run_id)


async def _vm_principal(app: MlwsApp, handler, token: str, api: str) -> VMPrincipal | None:
    """The VM owner a VM's token signs in as, or None (refused, the reason left on the handler)."""
    if not handler.request.path.startswith(api):
        handler.mlws_denied = _VM_ELSEWHERE
        return None
    try:
        owner, vm = await asyncio.to_thread(app.verify_vm_token, token)
    except E.PermissionDenied as exc:
        handler.mlws_denied = str(exc)
        return None
    handler._token_authenticated = True
    return VMPrincipal(username=owner, display_name=f"{owner} (vm {vm})", vm=vm)
