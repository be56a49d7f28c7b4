"""``ws.models`` of a workspace reached over HTTP: the model registry through the server's
``/models`` routes (see :class:`~jupyter_mlws.models.ModelRegistry`, whose methods and return
shapes these mirror: versions come back as :class:`~jupyter_mlws.models.ModelVersion`)."""

from __future__ import annotations

from dataclasses import fields

from ..errors import Unavailable
from ..models import ModelVersion, parse_ref
from .service import RemoteService

_FIELDS = {f.name for f in fields(ModelVersion)} - {"pk"}


def version_of(data: dict) -> ModelVersion:
    """A model version from the REST API's JSON."""
    return ModelVersion(pk=0, **{k: v for k, v in data.items() if k in _FIELDS})


class RemoteRegistry(RemoteService):
    """List, show, register (a run's artifact) and delete the server's models."""

    name = "models"

    def list(self) -> list[dict]:
        """Every model with its latest version, number of versions, aliases and ``served_by``."""
        return self.client.call("GET", ("models",))["models"]

    def show(self, ref: str) -> dict:
        """A version (``NAME:3``, ``NAME@alias``) or ``{"name", "versions"}`` for ``NAME``."""
        return self.client.call("GET", ("models", ref))

    def versions(self, name: str) -> list[ModelVersion]:
        """Every version of a model, newest first (NotFound for no such model)."""
        return [version_of(v) for v in self.show(name)["versions"]]

    def resolve(self, ref: str) -> ModelVersion:
        """The version ``NAME`` (latest), ``NAME:VERSION`` or ``NAME@ALIAS`` names."""
        _name, version, alias = parse_ref(ref)
        if version is None and alias is None:
            return self.versions(ref)[0]
        return version_of(self.show(ref))

    def delete(self, ref: str) -> list[str]:
        """Delete a version or a whole model; the versions deleted (``NAME:N``)."""
        return self.client.call("DELETE", ("models", ref))["deleted"]

    def set_alias(self, name: str, alias: str, version: int) -> ModelVersion:
        """Point ``NAME@ALIAS`` at ``version``; that version."""
        return version_of(self.client.call("PUT", ("models", name, "aliases", alias),
                                           {"version": version}))

    def delete_alias(self, name: str, alias: str) -> None:
        """Remove ``NAME@ALIAS``."""
        self.client.call("DELETE", ("models", name, "aliases", alias))

    def register(self, name: str, path=None, *, run: str | None = None,
                 artifact: str | None = None, tags=None, description: str = "",
                 training_data=None, **options) -> ModelVersion:
        """Register a run's artifact (``run`` and ``artifact``, already on the server) as the
        next version of ``name``.  A file here (``path``) or training data is not sent over
        HTTP (Unavailable saying what to do)."""
        if path is not None or training_data is not None or not (run and artifact):
            raise Unavailable(
                f"registering model {name!r} over HTTP takes a run's artifact: upload the file "
                "with run.upload_file, then register it with run= and artifact= ('mlws model "
                "register NAME --run RUN --artifact PATH'); training data is given where the "
                "workspace is")
        body = {"name": name, "run": run, "artifact": artifact, "tags": dict(tags or {}),
                "description": description or ""}
        return version_of(self.client.call("POST", ("models",), body))
