"""JupyterLab on a notebook VM, and how the workspace opens it.

At every start of a VM (its creation included) the bootstrap step :meth:`Lab.step`:

1. picks the Python JupyterLab runs with on the VM (``python_for``): on a cloud VM the
   environment of the Python mlws runs in here (jupyter_mlws from this checkout's wheel and
   JupyterLab among its packages), built on the VM once by :mod:`jupyter_mlws.environments` and
   reused at every later start (its hash is the cache key); on a ``local`` VM, the node's own
   Python (it is this machine's);
2. makes sure the VM has a JupyterLab token: a random one, kept as the workspace secret
   ``mlws-vm-VM_ID-lab`` (never in a log, argv or message; its owner and workspace owners get it
   inside the URL :meth:`Lab.open` returns);
3. starts the VM's **keeper** (:mod:`.keeper`, a detached process on this machine, one per VM)
   and waits until it says JupyterLab answers, or fails naming why (the end of the keeper's log).

The keeper holds the VM's SSH connection for as long as the VM runs: a reverse tunnel that
brings the workspace server (:func:`jupyter_mlws.remote.server.ensure_server`) to the VM's
127.0.0.1 (``MLWS_WORKSPACE`` of JupyterLab there, with a VM token as ``MLWS_TOKEN``: its
kernels record into the workspace as the VM's owner, see :mod:`.tokens`), JupyterLab itself (bound to the VM's
127.0.0.1 on a free port, its output in the VM's log: ``mlws vm logs``), and a local port
forward from this machine's 127.0.0.1 to it.  Stopping or deleting the VM stops its keeper
(:meth:`Lab.stop`), which stops JupyterLab's process group on the VM first.

**Open** (:meth:`Lab.open`): the URL of that local port with the token, for the browser of
this machine (see the README's "JupyterLab on the VM" for why a local port and not a proxy).
"""

from __future__ import annotations

import json
import os
import secrets
import sys
import time
from pathlib import Path
from typing import Callable

from ..compute.local import Process, spawn_detached, stop_group
from ..errors import Conflict, NotFound, Unavailable
from .bootstrap import Context, StepError
from .secret_names import token_secret

KEEPER = "jupyter_mlws.vms.keeper"
#: seconds JupyterLab may take to answer after its keeper started
START_TIMEOUT_S = 120.0
#: the remote-port failure's words (what open says when JupyterLab does not answer yet)
NOT_UP = "the remote port is not up yet"


def keeper_files(root, vm_id: str) -> tuple[Path, Path]:
    """The keeper's state file and log: ``.mlws/vms/keepers/VM_ID.json`` and ``.log``."""
    folder = Path(root) / ".mlws" / "vms" / "keepers"
    return folder / f"{vm_id}.json", folder / f"{vm_id}.log"


def read_state(path: Path) -> dict | None:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


def write_state(path: Path, **values) -> dict:
    """Merge ``values`` into the keeper's state file (mode 0600, replaced atomically)."""
    state = {**(read_state(path) or {}), **values}
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    tmp = path.with_suffix(f".tmp{os.getpid()}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        json.dump(state, f)
    os.replace(tmp, path)
    return state


class Lab:
    """JupyterLab on the VMs of the workspace at ``root``.

    Parameters
    ----------
    root : Path
        The workspace folder (where keepers record themselves).
    secrets : SecretService
        Holds each VM's JupyterLab token.
    python_for : callable
        ``python_for(ctx) -> str``: the interpreter on the VM that runs JupyterLab (see the
        module's text); raises a workspace error naming what failed.
    tokens : VMTokens
        The tokens the VM's kernels record into the workspace with (:mod:`.tokens`): its keeper
        issues one at each start, :meth:`stop` revokes them.
    timeout : float
        Seconds JupyterLab may take to answer once its keeper started.
    """

    def __init__(self, root, secrets, python_for: Callable[[Context], str], tokens,
                 timeout: float = START_TIMEOUT_S):
        self.root, self.secrets, self.python_for, self.timeout = Path(root), secrets, python_for, timeout
        self.tokens = tokens

    # -- the bootstrap step -----------------------------------------------------------------

    def step(self, ctx: Context) -> None:
        """Start JupyterLab on the VM through its keeper (at every start); StepError naming why
        it did not come up, with the end of the keeper's log."""
        vm = ctx.vm
        ctx.log.say("JupyterLab: choosing its environment")
        python = self.python_for(ctx)
        self._ensure_token(vm)
        self.stop(vm)
        state, log = keeper_files(self.root, vm["id"])
        state.unlink(missing_ok=True)
        offset = log.stat().st_size if log.is_file() else 0
        ctx.log.say("JupyterLab: starting it on the VM's 127.0.0.1, and its keeper here")
        spawn_detached([sys.executable, "-m", KEEPER, str(self.root), vm["id"], python], log)
        deadline = time.monotonic() + self.timeout
        while time.monotonic() < deadline:
            found = read_state(state)
            if found and found.get("ready"):
                ctx.log.say(f"JupyterLab: answering (on the VM's port {found['lab_port']})")
                return
            if found and found.get("error") or found and not _alive(found) or (
                    found is None and "keeper: exit" in _tail(log, offset)):
                break
            time.sleep(0.2)
        else:
            self.stop(vm)
            raise StepError(f"JupyterLab did not answer within {self.timeout:g} s",
                            _tail(log, offset))
        why = (read_state(state) or {}).get("error") or "its keeper exited"
        raise StepError(f"JupyterLab could not be started: {why}", _tail(log, offset))

    def _ensure_token(self, vm: dict) -> None:
        name = token_secret(vm)
        try:
            self.secrets.read(vm["owner"], name, check_actor=False)
        except NotFound:
            self.secrets.set(vm["owner"], name, secrets.token_urlsafe(32), check_actor=False)

    # -- keepers ----------------------------------------------------------------------------

    def state(self, vm: dict) -> dict | None:
        """The live keeper's state (``pid``, ``lab_port``, ``local_port``, ``ready``, ``error``),
        None when the VM has no live keeper."""
        found = read_state(keeper_files(self.root, vm["id"])[0])
        return found if found and _alive(found) else None

    def stop(self, vm: dict, grace: float = 10.0) -> None:
        """Stop the VM's keeper (it stops JupyterLab on the VM first); nothing when none runs."""
        path = keeper_files(self.root, vm["id"])[0]
        found = read_state(path)
        if found and _alive(found):
            stop_group(int(found["pid"]), grace)
        path.unlink(missing_ok=True)
        self.tokens.revoke(vm["id"])

    def forget(self, vm: dict, actor: str) -> None:
        """Stop the keeper and delete the VM's token (the VM is deleted)."""
        self.stop(vm)
        try:
            self.secrets.delete(actor, token_secret(vm), check_actor=False)
        except (NotFound, Conflict):
            pass

    def server(self, vm: dict, actor: str) -> tuple[str, str] | None:
        """``(base URL, token)`` of the VM's JupyterLab as this machine reaches it (the keeper's
        local port): what the idle check reads; None while it is not up."""
        found = self.state(vm)
        if not found or not found.get("ready"):
            return None
        return (f"http://127.0.0.1:{found['local_port']}/",
                self.secrets.read(actor, token_secret(vm), check_actor=False))

    # -- opening ----------------------------------------------------------------------------

    def open(self, vm: dict, actor: str) -> dict:
        """``{"url", "expires_at"}``: the URL that opens the running VM's JupyterLab from this
        machine (its token inside: for the VM's owner and workspace owners only).  Unavailable
        naming the failing step when the tunnel is down or JupyterLab does not answer."""
        found = read_state(keeper_files(self.root, vm["id"])[0])
        where = f"vm {vm['name']!r}"
        if found and found.get("error"):
            raise Unavailable(f"{where}: {found['error']}")
        if found is None or not _alive(found):
            raise Unavailable(f"{where}: the tunnel step failed: its keeper (which holds the SSH "
                              f"connection and the tunnel) is not running: restart the VM "
                              f"('mlws vm restart {vm['name']}')")
        if not found.get("ready"):
            raise Unavailable(f"{where}: {NOT_UP}: JupyterLab is starting, try again in a moment")
        token = self.secrets.read(actor, token_secret(vm), check_actor=False)
        port = found["local_port"]
        if not answers(port, token):
            raise Unavailable(f"{where}: {NOT_UP}: JupyterLab does not answer through the tunnel "
                              f"(see 'mlws vm logs {vm['name']}')")
        return {"url": f"http://127.0.0.1:{port}/lab?token={token}", "expires_at": None}


def environment_python(environments) -> Callable[[Context], str]:
    """The ``python_for`` of :class:`Lab`: a ``local`` VM's own Python; on any other VM the
    environment of the Python mlws runs in here (:meth:`EnvironmentService.current
    <jupyter_mlws.environments.service.EnvironmentService.current>`: jupyter_mlws as a wheel
    of this checkout, JupyterLab and the rest pinned), built there by its first start and
    reused by the next ones (BuildFailed naming the distribution otherwise)."""

    def choose(ctx: Context) -> str:
        if ctx.vm["provider"] == "local":
            return ctx.vm["python"] or "python3"
        spec = environments.current()
        ctx.log.say(f"JupyterLab: environment {spec.short_hash}: building it on the VM, or "
                    "reusing it")
        python, record = environments.ensure_record(spec, ctx.vm["name"])
        ctx.log.say(f"JupyterLab: environment {spec.short_hash} " + (
            "reused" if record["reused"] else f"built in {record['build_seconds'] or 0:.1f} s"))
        return python

    return choose


def answers(port: int, token: str, timeout: float = 5.0) -> bool:
    """Whether JupyterLab answers ``GET /api/status`` with ``token`` on this machine's
    ``127.0.0.1:port``."""
    import urllib3

    try:
        response = urllib3.request("GET", f"http://127.0.0.1:{port}/api/status",
                                   headers={"Authorization": f"token {token}"},
                                   timeout=timeout, retries=False)
    except urllib3.exceptions.HTTPError:
        return False
    return response.status == 200


def _alive(state: dict) -> bool:
    process = Process.from_dict(state)
    return process is not None and process.is_mine()


def _tail(log: Path, offset: int, chars: int = 1500) -> str:
    try:
        with open(log, "rb") as f:
            f.seek(offset)
            return f.read().decode("utf-8", "replace")[-chars:]
    except OSError:
        return ""
