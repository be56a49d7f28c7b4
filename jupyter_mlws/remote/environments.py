"""``ws.environments`` of a workspace reached over HTTP, through the server's ``/environments``
routes (see :class:`~jupyter_mlws.environments.service.EnvironmentService`, whose methods and
return shapes these mirror).

Runs submitted over HTTP are submitted by the server: their environment is that of the
server's kernel of the same name, so what is compared and built is the server's kernels'
environments (``--from-kernel NAME``, a run's, or a spec), never this machine's.
"""

from __future__ import annotations

import json
from pathlib import Path

from ..errors import InvalidInput
from .service import RemoteService


class EnvironmentRef:
    """An environment named for the server: ``{"run": ID}``, ``{"kernel": NAME}`` (None: the
    server's own), or ``{"spec": {...}}``; ``notes`` as a spec's (what ``env build`` prints)."""

    def __init__(self, **ref):
        self.ref = ref
        self.notes = list((ref.get("spec") or {}).get("notes") or [])


class RemoteEnvironments(RemoteService):
    """List, show, diff, build and prune environments on the server's targets."""

    name = "environments"

    def list(self, compute: str | None = None) -> list[dict]:
        """The environments built per target (``compute``: one target's)."""
        return self.client.call("GET", ("environments",), query={"compute": compute})["environments"]

    def show(self, env_hash: str) -> dict:
        """One environment by hash or unique prefix: its spec and its targets' records."""
        return self.client.call("GET", ("environments", env_hash))

    def of_run(self, run_id: str) -> EnvironmentRef:
        return EnvironmentRef(run=run_id)

    def of_kernel(self, name: str) -> EnvironmentRef:
        return EnvironmentRef(kernel=name)

    def current(self) -> EnvironmentRef:
        """The server's own environment (what runs on its ``local`` target execute in)."""
        return EnvironmentRef(kernel=None)

    def parse(self, data) -> EnvironmentRef:
        if not isinstance(data, dict):
            raise InvalidInput("a spec is a JSON object, as 'mlws env show --json' prints it")
        return EnvironmentRef(spec=data)

    def diff(self, spec: EnvironmentRef, target: str) -> dict:
        """How ``target``'s environments differ from a kernel's of the server (see
        :meth:`EnvironmentService.diff`)."""
        if "kernel" not in spec.ref:
            raise InvalidInput("over HTTP, environments are compared with a kernel of the server: "
                               "give --kernel NAME (or none: the server's own)")
        return self.client.call("GET", ("environments", "diff"),
                                query={"compute": target, "kernel": spec.ref["kernel"]})

    def build(self, spec: EnvironmentRef, target: str, *, options=None, actor=None,
              force: bool = False) -> dict:
        """Build ``spec`` on ``target`` (or find it built): its record.  The server runs the
        release check first (a build it knows will fail is refused unless ``force``)."""
        if not any(spec.ref.values()):
            raise InvalidInput("over HTTP, say which environment to build: --from-run RUN, "
                               "--from-kernel NAME (a kernel of the server) or --from-spec FILE")
        opts = {} if options is None else {
            "installer": options.installer, "index_url": options.index_url,
            "find_links": list(options.find_links), "no_index": options.no_index}
        body = {"compute": target, **spec.ref, **{k: v for k, v in opts.items() if v},
                **({"force": True} if force else {})}
        return self.client.call("POST", ("environments", "build"), body)

    def prune(self, compute: str | None = None, *, unused_for: str = "30d", cache: bool = False) -> dict:
        """Remove the environments unused that long (and with ``cache`` the targets' download
        caches): ``{removed, errors, cache}``."""
        body = {"unused_for": unused_for, **({"compute": compute} if compute else {}),
                **({"cache": True} if cache else {})}
        return self.client.call("POST", ("environments", "prune"), body)

    def check_submission(self, notebook, kernel: str | None = None, target: str = "local", *,
                         build: bool = False, options=None, force: bool = False,
                         actor: str = "") -> dict:
        """What to tell before ``notebook`` (a file here) is submitted to ``target``: how the
        target's environments differ from the server's kernel the run will use (the notebook's
        kernel, or ``kernel``), or with ``build`` that kernel's environment built there (see
        :meth:`EnvironmentService.check_submission`).  The server's ``local`` target runs it in
        the server's own interpreter: nothing to tell.  A build is checked by the server as
        :meth:`build` is (``force``: built anyway); ``actor`` is accepted for the same signature
        (the server records the request's user)."""
        current = {"target": target, "hash": None, "state": "current", "closest": None,
                   "difference": None, "lines": []}
        name = kernel or _kernel_of(notebook)
        if target == "local" and not build:
            return current
        if build:
            record = self.build(EnvironmentRef(kernel=name), target, options=options, force=force)
            if record.get("state") != "ready":
                from ..errors import BuildFailed

                raise BuildFailed(f"environment {record.get('short_hash')} could not be built on "
                                  f"{target}: {record.get('error')}")
            return {"target": target, "hash": record.get("hash"), "state": "built",
                    "closest": record.get("hash"), "difference": None,
                    "lines": [f"environment {record.get('short_hash')} of kernel {name} is ready "
                              f"on {target}"]}
        try:
            return self.diff(EnvironmentRef(kernel=name), target)
        except InvalidInput:
            return current  # nothing is built there (a dask target: its workers' Python)


def _kernel_of(notebook) -> str | None:
    """The kernel a notebook file names in its metadata (None: unreadable or none)."""
    try:
        meta = json.loads(Path(notebook).read_text(encoding="utf-8")).get("metadata") or {}
    except (OSError, ValueError, AttributeError):
        return None
    return (meta.get("kernelspec") or {}).get("name") or None
