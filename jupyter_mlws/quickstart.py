"""``mlws quickstart``: a workspace in a folder, a small sample experiment in it, then JupyterLab."""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

from . import config as C
from .workspace import Workspace

SAMPLES = Path(__file__).parent / "samples"
SAMPLE = SAMPLES / "train_line.py"
#: also copied into the project folder, for the README's next steps: the sample as a notebook
#: (a ``parameters`` cell: submit it, sweep it) and a scoring script for the model it writes
EXTRAS = ("train_line.ipynb", "score_line.py")
#: the experiment the sample runs are in (the lab extension's first view opens its runs table)
EXPERIMENT = "quickstart"
LEARNING_RATES = ("0.01", "0.05", "0.2")


def run_sample(path: str | os.PathLike = ".") -> str:
    """Open or create the workspace at ``path``, run the sample three times; return a summary.

    Sample runs that completed in an earlier quickstart are reused, not run again.
    """
    root = Path(path).absolute()
    ws = Workspace.open(root) if (root / C.CONFIG_FILE).is_file() else Workspace.create(root)
    with ws:
        project = root / "quickstart"
        project.mkdir(exist_ok=True)
        shutil.copy(SAMPLE, project / SAMPLE.name)
        for extra in EXTRAS:
            if not (project / extra).exists():  # never overwrite a user's edits
                shutil.copy(SAMPLES / extra, project / extra)
        found = [_earlier_sample(ws, lr) for lr in LEARNING_RATES]
        runs = [run or ws.run_command([sys.executable, SAMPLE.name, lr], experiment=EXPERIMENT,
                                      cwd=project, echo=False, tags={"sample": "true"})
                for run, lr in zip(found, LEARNING_RATES)]
        ids = ", ".join(f"'{r.id}'" for r in runs)
        best = ws.search_runs(f"id IN ({ids})", order_by=["metrics.loss ASC"], max_results=1)[0]
        listed = ", ".join(r.id + " " + r.status for r in runs)
        reused = sum(run is not None for run in found)
        if not reused:
            ran = f"ran {len(runs)} sample runs in experiment 'quickstart' ({listed})"
        elif reused == len(runs):
            ran = (f"reused the {reused} sample runs already in experiment 'quickstart' ({listed}); "
                   f"train another: cd quickstart && mlws run start -e quickstart -- "
                   f"python {SAMPLE.name} 0.1")
        else:
            ran = (f"ran {len(runs) - reused} and reused {reused} sample runs in experiment "
                   f"'quickstart' ({listed})")
        lines = [f"workspace {ws.name!r} in {ws.root}",
                 ran,
                 f"best run: {best.id} (lr={best.params.get('lr')}, loss={best.metrics['loss']:.4g})",
                 "",
                 "look at them:",
                 "  mlws run list -e quickstart",
                 f"  mlws run show {best.id}",
                 f"  mlws run compare {' '.join(r.id for r in runs)}",
                 f"  mlws run logs {best.id}",
                 f"  mlws run history {best.id} loss"]
    return "\n".join(lines)


def _earlier_sample(ws: Workspace, lr: str):
    """The latest completed sample run with learning rate ``lr``, or None."""
    page = ws.search_runs(f"experiment = 'quickstart' and tags.sample = 'true' and status = 'completed' "
                          f"and params.lr = {lr}", order_by=["start_time DESC"], max_results=1)
    return page[0] if len(page) else None


def lab_workspace(path: str | os.PathLike = ".") -> str:
    """The JupyterLab workspace (its saved layout) of the mlws workspace at ``path``: ``mlws-``
    and 8 hex digits of the workspace's id (of its folder for a workspace without one).

    JupyterLab keeps its workspaces per user, not per folder: one name per mlws workspace keeps
    another project's tabs out.  In a workspace of this name the lab extension shows its first
    view once: the navigator, the runs table of the sample's experiment with its best completed
    run marked, and below it that run's page on its charts.
    """
    import hashlib
    import tomllib

    root = Path(path).absolute()
    try:
        stable = tomllib.loads((root / C.CONFIG_FILE).read_text())["workspace"].get("id")
    except (OSError, tomllib.TOMLDecodeError, KeyError, TypeError):
        stable = None
    return "mlws-" + hashlib.sha256(str(stable or root).encode()).hexdigest()[:8]


def lab_url(path: str | os.PathLike = ".") -> str:
    """JupyterLab's landing URL for the workspace at ``path`` (``/lab/workspaces/mlws-<8 hex>``).
    A path, not a query: Jupyter appends ``?token=...`` to it in the URL it prints."""
    return f"/lab/workspaces/{lab_workspace(path)}"


def lab_command(path: str | os.PathLike = ".") -> list[str]:
    """The ``jupyter lab`` command that opens the sidebar of the workspace at ``path`` (run it
    in the workspace folder)."""
    from .startup import allow_root_args

    return ["jupyter", "lab", f"--LabApp.default_url={lab_url(path)}", *allow_root_args()]


def lab_hint(path: str | os.PathLike = ".") -> str:
    """How to open the workspace in JupyterLab yourself."""
    import shlex

    return (f"open it in JupyterLab (the 'ML workspace' sidebar):\n"
            f"  cd {shlex.quote(str(Path(path).absolute()))} && {shlex.join(lab_command(path))}")


def can_open_lab() -> bool:
    """Whether to start JupyterLab now: an interactive terminal, not CI, and JupyterLab installed.

    Output piped or captured (scripts, tests) counts as non-interactive too, so that
    ``mlws quickstart`` never blocks anything but a person at a terminal.
    """
    import importlib.util

    interactive = sys.stdin.isatty() and sys.stdout.isatty()
    return interactive and not os.environ.get("CI") and importlib.util.find_spec("jupyterlab") is not None


def exec_lab(path: str | os.PathLike = ".") -> None:
    """Replace this process with JupyterLab in the workspace folder (does not return)."""
    cmd = lab_command(path)
    os.chdir(Path(path).absolute())
    sys.stdout.flush()
    # the venv's own jupyter, next to this interpreter, else the one on PATH
    local = Path(sys.executable).with_name("jupyter")
    if local.exists():
        cmd[0] = str(local)
    os.execvp(cmd[0], cmd)
