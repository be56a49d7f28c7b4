"""Runs the workspace starts: a command executed as a run, its output captured.

The child process gets ``MLWS_WORKSPACE`` and ``MLWS_RUN_ID``, so that
``mlws.log(...)`` and ``mlws.current_run()`` inside it log to this run.  Its
stdout and stderr are copied to the terminal and to the run's live logs; the
launcher beats the heartbeat while the child lives, and the exit status sets
the run's status.
"""

from __future__ import annotations

import json
import os
import shlex
import sys
from pathlib import Path
from typing import Callable, Mapping, Sequence

from . import command
from . import config as C
from . import runs as R
from .artifacts import ArtifactService
from .compute import local
from .errors import InvalidInput
from .errors import MlwsError
from .run import Run
from .secrets.masking import Masker
from .tracking import Tracking


def run_command(
    argv: Sequence[str],
    *,
    experiment: str,
    tracking: Tracking,
    runs: R.RunService,
    artifacts: ArtifactService,
    root: str | os.PathLike,
    name: str | None = None,
    tags: Mapping | None = None,
    cwd: str | os.PathLike | None = None,
    echo: bool = True,
    snapshot: bool = True,
    on_warning: Callable[[str], None] | None = None,
    secrets=None,
    secret_specs: Sequence[str] | None = None,
    actor: str = "",
    env: Mapping[str, str] | None = None,
) -> Run:
    """Execute ``argv`` as a run of ``experiment`` in ``cwd`` and wait for it; return the ended run
    (what :meth:`Workspace.run_command <jupyter_mlws.workspace.Workspace.run_command>` does).

    ``tracking`` creates the run and its handle, ``runs`` records its process (what ``mlws run
    cancel`` stops), ``artifacts`` gives its live log files; ``root`` is the workspace folder (or
    server URL) the child's ``MLWS_WORKSPACE`` names.  ``cwd`` (default: the current folder) is snapshotted and
    run in; ``on_warning`` hears, before the command starts, what the user should know (an
    empty snapshot).  The run's ``exit_code`` is the command's exit status as a shell reports it.
    ``secret_specs`` (``["NAME", "NAME=ENVVAR"]``, checked for ``actor`` by ``secrets``, the
    :class:`~jupyter_mlws.secrets.service.SecretService`) reach the child as environment variables
    only (never its argv or a file), and are masked in its logs and echo.  ``env``: more
    variables for the child (a workspace reached over HTTP: its token, as ``MLWS_TOKEN``).
    """
    if not argv:
        raise InvalidInput("no command given: mlws run start -- python train.py")
    if secret_specs:  # before any run is recorded
        secrets.check_bindings(actor, secret_specs)
    cwd = Path(cwd or os.getcwd()).absolute()
    files = tracking.collect_snapshot(cwd) if snapshot else []
    if snapshot and not files and on_warning is not None:
        on_warning(empty_snapshot_warning(cwd))
    run = tracking.start_command(experiment, shlex.join(argv), cwd=cwd, name=name, tags=tags,
                                 files=files)
    env = {**os.environ, **(env or {}), **C.run_env(root, run.id), "PYTHONUNBUFFERED": "1"}
    given: dict[str, str] = {}
    if secret_specs:
        try:
            secrets.bind(actor, run.id, secret_specs)
            given = secrets.env_for_run(run.id)
        except MlwsError as exc:
            run.end(R.FAILED, f"its secrets could not be read: {exc}")
            raise
        run.set_tags({"secrets": json.dumps(sorted(set(secrets.bindings(run.id).values())))})
    masker = Masker(given.values())
    env.update(given)
    try:
        child, pumps = command.start(argv, cwd=cwd, env=env, masker=masker,
                                     logs=(artifacts.live_file(run.id, "stdout.log"),
                                           artifacts.live_file(run.id, "stderr.log")),
                                     echo=(sys.stdout, sys.stderr) if echo else (None, None))
    except OSError as exc:
        run.end(R.FAILED, f"could not start {argv[0]!r}: {exc.strerror}")
        raise InvalidInput(f"could not start {argv[0]!r}: {exc.strerror}") from None
    runs.set_process(run.id, local.Process.of(child.pid))  # what 'mlws run cancel' stops
    status, error = command.wait(child)
    for p in pumps:
        p.join()
    run.end(status, error)
    code = child.returncode
    #: what a shell would report for the command: its status, 128 + N if signal N ended it
    run.exit_code = 130 if status == R.CANCELED else (128 - code if code < 0 else code)
    return run


def submit_command(
    argv: Sequence[str],
    *,
    experiment: str,
    target: str,
    compute,
    tracking: Tracking,
    runs: R.RunService,
    artifacts: ArtifactService,
    secrets,
    name: str | None = None,
    tags: Mapping | None = None,
    cwd: str | os.PathLike | None = None,
    snapshot: bool = True,
    on_warning: Callable[[str], None] | None = None,
    secret_specs: Sequence[str] | None = None,
    actor: str = "",
    check_actor: bool = True,
    user: str | None = None,
) -> str:
    """Record ``argv`` as a queued command run of ``experiment`` and hand it to compute target
    ``target`` (not ``local``), where it executes in a folder holding the snapshot of ``cwd``;
    return the run's id at once (:func:`follow_command` waits for it).

    What is recorded is what :func:`run_command` records: the command line, the snapshot, git,
    name and tags, the secrets' names; and the target (``compute``, the
    :class:`~jupyter_mlws.compute.targets.ComputeService`).  ``secret_specs`` add to, and
    override by variable, the target's own secrets (:meth:`ComputeService.run_secrets`),
    checked for ``actor`` unless ``check_actor`` is false (the caller decided it may).
    ``user``: who the run records as its user (default: this OS user).

    Raises
    ------
    InvalidInput
        No command, a bad secret binding.
    NotFound, Unavailable
        No such target, or one that cannot execute runs here (nothing recorded).
    NotFound, Conflict, PermissionDenied
        A secret that is missing or deleted, or that the actor may not give (nothing recorded).
    """
    from .command import CommandJob
    from .snapshot import git_info

    if not argv:
        raise InvalidInput(f"no command given: mlws run start --compute {target} -- python train.py")
    backend = compute.target(target)  # before anything is recorded
    compute.require_execution(target, actor, check_actor)
    given = secrets.check_bindings(actor, compute.run_secrets(target, secret_specs),
                                   check_actor=check_actor)
    cwd = Path(cwd or os.getcwd()).absolute()
    files = tracking.collect_snapshot(cwd) if snapshot else []
    if snapshot and not files and on_warning is not None:
        on_warning(empty_snapshot_warning(cwd))
    record = runs.create(experiment, name=name, tags=tags, source_type="command",
                         source_name=shlex.join(argv), git=git_info(cwd), status=R.QUEUED,
                         user=user)
    try:
        artifacts.store_snapshot(record.id, files)
        if given:  # names only: values are read when it executes, on the target
            secrets.bind(actor, record.id, given, check_actor=False)
            runs.set_tags(record.id, {"secrets": json.dumps(sorted(set(given.values())))})
        compute.assign(record.id, backend.name)
    except BaseException as exc:
        runs.end(record.id, R.FAILED, f"could not be submitted: {exc}")
        raise
    compute.hand_over(backend, CommandJob(record.id, list(argv)), runs)
    return record.id


def follow_command(run_id: str, *, tracking: Tracking, check: Callable[[str], object],
                   cancel: Callable[[str], object], echo: bool = True,
                   check_every: float = 5.0) -> Run:
    """Wait for command run ``run_id`` executing elsewhere, its output copied here as it arrives
    (``echo``: stdout to stdout, stderr to stderr); return the ended run, its ``exit_code`` the
    command's status as a shell reports it (:func:`command.exit_code`).

    ``check(run_id)`` asks its target about it every ``check_every`` seconds (a target that lost
    it ends it); Ctrl-C calls ``cancel(run_id)``, which stops it there.
    """
    import time

    outs = {"stdout.log": sys.stdout, "stderr.log": sys.stderr} if echo else {}
    checked = time.monotonic()

    def poll() -> None:
        nonlocal checked
        if time.monotonic() - checked > check_every:
            checked = time.monotonic()
            check(run_id)

    try:
        for log_name, data in tracking.follow_logs(run_id, on_poll=poll):
            command.show(outs.get(log_name), data)
    except KeyboardInterrupt:
        cancel(run_id)
    run = tracking.get(run_id)
    run.exit_code = command.exit_code(run.status, run.record.error)
    return run


def empty_snapshot_warning(folder: Path) -> str:
    """What to tell a user whose run's folder gives an empty snapshot, and what to do."""
    fix = ("run from your project folder (with -w WORKSPACE, or MLWS_WORKSPACE, naming the workspace), "
           "or pass --project-dir PROJECT; --no-snapshot takes no snapshot and says nothing")
    if (folder / C.CONFIG_FILE).is_file():
        return ("the source snapshot is empty: this folder is the workspace itself, whose own files "
                "are never kept, and the run's outputs/ will be written into it; " + fix)
    return f"the source snapshot is empty: {folder.name or folder} holds no files to keep; " + fix
