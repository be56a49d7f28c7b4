"""The runners' folder of a workspace, ``.mlws/ssh-runners``: what each ssh run's runner
(:mod:`.runner`) leaves on this machine, and how it is cleaned.

- ``RUN_ID.json``, the runner's **state**, there while it runs: its process (pid, host, start
  time), the target, the run's folder on the host (``remote``) and the executor's process group
  there (``pgid``), each written as soon as it is known.  A runner that ends normally removes it.
- ``RUN_ID.log``, the runner's **log** (its steps and the executor's output): what ``mlws run
  logs`` shows as ``ssh-runner.log``.

A state file whose runner is gone is a **leftover**: the runner was killed (``kill -9``, this
machine rebooted) or lost its connection and could not clean up within its reconnect window.
Whatever it left on the host (the executor's process tree, the run's folder) is stopped and
removed by :func:`clean_leftovers` the next time a connection to that target is open anyway:
the next run's runner there, ``mlws compute test``, or the cleanup runner the workspace starts
as soon as it notices a dead runner (:meth:`SSHTarget.poll <.target.SSHTarget.poll>`).  Only
this machine's runners are judged (a state file from another host is left alone).

Logs are pruned (:func:`prune_logs`) by every runner as it exits: a log older than
:data:`LOG_DAYS` days goes, and beyond the newest :data:`LOG_KEEP` logs the older ones go;
the log of a live runner or of a leftover is always kept.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Callable

from ...errors import MlwsError
from ..local import Process

#: the runners' folder in the workspace
RUNNERS = (".mlws", "ssh-runners")
#: days a runner's log is kept after its last write
LOG_DAYS = 7.0
#: the most runner logs kept (the newest ones)
LOG_KEEP = 200


def folder(root) -> Path:
    """The runners' folder of the workspace at ``root``."""
    return Path(root).joinpath(*RUNNERS)


def runner_files(root, run_id: str) -> tuple[Path, Path]:
    """The runner of ``run_id``'s state file and log, in the workspace at ``root``."""
    base = folder(root)
    return base / f"{run_id}.json", base / f"{run_id}.log"


def read_state(path: Path) -> dict | None:
    """A runner's state (see the module's text); None when there is none (or it is torn)."""
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def write_state(path: Path, **values) -> dict:
    """Add ``values`` to the state file ``path`` (created with this process's identity when
    missing), atomically; return the new state."""
    data = {**(read_state(path) or Process.current().to_dict()), **values}
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(data))
    os.replace(tmp, path)
    return data


def is_dead(state: dict) -> bool:
    """Whether the runner a state describes ran on this machine and is gone."""
    process = Process.from_dict(state)
    return process is not None and process.gone_here()


def leftovers(root, target: str) -> list[tuple[str, dict]]:
    """The leftovers of target ``target``: ``(run_id, state)`` of each state file whose runner
    ran here and is gone."""
    found = []
    for path in sorted(folder(root).glob("*.json")):
        state = read_state(path)
        if state is not None and state.get("target") == target and is_dead(state):
            found.append((path.stem, state))
    return found


def clean_leftovers(root, target: str, conn, say: Callable[[str], None] | None = None) -> list[str]:
    """Stop and remove on ``conn``'s host (target ``target``) what its dead runners left: each
    one's remote process group (if it still runs in the run's folder) and the run's folder;
    then forget them.  Returns the run ids cleaned; one that cannot be cleaned now (the
    connection fails again) stays for the next time."""
    told = say or (lambda text: None)
    cleaned = []
    for run_id, state in leftovers(root, target):
        try:
            clean(conn, state, told)
        except MlwsError as exc:
            told(f"could not clean up after run {run_id} yet: {exc}")
            continue
        runner_files(root, run_id)[0].unlink(missing_ok=True)
        told(f"cleaned up after run {run_id} (its runner ended before it could)")
        cleaned.append(run_id)
    return cleaned


def clean(conn, state: dict, say: Callable[[str], None]) -> None:
    """Stop the remote process groups a runner's ``state`` names (``pgid``, and ``pgids``: an
    automated-ML search's), each if it still runs in the run's folder, and remove that folder,
    over ``conn``.  Raises the connection's errors."""
    from .commands import stop_group_in

    remote = state.get("remote")
    for pgid in (state.get("pgid"), *(state.get("pgids") or ())):
        if remote and isinstance(pgid, int) and not isinstance(pgid, bool) \
                and stop_group_in(conn, pgid, remote):
            say(f"stopped the run's processes left on the host (process group {pgid})")
    if remote:
        conn.remove(remote)


def prune_logs(root, *, days: float = LOG_DAYS, keep: int = LOG_KEEP,
               now: float | None = None) -> list[str]:
    """Remove runner logs older than ``days`` days, and all but the newest ``keep``; never the
    log of a run whose state file is still there (a live runner's, a leftover's).  Returns the
    run ids whose log was removed."""
    base = folder(root)
    limit = (time.time() if now is None else now) - days * 86400
    logs = []
    for log in base.glob("*.log"):
        try:
            logs.append((log.stat().st_mtime, log))
        except OSError:
            continue
    logs.sort(reverse=True)
    removed = []
    for rank, (mtime, log) in enumerate(logs):
        if (rank < keep and mtime >= limit) or log.with_suffix(".json").exists():
            continue
        try:
            log.unlink()
            removed.append(log.stem)
        except OSError:
            pass
    return removed
