"""The runner of one run on an ssh target: ``python -m jupyter_mlws.compute.ssh.runner
WORKSPACE TARGET RUN_ID``, started detached by :class:`~.target.SSHTarget` (see its module).

Steps, each failure ending the run ``failed`` with the step named (never a token, a key or a
path of this machine in the reason): connect (and clean up what dead runners left on that
host, :mod:`.runners`); upload the run's bundle into ``WORKDIR/runs/RUN_ID`` (SFTP); forward a
port of the host's 127.0.0.1 to the workspace server (reverse tunnel); the Python to run with
(:func:`python_for`); run the remote executor there (its environment on stdin), its output
streamed to this process's stdout (the runner's log), while a watchdog asks the host for an
answer every ``keepalive`` seconds (:meth:`SSHConnection.watch
<.connection.SSHConnection.watch>`); remove the run's folder.  SIGTERM (a cancel) stops the
remote process group first.

A lost connection (the host stopped answering, or closed it) ends the run ``failed`` at the
execution step at once; the runner then tries, for 3 keepalive intervals, to connect again to
stop the run's process group there and remove its folder.  When it cannot, its state file stays
behind as a leftover, cleaned by the next runner on that target or ``mlws compute test``.

``python -m jupyter_mlws.compute.ssh.runner WORKSPACE TARGET --cleanup`` only cleans up the
target's leftovers (what the workspace starts when it notices a dead runner).
"""

from __future__ import annotations

import posixpath
import signal
import sys
import tempfile
import time
import uuid
from pathlib import Path
from urllib.parse import urlsplit

from ... import run_records as R
from ...errors import Conflict, MlwsError
from ..failures import ENVIRONMENT, EXECUTION, TUNNEL, StepFailed
from .connection import KEEPALIVE_MISSES
from . import runners
from .runners import runner_files, write_state

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
    setting) the run's environment (its spec's hash: a notebook run's kernel's; a command run's,
    or an automated-ML search's, the Python mlws runs with here), built there on first use and then reused
    (:meth:`EnvironmentService.ensure`); with ``env = "system"`` (the default) the target's
    ``python`` as it is (it must import jupyter_mlws and have a kernel).  StepFailed at the
    ``environment`` step when the environment cannot be built."""
    if target.get("env", "system") != "build":
        return target["python"]
    try:
        if ws.runs.get(run_id).source_type in ("command", "automl"):  # mlws's own environment
            spec = ws.environments.current()
        else:
            spec = ws.environments.for_remote_run(ws.notebooks.job(run_id).kernel)
        say(f"environment {spec.short_hash}: building it on the host, or reusing it")
        python, record = ws.environments.ensure_record(spec, target["name"],
                                                       actor=ws.runs.get(run_id).user)
        say(f"environment {spec.short_hash} " + ("reused: nothing to build" if record["reused"]
            else f"built in {record['build_seconds'] or 0:.1f} s ({record['installer']})"))
        return python
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
    conn = proc = watchdog = None
    remote = None
    try:
        say(f"connecting to {record['user']}@{record['host']}:{record['port']}")
        conn = ws.compute.connect(target_name, check_actor=False, run_id=run_id)
        runners.clean_leftovers(ws.root, target_name, conn, say)
        remote = run_dir(record["workdir"], run_id)
        write_state(state, remote=remote)
        upload_bundle(ws, conn, run_id, remote)
        say("bundle uploaded")
        url = tunnel_url(conn, compute.launch.server_url())
        python = python_for(ws, record, run_id)
        env = compute.executor_env(run_id, url=url, attempt=f"ssh-{uuid.uuid4().hex[:12]}")
        watchdog = conn.watch()
        # in an environment built for the run, its Python's kernel runs whatever the kernel's name
        own = ["--own-kernel"] if record.get("env", "system") == "build" else []
        proc = conn.start([python, *EXECUTOR, "--workdir", ".", *own], env=env, cwd=remote)
        write_state(state, pgid=proc.pgid)
        say(f"executor started (process group {proc.pgid})")
        started = time.monotonic()
        tail = bytearray()
        status = _wait(conn, proc, watchdog, tail)
        proc = None
        # the bracket counts from the runner's start (connecting, uploading, the environment
        # and, from the CLI, starting the workspace's server come first): say the executor's own
        say(f"executor exited with status {status}, {time.monotonic() - started:.2f} s after it started")
        if ws.runs.get(run_id).status == R.QUEUED:  # it never reported: nobody else ends it
            _fail(ws, run_id, f"{conn.where}: the execution step failed: the executor exited "
                  f"{_how(status)} before the run started{_last_words(tail, env, ws.root)} "
                  f"(the target's python must import jupyter_mlws: 'mlws compute test "
                  f"{target_name}' checks it)")
            return 1
        if status < 0:
            _fail(ws, run_id, f"{conn.where}: the execution step failed: the executor was killed "
                  "on the host (by a signal: out of memory, or someone stopped it)")
        elif status not in (0, 1):
            _fail(ws, run_id, f"{conn.where}: the execution step failed: the executor exited "
                  f"with status {status} (its output: the target's logs of the run)")
        return 0 if status == 0 else 1
    except _Canceled:
        say("canceled: stopping the remote process group")
        if proc is not None and conn.is_active():
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
        if watchdog is not None:
            watchdog.stop()
        if conn is not None:
            up = conn.is_active()
            if remote is not None and up:
                try:
                    conn.remove(remote)
                except (MlwsError, OSError):
                    pass
            conn.close()
            if remote is not None and not up:
                _clean_after_loss(ws, target_name, run_id, state,
                                  conn.keepalive * KEEPALIVE_MISSES)


#: bytes of the executor's output kept for the reason of a run it never started
TAIL = 2048


def _how(status: int) -> str:
    return "killed by a signal" if status < 0 else f"with status {status}"


def _last_words(tail: bytes, env: dict, root) -> str:
    """``: its last output: "..."``, the end of an executor's output (its last 3 lines, at most
    400 characters) with the run's token and secrets and this machine's workspace folder
    masked; empty when it printed nothing."""
    from .commands import plain

    text = plain(tail.decode(errors="replace"))
    for value in [v for k, v in env.items() if k != "MLWS_RUN_ID" and len(v) >= 4]:
        text = text.replace(value, "***")
    text = text.replace(str(root), "<workspace>")
    lines = [line.strip() for line in text.splitlines() if line.strip()][-3:]
    words = " | ".join(lines)[-400:]
    return f': its last output: "{words}"' if words else " without any output"


def _wait(conn, proc, watchdog, tail: bytearray | None = None) -> int:
    """The executor's exit status, its output streamed to the log meanwhile (its last
    :data:`TAIL` bytes kept in ``tail``); StepFailed (execution) when the connection is lost
    first."""
    def stream(_, data):
        sys.stdout.buffer.write(data)
        sys.stdout.flush()
        if tail is not None:
            tail.extend(data)
            del tail[:-TAIL]

    try:
        status = proc.wait(stream)
    except StepFailed:
        status = None
    if status is not None and (status >= 0 or _still_up(conn)) and not watchdog.lost:
        return status
    if watchdog.lost:
        why = (f"the host stopped answering for {watchdog.silent_for:.0f} s (keepalive every "
               f"{watchdog.interval:g} s) while the run executed there: the host, its network or "
               "its SSH server went away")
    else:
        why = ("the connection to the host was lost while the run executed there (the host or "
               "its SSH server went away)")
    raise StepFailed(EXECUTION, conn.where, why)


def _clean_after_loss(ws, target_name: str, run_id: str, state: Path, window: float) -> None:
    """After the connection was lost: connect again, for up to ``window`` seconds, to stop the
    run's processes on the host and remove its folder.  When that fails the state file is
    marked ``lost`` and kept: a leftover for the next runner or ``compute test``."""
    import time

    deadline = time.monotonic() + window
    while True:
        try:
            with ws.compute.connect(target_name, check_actor=False, run_id=run_id) as conn:
                runners.clean(conn, runners.read_state(state) or {}, say)
            say("cleaned up on the host after the lost connection")
            return
        except MlwsError as exc:
            if time.monotonic() >= deadline:
                say(f"could not clean up on the host yet ({exc}): the next run on this target, "
                    "or 'mlws compute test', will")
                write_state(state, lost=True)
                return
            time.sleep(1.0)


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


def _keep_log(ws, run_id: str, log: Path) -> None:
    """Store this runner's log with the run (``mlws run logs RUN`` shows it as
    ``ssh-runner.log``): the local copy is pruned after a while (:func:`.runners.prune_logs`)."""
    from .target import LOG

    try:
        ws.artifacts.attach_log(run_id, LOG, log)
    except (MlwsError, OSError):
        pass


def cleanup(ws, target_name: str) -> int:
    """Clean up what dead runners left on target ``target_name``'s host (see :mod:`.runners`)."""
    try:
        with ws.compute.connect(target_name, check_actor=False) as conn:
            runners.clean_leftovers(ws.root, target_name, conn, say)
    except MlwsError as exc:
        say(f"could not clean up on the host: {exc}")
        return 1
    return 0


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 3:
        print("usage: python -m jupyter_mlws.compute.ssh.runner WORKSPACE TARGET RUN_ID|--cleanup",
              file=sys.stderr)
        return 2
    root, target_name, run_id = args
    from ...workspace import Workspace

    if run_id == "--cleanup":
        with Workspace.open(root) as ws:
            code = cleanup(ws, target_name)
        runners.prune_logs(root)
        return code
    state, log = runner_files(root, run_id)
    write_state(state, target=target_name)  # first: a runner that dies is found by it
    signal.signal(signal.SIGTERM, _on_term)
    code = 1
    ws = None
    try:
        ws = Workspace.open(root)
        code = execute(ws, target_name, run_id, state)
    except _Canceled:
        pass
    except Exception as exc:  # noqa: BLE001 - a bug here must still end the run
        import traceback

        traceback.print_exc()
        if ws is not None:
            _fail(ws, run_id, f"the ssh runner of the run failed ({type(exc).__name__}); its log: "
                  "the target's logs of the run")
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)  # nothing is left to stop
        say(f"exit {code}")
        if ws is not None:  # before the state goes: who sees this runner gone finds its log stored
            _keep_log(ws, run_id, log)
            ws.close()
        if not (runners.read_state(state) or {}).get("lost"):
            state.unlink(missing_ok=True)
        runners.prune_logs(root)
    return code


if __name__ == "__main__":
    sys.exit(main())
