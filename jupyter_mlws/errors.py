"""One error tree for the whole workspace.

Every message says what is wrong and what to do, and is safe to show a client:
no secrets and no server paths beyond what the user typed.  Faces map the kinds
to HTTP status codes or CLI exit codes in one place each.
"""


class MlwsError(Exception):
    """Base of every error the workspace raises on purpose."""

    #: a short machine-readable reason, also used by the faces
    reason = "error"
    #: facts a client may act on (JSON-able, safe to show as the message is), sent beside the
    #: message by the REST API as ``details``; None for most errors
    details: dict | None = None


class NotFound(MlwsError):
    """A named thing (workspace, experiment, run, artifact) does not exist."""

    reason = "not_found"


class AlreadyExists(MlwsError):
    """Creating something whose name is taken."""

    reason = "already_exists"


class InvalidInput(MlwsError):
    """The caller passed a value the workspace cannot accept."""

    reason = "invalid_input"


class LocalOnly(InvalidInput, AttributeError):
    """What a workspace reached over HTTP does not offer: it works on a local workspace only
    (one opened from its folder or store URL), so it is run where the workspace is.

    ``what`` names the call (``ws.move_artifacts``; the CLI says the command instead) and
    ``url`` the server's URL as messages show it.  Also an AttributeError, so that
    ``hasattr(ws, name)`` and ``getattr(ws, name, default)`` answer as for a missing attribute.
    A kind of :class:`InvalidInput` (CLI exit code 2).
    """

    reason = "local_only"

    def __init__(self, what: str, url: str):
        super().__init__(f"{what} works on a local workspace only; this is {url}: run it on the "
                         "server")
        self.what, self.url = what, url


class PermissionDenied(MlwsError):
    """The caller's role does not allow the action."""

    reason = "permission_denied"


class Conflict(MlwsError):
    """The action does not fit the current state (e.g. logging to a finished run)."""

    reason = "conflict"


class Unavailable(MlwsError):
    """A backing service or an optional dependency is missing or down."""

    reason = "unavailable"


class EndpointError(Unavailable):
    """An endpoint answered a call with an error of its own (its ``run()`` raised or timed out).

    A kind of :class:`Unavailable` for HTTP (the service behind could not answer the call);
    the CLI gives it its own exit code, so scripts tell a failing model from a stopped one.
    """

    reason = "endpoint_error"


def missing_dependency(package: str, extra: str) -> Unavailable:
    """The error for an optional dependency that is not installed."""
    return Unavailable(
        f"this feature needs the '{package}' package: pip install 'jupyter_mlws[{extra}]'"
    )


class InsufficientStorage(Unavailable):
    """The device holding the workspace (its database or artifacts) is full.

    The write that met it changed nothing; once space is freed the same workspace object
    works again.  HTTP 507, CLI exit code 9.
    """

    reason = "insufficient_storage"


def from_reason(reason: str, message: str) -> MlwsError:
    """The error a face reported as ``{"reason", "message"}`` (the REST API's error JSON), as the
    kind it was; an unknown reason is a plain MlwsError.  What the SDK raises for a server's
    refusal, so that code over HTTP catches the same kinds as code on the store."""
    kinds = (NotFound, AlreadyExists, InvalidInput, PermissionDenied, Conflict, EndpointError,
             InsufficientStorage, Unavailable)
    kind = next((k for k in kinds if k.reason == reason), None)
    if kind is None and reason == "unauthenticated":
        kind = PermissionDenied
    return (kind or MlwsError)(message)


class BuildFailed(Unavailable):
    """An environment could not be built on its compute target.

    The message names the target, the step (the venv, the distributions, a local package's
    wheel) and the installer's lines naming the distribution; nothing half-built is left
    there.  A kind of :class:`Unavailable` (HTTP 503, CLI exit code 7).
    """

    reason = "build_failed"
