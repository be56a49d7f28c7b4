"""Shared helpers of the benchmarks: machine facts, MLflow set-up, tables, RESULTS.md.

Each benchmark is one command (``python bench/<name>.py``).  It prints a table
and replaces its own section of ``bench/RESULTS.md`` (between the markers
``<!-- bench:<name> -->`` and ``<!-- /bench:<name> -->``); the raw figures also
go to ``bench/out/<name>.json`` (git-ignored).
"""

from __future__ import annotations

import atexit
import datetime as _dt
import json
import os
import platform
import resource
import shlex
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
#: BENCH_RESULTS points elsewhere for trial runs (e.g. with small counts) that must not land in RESULTS.md
RESULTS = Path(os.environ.get("BENCH_RESULTS") or BENCH / "RESULTS.md")
OUT = BENCH / "out"

# MLflow must never touch the network nor draw progress bars; set before it is imported.
MLFLOW_ENV = {
    "MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR": "false",
    "MLFLOW_DISABLE_TELEMETRY": "true",
    "DO_NOT_TRACK": "true",
    "GIT_PYTHON_REFRESH": "quiet",
    "MLFLOW_LOGGING_LEVEL": "WARNING",
}
os.environ.update(MLFLOW_ENV)


def loadavg() -> str:
    try:
        return Path("/proc/loadavg").read_text().split()[0]
    except OSError:
        return "?"


#: the 1-minute load average when the benchmark started (other work on a shared machine skews figures)
LOAD_AT_START = loadavg()


def tmpdir(prefix: str) -> Path:
    """A fresh temporary directory, removed at exit unless ``BENCH_KEEP=1``.

    ``BENCH_TMPDIR`` chooses where (default: the system's temp dir, on disk here).
    """
    path = Path(tempfile.mkdtemp(prefix=f"mlws-bench-{prefix}-", dir=os.environ.get("BENCH_TMPDIR")))
    if os.environ.get("BENCH_KEEP") != "1":
        atexit.register(shutil.rmtree, path, ignore_errors=True)
    return path


def open_workspace(path: Path):
    """A fresh jupyter_mlws workspace at ``path`` (SQLite in WAL mode, local artifacts)."""
    from jupyter_mlws import Workspace

    return Workspace.create(path / "ws")


def start_run(ws, experiment: str = "bench", name: str | None = None):
    """A run with no source snapshot and no outputs folder (they are not what is measured)."""
    return ws.experiment(experiment).start_run(name, snapshot=False, outputs=None)


def mlflow_setup(path: Path, experiment: str = "bench"):
    """Import MLflow against ``sqlite:///<path>/mlflow.db`` with local artifacts.

    Returns ``(mlflow, MlflowClient(), experiment_id)``.  The schema migrations
    MLflow runs on a new database happen here, outside any timing.
    """
    import logging
    import warnings

    warnings.filterwarnings("ignore")
    logging.getLogger("mlflow").setLevel(logging.ERROR)
    logging.getLogger("alembic").setLevel(logging.ERROR)
    path.mkdir(parents=True, exist_ok=True)
    uri = f"sqlite:///{path / 'mlflow.db'}"
    os.environ["MLFLOW_TRACKING_URI"] = uri
    import mlflow
    from mlflow.tracking import MlflowClient

    mlflow.set_tracking_uri(uri)
    client = MlflowClient(tracking_uri=uri)
    exp_id = client.create_experiment(experiment, artifact_location=(path / "mlartifacts").as_uri())
    mlflow.set_experiment(experiment_id=exp_id)
    return mlflow, client, exp_id


def our_durability(ws) -> dict:
    """The SQLite settings of a workspace's connections that decide durability and speed
    (journal mode, synchronous level, page cache), read from one of its connections."""
    with ws.db.read() as conn:
        cur = conn.connection.dbapi_connection.cursor()
        got = {p: cur.execute(f"PRAGMA {p}").fetchone()[0]
               for p in ("journal_mode", "synchronous", "cache_size")}
        cur.close()
    return got


SYNCHRONOUS = {0: "OFF", 1: "NORMAL", 2: "FULL", 3: "EXTRA"}


def durability_text(d: dict) -> str:
    return f"journal_mode={d['journal_mode'].upper()}, synchronous={SYNCHRONOUS.get(d['synchronous'], d['synchronous'])}"


def apply_durability(con, d: dict) -> None:
    """Give a plain ``sqlite3`` connection the settings :func:`our_durability` read."""
    for pragma in ("journal_mode", "synchronous", "cache_size"):
        con.execute(f"PRAGMA {pragma}={d[pragma]}")


def mlflow_at_durability(path: Path, d: dict) -> None:
    """Make every SQLite connection SQLAlchemy opens to a database under ``path`` use the
    settings ``d`` (MLflow's store then writes as durably as ours, no more, no less).
    Call before MLflow opens that store."""
    from sqlalchemy import event
    from sqlalchemy.engine import Engine

    where = str(path)

    def on_connect(dbapi_conn, _record):
        if not type(dbapi_conn).__module__.startswith("sqlite3"):
            return
        files = [row[2] for row in dbapi_conn.execute("PRAGMA database_list")]
        if any(f and f.startswith(where) for f in files):
            apply_durability(dbapi_conn, d)

    event.listen(Engine, "connect", on_connect)


def insert_runs(ws, experiment: str, runs, batch: int = 10_000) -> int:
    """Insert ended runs straight into the workspace's tables (SQLAlchemy Core), fast.

    ``runs`` yields ``(name, params, metrics)``; each metric gets one point at
    step 0 (its row in ``latest_metrics``; the point history is not written,
    searches do not read it).  For set-up only: the SDK path is what users
    take, but it costs milliseconds per run.  Returns the number inserted.
    """
    import uuid

    from sqlalchemy import func, select

    from jupyter_mlws.limits import param_text
    from jupyter_mlws.store import schema as S

    exp_pk = ws.runs.experiment_pk(experiment)
    now = int(time.time() * 1000)
    total = 0
    with ws.db.write() as conn:
        pk = (conn.execute(select(func.max(S.runs.c.pk))).scalar() or 0) + 1
        number = conn.execute(select(S.experiments.c.run_counter).where(S.experiments.c.pk == exp_pk)).scalar()

    def flush(run_rows, param_rows, metric_rows):
        with ws.db.write() as conn:
            conn.execute(S.runs.insert(), run_rows)
            if param_rows:
                conn.execute(S.params.insert(), param_rows)
            if metric_rows:
                conn.execute(S.latest_metrics.insert(), metric_rows)
            conn.execute(S.experiments.update().where(S.experiments.c.pk == exp_pk)
                         .values(run_counter=S.experiments.c.run_counter + len(run_rows)))

    run_rows, param_rows, metric_rows = [], [], []
    for name, params, metrics in runs:
        number += 1
        start = now - 10_000_000 + total
        run_rows.append(dict(pk=pk, id=uuid.uuid4().hex[:16], experiment_pk=exp_pk, parent_pk=None,
                             number=number, name=name, description="", status="completed", error=None,
                             start_time=start, end_time=start + 1000, heartbeat_at=start + 1000,
                             source_type="script", source_name="bench.py", git_commit=None, git_branch=None,
                             git_dirty=None, user_name="bench", host="localhost", pid=1, point_seq=len(metrics)))
        for k, v in params.items():
            text, num = param_text(k, v)
            param_rows.append(dict(run_pk=pk, key=k, value=text, num=num))
        for k, v in metrics.items():
            metric_rows.append(dict(run_pk=pk, key=k, step=0, ts=start, value=float(v), count=1))
        pk += 1
        total += 1
        if len(run_rows) >= batch:
            flush(run_rows, param_rows, metric_rows)
            run_rows, param_rows, metric_rows = [], [], []
    if run_rows:
        flush(run_rows, param_rows, metric_rows)
    return total


def byte_compile() -> str:
    """Byte-compile the jupyter_mlws package in place, as ``pip install`` does, and say so.

    A fresh process then loads its modules as an installed copy would.  Without it, where
    ``PYTHONDONTWRITEBYTECODE`` is set (as in this repository's work environment) every fresh
    ``mlws`` process and kernel compiled our sources again: about 15 % of the instructions of
    ``mlws run submit --wait`` and 35 % of a first run's cell, which no installed user pays.
    """
    import compileall

    compileall.compile_dir(str(ROOT / "jupyter_mlws"), quiet=1)
    return ("jupyter_mlws byte-compiled first, as `pip install` does (so fresh processes do not "
            "compile it where PYTHONDONTWRITEBYTECODE is set)")


# -- facts about the machine -------------------------------------------------------------


def _version(dist: str) -> str:
    try:
        from importlib.metadata import version

        return version(dist)
    except Exception:
        return "not installed"


def machine() -> dict:
    cpu = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    try:
        commit = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"],
                                capture_output=True, text=True).stdout.strip()
        dirty = subprocess.run(["git", "-C", str(ROOT), "status", "--porcelain", "--", "jupyter_mlws"],
                               capture_output=True, text=True).stdout.strip()
        if dirty:
            commit += " (jupyter_mlws/ modified)"
    except OSError:
        commit = "?"
    return {
        "nproc": os.cpu_count(),
        "cpu": cpu,
        "python": platform.python_version(),
        "sqlite": sqlite3.sqlite_version,
        "sqlalchemy": _version("sqlalchemy"),
        "mlflow": _version("mlflow"),
        "jupyter_mlws": _version("jupyter_mlws"),
        "commit": commit,
        "os": platform.platform(terse=True),
    }


def machine_line(m: dict) -> str:
    return (f"nproc {m['nproc']} ({m['cpu'] or 'cpu ?'}), Python {m['python']}, SQLite {m['sqlite']}, "
            f"SQLAlchemy {m['sqlalchemy']}, MLflow {m['mlflow']}, {m['os']}, commit {m['commit']}")


def command_line() -> str:
    script = Path(sys.argv[0]).resolve()
    try:
        script = script.relative_to(ROOT)
    except ValueError:
        pass
    return " ".join(["python", str(script), *map(shlex.quote, sys.argv[1:])])


# -- measuring ---------------------------------------------------------------------------


def rss_mb() -> float:
    """The current resident set size (VmRSS) in MB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def hwm_mb() -> float:
    """The peak resident set size so far (VmHWM, the same as ru_maxrss) in MB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def reset_peak_rss() -> bool:
    """Reset VmHWM to the current RSS (Linux >= 4.0: write 5 to clear_refs); True if it worked."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


def median(xs):
    return statistics.median(xs)


def percentile(xs, q: float):
    s = sorted(xs)
    if not s:
        return float("nan")
    k = min(len(s) - 1, max(0, round(q / 100 * (len(s) - 1))))
    return s[k]


class Timer:
    def __enter__(self):
        self.t0 = time.perf_counter()
        return self

    def __exit__(self, *exc):
        self.s = time.perf_counter() - self.t0


def fmt_rate(x: float) -> str:
    return f"{x:,.0f}"


def fmt_ratio(x: float) -> str:
    if x != x:
        return "n/a"
    return f"{x:,.1f}x" if x < 100 else f"{x:,.0f}x"


# -- tables and RESULTS.md -----------------------------------------------------------------


def table(headers: list[str], rows: list[list]) -> str:
    """A Markdown table (it also reads well in a terminal)."""
    cells = [[str(c) for c in headers]] + [[str(c) for c in r] for r in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    line = lambda r: "| " + " | ".join(c.ljust(w) for c, w in zip(r, widths)) + " |"  # noqa: E731
    out = [line(cells[0]), "|" + "|".join("-" * (w + 2) for w in widths) + "|"]
    out += [line(r) for r in cells[1:]]
    return "\n".join(out)


HEADER = """# Benchmark results

Written by the benchmarks themselves: each `python bench/<name>.py` replaces its own
section below (`bash bench/run_all.sh` runs them all).  Figures are from one real run on
the machine named in each section; ratios compare tools measured in the same process run.
See bench/README.md for what each workload measures.
"""


def write_section(name: str, title: str, body: str, data: dict, recorded: dict | None = None) -> None:
    """Print the section and replace it in RESULTS.md; dump ``data`` to bench/out/<name>.json.

    ``recorded``: the JSON of an earlier run whose report is rendered again (its command, date,
    machine and load are kept, and the section says it was re-rendered).
    """
    m = recorded["machine"] if recorded else machine()
    when = recorded["date"] if recorded else _dt.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z")
    command = recorded["command"] if recorded else command_line()
    load = recorded["loadavg_start_end"] if recorded else [LOAD_AT_START, loadavg()]
    again = (f"- report rendered again from that run's figures by `{command_line()}`\n"
             if recorded else "")
    section = (
        f"<!-- bench:{name} -->\n## {title}\n\n"
        f"- command: `{command}`\n"
        f"- date: {when}\n"
        f"- machine: {machine_line(m)}\n"
        f"- load average (1 min) at start / end: {load[0]} / {load[1]} on {m['nproc']} CPUs "
        f"(this benchmark itself counts for about 1)\n{again}\n"
        f"{body.strip()}\n<!-- /bench:{name} -->\n"
    )
    print()
    print(section)
    OUT.mkdir(exist_ok=True)
    import fcntl

    # benchmarks may finish at the same time: one read-modify-write of RESULTS.md at a time
    with open(OUT / ".results.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        text = RESULTS.read_text() if RESULTS.exists() else HEADER
        start, end = f"<!-- bench:{name} -->", f"<!-- /bench:{name} -->"
        if start in text and end in text:
            before, rest = text.split(start, 1)
            after = rest.split(end, 1)[1].lstrip("\n")
            text = before + section + ("\n" + after if after else "")
        else:
            text = text.rstrip("\n") + "\n\n" + section
        tmp = RESULTS.with_name(RESULTS.name + ".tmp")
        tmp.write_text(_ordered(text))
        os.replace(tmp, RESULTS)
    # a trial run (BENCH_RESULTS set) keeps its figures beside its own results file
    json_path = OUT / f"{name}.json" if RESULTS == BENCH / "RESULTS.md" else RESULTS.with_name(
        f"{RESULTS.stem}.{name}.json")
    if recorded:
        return  # the figures on disk are the run's own
    json_path.write_text(json.dumps(
        {"name": name, "date": when, "command": command, "machine": m, "loadavg_start_end": load, **data},
        indent=2, default=str))


ORDER = ["log_metrics", "log_batch", "search_runs", "import_time", "memory"]


def _ordered(text: str) -> str:
    """Keep the sections in the workload order whatever order they were run in."""
    head = text.split("<!-- bench:", 1)[0].rstrip("\n")
    sections = {}
    for name in ORDER + sorted(set(_names(text)) - set(ORDER)):
        start, end = f"<!-- bench:{name} -->", f"<!-- /bench:{name} -->"
        if start in text and end in text:
            sections[name] = start + text.split(start, 1)[1].split(end, 1)[0] + end
    return head + "\n\n" + "\n\n".join(sections.values()) + "\n"


def _names(text: str) -> list[str]:
    return [part.split(" -->", 1)[0] for part in text.split("<!-- bench:")[1:]]


def verdict(ok: bool) -> str:
    return "**PASS**" if ok else "**FAIL**"


def control(jobs: int, parallel: int, code: str) -> float:
    """The machine's own parallel speed-up now: seconds for ``jobs`` CPU-bound ``python -c
    code`` processes, ``parallel`` at a time."""
    t0 = time.perf_counter()
    queue, running = list(range(jobs)), []
    while queue or running:
        while queue and len(running) < parallel:
            queue.pop()
            running.append(subprocess.Popen([sys.executable, "-c", code]))
        running[0].wait()
        running = [p for p in running if p.poll() is None]
    return time.perf_counter() - t0


def max_overlap(spans: list[tuple[int, int]]) -> int:
    """The most of ``spans`` (start, end) that overlap at one moment."""
    events = sorted([(s, 1) for s, _ in spans] + [(e, -1) for _, e in spans])
    now = best = 0
    for _, d in events:
        now += d
        best = max(best, now)
    return best


def stored_points(db, run_id: str) -> int:
    """Metric points the workspace database ``db`` holds for run ``run_id`` (read with sqlite3,
    outside the product's own code)."""
    con = sqlite3.connect(db)
    try:
        return con.execute("SELECT count(*) FROM metrics m JOIN runs r ON r.pk = m.run_pk "
                           "WHERE r.id = ?", (run_id,)).fetchone()[0]
    finally:
        con.close()
