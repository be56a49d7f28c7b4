"""Runs for the run page's browser tests, made through the SDK in the served workspace: a rich
run (metrics of one to a million points, lists, tables, images, artifacts of every previewed
kind, a git snapshot, an environment, children, a model), a failed notebook run, a session run
with cells, and the notebooks the tests submit."""

from __future__ import annotations

import json
import shutil
import struct
import subprocess
import time
import zlib
from pathlib import Path

#: what the script of the HTML and SVG artifacts would do, were it ever run
PWNED_TITLE = "pwned by an artifact"
SCRIPT = f"<script>document.title = {PWNED_TITLE!r}; window.__mlwsPwned = 1;</script>"
BIG_POINTS = 1_000_000
#: lines the live notebook prints, one every 0.2 s
LIVE_LINES = 100


def png(width: int, height: int, rgb: tuple[int, int, int]) -> bytes:
    """A PNG of one colour (no imaging library needed)."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    rows = b"".join(b"\0" + bytes(rgb) * width for _ in range(height))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b""))


def _notebook(cells: list[dict]) -> str:
    cells = [{**cell, "id": f"cell-{i}"} for i, cell in enumerate(cells)]
    return json.dumps({"cells": cells, "nbformat": 4, "nbformat_minor": 5, "metadata": {
        "kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}}})


def _code(source: str, outputs: list | None = None, count: int | None = None, **metadata) -> dict:
    return {"cell_type": "code", "execution_count": count, "metadata": metadata, "outputs": outputs or [],
            "source": source}


def executed_notebook() -> str:
    """An executed notebook whose outputs include HTML and JavaScript (never to be rendered)."""
    image = __import__("base64").b64encode(png(8, 8, (200, 30, 30))).decode()
    return _notebook([
        {"cell_type": "markdown", "metadata": {}, "source": "# Training report"},
        _code("print('epoch 1 done')", [{"output_type": "stream", "name": "stdout", "text": "epoch 1 done\n"}], 1),
        _code("plot()", [{"output_type": "display_data", "metadata": {}, "data": {
            "image/png": image, "text/plain": "<Figure>"}}], 2),
        _code("html()", [{"output_type": "display_data", "metadata": {}, "data": {
            "text/html": f"<b>bold</b>{SCRIPT}", "application/javascript": f"document.title = {PWNED_TITLE!r}"}}], 3),
        _code("41 + 1", [{"output_type": "execute_result", "execution_count": 4, "metadata": {},
                          "data": {"text/plain": "42"}}], 4),
    ])


def live_notebook() -> str:
    """A notebook that prints a numbered line every 0.2 s and logs a metric with each (so that
    run-metrics events come with the run-logs events, as in a real training loop)."""
    return _notebook([_code(
        "import time\nimport jupyter_mlws as mlws\n"
        f"for i in range({LIVE_LINES}):\n"
        "    print(f'line {i:03d} of the live run', flush=True)\n"
        "    mlws.log('tick', i)\n"
        "    time.sleep(0.2)\n")])


def _git_source(folder: Path) -> None:
    """A git repository with one commit and an uncommitted change (a dirty snapshot)."""
    folder.mkdir(parents=True)
    (folder / "train.py").write_text("import jupyter_mlws as mlws\n\nLR = 0.01  # the learning rate\n")
    (folder / "conf").mkdir()
    (folder / "conf" / "params.json").write_text('{"lr": 0.01, "layers": [64, 32]}\n')
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@example.org", "-C", str(folder)]
    subprocess.run([*git, "init", "-q", "-b", "main"], check=True)
    subprocess.run([*git, "add", "."], check=True)
    subprocess.run([*git, "commit", "-q", "-m", "first"], check=True)
    (folder / "train.py").write_text("import jupyter_mlws as mlws\n\nLR = 0.02  # changed, not committed\n")


def _environment(folder: Path, name: str, packages: list[str]) -> Path:
    path = folder / name
    path.write_text(json.dumps({"python": "3.11.7 (main)", "platform": "Linux-x86_64",
                                "packages_hash": "a1b2c3d4e5f60718", "packages": packages}))
    return path


def _artifacts(folder: Path) -> Path:
    """One file of each previewed kind (and a model folder) in ``folder``."""
    folder.mkdir(parents=True)
    (folder / "notes.txt").write_text("first line of the notes\nsecond line\n")
    (folder / "data.csv").write_text("name,score\n" + "".join(f"row{i:03d},{i * 7 % 101}\n" for i in range(250)))
    (folder / "config.json").write_text('{"lr": 0.01, "layers": [64, 32], "name": "rich", "ok": true}')
    (folder / "report.html").write_text(f"<html><body><h1>Report</h1>{SCRIPT}</body></html>")
    (folder / "chart.svg").write_text(f'<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10">{SCRIPT}</svg>')
    (folder / "executed.ipynb").write_text(executed_notebook())
    (folder / "sample.png").write_bytes(png(40, 30, (30, 120, 200)))
    (folder / "model").mkdir()
    (folder / "model" / "weights.bin").write_bytes(bytes(range(256)))
    (folder / "model" / "info.json").write_text('{"kind": "tiny"}')
    return folder


def fill(ws, root: Path, scratch: Path) -> dict:
    """Make the runs; return their ids and what the tests expect."""
    exp = ws.experiment("page")
    old = ["numpy==2.1.0", "pandas==2.2.0", "scipy==1.13.0"]
    new = ["numpy==2.2.0", "pandas==2.2.0", "torch==2.3.0"]
    with exp.start_run("before-run", snapshot=False, outputs=None) as run:
        run.upload_file("environment.json", _environment(scratch, "env-old.json", old))
        before = run.id
    _git_source(scratch / "src")
    artifacts = _artifacts(scratch / "artifacts")
    with exp.start_run("rich-run", snapshot=scratch / "src", outputs=None,
                       description="A run with everything", tags={"team": "vision"}) as run:
        run.log_params({"lr": 0.01, "layers": "[64, 32]"})
        run.log_batch("loss", [1.0 / (1 + 0.05 * s) for s in range(200)])
        run.log_batch("val_loss", [1.1 / (1 + 0.04 * s) for s in range(200)])
        run.log_batch("big", [float((i * 7919) % 1000) for i in range(BIG_POINTS)])
        run.log_metrics({"final_score": 0.875})
        run.log_list("per_class", [0.9, 0.8, 0.95])
        run.log_table("errors", {"label": ["cat", "dog", "bird", "fish"], "count": [12, 3, 40, 7]})
        for step, colour in enumerate([(200, 40, 40), (40, 160, 40)]):
            run.log_image("samples", png(24, 16, colour), step=step)
        for path in sorted(artifacts.rglob("*")):
            if path.is_file():
                run.upload_file(path.relative_to(artifacts).as_posix(), path)
        run.upload_file("environment.json", _environment(scratch, "env-new.json", new))
        for i, lr in enumerate(("0.1", "0.01")):
            with run.child(f"rich-child-{i}") as child:
                child.log_params({"lr": lr})
                child.log_metrics({"acc": 0.5 + i / 10})
        rich = run.id
    ws.register_model("rich-model", run=rich, artifact="model")

    shutil.copy(Path(__file__).parents[1] / "notebooks" / "fails.ipynb", root / "fails.ipynb")
    failed = ws.submit_notebook(root / "fails.ipynb", experiment="page", wait=True)

    # its folder is the server's: Promote writes the cells' notebook there
    session = ws.start_session_run("analysis.ipynb", kernel="python3", cwd=root)
    session.record_cell(1, {"execution_count": 1, "source": "import pandas as pd\ndf = pd.DataFrame()",
                            "start": None, "duration": 0.25, "status": "completed", "metrics": {}})
    session.record_cell(2, {"execution_count": 2, "source": "train(df)", "start": None, "duration": 1.5,
                            "status": "failed", "ename": "KeyError", "evalue": "'label'", "metrics": {}})
    start = int(time.time() * 1000)
    session.log("cell_acc", 0.75)
    session.record_cell(3, {"execution_count": 3, "source": "evaluate()  # logs cell_acc", "start": start,
                            "duration": time.time() - start / 1000 + 0.01, "status": "completed",
                            "metrics": {"cell_acc": 1}})
    session.end("completed")
    (root / "live.ipynb").write_text(live_notebook())
    return {"before": before, "rich": rich, "failed": failed.id, "session": session.id,
            "old": old, "new": new}
