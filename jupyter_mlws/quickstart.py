"""``mlws quickstart``: a workspace in a folder and a small sample experiment in it."""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

from . import config as C
from .launcher import run_command
from .workspace import Workspace

SAMPLE = Path(__file__).parent / "samples" / "train_line.py"
LEARNING_RATES = ("0.01", "0.05", "0.2")


def run_sample(path: str | os.PathLike = ".") -> str:
    """Open or create the workspace at ``path``, run the sample three times; return a summary."""
    root = Path(path).absolute()
    ws = Workspace.open(root) if (root / C.CONFIG_FILE).is_file() else Workspace.create(root)
    with ws:
        project = root / "quickstart"
        project.mkdir(exist_ok=True)
        shutil.copy(SAMPLE, project / SAMPLE.name)
        runs = [run_command(ws, "quickstart", [sys.executable, SAMPLE.name, lr], cwd=project,
                            echo=False, tags={"sample": "true"})
                for lr in LEARNING_RATES]
        ids = ", ".join(f"'{r.id}'" for r in runs)
        best = ws.search_runs(f"id IN ({ids})", order_by=["metrics.loss ASC"], max_results=1)[0]
        lines = [f"workspace {ws.name!r} in {ws.root}",
                 f"ran {len(runs)} sample runs in experiment 'quickstart' "
                 f"({', '.join(r.id + ' ' + r.status for r in runs)})",
                 f"best run: {best.id} (lr={best.params.get('lr')}, loss={best.metrics['loss']:.4g})",
                 "",
                 "look at them:",
                 "  mlws run list -e quickstart",
                 f"  mlws run show {best.id}",
                 f"  mlws run compare {' '.join(r.id for r in runs)}",
                 f"  mlws run logs {best.id}",
                 f"  mlws run history {best.id} loss"]
    return "\n".join(lines)
