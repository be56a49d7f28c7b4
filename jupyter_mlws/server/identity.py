"""The workspace's tokens as Jupyter identities: ``Authorization: token mlws_run_...`` signs in
as a run, ``mlws_vm_...`` (a notebook VM's token) as the VM's owner on runs and experiments only
(:class:`VMPrincipal`, see :mod:`jupyter_mlws.vms.tokens`), and ``mlws_user_...`` (a user's API
token) as that user, with their workspace role (:class:`UserPrincipal`, see
:mod:`jupyter_mlws.access.tokens`); each on the workspace's API only.

With roles enforced (a team server), the server's own shared token (or password) signs in as the
server's OS user, the one the workspace's creator and ``mlws`` on that machine are
(:func:`is_anonymous`): Jupyter would make each of its requests a new random "Anonymous" user,
whom no role could ever be granted to.  Teammates sign in with user tokens.  (A server whose
sign-in is disabled, an empty token and no password, lets nobody in as its OS user.)

The extension installs this around the server's own IdentityProvider (the one configured:
token, password, JupyterHub's): a request whose Authorization header carries a run's token
(:mod:`jupyter_mlws.run_tokens`) is that run's :class:`RunPrincipal`, on the workspace's API
(``{base_url}mlws/api/``) only; every other request, and every other credential, is the
configured provider's to judge, as before.  What a run principal may then do is the
:class:`~.authorizer.WorkspaceAuthorizer`'s to decide (its run's routes only).

The provider is wrapped on its instance, not replaced: its class, configuration and state stay
what the deployer chose (Jupyter checks its type in places), and only ``get_user`` looks at run
tokens first.  A refused token leaves its reason on the handler (``mlws_denied``, naming the
run, VM or user token's id, never the token), which the workspace's handlers answer 403 with.

A user's API token never signs a browser in: given as ``?token=mlws_user_...`` to a page (or to
Jupyter's API) it is answered 403 with :data:`USER_TOKEN_PAGE` (where it works, what signs in to
the pages), and pasted in Jupyter's login form, the form says the same in place of "Invalid
credentials".  (The pages' live events go through Jupyter's own events stream, which no user
token reaches; and the server's token stays the only sign-in that is not JupyterHub's.)
"""

from __future__ import annotations

import asyncio
import inspect
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from jupyter_server.auth.identity import User
from jupyter_server.utils import url_path_join
from tornado import web

from .. import errors as E
from ..access.tokens import PREFIX as USER_PREFIX
from ..run_tokens import PREFIX
from ..vms.tokens import PREFIX as VM_PREFIX

if TYPE_CHECKING:  # pragma: no cover
    from .extension import MlwsApp

_HEADER = re.compile(r"(?:token|bearer)\s+(" + re.escape(PREFIX) + r"\S+)", re.IGNORECASE)
_VM_HEADER = re.compile(r"(?:token|bearer)\s+(" + re.escape(VM_PREFIX) + r"\S+)", re.IGNORECASE)
_USER_HEADER = re.compile(r"(?:token|bearer)\s+(" + re.escape(USER_PREFIX) + r"\S+)",
                          re.IGNORECASE)
_ELSEWHERE = "a run's token reaches its run on the workspace's API only"
_VM_ELSEWHERE = "a VM's token reaches the workspace's runs and experiments only"
_USER_ELSEWHERE = ("a user's API token reaches the workspace's API (mlws/api/) only: sign in to "
                   "Jupyter itself with the server's token")
#: what a browser given a user's API token (``?token=mlws_user_...``, or pasted in the login
#: form) is told: where that token works, and what signs in to the pages
USER_TOKEN_PAGE = ("This is a user's API token (from 'mlws access token create'):\n"
                   "it signs in to the workspace from the mlws command and the SDK only, not to "
                   "these pages. Use it as\n\n"
                   "    MLWS_WORKSPACE={url} MLWS_TOKEN=<your token> mlws run list\n\n"
                   "or Workspace.connect(\"{url}\", token) in Python.\n"
                   "The pages sign in with the server's own token or password (the admin's), or "
                   "through JupyterHub.")


def user_token_page(handler) -> str:
    """:data:`USER_TOKEN_PAGE` naming this server's URL (as the request reached it); lines a
    page's ``<pre>`` shows whole."""
    request = handler.request
    base = handler.settings.get("base_url", "/")
    return USER_TOKEN_PAGE.format(url=f"{request.protocol}://{request.host}{base}")


@dataclass
class RunPrincipal(User):
    """The identity of a request made with a run's token: the run it may write to."""

    run_id: str = ""


@dataclass
class VMPrincipal(User):
    """The identity of a request made with a notebook VM's token: the VM's owner (``username``),
    capped at contributor, on runs and experiments only (see :mod:`jupyter_mlws.vms.tokens`)."""

    vm: str = ""


@dataclass
class UserPrincipal(User):
    """The identity of a request made with a user's API token: that user (``username``), with
    their workspace role whether or not roles are enforced, on the workspace's API only."""


#: the user id jupyter_server gives a sign-in that names nobody (a shared token or password)
_ANONYMOUS_ID = re.compile(r"[0-9a-f]{32}")


def is_anonymous(user) -> bool:
    """Whether ``user`` is one of jupyter_server's anonymous users: signed in with the server's
    shared token or password, a random id and a random "Anonymous <moon>" name per browser (and
    per API request)."""
    name = getattr(user, "name", "") or ""
    return bool(_ANONYMOUS_ID.fullmatch(getattr(user, "username", "") or "")) and \
        name.startswith("Anonymous ")


def server_user(user) -> User:
    """The server's OS user in place of an anonymous one (:func:`is_anonymous`): who holds the
    server's shared token on a team server."""
    from ..access import os_user

    me = os_user() or "the server"
    return User(username=me, name=me, display_name=f"{me} (the server's token)",
                initials=getattr(user, "initials", None), avatar_url=None,
                color=getattr(user, "color", None))


def run_user(user, enforce_roles: bool) -> str:
    """Who a run made by this request records as its user (what ``run list -f "user = ..."``
    finds): :func:`actor_name`, the same name as the request's other records."""
    return actor_name(user, enforce_roles)


def actor_name(user, enforce_roles: bool) -> str:
    """Who a request acts as, as the workspace records it ("created by", the audit's "who", a
    run's user).

    With roles enforced (a team server), the Jupyter username, which roles are granted to.
    Otherwise (a personal server: every signed-in user acts as the owner), the user's name
    (the identity provider's ``name``, else ``display_name``), and for an anonymous user
    (:func:`is_anonymous`), the server's OS user: the person holding the server's token, never
    a random id, and the same name as what they do from the CLI and their kernels (one name
    for one person everywhere).  A run's or a VM's token acts as its username.
    """
    from ..access import os_user

    username = getattr(user, "username", "") or ""
    if enforce_roles or isinstance(user, (RunPrincipal, VMPrincipal, UserPrincipal)):
        return username
    if is_anonymous(user):
        return os_user() or "the server"
    return getattr(user, "name", "") or getattr(user, "display_name", "") or username


def install(app: MlwsApp) -> None:
    """Have the web app's IdentityProvider recognise the workspace's tokens and, with roles
    enforced, sign the server's shared token in as the server's OS user (once)."""
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
        match = _USER_HEADER.fullmatch(header)
        if match is not None:
            return _user_principal(app, handler, match.group(1), api)
        found = configured(handler)
        if app.enforce_roles and getattr(provider, "auth_enabled", True):
            # (with sign-in disabled, an anonymous user stays nobody: no role, no entry)
            found = _named(found)
        if _USER_PREFIX_QUERY in handler.request.query and not handler.request.path.startswith(api):
            return _page_with_user_token(found, handler)
        return found

    configured_form = provider.process_login_form

    def process_login_form(handler):
        if handler.get_argument("password", default="").strip().startswith(USER_PREFIX):
            _refuse_user_token_form(handler)
        return configured_form(handler)

    provider.get_user = get_user
    provider.process_login_form = process_login_form
    provider._mlws_run_tokens = True


#: a user's API token in a page's URL (``?token=mlws_user_...``), as the query holds it
_USER_PREFIX_QUERY = "token=" + USER_PREFIX


async def _page_with_user_token(found, handler):
    """A page (or Jupyter's API) opened with ``?token=mlws_user_...``: whoever the configured
    provider signs in (a browser signed in already), else a 403 that says where a user's API
    token works (:data:`USER_TOKEN_PAGE`) in place of Jupyter's login page."""
    user = await found if inspect.isawaitable(found) else found
    if user is None and (handler.get_argument("token", default="") or "").startswith(USER_PREFIX):
        _answer(handler, 403, user_token_page(handler))
    return user


def _refuse_user_token_form(handler):
    """A user's API token pasted in Jupyter's login form: the form again, saying where that
    token works (:data:`USER_TOKEN_PAGE`) in place of "Invalid credentials"."""
    render = getattr(handler, "_render", None)  # jupyter_server's LoginFormHandler
    if render is None:
        _answer(handler, 401, user_token_page(handler))
    handler.set_status(401)
    render(message={"error": user_token_page(handler)})
    raise web.Finish()


def _answer(handler, status: int, message: str):
    """End the request with the handler's own error page (or JSON) saying ``message``: sent
    here rather than raised, since tornado would log a raised error with the request's URL,
    token and all."""
    error = web.HTTPError(status, message.replace("%", "%%"))
    handler.current_user = handler._jupyter_current_user = None  # (signed in as nobody)
    handler.send_error(status, exc_info=(web.HTTPError, error, None))
    raise web.Finish()


async def _verified(handler, token: str, api: str, elsewhere: str, verify):
    """What ``verify(token)`` says the token signs in as, or None: refused, the reason left on
    the handler (``elsewhere`` for a request outside the workspace's API)."""
    if not handler.request.path.startswith(api):
        handler.mlws_denied = elsewhere
        return None
    try:
        found = await asyncio.to_thread(verify, token)
    except E.PermissionDenied as exc:
        handler.mlws_denied = str(exc)
        return None
    handler._token_authenticated = True  # a header credential: no XSRF cookie, as with tokens
    return found


async def _run_principal(app: MlwsApp, handler, token: str, api: str) -> RunPrincipal | None:
    """The run a token signs in as, or None (refused, the reason left on the handler)."""
    run_id = await _verified(handler, token, api, _ELSEWHERE, app.verify_run_token)
    return None if run_id is None else RunPrincipal(
        username=f"run:{run_id}", display_name=f"run {run_id}", run_id=run_id)


async def _vm_principal(app: MlwsApp, handler, token: str, api: str) -> VMPrincipal | None:
    """The VM owner a VM's token signs in as, or None (refused, the reason left on the handler)."""
    found = await _verified(handler, token, api, _VM_ELSEWHERE, app.verify_vm_token)
    if found is None:
        return None
    owner, vm = found
    return VMPrincipal(username=owner, display_name=f"{owner} (vm {vm})", vm=vm)


async def _user_principal(app: MlwsApp, handler, token: str, api: str) -> UserPrincipal | None:
    """The user a user's API token signs in as, or None (refused, the reason left on the handler)."""
    user = await _verified(handler, token, api, _USER_ELSEWHERE, app.verify_user_token)
    return None if user is None else UserPrincipal(username=user, name=user, display_name=user)


async def _named(found):
    """The configured provider's user, the server's OS user in place of an anonymous one."""
    user = await found if inspect.isawaitable(found) else found
    return server_user(user) if user is not None and is_anonymous(user) else user
