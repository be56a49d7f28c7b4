"""ssh target: per-run overhead of a notebook run on an SSH host over a local run of the same
notebook, with the environment warm.

A real OpenSSH server on 127.0.0.1 (tests/sshd.py: its own config, a non-root login user whose
Python imports jupyter_mlws and this venv's packages), a workspace, its background workspace
server (``ensure_server``, started once before the clock), an ssh target ``gpu1`` on that sshd
(``env = system``: the host's interpreter as it is).  Each round submits tests/notebooks/train.ipynb
once locally and once on ``gpu1`` (``ws.submit_notebook(..., wait=True)``, alternating which goes
first), the clock around the whole call: submit to the run ended and recorded.  A warm-up round is
not counted.  Medians; the overhead is the median of each round's (ssh - local).

What the ssh run adds: the runner process here, the SSH connection (handshake, key, auth), the
bundle by SFTP, the reverse tunnel, the executor's start there, its reports over HTTP (through the
tunnel) instead of the database, the run folder's removal.

Target (issue 11): at most +1.5 s per run.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _common as C  # noqa: E402

sys.path.insert(0, str(C.ROOT / "tests"))
TARGET_S = 1.5
NOTEBOOK = C.ROOT / "tests" / "notebooks" / "train.ipynb"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    if os.geteuid() != 0 or not Path("/usr/sbin/sshd").is_file():
        sys.exit("ssh_overhead needs root (it creates the test login user) and openssh-server")
    from sshd import SshServer, executor_python, login_user

    from jupyter_mlws import Workspace
    from jupyter_mlws.access import os_user
    from jupyter_mlws.remote.server import BackgroundServer, ensure_server

    tmp = C.tmpdir("ssh-overhead")
    server = SshServer(login_user()).start()
    ws = Workspace.create(tmp / "ws")
    project = tmp / "project"
    project.mkdir()
    shutil.copy(NOTEBOOK, project / NOTEBOOK.name)
    here = os.getcwd()
    os.chdir(project)  # where a user submits from
    local, remote, overhead = [], [], []
    try:
        ws.secrets.set(os_user(), "gpu1-key", server.user.private_key)
        ws.compute.create("gpu1", "ssh", host="127.0.0.1", port=server.port, user=server.user.name,
                          key_secret="gpu1-key", python=executor_python(server.user),
                          accept_host_key=True, check_actor=False)
        ensure_server(ws)

        def once(compute: str | None, lr: float) -> float:
            t0 = time.perf_counter()
            run = ws.submit_notebook(project / NOTEBOOK.name, {"lr": lr}, compute=compute, wait=True)
            took = time.perf_counter() - t0
            assert run.status == "completed", f"{compute or 'local'}: {run.record.error}"
            assert abs(run.metrics["loss"] - (1 - lr) ** 5) < 1e-9
            return took

        once(None, 0.1), once("gpu1", 0.1)  # warm-up: imports, the server, the host's caches
        for i in range(args.rounds):
            lr = 0.1 + 0.01 * i
            if i % 2:
                r, l_ = once("gpu1", lr), once(None, lr)
            else:
                l_, r = once(None, lr), once("gpu1", lr)
            local.append(l_)
            remote.append(r)
            overhead.append(r - l_)
            print(f"round {i + 1}: local {l_:.2f} s, ssh {r:.2f} s, +{r - l_:.2f} s", flush=True)
    finally:
        server.remove()
        BackgroundServer(ws.root).stop()
        ws.close()
        os.chdir(here)
    med = C.median(overhead)
    rows = [["local", f"{C.median(local):.2f} s", f"{min(local):.2f} s"],
            ["ssh (127.0.0.1 sshd, env warm)", f"{C.median(remote):.2f} s", f"{min(remote):.2f} s"],
            ["overhead per run (ssh - local)", f"{med:+.2f} s", f"{min(overhead):+.2f} s"]]
    body = (f"{args.rounds} rounds of tests/notebooks/train.ipynb, `ws.submit_notebook(..., "
            f"wait=True)` locally and with `compute=\"gpu1\"`, alternating; a warm-up round not "
            f"counted.\n\n{C.table(['', 'median', 'best'], rows)}\n\n"
            f"Target: overhead <= +{TARGET_S} s per run: {C.verdict(med <= TARGET_S)}\n")
    C.write_section("ssh_overhead", "ssh_overhead: a notebook run on an SSH host vs locally", body,
                    {"local_s": local, "ssh_s": remote, "overhead_s": overhead, "target_s": TARGET_S})


if __name__ == "__main__":
    main()
