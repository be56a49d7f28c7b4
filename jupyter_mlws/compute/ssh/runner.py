"""The runner of one run on an ssh target: ``python -m jupyter_mlws.compute.ssh.runner
WORKSPACE TARGET RUN_ID``, started detached by :class:`~.target.SSHTarget` (see its module).

Steps, each failure ending the run ``failed`` with the step named (never a token, a key or a
path of this machine in the reason): connect; upload the run's bundle into
``WORKDIR/runs/RUN_ID`` (SFTP); forward a port of the host's 127.0.0.1 to the workspace
server (reverse tunnel); the Python to run with (:func:`python_for`); run the remote executor
there (its environment on stdin), its output streamed to this process's stdout (the runner's
log); remove the run's folder.  SIGTERM (a cancel) stops the remote process group first.
"""

from __future__ import annotations

import json
import os
import posixpath
import signal
import sys
import tempfile
import uuid
from pathlib import Path
from urllib.parse import urlsplit

from ... import run_records as R
from ...errors import Conflict, MlwsError
from ..failures import ENVIRONMENT, EXECUTION, TUNNEL, StepFailed
from ..local import Process
from .target import runner_files

#: the executor's command after the interpreter
EXECUTOR = ["-m", "jupyter_mlws.remote.executor"]
#: seconds a canceled remote group has to end before it is killed
STOP_GRACE = 5.0


class _Canceled(BaseException):
    """SIGTERM reached the runner: the run is being canceled."""


def _on_term(signum, frame):
    raise _Canceled()


_T0 = __import__("time").monotonic()


def say(text: str) -> None:
    """A line of the runner's log, with the seconds since it started."""
    import time

    print(f"mlws ssh runner: {text} [{time.monotonic() - _T0:.2f} s]", flush=True)


def run_dir(workdir: str, run_id: str) -> str:
    """The run's folder on the host: ``WORKDIR/runs/RUN_ID``."""
    return posixpath.join(workdir, "runs", run_id)


def python_for(ws, target: dict, run_id: str) -> str:
    """The interpreter the run executes with on the host: with ``env = "build"`` (the target's
    setting) the run's environment (its spec's hash: a notebook run's kernel's, a command run's the
    Python mlws runs with here), built there on first use and then reused
    (:meth:`EnvironmentService.ensure`); with ``env = "system"`` (the default) the target's
    ``python`` as it is (it must import jupyter_mlws and have a kernel).  StepFailed at the
    ``environment`` step when the environment cannot be built."""
    if target.get("env", "system") != "build":
        return target["python"]
    try:
        if ws.runs.get(run_id).source_type == "command":  # the environment mlws runs in here
            spec = ws.environments.current()
        else:
            spec = ws.environments.of_kernel(ws.notebooks.job(run_id).kernel)
        return ws.environments.ensure(spec, target["name"])
    except MlwsError as exc:
        raise StepFailed(ENVIRONMENT, f"ssh {target['user']}@{target['host']}:{target['port']}",
                         f"the run's environment could not be built: {exc}") from None


def tunnel_url(conn, server_url: str) -> str:
    """``server_url`` (the workspace server, as reached from here) as the host reaches it: a
    port of the host's 127.0.0.1 forwarded back over ``conn``."""
    parts = urlsplit(server_url)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        remote = conn.reverse_tunnel(port, parts.hostname or "127.0.0.1")
    except StepFailed:
        raise
    except Exception as exc:  # paramiko refuses the forwarding
        raise StepFailed(TUNNEL, conn.where, f"the host refused to forward a port back "
                         f"({type(exc).__name__}): allow TCP forwarding for this user") from None
    return f"{parts.scheme}://127.0.0.1:{remote}{parts.path or '/'}"


def upload_bundle(ws, conn, run_id: str, remote: str) -> None:
    """The run's bundle (snapshot and notebook) into the host's folder ``remote``."""
    from ...executions import extract_bundle

    with tempfile.TemporaryDirectory(prefix="mlws-bundle-") as tmp:
        tar = Path(tmp) / "bundle.tar"
        with open(tar, "wb") as out:
            ws.executions.write_bundle(run_id, out)
        folder = Path(tmp) / "bundle"
        folder.mkdir()
        with open(tar, "rb") as f:
            extract_bundle(f, folder)
        conn.put(folder, remote)


def execute(ws, target_name: str, run_id: str, state: Path) -> int:
    """Execute run ``run_id`` on ssh target ``target_name``; 0 when the executor there
    completed the run.  Ends the run ``failed`` (naming the step) when a step fails first."""
    compute = ws.compute.target(target_name)
    record = compute.target
    conn = proc = None
    remote = None
    try:
        say(f"connecting to {record['user']}@{record['host']}:{record['port']}")
        conn = ws.compute.connect(target_name, check_actor=False)
        remote = run_dir(record["workdir"], run_id)
        upload_bundle(ws, conn, run_id, remote)
        say("bundle uploaded")
        url = tunnel_url(conn, compute.launch.server_url())
        python = python_for(ws, record, run_id)
        env = compute.executor_env(run_id, url=url, attempt=f"ssh-{uuid.uuid4().hex[:12]}")
        proc = conn.start([python, *EXECUTOR, "--workdir", "."], env=env, cwd=remote)
        _record(state, pgid=proc.pgid)
        say(f"executor started (process group {proc.pgid})")
        status = proc.wait(lambda stream, data: (sys.stdout.buffer.write(data), sys.stdout.flush()))
        if status < 0 and not _still_up(conn):  # the channel closed with the connection
            raise StepFailed(EXECUTION, conn.where, "the connection to the host was lost while "
                             "the run executed there (the host or its SSH server went away)")
        proc = None
        say(f"executor exited with status {status}")
        if status < 0:
            _fail(ws, run_id, f"{conn.where}: the execution step failed: the executor was killed "
                  "on the host (by a signal: out of memory, or someone stopped it)")
        elif status not in (0, 1):
            _fail(ws, run_id, f"{conn.where}: the execution step failed: the executor exited "
                  f"with status {status} (its output: the target's logs of the run)")
        return 0 if status == 0 else 1
    except _Canceled:
        say("canceled: stopping the remote process group")
        if proc is not None:
            try:
                proc.stop(STOP_GRACE)
            except MlwsError:
                pass
        return 1
    except MlwsError as exc:
        say(f"failed: {exc}")
        _fail(ws, run_id, str(exc))
        return 1
    finally:
        if conn is not None:
            if remote is not None and conn.is_active():
                try:
                    conn.remove(remote)
                except (MlwsError, OSError):
                    pass
            conn.close()


def _still_up(conn, wait: float = 2.0) -> bool:
    """Whether the connection is still up, given ``wait`` seconds to notice it is not."""
    import time

    deadline = time.monotonic() + wait
    while conn.is_active():
        if time.monotonic() >= deadline:
            return True
        time.sleep(0.05)
    return False


def _fail(ws, run_id: str, reason: str) -> None:
    """End the run failed with ``reason`` unless it has ended already."""
    try:
        ws.runs.end(run_id, R.FAILED, reason)
    except Conflict:
        pass


def _record(state: Path, **extra) -> None:
    data = {**Process.current().to_dict(), **extra}
    tmp = state.with_name(state.name + ".tmp")
    tmp.write_text(json.dumps(data))
    os.replace(tmp, state)


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 3:
        print("usage: python -m jupyter_mlws.compute.ssh.runner WORKSPACE TARGET RUN_ID",
              file=sys.stderr)
        return 2
    root, target_name, run_id = args
    from ...workspace import Workspace

    signal.signal(signal.SIGTERM, _on_term)
    ws = Workspace.open(root)
    state, _ = runner_files(ws.root, run_id)
    state.parent.mkdir(parents=True, exist_ok=True)
    _record(state)
    code = 1
    try:
        code = execute(ws, target_name, run_id, state)
    except _Canceled:
        pass
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)  # nothing is left to stop
        say(f"exit {code}")
        state.unlink(missing_ok=True)
        ws.close()
    return code


if __name__ == "__main__":
    sys.exit(main())
