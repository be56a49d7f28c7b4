"""Which kernel executes a notebook, in which language, and what of its own log is noise.

One rule, wherever a notebook is submitted, executed or written (submit, sweeps, rerun,
promote, the executor): the kernel asked for (``--kernel``), else the one the notebook's
``kernelspec`` names, else an installed kernel for the notebook's language
(``language_info``), else ``python3``.  The language is the chosen kernelspec's (else the
notebook's).  So a notebook stripped of its metadata (nbstripout, jupytext,
``nbformat.v4.new_notebook()``) runs, and Papermill is always told both.

One exception: an executor running in an environment built for its run (a target with ``env:
build``) runs the kernel of its own Python whatever the name (:func:`this_python`): the kernel's
name only chose which packages were built, and no kernelspec of that name exists there.

:class:`EarlyKernel` starts a run's kernel before anything else.  This module imports neither
the store nor Jupyter's libraries at import time, so a caller can launch the kernel first (``mlws
run submit --wait`` does, before it opens the workspace).
"""

from __future__ import annotations

import functools
import json
import os
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Mapping

from ..config import run_env
from ..errors import InvalidInput

#: the kernel of a notebook that names neither a kernel nor a language
DEFAULT_KERNEL = "python3"

#: lines a kernel writes on every start that say nothing about the user's code: ipykernel
#: warns that its local ZeroMQ sockets are not encrypted (they listen on 127.0.0.1 only)
NOISE = ("Kernel is running over TCP without encryption",)


@dataclass(frozen=True)
class Kernel:
    """A resolved kernel: its kernelspec ``name``, the ``language`` it runs, its display name."""

    name: str
    language: str
    display_name: str

    def stamp(self, metadata: dict) -> None:
        """Make a notebook's metadata say it runs in this kernel (``kernelspec`` and
        ``language_info``), keeping what already agrees (the notebook's own entries for the
        same kernel, a fuller ``language_info``)."""
        spec = metadata.get("kernelspec")
        spec = dict(spec) if isinstance(spec, dict) and spec.get("name") == self.name else {}
        metadata["kernelspec"] = {"display_name": self.display_name, "language": self.language,
                                  **spec, "name": self.name}
        info = metadata.get("language_info")
        if not isinstance(info, dict) or str(info.get("name", "")).lower() != self.language.lower():
            metadata["language_info"] = {"name": self.language}


def this_python(metadata: Mapping | None, requested: str | None = None) -> Kernel:
    """The kernel of an executor that runs in an environment built for its run: this
    interpreter's ipykernel (:func:`this_python_spec`), under the name asked for (else the
    notebook's, else ``python3``), which the run and its executed notebook keep."""
    meta = metadata if isinstance(metadata, Mapping) else {}
    kernelspec = meta.get("kernelspec") if isinstance(meta.get("kernelspec"), Mapping) else {}
    name = requested or kernelspec.get("name") or DEFAULT_KERNEL
    return Kernel(name, "python", kernelspec.get("display_name") or this_python_spec()["display_name"])


def this_python_spec() -> dict:
    """The kernelspec (``argv``, ``display_name``, ``language``) of an ipykernel of this
    interpreter."""
    version = ".".join(map(str, sys.version_info[:3]))
    return {"argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
            "display_name": f"Python {version} (the run's environment)", "language": "python"}


def _this_python_specs():
    """A KernelSpecManager that gives :func:`this_python_spec` for any kernel name."""
    from jupyter_client.kernelspec import KernelSpec, KernelSpecManager

    class ThisPython(KernelSpecManager):
        def get_kernel_spec(self, kernel_name):
            return KernelSpec(**this_python_spec())

    return ThisPython()


def installed() -> dict[str, dict]:
    """The installed kernelspecs by name: each one's ``language`` and ``display_name``."""
    return {name: found.get("spec", {}) for name, found in spec_manager().get_all_specs().items()}


def spec_manager():
    """jupyter_client's KernelSpecManager over the folders it searches by default: Jupyter's
    ``kernels`` folders and IPython's (``$IPYTHONDIR/kernels``, else ``~/.ipython/kernels``).

    Its default asks IPython for IPython's folder, which imports IPython (20 to 50 ms here), in
    a process that executes no code of its own and, for ``mlws run submit --wait``, before the
    run's kernel could launch.  The folder is asked of IPython only where it is already loaded.
    """
    from jupyter_client.kernelspec import KernelSpecManager
    from jupyter_core.paths import jupyter_path

    ipython = sys.modules.get("IPython.paths")
    if ipython is not None:
        ipython_dir = ipython.get_ipython_dir()
    else:
        ipython_dir = os.path.normpath(os.path.expanduser(os.environ.get("IPYTHONDIR") or "~/.ipython"))
    return KernelSpecManager(kernel_dirs=[*jupyter_path("kernels"), os.path.join(ipython_dir, "kernels")])


def resolve(metadata: Mapping | None, requested: str | None = None, what: str = "the notebook") -> Kernel:
    """The kernel that runs a notebook with this ``metadata`` (see the module's rule).

    Raises
    ------
    InvalidInput
        When the kernel asked for (or named by the notebook) is not installed, when no installed
        kernel runs the notebook's language, or when nobody says which language it is; the
        message lists the installed kernels.
    """
    specs = installed()
    meta = metadata if isinstance(metadata, Mapping) else {}
    kernelspec = meta.get("kernelspec") if isinstance(meta.get("kernelspec"), Mapping) else {}
    info = meta.get("language_info") if isinstance(meta.get("language_info"), Mapping) else {}
    nb_language = info.get("name") or kernelspec.get("language") or None
    name = requested or kernelspec.get("name") or _for_language(specs, nb_language, what)
    if name not in specs:
        asked = "" if requested else f"{what} asks for a kernel that is not installed: "
        raise InvalidInput(f"{asked}no kernel named {name!r} is installed (installed: "
                           f"{_listing(specs)}): pass --kernel with one of them")
    spec = specs[name]
    language = spec.get("language") or nb_language
    if not language:
        raise InvalidInput(f"kernel {name!r} does not say which language it runs, and neither does "
                           f"{what}: pass --kernel with one that does (installed: {_listing(specs)})")
    return Kernel(name, language, spec.get("display_name") or name)


def _for_language(specs: dict[str, dict], language: str | None, what: str) -> str:
    if language is None:
        if DEFAULT_KERNEL in specs:
            return DEFAULT_KERNEL
        raise InvalidInput(f"{what} names no kernel and no language, and there is no "
                           f"{DEFAULT_KERNEL!r} kernel (installed: {_listing(specs)}): "
                           "pass --kernel with one of them")
    fits = sorted(n for n, s in specs.items() if str(s.get("language", "")).lower() == language.lower())
    if not fits:
        raise InvalidInput(f"{what} is written in {language!r} and no installed kernel runs it "
                           f"(installed: {_listing(specs)}): install one, or pass --kernel")
    return DEFAULT_KERNEL if DEFAULT_KERNEL in fits else fits[0]


def _listing(specs: dict[str, dict]) -> str:
    return ", ".join(f"{n} ({s.get('language') or '?'})" for n, s in sorted(specs.items())) or "none"


def metadata_of(path: Path) -> dict:
    """A notebook file's top-level metadata, read as plain JSON ({} when unreadable)."""
    try:
        with open(path, encoding="utf-8") as f:
            meta = json.load(f).get("metadata", {})
    except (OSError, ValueError, AttributeError):
        return {}
    return meta if isinstance(meta, dict) else {}


def drop_noise(path: str | os.PathLike) -> int:
    """Remove the :data:`NOISE` lines from a kernel's log file, in place; its size afterwards."""
    path = Path(path)
    with open(path, "rb") as src, tempfile.NamedTemporaryFile(
            "wb", dir=path.parent, prefix=".clean-", delete=False) as dst:
        for line in src:
            if not any(n.encode() in line for n in NOISE):
                dst.write(line)
    os.replace(dst.name, path)
    return path.stat().st_size


def kernel_name(metadata: Mapping | None) -> str:
    """The kernel a submission of a notebook with this ``metadata`` would run in (:func:`resolve`'s
    rule), for showing before it is submitted; when that rule finds none, the name the notebook
    asks for (else ``python3``), which submitting then refuses with the reason."""
    try:
        return resolve(metadata).name
    except InvalidInput:
        meta = metadata if isinstance(metadata, Mapping) else {}
        kernelspec = meta.get("kernelspec") if isinstance(meta.get("kernelspec"), Mapping) else {}
        return kernelspec.get("name") or "python3"


class EarlyKernel:
    """The kernel of a run, started before anything else, so that it boots while the run is
    prepared; a retry's fresh kernel is started here too (:meth:`start`).

    Only the notebook's JSON is read to resolve its kernel; a notebook that cannot be read or
    whose kernel cannot be resolved starts none (submit then says what is wrong).  The kernels'
    own output is kept as the run's ``kernel.log``, without the :data:`NOISE` lines.

    Parameters
    ----------
    notebook : path
        The notebook the run executes.
    kernel : str, optional
        The kernel asked for (default: the notebook's).
    cwd : path, optional
        Where the kernel runs (default: the notebook's folder).
    env : mapping, optional
        Added to this process's environment for the kernel (the reporter's
        :meth:`~.reporter.Reporter.kernel_env`).
    run_id : str, optional
        The run's id (default: a new one, for a run recorded once the kernel boots).
    own_python : bool
        The kernel is this interpreter's whatever the name (:func:`this_python`): the executor
        runs in an environment built for the run.

    Attributes
    ----------
    resolved : Kernel or None
        The kernel that runs (None: it could not be resolved).
    """

    def __init__(self, notebook, kernel: str | None = None, cwd=None,
                 env: Mapping[str, str] | None = None, run_id: str | None = None,
                 own_python: bool = False):
        if run_id is None:
            from ..run_records import new_run_id

            run_id = new_run_id()
        self.run_id = run_id
        self.own_python = own_python
        meta = metadata_of(Path(notebook))
        self.resolved = this_python(meta, kernel) if own_python else _resolved(meta, kernel)
        self.kernel = None if self.resolved is None else self.resolved.name
        self.km = None
        self.log = tempfile.NamedTemporaryFile(prefix="mlws-kernel-", suffix=".log", delete=False)
        self._cwd = str(Path(cwd or Path(notebook).absolute().parent))
        self._env = dict(env or {})
        self._shut = False
        self.start()

    @classmethod
    def for_run(cls, notebook, kernel: str | None, cwd, root: str | os.PathLike) -> "EarlyKernel":
        """The kernel of a new run of the workspace at ``root``, its id chosen here (the run is
        recorded with :attr:`run_id` once the kernel boots); code in the kernel logs to the run."""
        from ..run_records import new_run_id

        run_id = new_run_id()
        return cls(notebook, kernel, cwd, run_env(root, run_id), run_id)

    def start(self):
        """Start a kernel for the run (None when it cannot start); it becomes :attr:`km`.

        A kernel started before (a failed attempt's) is waited for, or stopped, first."""
        previous, self.km = self.km, None
        if previous is not None:
            _end(previous)
        if self.kernel is None:
            return None
        from jupyter_client.kernelspec import NoSuchKernel
        from jupyter_client.utils import run_sync

        # async, as nbclient's own: with a blocking client its wait for output would block the
        # loop that enforces the cell timeout
        specs = _this_python_specs() if self.own_python else spec_manager()
        km = _manager_class()(kernel_name=self.kernel, kernel_spec_manager=specs)
        try:
            run_sync(km.start_kernel)(cwd=self._cwd, env={**os.environ, **self._env},
                                      stdout=self.log, stderr=self.log)
        except (NoSuchKernel, OSError):
            return None  # submit refuses the kernel with the list of installed ones
        self.km = km
        return km

    def note(self, line: str) -> None:
        """Add ``line`` to the kernel's log (what the run keeps as ``kernel.log``), as the
        product's own: ``mlws: LINE`` (nothing once it was shut down: its log is kept by then)."""
        if self._shut:
            return
        with open(self.log.name, "ab") as f:
            f.write(f"mlws: {line}\n".encode())
        # the kernel writes through the descriptor it inherited, at their shared offset: past
        # the line, or a kernel started after it would write over it
        os.lseek(self.log.fileno(), 0, os.SEEK_END)

    def canceled(self) -> None:
        """Say in the kernel's log that the run was canceled and its kernel stopped (one line,
        with the time, UTC), and mark its manager so that the kernel's death is no error."""
        import datetime

        if self.km is not None:
            self.km.mlws_canceled = True
        when = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")
        self.note(f"canceled at {when}: kernel stopped")

    def shutdown(self, keep_log: Callable[[str, Path], None] | None = None, *,
                 now: bool = False) -> None:
        """Stop the kernel if it still runs, and hand its output to ``keep_log("kernel.log",
        path)`` (the reporter's :meth:`~.reporter.Reporter.log`) unless it holds only noise.
        ``now``: kill it rather than ask it to end (a kernel that ran nothing: a still booting
        one does not answer a request for seconds).  Called again, it does nothing."""
        if self._shut:
            return
        self._shut = True
        if self.km is not None:
            _end(self.km, now)
        self.log.close()
        try:
            if keep_log is not None and drop_noise(self.log.name):
                keep_log("kernel.log", Path(self.log.name))
        finally:
            os.unlink(self.log.name)


def _resolved(metadata: dict, kernel: str | None) -> Kernel | None:
    try:
        return resolve(metadata, kernel)
    except InvalidInput:
        return None


def _end(km, now: bool = False) -> None:
    """Stop a run's kernel: wait for its exit if it was asked to end (see
    ``mlws_ask_to_end``), reap it if it died already, else shut it down gracefully (unless
    ``now``: kill it); either way it is gone (killed once the manager's ``shutdown_wait_time``
    has passed) and its resources are released when this returns."""
    if not km.has_kernel:
        return
    from jupyter_client.utils import run_sync

    if km.mlws_asked and not now:
        run_sync(km.mlws_wait_for_end)()
    elif not run_sync(km.is_alive)():
        # it died already (killed by a cancel heard on another thread, or crashed), and its
        # client may have released its sockets and context: nothing can be asked of it (a
        # shutdown request would need a new socket of a terminated context: ZMQError); reap it
        # and release what is left
        run_sync(km.provisioner.wait)()
        run_sync(km.cleanup_resources)()
    else:
        # gracefully (unless ``now``): the kernel flushes what it logged
        run_sync(km.shutdown_kernel)(now=now)


@functools.cache
def _manager_class():
    """jupyter_client's AsyncKernelManager, noticing a kernel's exit within 10 ms (it polls
    every 100 ms by default, which made every graceful shutdown last 100 ms or more), and
    whose graceful shutdown can be split in two: ask the kernel to end, do other work while it
    exits, then wait for its exit."""
    from jupyter_client.manager import AsyncKernelManager

    class PromptKernelManager(AsyncKernelManager):
        #: asked to end by :meth:`mlws_ask_to_end`, not yet waited for
        mlws_asked = False

        async def _async_finish_shutdown(self, waittime=None, pollinterval=0.01, restart=False):
            await super()._async_finish_shutdown(waittime, pollinterval, restart)

        async def mlws_ask_to_end(self) -> None:
            """The first half of a graceful ``shutdown_kernel``: interrupt the kernel and send
            it the shutdown request, without waiting for it to exit.  :func:`_end` (from
            :meth:`EarlyKernel.shutdown`) does the second half."""
            if not self.owns_kernel or not self.has_kernel:
                return
            self.shutting_down = True
            self.stop_restarter()
            await self._async_interrupt_kernel()
            await self._async_request_shutdown()
            self.mlws_asked = True

        async def mlws_wait_for_end(self) -> None:
            """The second half: wait for the kernel to exit (SIGTERM, then SIGKILL once
            ``shutdown_wait_time`` has passed), then release its connection file and sockets."""
            self.mlws_asked = False
            await self._async_finish_shutdown()
            await self._async_cleanup_resources()

    return PromptKernelManager
