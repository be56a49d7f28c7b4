"""Notebook runs: ``mlws run submit NB --wait`` versus Papermill on a trivial 10-cell notebook.

Four ways to execute tests/notebooks/trivial10.ipynb (ten ``xN = N`` cells), each
timed wall-clock from the bench process:

- ``mlws run submit trivial10.ipynb --wait``: the real CLI in a subprocess, on a fresh
  workspace made with ``mlws workspace create`` (``MLWS_WORKSPACE`` points at it);
  the run is recorded, snapshotted, executed and ended before the command returns.
- ``papermill trivial10.ipynb out.ipynb``: the plain Papermill CLI in a subprocess.
- ``papermill.execute_notebook(...)`` in this process (Papermill already imported):
  what executing the notebook costs without any interpreter start-up or import.
- A bare kernel: ``KernelManager.start_kernel`` + ``wait_for_ready`` + ``shutdown_kernel``
  in this process: the floor of any tool that starts a kernel.

The tools alternate (the order rotates every round), after one warm-up round; medians
and p90 of ``--repeat`` rounds.  Every mlws run is checked to have completed with ten
recorded cells, every Papermill output to have ten executed cells.

Targets: median ``mlws run submit --wait`` <= 1.5x the median bare kernel (the floor)
measured in the same run (issue 16), and <= 110% of the median Papermill CLI.

Then, to say where the time goes (``--no-diagnose`` skips it): the same two CLIs run
under a light phase timer (wall-clock timestamps taken by wrapping the functions that
do the work, patched in as their modules load, so import order and overlaps are
unchanged), ``python -X importtime`` of each command, and a cProfile of
``python -m jupyter_mlws.cli run submit ... --wait``.
"""

from __future__ import annotations

import argparse
import json
import os
import pstats
import re
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _common as C  # noqa: E402

NOTEBOOK = C.ROOT / "tests" / "notebooks" / "trivial10.ipynb"
CELLS = 10
TARGET_RATIO = 1.10
#: mlws run submit --wait over the bare kernel's start + ready + shutdown (issue 16)
TARGET_FLOOR = 1.5
BIN = Path(sys.executable).parent


def cpu_now() -> float:
    """CPU seconds of this process plus its waited-for children (their kernels included)."""
    me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


def tool(name: str) -> str:
    exe = BIN / name
    if exe.exists():
        return str(exe)
    found = shutil.which(name)
    if not found:
        sys.exit(f"{name} is not installed next to {sys.executable} nor on PATH")
    return found


MLWS = tool("mlws")
PAPERMILL = tool("papermill")


# -- the four ways ---------------------------------------------------------------------


class Bench:
    def __init__(self, tmp: Path):
        self.tmp = tmp
        self.ws = tmp / "ws"
        # each tool runs the notebook from a folder holding only it (mlws snapshots its folder)
        self.mlws_dir = tmp / "mlws-project"
        self.pm_dir = tmp / "papermill-project"
        self.out_dir = tmp / "papermill-out"
        for d in (self.mlws_dir, self.pm_dir, self.out_dir):
            d.mkdir()
        shutil.copy(NOTEBOOK, self.mlws_dir / NOTEBOOK.name)
        shutil.copy(NOTEBOOK, self.pm_dir / NOTEBOOK.name)
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("MLWS_")}
        self.env["PATH"] = f"{BIN}{os.pathsep}{self.env.get('PATH', '')}"
        self.env["MLWS_WORKSPACE"] = str(self.ws)
        self.env["PYTHONWARNINGS"] = "ignore"
        done = subprocess.run([MLWS, "workspace", "create", str(self.ws)], env=self.env,
                              capture_output=True, text=True)
        if done.returncode != 0:
            sys.exit(f"mlws workspace create failed ({done.returncode}): {done.stderr.strip()}")
        self.run_ids: list[str] = []
        self.pm_outputs: list[Path] = []
        self.n = 0

    def mlws_submit(self) -> float:
        t0 = time.perf_counter()
        done = subprocess.run([MLWS, "run", "submit", NOTEBOOK.name, "--wait"], cwd=self.mlws_dir,
                              env=self.env, capture_output=True, text=True)
        t = time.perf_counter() - t0
        if done.returncode != 0:
            raise RuntimeError(f"mlws run submit failed ({done.returncode}):\n{done.stderr[-3000:]}")
        self.run_ids.append(done.stdout.split()[0])
        return t

    def papermill_cli(self) -> float:
        self.n += 1
        out = self.out_dir / f"cli-{self.n}.ipynb"
        t0 = time.perf_counter()
        done = subprocess.run([PAPERMILL, NOTEBOOK.name, str(out)], cwd=self.pm_dir, env=self.env,
                              capture_output=True, text=True)
        t = time.perf_counter() - t0
        if done.returncode != 0:
            raise RuntimeError(f"papermill failed ({done.returncode}):\n{done.stderr[-3000:]}")
        self.pm_outputs.append(out)
        return t

    def papermill_api(self) -> float:
        import papermill as pm

        self.n += 1
        out = self.out_dir / f"api-{self.n}.ipynb"
        t0 = time.perf_counter()
        pm.execute_notebook(str(self.pm_dir / NOTEBOOK.name), str(out), progress_bar=False,
                            cwd=str(self.pm_dir))
        t = time.perf_counter() - t0
        self.pm_outputs.append(out)
        return t

    def bare_kernel(self) -> float:
        from jupyter_client.manager import KernelManager

        t0 = time.perf_counter()
        km = KernelManager(kernel_name="python3")
        km.start_kernel(cwd=str(self.pm_dir))
        kc = km.client()
        kc.start_channels()
        try:
            kc.wait_for_ready(timeout=60)
        finally:
            kc.stop_channels()
            km.shutdown_kernel()
        return time.perf_counter() - t0

    def check(self) -> dict:
        """Every mlws run completed with its ten cells recorded; every Papermill output executed."""
        import nbformat

        from jupyter_mlws import Workspace

        with Workspace.open(self.ws) as ws:
            for run_id in self.run_ids:
                rec = ws.runs.get(run_id)
                cells = ws.notebooks.cells(run_id)
                assert rec.status == "completed", f"run {run_id} is {rec.status}: {rec.error}"
                assert len(cells) == CELLS and all(c["execution_count"] for c in cells), \
                    f"run {run_id} recorded {len(cells)} cells: {cells}"
                run = ws.get_run(run_id)
                files = {(f["kind"], f["path"]) for f in run.files()}
                for kind, path in (("artifact", f"notebook/{NOTEBOOK.name}"), ("artifact", "environment.json"),
                                   ("snapshot", NOTEBOOK.name)):
                    assert (kind, path) in files, f"run {run_id} has no {kind} {path}: {sorted(files)}"
                assert {"kernel", "env_hash", "python"} <= set(rec.tags), f"run {run_id} tags {rec.tags}"
                got = run.download(f"notebook/{NOTEBOOK.name}", self.tmp / "check" / run_id)
                executed = nbformat.read(str(got[0]), as_version=4)
                counts = [c.execution_count for c in executed.cells]
                assert counts == list(range(1, CELLS + 1)), f"run {run_id}: stored notebook counts {counts}"
        for out in self.pm_outputs:
            nb = nbformat.read(str(out), as_version=4)
            counts = [c.execution_count for c in nb.cells]
            assert counts == list(range(1, CELLS + 1)), f"{out.name}: execution counts {counts}"
        return {"mlws_runs_checked": len(self.run_ids), "papermill_outputs_checked": len(self.pm_outputs)}


# -- where the time goes -----------------------------------------------------------------

# Run as ``python -c PHASES OUT_JSON {mlws|papermill} ARGS...``.  Wraps the functions that do
# the work with wall-clock timers, patched in when their module is first imported (a
# meta-path hook), so nothing is imported earlier than in the real command.
PHASES = r'''
import atexit, functools, importlib.abc, json, os, sys, time
T_SPAWN = float(os.environ["BENCH_SPAWN_T"])
T0 = time.time()
OUT, MODE, ARGS = sys.argv[1], sys.argv[2], sys.argv[3:]
EVENTS = []

CPU = time.process_time  # this process's CPU seconds, all its threads

def timed(name, fn):
    @functools.wraps(fn)
    def wrapper(*a, **k):
        s, c = time.time(), CPU()
        try:
            return fn(*a, **k)
        finally:
            EVENTS.append((name, s, time.time(), c, CPU()))
    return wrapper

def patch(obj, attr, name):
    fn = getattr(obj, attr, None)  # the code under test changes: a missing name is skipped
    if fn is None:
        return
    if isinstance(fn, classmethod):
        fn = fn.__func__
    setattr(obj, attr, timed(name, fn))

def p_cli(m):
    patch(m, "_ws", "import + open the workspace")
    patch(m, "_early_kernel", "find the workspace, start the kernel (CLI)")
def p_kernels(m):
    if hasattr(m, "EarlyKernel"):
        patch(m.EarlyKernel, "__init__", "start the kernel early (EarlyKernel)")
        patch(m.EarlyKernel, "shutdown", "shut the kernel down")
def p_notebooks(m):
    patch(m, "load_notebook", "load + validate the notebook")
    patch(m, "resolve_kernel", "resolve the kernel (installed kernelspecs)")
    patch(m.NotebookService, "submit", "record the run (submit)")
def p_executor(m):
    patch(m, "execute", "executor.execute")
    patch(m, "_record_environment", "capture the environment")
    patch(m, "capture_environment", "capture the environment")
    if hasattr(m, "EarlyKernel"):
        patch(m.EarlyKernel, "__init__", "start the kernel early (EarlyKernel)")
        patch(m.EarlyKernel, "shutdown", "shut the kernel down")
    patch(m, "_finish", "store results, end the run")
def p_manager(m):
    patch(m.KernelManager, "start_kernel", "launch the kernel process")
    patch(m.KernelManager, "shutdown_kernel", "shut the kernel down")
def p_nbclient(m):
    patch(m.NotebookClient, "start_new_kernel", "launch the kernel process")
    patch(m.NotebookClient, "start_new_kernel_client", "wait for the kernel to be ready")
    patch(m.NotebookClient, "execute_cell", "execute the 10 cells")
    patch(m.NotebookClient, "_cleanup_kernel", "shut the kernel down")

PATCHES = {"jupyter_mlws.cli.runs": p_cli, "jupyter_mlws.notebooks.service": p_notebooks,
           "jupyter_mlws.notebooks.kernels": p_kernels,
           "jupyter_mlws.notebooks.executor": p_executor, "jupyter_client.manager": p_manager,
           "nbclient.client": p_nbclient}
IMPORTS = {"papermill": "import papermill", "sqlalchemy": "import sqlalchemy",
           "jupyter_client": "import jupyter_client", "nbformat": "import nbformat"}

class Hook(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path, target=None):
        if name not in PATCHES and name not in IMPORTS:
            return None
        for finder in sys.meta_path:
            if finder is self or not hasattr(finder, "find_spec"):
                continue
            spec = finder.find_spec(name, path, target)
            if spec is not None:
                break
        else:
            return None
        run = spec.loader.exec_module
        def exec_module(module, run=run, name=name):
            s, c = time.time(), CPU()
            run(module)
            if name in IMPORTS:
                EVENTS.append((IMPORTS[name], s, time.time(), c, CPU()))
            if name in PATCHES:
                PATCHES[name](module)
        spec.loader.exec_module = exec_module
        return spec

sys.meta_path.insert(0, Hook())

def report():
    EVENTS.append(("atexit", time.time(), time.time(), CPU(), CPU()))
    with open(OUT, "w") as f:
        json.dump({"spawn": T_SPAWN, "t0": T0, "events": EVENTS}, f)
atexit.register(report)  # registered first: runs after every other exit handler

s, c = time.time(), CPU()
if MODE == "mlws":
    from jupyter_mlws.cli import main
    EVENTS.append(("import the CLI", s, time.time(), c, CPU()))
    sys.argv = ["mlws", *ARGS]
else:
    from papermill.__main__ import papermill as main
    EVENTS.append(("import the CLI", s, time.time(), c, CPU()))
    sys.argv = ["papermill", *ARGS]
s, c = time.time(), CPU()
try:
    main()
finally:
    EVENTS.append(("main()", s, time.time(), c, CPU()))
'''

# phases in the order a reader follows them; (label, event name, which tools)
PHASE_ROWS = [
    ("interpreter start-up", "_startup"),
    ("import the CLI module", "import the CLI"),
    ("find the workspace, start the kernel (mlws CLI, first thing)", "find the workspace, start the kernel (CLI)"),
    ("import + open the workspace (mlws)", "import + open the workspace"),
    ("  of which import SQLAlchemy", "import sqlalchemy"),
    ("load + validate the notebook (nbformat)", "load + validate the notebook"),
    ("check the kernel is installed (kernelspec scan)", "check the kernel is installed"),
    ("start the kernel early (mlws: import jupyter_client + launch)", "start the kernel early (EarlyKernel)"),
    ("launch the kernel process", "launch the kernel process"),
    ("record the run: params, snapshot, spec", "record the run (submit)"),
    ("import papermill", "import papermill"),
    ("capture the environment (installed packages; may run in a thread)", "capture the environment"),
    ("wait for the kernel to be ready", "wait for the kernel to be ready"),
    ("execute the 10 cells", "execute the 10 cells"),
    ("shut the kernel down", "shut the kernel down"),
    ("store results, end the run", "store results, end the run"),
    ("interpreter exit (after main returned)", "_exit"),
]


def phase_run(b: Bench, mode: str, out: Path) -> dict:
    if mode == "mlws":
        argv, cwd = ["run", "submit", NOTEBOOK.name, "--wait"], b.mlws_dir
    else:
        b.n += 1
        argv, cwd = [NOTEBOOK.name, str(b.out_dir / f"phases-{b.n}.ipynb")], b.pm_dir
    env = {**b.env, "BENCH_SPAWN_T": repr(time.time())}
    t0 = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", PHASES, str(out), mode, *argv], cwd=cwd, env=env,
                          capture_output=True, text=True)
    total = time.perf_counter() - t0
    t_end = time.time()
    if done.returncode != 0:
        raise RuntimeError(f"instrumented {mode} failed:\n{done.stderr[-3000:]}")
    data = json.loads(out.read_text())
    spawn = data["spawn"]
    spans: dict[str, list[tuple[float, float, float, float]]] = {}
    for name, s, e, cs, ce in data["events"]:
        spans.setdefault(name, []).append((s, e, cs, ce))
    sums = {name: _union(v) for name, v in spans.items()}  # nested same-name calls count once
    sums["_startup"] = data["t0"] - spawn
    atexit_t, atexit_cpu = next((s, cs) for name, s, _, cs, _ in data["events"] if name == "atexit")
    sums["_exit"] = t_end - atexit_t
    sums["_total"] = total
    starts = {name: min(s for s, *_ in v) - spawn for name, v in spans.items()}
    starts["_startup"] = 0.0
    starts["_exit"] = atexit_t - spawn
    # CPU seconds of the command's own process (all its threads; its kernel not included)
    cpu = {name: _outer_cpu(v) for name, v in spans.items()}
    cpu["_total"] = atexit_cpu
    ready = spans.get("wait for the kernel to be ready")
    cpu["_before_ready"] = min(cs for _s, _e, cs, _ce in ready) if ready else None
    timeline = sorted(((n, s - spawn, e - s, ce - cs) for n, s, e, cs, ce in data["events"]),
                      key=lambda x: x[1])
    return {"sums": sums, "starts": starts, "cpu": cpu, "timeline": timeline}


def _outer_cpu(spans: list[tuple[float, float, float, float]]) -> float:
    """CPU seconds inside the spans, a span nested in another of the same name counted once."""
    total, end = 0.0, float("-inf")
    for s, e, cs, ce in sorted(spans):
        if s >= end:
            total += ce - cs
            end = e
    return total


def _union(spans: list[tuple]) -> float:
    total, end = 0.0, float("-inf")
    for s, e, *_ in sorted(spans):
        if e > end:
            total += e - max(s, end)
            end = e
    return total


def importtime(b: Bench, mode: str) -> dict:
    """``python -X importtime`` of the real command: total and the heavy packages (cumulative ms)."""
    if mode == "mlws":
        argv, cwd = ["-m", "jupyter_mlws.cli", "run", "submit", NOTEBOOK.name, "--wait"], b.mlws_dir
    else:
        b.n += 1
        argv, cwd = ["-m", "papermill", NOTEBOOK.name, str(b.out_dir / f"imp-{b.n}.ipynb")], b.pm_dir
    done = subprocess.run([sys.executable, "-X", "importtime", *argv], cwd=cwd, env=b.env,
                          capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"importtime {mode} failed:\n{done.stderr[-3000:]}")
    cum: dict[str, int] = {}
    total = 0
    for line in done.stderr.splitlines():
        m = re.match(r"import time:\s+(\d+) \|\s+(\d+) \|( *)(\S+)", line)
        if not m:
            continue
        us, name = int(m.group(2)), m.group(4)
        cum.setdefault(name, us)
        if len(m.group(3)) == 1:  # a top-level import: its cumulative time counts once
            total += us
    keys = ["jupyter_mlws.workspace", "sqlalchemy", "papermill", "jupyter_client", "nbformat",
            "nbformat.validator", "jsonschema", "rfc3987_syntax", "nbclient", "click"]
    return {"total_ms": total / 1000, **{k: cum[k] / 1000 for k in keys if k in cum}}


def cprofile(b: Bench, path: Path) -> list[tuple[str, float, float]]:
    """cProfile of the mlws command: the functions of jupyter_mlws (and what they lean on) by cumulative time."""
    done = subprocess.run([sys.executable, "-m", "cProfile", "-o", str(path), "-m", "jupyter_mlws.cli",
                           "run", "submit", NOTEBOOK.name, "--wait"], cwd=b.mlws_dir, env=b.env,
                          capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"cProfile run failed:\n{done.stderr[-3000:]}")
    stats = pstats.Stats(str(path))
    total = stats.total_tt
    rows = []
    interesting = ("jupyter_mlws/", "importlib/metadata", "kernelspec.py", "nbformat/validator", "rfc3987_syntax/")
    for (file, line, func), (_cc, _nc, tt, ct, _callers) in stats.stats.items():
        if any(k in file for k in interesting) or func in ("shutdown_kernel", "wait_for_ready"):
            rows.append((f"{Path(file).parent.name}/{Path(file).name}:{line}({func})", ct, tt))
    rows.sort(key=lambda r: -r[1])
    return [("(whole command under cProfile)", total, 0.0)] + rows[:30]


# the call chain every row of the profile sits under: not worth a line in RESULTS.md
CHAIN = ("cli/__main__.py:1(<module>)", "(wrapper)", "(run_submit)", "(submit_and_execute)", "(execute)",
         "(execute_managed_notebook)", "(_attempt)")


# -- main ---------------------------------------------------------------------------------


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--repeat", type=int, default=8, help="timed rounds after the warm-up (default 8)")
    ap.add_argument("--phase-runs", type=int, default=3, help="instrumented runs of each CLI (default 3)")
    ap.add_argument("--no-diagnose", action="store_true", help="skip the phase timer, importtime and cProfile")
    args = ap.parse_args()
    tmp = C.tmpdir("notebook_submit")
    compiled = C.byte_compile()
    b = Bench(tmp)
    import papermill  # noqa: F401  (the in-process row excludes the import)

    tools = {
        "mlws run submit --wait (CLI)": b.mlws_submit,
        "papermill CLI": b.papermill_cli,
        "papermill.execute_notebook (in process)": b.papermill_api,
        "bare kernel start + ready + shutdown": b.bare_kernel,
    }
    names = list(tools)
    times: dict[str, list[float]] = {n: [] for n in names}
    cpu: dict[str, list[float]] = {n: [] for n in names}
    t_start = time.perf_counter()
    for rnd in range(args.repeat + 1):
        order = names[rnd % len(names):] + names[:rnd % len(names)]
        got = {}
        for n in order:
            c0 = cpu_now()
            got[n] = tools[n]()
            if rnd > 0:  # round 0 is the warm-up
                cpu[n].append(cpu_now() - c0)
        if rnd > 0:
            for n, t in got.items():
                times[n].append(t)
        print(f"round {rnd}{' (warm-up)' if rnd == 0 else ''}: "
              + ", ".join(f"{n.split(' (')[0]} {got[n]:.3f}s" for n in names), file=sys.stderr)
    wall = time.perf_counter() - t_start
    checked = b.check()

    med = {n: C.median(v) for n, v in times.items()}
    p90 = {n: C.percentile(v, 90) for n, v in times.items()}
    ref = med["papermill CLI"]
    mk, pk, fk = "mlws run submit --wait (CLI)", "papermill CLI", "bare kernel start + ready + shutdown"
    floor = med[fk]
    ratio = med[mk] / ref
    ok_pm = ratio <= TARGET_RATIO
    floor_ratio = med[mk] / floor
    ok_floor = floor_ratio <= TARGET_FLOOR
    ok = ok_pm and ok_floor
    cpu_med = {n: C.median(v) for n, v in cpu.items()}
    rows = [[n, f"{med[n]:.3f}", f"{p90[n]:.3f}", f"{med[n] / floor:.2f}x", f"{med[n] / ref * 100:.0f}%",
             f"{cpu_med[n]:.2f}"] for n in names]
    body = C.table(["way to execute trivial10.ipynb", "median s", "p90 s", "vs bare kernel",
                    "vs papermill CLI", "CPU s (median)"], rows)
    paired_floor = C.median([a / b for a, b in zip(times[mk], times[fk])])
    body += "\n\n" + C.table(["target (medians of the same run)", "measured", "target", "result"], [
        ["`mlws run submit --wait` / bare kernel (the floor)", f"{floor_ratio:.2f}x", f"<= {TARGET_FLOOR:g}x",
         C.verdict(ok_floor)],
        ["`mlws run submit --wait` / Papermill CLI", f"{ratio * 100:.0f}%", f"<= {TARGET_RATIO * 100:.0f}%",
         C.verdict(ok_pm)],
    ])
    extra = med[mk] - ref
    paired = C.median([a / b for a, b in zip(times[mk], times[pk])])
    cpu_ratio = cpu_med[mk] / cpu_med[pk]
    per_round = "\n".join(f"  - {n}: {', '.join(f'{t:.3f}' for t in times[n])}" for n in names)
    body += f"""

- {args.repeat} timed rounds after a warm-up round, the four ways alternating (the order rotates each
  round); wall-clock from this process.  mlws: `mlws run submit trivial10.ipynb --wait` in a subprocess, on a
  fresh workspace made with `mlws workspace create` (`MLWS_WORKSPACE`), from a folder holding only the
  notebook.  Papermill: `papermill trivial10.ipynb out.ipynb`.  In-process rows: Papermill already imported.
  {compiled}.
- Checked, so that nothing a run records is lost to speed: {checked['mlws_runs_checked']} mlws runs completed,
  each with {CELLS} cells recorded, its snapshot, `environment.json` and the kernel/env_hash/python tags,
  and the executed notebook stored with execution counts 1..{CELLS};
  {checked['papermill_outputs_checked']} Papermill outputs with execution counts 1..{CELLS}.
- The floor: `KernelManager.start_kernel` + `wait_for_ready` + `shutdown_kernel` (graceful, as every tool here
  ends its kernel) in this process, jupyter_client already imported: no interpreter start-up, no import.
  mlws / floor: ratio of medians {floor_ratio:.2f}, median of the per-round ratios {paired_floor:.2f}.
- mlws costs {extra * 1000:+.0f} ms over the Papermill CLI (ratio of medians {ratio:.2f}; median of the per-round
  ratios {paired:.2f}).
- Per round (s), in the order run:
{per_round}
- CPU s: user + system time of the command and everything it waited for (the kernel included; for the
  in-process rows, this process too), which other work on the machine barely moves: mlws uses
  {cpu_ratio:.2f}x the CPU of the Papermill CLI ({(cpu_med[mk] - cpu_med[pk]) * 1000:+.0f} ms).
"""
    data = {"repeat": args.repeat, "times": times, "median": med, "p90": p90, "ratio": ratio, "pass": ok,
            "floor_ratio": floor_ratio, "paired_floor_ratio": paired_floor, "pass_floor": ok_floor,
            "cpu": cpu, "cpu_median": cpu_med, "cpu_ratio": cpu_ratio, "paired_ratio": paired,
            "checked": checked, "timed_wall_s": wall}

    if not args.no_diagnose:
        diag = diagnose(b, args.phase_runs)
        data["diagnosis"] = diag
        body += diagnosis_text(diag, ok)
    C.write_section("notebook_submit", "notebook_submit: `mlws run submit --wait` vs Papermill",
                    body, data)


WHAT_IF = ("import sys\nsys.modules['rfc3987_syntax'] = None  # jsonschema then skips it (ImportError)\n"
           "{imp}\nsys.argv = {argv!r}\nmain()")


def what_if(b: Bench, mode: str) -> float:
    """The same command with ``rfc3987_syntax`` kept from being imported (a fix to weigh)."""
    if mode == "mlws":
        code = WHAT_IF.format(imp="from jupyter_mlws.cli import main",
                              argv=["mlws", "run", "submit", NOTEBOOK.name, "--wait"])
        cwd = b.mlws_dir
    else:
        b.n += 1
        code = WHAT_IF.format(imp="from papermill.__main__ import papermill as main",
                              argv=["papermill", NOTEBOOK.name, str(b.out_dir / f"whatif-{b.n}.ipynb")])
        cwd = b.pm_dir
    t0 = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", code], cwd=cwd, env=b.env, capture_output=True, text=True)
    t = time.perf_counter() - t0
    if done.returncode not in (0, None):
        raise RuntimeError(f"what-if {mode} failed:\n{done.stderr[-3000:]}")
    return t


def diagnose(b: Bench, runs: int) -> dict:
    import importlib.util

    what = {"mlws": [], "papermill": [], "mlws_stock": [], "papermill_stock": []}
    if importlib.util.find_spec("rfc3987_syntax") is not None:
        for i in range(2):
            for mode in ("mlws", "papermill") if i % 2 == 0 else ("papermill", "mlws"):
                what[mode].append(what_if(b, mode))
                what[mode + "_stock"].append(b.mlws_submit() if mode == "mlws" else b.papermill_cli())
    phases = {"mlws": [], "papermill": []}
    for i in range(runs):
        for mode in ("mlws", "papermill") if i % 2 == 0 else ("papermill", "mlws"):
            phases[mode].append(phase_run(b, mode, b.tmp / f"phases-{mode}-{i}.json"))
    imports = {mode: importtime(b, mode) for mode in ("mlws", "papermill")}
    prof = cprofile(b, b.tmp / "mlws.prof")
    (C.OUT).mkdir(exist_ok=True)
    shutil.copy(b.tmp / "mlws.prof", C.OUT / "notebook_submit.mlws.prof")
    out = {"phase_runs": runs, "imports": imports, "cprofile_top": prof, "timelines": {}, "what_if": what}
    for mode, reps in phases.items():
        keys = set().union(*(r["sums"] for r in reps))
        out[mode] = {k: C.median([r["sums"].get(k, 0.0) for r in reps]) for k in keys}
        out[mode + "_starts"] = {k: C.median([r["starts"][k] for r in reps if k in r["starts"]])
                                 for k in keys if any(k in r["starts"] for r in reps)}
        cpu_keys = set().union(*(r["cpu"] for r in reps))
        out[mode + "_cpu"] = {k: C.median([r["cpu"][k] for r in reps if r["cpu"].get(k) is not None])
                              for k in cpu_keys if any(r["cpu"].get(k) is not None for r in reps)}
        out["timelines"][mode] = reps[len(reps) // 2]["timeline"]
    return out


def what_if_text(w: dict) -> str:
    if not w["mlws"]:
        return ""
    med = {k: C.median(v) for k, v in w.items()}
    return f"""- What if `rfc3987_syntax` were not imported (`sys.modules["rfc3987_syntax"] = None` before the command;
  jsonschema imports it for the "iri" formats, which notebook schemas do not use; it builds a Lark grammar
  at import): {len(w['mlws'])} alternated runs each, mean mlws {med['mlws']:.2f} s (stock, alongside:
  {med['mlws_stock']:.2f} s), papermill CLI {med['papermill']:.2f} s (stock: {med['papermill_stock']:.2f} s):
  mlws would be {med['mlws'] / med['papermill_stock'] * 100:.0f}% of the stock Papermill CLI,
  {med['mlws'] / med['papermill'] * 100:.0f}% of a Papermill spared the same import.
"""


def diagnosis_text(d: dict, ok: bool) -> str:
    m, p = d["mlws"], d["papermill"]
    ms, ps = d["mlws_starts"], d["papermill_starts"]
    mc, pc = d["mlws_cpu"], d["papermill_cpu"]

    def cpu(c: dict, key: str) -> str:
        return f"{c[key] * 1000:.0f}" if c.get(key) is not None else ""

    rows = []
    for label, key in PHASE_ROWS:
        a, c = m.get(key), p.get(key)
        if not a and not c:
            continue
        rows.append([label,
                     f"{ms[key] * 1000:.0f}" if a else "", f"{a * 1000:.0f}" if a else "-", cpu(mc, key),
                     f"{ps[key] * 1000:.0f}" if c else "", f"{c * 1000:.0f}" if c else "-", cpu(pc, key)])
    rows.append(["**the command's own CPU before it waits for the kernel**", "", "", cpu(mc, "_before_ready"),
                 "", "", cpu(pc, "_before_ready")])
    rows.append(["**whole command (wall, instrumented; CPU: its own process)**", "",
                 f"{m['_total'] * 1000:.0f}", cpu(mc, "_total"), "", f"{p['_total'] * 1000:.0f}",
                 cpu(pc, "_total")])
    im, ip = d["imports"]["mlws"], d["imports"]["papermill"]
    prof = d["cprofile_top"]
    top = "\n".join(f"  - `{name}`: {ct * 1000:.0f} ms cumulative" for name, ct, _ in
                    [r for r in prof[1:] if not any(c in r[0] for c in CHAIN)][:8])
    verdict = "why mlws is slower" if not ok else "where the time goes"

    def imp(d: dict) -> str:
        names = ["sqlalchemy", "nbformat", "jsonschema", "rfc3987_syntax", "jupyter_client", "papermill", "nbclient"]
        return ", ".join(f"{n} {d[n]:.0f}" for n in names if n in d)

    return f"""
**Diagnosis ({verdict}).**  Phase timer: the same two commands with wall-clock timers wrapped
around the functions that do the work (patched in as their modules load, so nothing moves; median of
{d['phase_runs']} instrumented runs each).  "at" is when the phase starts, in ms after the process was
spawned; phases nest (the notebook is loaded inside "record the run") and overlap the kernel booting
in the background, so durations do not add up to the total.  "CPU" is the command's own process's CPU
time in the phase (`time.process_time`: all its threads, not its kernel), which other work on the
machine moves far less than wall time; until the kernel is ready, that process and the booting kernel
share the machine's 2 cores:

{C.table(["phase", "mlws at", "mlws ms", "mlws CPU ms", "papermill at", "papermill ms", "papermill CPU ms"],
         rows)}

- `python -X importtime` of each real command, cumulative ms of each heavy package where it is first imported:
  mlws {imp(im)} (all modules: {im['total_ms']:.0f} ms); papermill {imp(ip)} (all: {ip['total_ms']:.0f} ms).
{what_if_text(d["what_if"])}- cProfile of `python -m jupyter_mlws.cli run submit trivial10.ipynb --wait` ({prof[0][1]:.2f} s under the
  profiler; `bench/out/notebook_submit.mlws.prof`), heaviest functions of ours and what they call:
{top}
"""


if __name__ == "__main__":
    main()
