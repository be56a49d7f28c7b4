"""The keeper of a notebook VM's JupyterLab: ``python -m jupyter_mlws.vms.keeper WORKSPACE
VM_ID PYTHON``, started detached by :meth:`.lab.Lab.step` at every start of the VM, stopped
(SIGTERM) by :meth:`.lab.Lab.stop` when the VM stops or is deleted.

It holds the VM's SSH connection for the VM's life (as an ssh runner holds a run's, see
:mod:`jupyter_mlws.compute.ssh.runner`), with a keepalive watchdog.  Steps, each failure
recorded in its state file (``error``, naming the step: DNS, TCP, host key, authentication,
tunnel, JupyterLab) and its log (``.mlws/vms/keepers/VM_ID.log``):

1. connect to the VM (its pinned host key, its login key);
2. a reverse tunnel: the workspace server reachable on the VM's 127.0.0.1
   (``MLWS_WORKSPACE`` for JupyterLab there, and a new VM token as ``MLWS_TOKEN``);
3. a free port on the VM's 127.0.0.1, and JupyterLab started there with ``PYTHON`` (its token
   from the VM's secret, handed over in its environment on stdin, never argv); its output goes
   to the VM's log (``mlws vm logs``);
4. a local forward: this machine's 127.0.0.1:PORT to JupyterLab's port, recorded once
   JupyterLab answers ``/api/status`` through it (``ready``);
5. wait until JupyterLab ends, the connection is lost, or SIGTERM (which stops JupyterLab's
   process group on the VM first).
"""

from __future__ import annotations

import signal
import sys
import threading
import time

from ..compute.local import Process
from ..errors import MlwsError
from .local_node import LOCAL_PYTHON_HINT
from .lab import START_TIMEOUT_S, answers, keeper_files, write_state
from .secret_names import token_secret

#: prints a free port of the VM's loopback
FREE_PORT = ("import socket; s = socket.socket(); s.bind(('127.0.0.1', 0)); "
             "print(s.getsockname()[1])")


class _Stop(BaseException):
    """SIGTERM: the VM is stopping."""


def _on_term(signum, frame):
    raise _Stop()


def say(text: str) -> None:
    print(f"mlws vm keeper: {text} [{time.strftime('%H:%M:%S')}]", flush=True)


def python_failed(vm: dict, python: str, status: int, out: str) -> str:
    """Why JupyterLab's Python could not be run on ``vm`` (``out``: its output, text), and on a
    local VM what to set (the local provider checks it at create: :func:`.local_node.check_python`)."""
    if vm["provider"] == "local":
        return (f"the local VMs' Python (local_vm_python) could not be run by the VM's login user "
                f"(status {status}): {out.strip()[-300:]}: {LOCAL_PYTHON_HINT}")
    return f"{python} could not be run on the VM (status {status}): {out.strip()[-300:]}"


def lab_argv(python: str, port: int) -> list[str]:
    """JupyterLab on the VM's 127.0.0.1:``port`` (its token from ``JUPYTER_TOKEN``)."""
    return [python, "-m", "jupyterlab", "--no-browser", "--ip=127.0.0.1", f"--port={port}",
            "--port-retries=0", "--ServerApp.open_browser=False"]


def keep(ws, vm: dict, python: str, state) -> int:
    from ..compute.ssh.runner import tunnel_url
    from ..compute.ssh.tunnel import open_local
    from ..remote.server import ensure_server

    log = ws.vms.steps.log(vm)  # JupyterLab's output, this server's paths rewritten
    conn = proc = watchdog = forward = None
    step = "connect"
    try:
        say(f"connecting to vm {vm['name']}")
        conn = ws.vms.connect(vm, check_actor=False)
        step = "tunnel"
        url = tunnel_url(conn, ensure_server(ws))
        say("workspace server forwarded to the VM's 127.0.0.1")
        step = "JupyterLab"
        status, out = conn.run([python, "-c", FREE_PORT], timeout=30)
        if status != 0:
            raise MlwsError(python_failed(vm, python, status, out))
        port = int(out.split()[-1])
        token = ws.secrets.read(vm["owner"], token_secret(vm), check_actor=False)
        env = {"JUPYTER_TOKEN": token, "MLWS_WORKSPACE": url,
               "MLWS_TOKEN": ws.vms.lab.tokens.issue(vm),
               # what its sidebar says: whose VM this is (jupyter_mlws.server.extension.on_a_vm)
               "MLWS_VM": vm["name"], "MLWS_VM_WORKSPACE": ws.config.name}
        if ws.config.server_url:
            env["MLWS_VM_WORKSPACE_URL"] = ws.config.server_url
        proc = conn.start(lab_argv(python, port), env=env)
        say(f"JupyterLab started on the VM's 127.0.0.1:{port} (process group {proc.pgid})")
        ended: list[int] = []
        waiter = threading.Thread(target=lambda: ended.append(
            proc.wait(lambda stream, data: log.write(data))), daemon=True)
        waiter.start()
        forward = open_local(conn, port)
        deadline = time.monotonic() + START_TIMEOUT_S
        while not answers(forward.port, token, timeout=2.0):
            if ended or not waiter.is_alive():
                raise MlwsError(f"JupyterLab exited on the VM before it answered (see 'mlws vm "
                                f"logs {vm['name']}')")
            if time.monotonic() > deadline:
                raise MlwsError(f"JupyterLab did not answer within {START_TIMEOUT_S:g} s")
            time.sleep(0.2)
        write_state(state, ready=True, lab_port=port, local_port=forward.port)
        say(f"JupyterLab answers through 127.0.0.1:{forward.port}")
        watchdog = conn.watch()
        while waiter.is_alive() and not watchdog.lost:
            waiter.join(1.0)
        why = ("the VM stopped answering (keepalive)" if watchdog.lost
               else f"JupyterLab exited on the VM with status {ended[0] if ended else '?'}")
        say(why)
        write_state(state, ready=False, error=f"the JupyterLab step failed: {why}: restart the VM")
        return 1
    except _Stop:
        say("stopping: JupyterLab's process group on the VM first")
        if proc is not None and conn is not None and conn.is_active():
            try:
                proc.stop(5.0)
            except MlwsError:
                pass
        return 0
    except MlwsError as exc:
        why = str(exc) if step == "connect" and "failed" in str(exc) else \
            f"the {step} step failed: {exc}"
        say(why)
        write_state(state, ready=False, error=why)
        return 1
    finally:
        log.flush()
        if watchdog is not None:
            watchdog.stop()
        if forward is not None:
            forward.close()
        if conn is not None:
            conn.close()


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 3:
        print("usage: python -m jupyter_mlws.vms.keeper WORKSPACE VM_ID PYTHON", file=sys.stderr)
        return 2
    root, vm_id, python = args
    from ..workspace import Workspace

    state, _ = keeper_files(root, vm_id)
    write_state(state, **Process.current().to_dict(), ready=False)
    signal.signal(signal.SIGTERM, _on_term)
    code = 1
    try:
        with Workspace.open(root) as ws:
            vm = ws.vms.records.by_id(vm_id)
            code = keep(ws, vm, python, state) if vm is not None else 1
    except _Stop:
        code = 0
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        say(f"exit {code}")
    return code


if __name__ == "__main__":
    sys.exit(main())
